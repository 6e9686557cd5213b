/**
 * Unknown fields, found offline the way the API server finds them.
 *
 * The @kubernetes-models validators (helpers/run/schemas.ts) accept fields their schemas do not
 * declare: the schemas leave `additionalProperties` open. The API server does not: with strict
 * field validation (kubectl's default; server-side apply always, KEP-2885) it refuses them, and
 * without it a CRD's structural schema prunes them silently. The workshop's Gateway with
 * `servers[].addresses` is such a manifest: valid offline, refused (or pruned) by a cluster.
 *
 * The packages ship their schemas compiled into validate functions, not as JSON; the same
 * schemas are shipped as TypeScript declarations (`I<Kind>` interfaces generated from the CRDs'
 * openAPIV3Schema and Kubernetes' OpenAPI, one `<group>/<version>/<Kind>.d.ts` per kind). So an
 * object is walked against those declarations with the TypeScript checker: a key that is neither
 * a declared property nor covered by a map (index signature) is unknown. Open parts
 * (`any`/`unknown`, e.g. preserve-unknown-fields) are not walked. Type mismatches are not this
 * check's business (the validators report them).
 *
 * One implementation for the suite (`unknownFields`, `validateManifest`) and for `npm run
 * workshop` (workshop/schema.ts `strictProblems`). Needs the `typescript` package at run time.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type ts from 'typescript';
import { describeObject, type KubeObject, ROOT_DIR } from './manifests.ts';

/** Where the declarations of one kind live. */
export interface Model {
  /** Module specifier without extension, e.g. @kubernetes-models/istio/networking.istio.io/v1/Gateway. */
  module: string;
  /** Interface name in that module (IGateway). */
  iface: string;
}

const require = createRequire(join(ROOT_DIR, 'package.json'));

let typescriptModule: typeof ts | undefined;
/**
 * The TypeScript compiler, loaded on the first check rather than with this module: it takes about
 * half a second, and most importers (the step plan, the manifests' tests) never check a field.
 */
function typescript(): typeof ts {
  typescriptModule ??= require('typescript') as typeof ts;
  return typescriptModule;
}

/**
 * Where the models of (apiVersion, kind) live, or undefined when the packages have none. Any
 * version the packages ship is found, deprecated ones included (networking.istio.io/v1alpha3).
 */
