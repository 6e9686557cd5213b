/**
 * Strict, offline validation of a manifest: the Kubernetes and Istio schemas as published in
 * `kubernetes-models` and `@kubernetes-models/istio` (generated from Kubernetes' OpenAPI and
 * Istio's CRDs).
 *
 * Those packages' validators check types and required fields but accept unknown fields, which
 * the API server's strict field validation (kubectl's default since 1.27) refuses. The unknown
 * fields are found by the suite's strict field check (helpers/run/strict-fields.ts), which walks the
 * object against the packages' own type declarations with the TypeScript checker.
 */
import { knownKind, type Model, modelOf, unknownFieldsOf } from '../helpers/run/strict-fields.ts';

export { knownKind, modelOf };

export interface Manifest {
  apiVersion?: unknown;
  kind?: unknown;
  [field: string]: unknown;
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
  const checked = objects.flatMap((value, i) => (models[i] ? [{ value, model: models[i] }] : []));
  const fields = unknownFieldsOf(checked);
  const out: SchemaProblem[][] = [];
  let next = 0;
  for (const [i, o] of objects.entries()) {
    const model = models[i];
    if (!model) {
      out.push([{ kind: 'no-schema', message: `no schema for apiVersion ${String(o.apiVersion)} kind ${String(o.kind)}` }]);
      continue;
    }
    const problems: SchemaProblem[] = (fields[next++] ?? [])
      .map((f) => ({ kind: 'unknown-field', message: `unknown field "${f}" (strict field validation refuses it)` }));
    const p = await modelProblem(model, o);
    if (p) problems.push({ kind: 'schema', message: p });
    out.push(problems);
  }
  return out;
}
