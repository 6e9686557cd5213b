/**
 * Unknown fields, found offline the way the API server finds them.
 *
 * The @kubernetes-models validators (helpers/schemas.ts) accept fields their schemas do not
 * declare: the schemas leave `additionalProperties` open. The API server does not: with strict
 * field validation (kubectl's default; server-side apply always, KEP-2885) it refuses them, and
 * without it a CRD's structural schema prunes them silently. The workshop's Gateway with
 * `servers[].addresses` is such a manifest: valid offline, refused (or pruned) by a cluster.
 *
 * The packages ship their schemas compiled into validate functions, not as JSON; the same
 * schemas are shipped as TypeScript declarations (`I<Kind>` interfaces generated from the CRDs'
 * openAPIV3Schema and Kubernetes' OpenAPI). So an object is walked against those declarations
 * with the TypeScript checker: a key that is neither a declared property nor covered by a map
 * (index signature) is unknown. Open parts (`any`/`unknown`, e.g. preserve-unknown-fields) are
 * not walked. Type mismatches are not this check's business (the validators report them).
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describeObject, type KubeObject, ROOT_DIR } from './manifests.ts';

/** The declaration modules per apiVersion; an object's type is `I<kind>` exported there. */
const MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'networking.istio.io/v1': '@kubernetes-models/istio/networking.istio.io/v1',
  'security.istio.io/v1': '@kubernetes-models/istio/security.istio.io/v1',
  'install.istio.io/v1alpha1': '@kubernetes-models/istio/install.istio.io/v1alpha1',
};

/**
 * Kinds the API server never sees from the suite, and whose model declares no spec: istioctl
 * reads the IstioOperator file itself (the model has no schema for its spec).
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
  modules: Map<string, ts.Symbol>;
}

let cached: Checker | undefined;

/** One program over a virtual file that imports each declaration module (built once, ~1 s). */
function checkerFor(): Checker {
  if (cached) return cached;
  const entry = join(ROOT_DIR, '__strict_fields_entry__.ts');
  const aliases = Object.keys(MODULES).map((_, i) => `m${i}`);
  const source = Object.values(MODULES).map((m, i) => `import type * as ${aliases[i]} from '${m}';\nexport type { ${aliases[i]} };`).join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    strict: true, noEmit: true, skipLibCheck: true, types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => (name === entry ? ts.createSourceFile(name, source, lang, true) : getSourceFile(name, lang, onError, create));
  host.fileExists = (name) => name === entry || fileExists(name);
  host.readFile = (name) => (name === entry ? source : readFile(name));
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry)!;
  const modules = new Map<string, ts.Symbol>();
  const versions = Object.keys(MODULES);
  file.statements.filter(ts.isImportDeclaration).forEach((decl, i) => {
    const symbol = checker.getSymbolAtLocation(decl.moduleSpecifier);
    if (!symbol) throw new Error(`strict field check: cannot resolve the declarations of ${MODULES[versions[i]!]}`);
    modules.set(versions[i]!, symbol);
  });
  cached = { checker, modules };
  return cached;
}

function typeOfKind(c: Checker, apiVersion: string, kind: string): ts.Type | undefined {
  const module = c.modules.get(apiVersion);
  if (!module) return undefined;
  const sym = c.checker.getExportsOfModule(module).find((s) => s.name === `I${kind}`);
  return sym ? c.checker.getDeclaredTypeOfSymbol(sym) : undefined;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const child = (path: string, key: string) => (IDENT.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

function isOpen(t: ts.Type): boolean {
  return (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0;
}

function walk(checker: ts.TypeChecker, value: unknown, declared: ts.Type, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const type = checker.getNonNullableType(declared);
  if (isOpen(type)) return;
  if (type.isUnion()) {
    if (type.types.some(isOpen)) return;
    const candidates = type.types.filter((t) => (Array.isArray(value)
      ? checker.isArrayType(t) || t.isIntersection()
      : ((t.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(t)) || t.isIntersection()));
    let fewest: string[] | undefined;
    for (const t of candidates) {
      const found: string[] = [];
      walk(checker, value, t, path, found);
      if (found.length === 0) return;
      if (!fewest || found.length < fewest.length) fewest = found;
    }
    if (fewest) out.push(...fewest);
    return;
  }
  if (type.isIntersection()) {
    // The generators write oneOf as `A & (B | C)`: a field is known if any part declares it,
    // so a path is unknown only if every part that can describe the value reports it.
    const parts = type.types.filter((t) => isOpen(t) || t.isUnion() || t.isIntersection()
      || (Array.isArray(value) ? checker.isArrayType(t) : (t.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(t)));
    if (parts.length === 0 || parts.some(isOpen)) return;
    const found = parts.map((t) => {
      const f: string[] = [];
      walk(checker, value, t, path, f);
      return f;
    });
    out.push(...found[0]!.filter((p) => found.every((f) => f.includes(p))));
    return;
  }
  if (Array.isArray(value)) {
    if (!checker.isArrayType(type)) return;
    const element = checker.getTypeArguments(type as ts.TypeReference)[0];
    if (element) value.forEach((v, i) => walk(checker, v, element, `${path}[${i}]`, out));
    return;
  }
  if (checker.isArrayType(type) || (type.flags & ts.TypeFlags.Object) === 0) return;
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  for (const [key, v] of Object.entries(value)) {
    const prop = checker.getPropertyOfType(type, key);
    if (prop) walk(checker, v, checker.getTypeOfSymbol(prop), child(path, key), out);
    else if (index) walk(checker, v, index.type, child(path, key), out);
    else out.push(child(path, key));
  }
}

/** The paths of the fields of `o` that its kind's schema does not declare (e.g. `spec.servers[0].addresses`). */
export function unknownFields(o: KubeObject): string[] {
  if (NOT_CHECKED[`${o.apiVersion}/${o.kind}`]) return [];
  const c = checkerFor();
  const type = typeOfKind(c, o.apiVersion, o.kind);
  if (!type) throw new Error(`no declarations known for ${o.apiVersion} ${o.kind}; known apiVersions: ${Object.keys(MODULES).join(', ')}`);
  const out: string[] = [];
  walk(c.checker, o, type, '', out);
  return out;
}

/** Throws UnknownFieldsError naming every unknown field's path. */
export function assertNoUnknownFields(o: KubeObject): void {
  const paths = unknownFields(o);
  if (paths.length > 0) throw new UnknownFieldsError(o, paths);
}