export function modelOf(apiVersion: string, kind: string): Model | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  const pkg = group.endsWith('istio.io') ? '@kubernetes-models/istio' : 'kubernetes-models';
  const sub = group ? `${group}/${version}` : version;
  if (!/^[A-Za-z0-9.-]+$/.test(sub.replace('/', '')) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
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

/** The apiVersions of the suite's own manifests (named when a kind has no declarations). */
const SUITE_API_VERSIONS = ['v1', 'apps/v1', 'networking.istio.io/v1', 'security.istio.io/v1', 'install.istio.io/v1alpha1'];

/**
 * Kinds the API server never sees from the suite, and whose model declares no spec: istioctl
 * reads the IstioOperator file itself (the model has no schema for its spec). Skipped by
 * `unknownFields` only; the workshop check reports what the walker finds for every kind.
 */
const NOT_CHECKED: Record<string, string> = {
  'install.istio.io/v1alpha1/IstioOperator': 'read by istioctl, not sent to the API server; its model declares no spec',
};

export class UnknownFieldsError extends Error {
  readonly paths: readonly string[];
  constructor(o: KubeObject, paths: readonly string[]) {
    super(`${describeObject(o)} (${o.apiVersion}) has ${paths.length === 1 ? 'a field' : 'fields'} its schema does not declare: ${paths.join(', ')}; `
      + 'the API server refuses unknown fields (strict field validation, and always for server-side apply) or prunes them from a custom resource');
    this.name = 'UnknownFieldsError';
    this.paths = paths;
  }
}

interface Checker {
  checker: ts.TypeChecker;
  /** The declared type of each model, by module. */
  types: Map<string, ts.Type>;
  models: Map<string, Model>;
}

let cached: Checker | undefined;
/** Parsed declaration files, shared by the programs (a program grows when new kinds come). */
const sourceFiles = new Map<string, ts.SourceFile>();

function compilerOptions(t: typeof ts): ts.CompilerOptions {
  // The options shape the program the checker reads the declarations from, not its answers: the
  // declarations resolve under any of them, and no diagnostic is read. (They were import-time code,
  // not mutated, until TypeScript became a load on first use.)
  // Stryker disable next-line ObjectLiteral
  return {
    module: t.ModuleKind.NodeNext, moduleResolution: t.ModuleResolutionKind.NodeNext, target: t.ScriptTarget.ES2023,
    // Stryker disable next-line BooleanLiteral,ArrayDeclaration,StringLiteral
    strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es5.d.ts'],
  };
}

/**
 * A checker that knows every model asked for so far: one program over a virtual file importing
 * each model's interface (about a second for the first; later ones reuse the parsed files).
 */
function checkerFor(models: readonly Model[]): Checker {
  if (cached && models.every((m) => cached!.types.has(m.module))) return cached;
  const all = new Map<string, Model>(cached?.models);
  for (const m of models) all.set(m.module, m);
  // Stryker disable next-line MethodExpression,ArrowFunction: the order only numbers T0..Tn, and each model is looked up by its own number
  const unique = [...all.values()].sort((a, b) => a.module.localeCompare(b.module));
  const entry = join(ROOT_DIR, '__strict_fields_entry__.ts');
  const source = [
    ...unique.map((m, i) => `import type { ${m.iface} as T${i} } from '${m.module}';`),
    `export interface Roots { ${unique.map((_m, i) => `t${i}: T${i};`).join(' ')} }`,
  ].join('\n');
  const t = typescript();
  const options = compilerOptions(t);
  const host = t.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => {
    // Stryker disable next-line BooleanLiteral: the checker's binder sets the parent pointers of the entry either way
    if (name === entry) return t.createSourceFile(name, source, lang, true);
    let file = sourceFiles.get(name);
    if (!file) {
      file = getSourceFile(name, lang, onError, create);
      // Stryker disable next-line ConditionalExpression: caching a missing file as undefined is the same as not caching it
      if (file) sourceFiles.set(name, file);
    }
    return file;
  };
  // Stryker disable next-line ConditionalExpression: the program reads its root file through getSourceFile, never asking fileExists
  host.fileExists = (name) => name === entry || fileExists(name);
  // Stryker disable next-line ConditionalExpression: the program reads its root file through getSourceFile, never through readFile
  host.readFile = (name) => (name === entry ? source : readFile(name));
  const program = t.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry)!;
  // Stryker disable next-line ConditionalExpression: Roots is the entry's only export
  const roots = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!).find((s) => s.name === 'Roots');
  // Stryker disable next-line ConditionalExpression,StringLiteral: a guard against a TypeScript that compiles the generated entry differently; unreachable with the pinned version
  if (!roots) throw new Error('strict field check: the declarations entry did not compile');
  const rootsType = checker.getDeclaredTypeOfSymbol(roots);
  const types = new Map<string, ts.Type>();
  unique.forEach((m, i) => {
    const type = checker.getTypeOfSymbol(rootsType.getProperty(`t${i}`)!);
    if (type.flags & t.TypeFlags.Any) throw new Error(`strict field check: cannot resolve ${m.iface} in ${m.module}`);
    types.set(m.module, type);
  });
  cached = { checker, types, models: all };
  return cached;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const child = (path: string, key: string) => (IDENT.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

function isOpen(type: ts.Type): boolean {
  const { TypeFlags } = typescript();
  return (type.flags & (TypeFlags.Any | TypeFlags.Unknown)) !== 0;
}

function walk(checker: ts.TypeChecker, value: unknown, declared: ts.Type, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  // Open before NonNullable: NonNullable<unknown> is `{}`, which would report every key.
  if (isOpen(declared)) return;
  const type = checker.getNonNullableType(declared);
  const isList = (t: ts.Type) => checker.isArrayType(t) || checker.isTupleType(t);
  const { IndexKind, TypeFlags } = typescript();
  const isRecord = (t: ts.Type) => (t.flags & TypeFlags.Object) !== 0 && !isList(t);
  if (type.isUnion()) {
    // Only the members that can describe the value compete (a list or an object); the value
    // fits when one of them finds nothing unknown, else the closest member's findings count.
    // Stryker disable next-line ConditionalExpression,MethodExpression: TypeScript reduces a union with any or unknown to that open type, caught above; kept as a guard
    if (type.types.some(isOpen)) return;
    const candidates = type.types.filter((t) => (Array.isArray(value) ? isList(t) : isRecord(t)) || t.isIntersection());
    let fewest: string[] | undefined;
    for (const t of candidates) {
      const found: string[] = [];
      walk(checker, value, t, path, found);
      // Stryker disable next-line ConditionalExpression: an early exit; a member with no findings is also the fewest, so the result is the same
      if (found.length === 0) return;
      if (!fewest || found.length < fewest.length) fewest = found;
    }
    if (fewest) out.push(...fewest);
    return;
  }
  if (type.isIntersection()) {
    // A field is known if any part declares it, so a path is unknown only if every part that can
    // describe the value reports it. (The generators' oneOf, `A & (B | C)`, arrives as a union of
    // intersections: TypeScript distributes an intersection over a union, flattens nested
    // intersections, and reduces `X & any` to any; so the parts here are never unions, nested
    // intersections or open.)
    const parts = type.types.filter((t) => (Array.isArray(value) ? isList(t) : isRecord(t)));
    if (parts.length === 0) return;
    const found = parts.map((t) => {
      const f: string[] = [];
      walk(checker, value, t, path, f);
      return f;
    });
    out.push(...found[0]!.filter((p) => found.every((f) => f.includes(p))));
    return;
  }
  if (Array.isArray(value)) {
    // Stryker disable next-line ConditionalExpression: a declared type that is not a list has no element type either (getTypeArguments gives none), guarded below
    if (!isList(type)) return;
    const element = checker.getTypeArguments(type as ts.TypeReference)[0];
    if (element) value.forEach((v, i) => walk(checker, v, element, `${path}[${i}]`, out));
    return;
  }
  if (!isRecord(type)) return;
  const index = checker.getIndexInfoOfType(type, IndexKind.String);
  for (const [key, v] of Object.entries(value)) {
    const prop = checker.getPropertyOfType(type, key);
    if (prop) walk(checker, v, checker.getTypeOfSymbol(prop), child(path, key), out);
    else if (index) walk(checker, v, index.type, child(path, key), out);
    else out.push(child(path, key));
  }
}

/**
 * The unknown-field paths of each object against its model (e.g. `spec.servers[0].addresses`);
 * all models are loaded into one checker first, so a batch costs one program at most.
 */
export function unknownFieldsOf(items: readonly { value: object; model: Model }[]): string[][] {
  if (items.length === 0) return [];
  const c = checkerFor(items.map((i) => i.model));
  return items.map(({ value, model }) => {
    const out: string[] = [];
    walk(c.checker, value, c.types.get(model.module)!, '', out);
    return out;
  });
}

/** The paths of the fields of `o` that its kind's schema does not declare (e.g. `spec.servers[0].addresses`). */
export function unknownFields(o: KubeObject): string[] {
  if (NOT_CHECKED[`${o.apiVersion}/${o.kind}`]) return [];
  const model = modelOf(o.apiVersion, o.kind);
  if (!model) {
    throw new Error(`no declarations known for ${o.apiVersion} ${o.kind}; known apiVersions: ${SUITE_API_VERSIONS.join(', ')} `
      + '(the suite\'s), and the others kubernetes-models and @kubernetes-models/istio declare');
  }
  return unknownFieldsOf([{ value: o, model }])[0]!;
}

/** Throws UnknownFieldsError naming every unknown field's path. */
export function assertNoUnknownFields(o: KubeObject): void {
  const paths = unknownFields(o);
  if (paths.length > 0) throw new UnknownFieldsError(o, paths);
}
