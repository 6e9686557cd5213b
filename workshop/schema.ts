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
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { knownKind, type Model, modelOf, unknownFieldsOf } from '../helpers/run/strict-fields.ts';
import { nearest } from './classify.ts';

export { knownKind, modelOf, nearest };

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
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) return (errors as AjvError[]).map((x) => plainSchemaError(x, o)).join('; ');
    return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

/** One error of the packages' validators (Ajv's shape). */
export interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** An Ajv error in plain words: the field as a path (spec.ports[0].number), the value, and the allowed values when the schema lists them. */
export function plainSchemaError(e: AjvError, o: unknown): string {
  const parts = e.instancePath.split('/').filter(Boolean);
  const path = parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('') || '(the object)';
  let value: unknown = o;
  for (const p of parts) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[p] : undefined;
  const shown = JSON.stringify(value);
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) return `${path}: ${shown} is not allowed; valid values: ${e.params.allowedValues.join(', ')}`;
  if (e.keyword === 'type') return `${path}: ${shown} is not ${/^[aeiou]/.test(String(e.params.type)) ? 'an' : 'a'} ${String(e.params.type)}`;
  if (e.keyword === 'required') return `${path}: the field ${String(e.params.missingProperty)} is required`;
  return `${path}: ${e.message ?? e.keyword}`;
}

const require = createRequire(import.meta.url);

/** The kinds the schema packages know in an API version (from their file names). */
export function kindsOf(apiVersion: string): string[] {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  const pkg = group.endsWith('istio.io') ? '@kubernetes-models/istio' : 'kubernetes-models';
  let dir: string;
  try {
    dir = join(dirname(require.resolve(`${pkg}/package.json`)), group ? `${group}/${version}` : version);
  } catch {
    return [];
  }
  if (!/^[A-Za-z0-9./-]+$/.test(apiVersion) || !existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^[A-Z][A-Za-z0-9]*\.d\.ts$/.test(f)).map((f) => f.slice(0, -'.d.ts'.length)).sort();
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
      const kinds = typeof o.apiVersion === 'string' ? kindsOf(o.apiVersion) : [];
      const near = typeof o.kind === 'string' ? nearest(o.kind, kinds) : undefined;
      const hint = near ? ` (did you mean ${near}?)` : kinds.length === 0 && typeof o.apiVersion === 'string' ? ` (${o.apiVersion} is not an API version the schemas know)` : '';
      out.push([{ kind: 'no-schema', message: `no schema for apiVersion ${String(o.apiVersion)} kind ${String(o.kind)}${hint}` }]);
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
