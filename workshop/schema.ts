/**
 * Strict, offline validation of a manifest: the Kubernetes and Istio schemas as published in
 * `kubernetes-models` and `@kubernetes-models/istio` (generated from Kubernetes' OpenAPI and
 * Istio's CRDs).
 *
 * Those packages' validators check types and required fields but accept unknown fields, which
 * the API server's strict field validation (kubectl's default since 1.27) refuses. The unknown
 * fields are found here by walking the object against the packages' own type declarations with
 * the TypeScript checker. This is a stand-alone check kept behind `strictProblems` so that it can
 * be swapped for a shared strict validator of the suite when there is one.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { ROOT_DIR } from '../helpers/manifests.ts';

export interface Manifest {
  apiVersion?: unknown;
  kind?: unknown;
  [field: string]: unknown;
}

interface Model {
  /** Module specifier without extension, e.g. @kubernetes-models/istio/networking.istio.io/v1/Gateway. */
  module: string;
  /** Interface name in that module (IGateway). */
  iface: string;
}

const require = createRequire(join(ROOT_DIR, 'package.json'));

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** Where the models of (apiVersion, kind) live, or undefined when the packages have none. */
export function modelOf(apiVersion: string, kind: string): Model | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  const pkg = group.endsWith('istio.io') ? '@kubernetes-models/istio' : 'kubernetes-models';
  const sub = group ? `${group}/${version}` : version;
  if (!/^[A-Za-z0-9.-]+$/.test(sub.replace('/', '')) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  let dir: string;
  try {
    dir = packageDir(pkg);
  } catch {
    return undefined;
  }
  if (!existsSync(join(dir, sub, `${kind}.d.ts`))) return undefined;
  return { module: `${pkg}/${sub}/${kind}`, iface: `I${kind}` };
}

/** True when the packages know the kind in that API version. */
export function knownKind(apiVersion: string, kind: string): boolean {
  return modelOf(apiVersion, kind) !== undefined;
}

interface Walker {
  checker: ts.TypeChecker;
  types: Map<string, ts.Type>;
}

let cache: { key: string; walker: Walker } | undefined;

/** One TypeScript program over the interfaces needed (building it takes about a second). */
function walkerFor(models: Model[]): Walker {
  const unique = [...new Map(models.map((m) => [m.module, m])).values()].sort((a, b) => a.module.localeCompare(b.module));
  const key = unique.map((m) => m.module).join(',');
  if (cache && unique.every((m) => cache!.walker.types.has(m.module))) return cache.walker;
  const entry = join(ROOT_DIR, '__workshop_schema_roots__.ts');
  const source = [
    ...unique.map((m, i) => `import type { ${m.iface} as T${i} } from '${m.module}';`),
    `export interface Roots { ${unique.map((_m, i) => `t${i}: T${i};`).join(' ')} }`,
  ].join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023, strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es5.d.ts'], noResolve: false,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) =>
    name === entry ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, onError, create);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === entry || fileExists(name);
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry)!;
  const roots = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!).find((s) => s.name === 'Roots')!;
  const rootsType = checker.getDeclaredTypeOfSymbol(roots);
  const types = new Map<string, ts.Type>();
  unique.forEach((m, i) => types.set(m.module, checker.getTypeOfSymbol(rootsType.getProperty(`t${i}`)!)));
  const walker = { checker, types };
  cache = { key, walker };
  return walker;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Unknown fields of `value` against `type`, as JSON-ish paths ("spec.servers[0].addresses"). */
function unknownFields(w: Walker, value: unknown, type: ts.Type, path: string, out: string[]): void {
  const { checker } = w;
  if (value === null || value === undefined) return;
  const t = checker.getNonNullableType(type);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  if (t.isUnion()) {
    // Try every member; the value fits when one member finds nothing unknown.
    let best: string[] | undefined;
    for (const member of t.types) {
      const found: string[] = [];
      unknownFields(w, value, member, path, found);
      if (found.length === 0) return;
      if (!best || found.length < best.length) best = found;
    }
    out.push(...(best ?? []));
    return;
  }
  if (Array.isArray(value)) {
    if (checker.isArrayType(t) || checker.isTupleType(t)) {
      const element = checker.getTypeArguments(t as ts.TypeReference)[0];
      if (element) value.forEach((v, i) => unknownFields(w, v, element, `${path}[${i}]`, out));
    }
    return;
  }
  if (!isPlainObject(value)) return;
  if (!(t.flags & ts.TypeFlags.Object) && !t.isIntersection()) return;
  const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
  for (const [key, v] of Object.entries(value)) {
    const prop = t.getProperty(key);
    const at = path ? `${path}.${key}` : key;
    if (prop) unknownFields(w, v, checker.getTypeOfSymbol(prop), at, out);
    else if (index) unknownFields(w, v, index.type, at, out);
    else out.push(at);
  }
}

/** The schema validator of the packages (types, required fields, enums): its complaint or undefined. */
async function modelProblem(model: Model, o: Manifest): Promise<string | undefined> {
  const mod = (await import(model.module)) as Record<string, new (data: never) => { validate(): void }>;
  const Class = mod[model.iface.slice(1)];
  if (!Class) return undefined;
  try {
    new Class(o as never).validate();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

export interface SchemaProblem {
  /** "unknown field" | "schema" | "no schema" */
  kind: 'unknown-field' | 'schema' | 'no-schema';
  message: string;
}

/**
 * Strict validation of objects: unknown fields, then the schema's own errors. Objects of an API
 * version the packages do not know get one 'no-schema' problem (the caller decides whether a
 * removed API version explains it).
 */
export async function strictProblems(objects: Manifest[]): Promise<SchemaProblem[][]> {
  const models = objects.map((o) => (typeof o.apiVersion === 'string' && typeof o.kind === 'string' ? modelOf(o.apiVersion, o.kind) : undefined));
  const known = models.filter((m): m is Model => m !== undefined);
  const walker = known.length > 0 ? walkerFor(known) : undefined;
  const out: SchemaProblem[][] = [];
  for (const [i, o] of objects.entries()) {
    const model = models[i];
    if (!model || !walker) {
      out.push([{ kind: 'no-schema', message: `no schema for apiVersion ${String(o.apiVersion)} kind ${String(o.kind)}` }]);
      continue;
    }
    const problems: SchemaProblem[] = [];
    const fields: string[] = [];
    unknownFields(walker, o, walker.types.get(model.module)!, '', fields);
    for (const f of fields) problems.push({ kind: 'unknown-field', message: `unknown field "${f}" (strict field validation refuses it)` });
    const p = await modelProblem(model, o);
    if (p) problems.push({ kind: 'schema', message: p });
    out.push(problems);
  }
  return out;
}
