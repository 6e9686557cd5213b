/**
 * The manifests in fixtures/, rendered with the values known at run time.
 *
 * Placeholders are `${NAME}` inside YAML string values, substituted after parsing, so a
 * multi-line value (the probe script) needs no indentation games, and a value that is exactly
 * one placeholder takes the value's own type (`number: ${REDIS_PORT}` stays a number).
 * Rendering for the plan leaves unknown values as `<NAME>`; rendering for a cluster refuses them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES_DIR = join(ROOT_DIR, 'fixtures');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [field: string]: unknown;
}

export type Values = Readonly<Record<string, string | number | undefined>>;

const PLACEHOLDER = /\$\{([A-Z_][A-Z0-9_]*)\}/g;
const WHOLE = /^\$\{([A-Z_][A-Z0-9_]*)\}$/;

export class MissingValueError extends Error {}

function substitute(node: unknown, values: Values, mode: 'apply' | 'plan'): unknown {
  if (typeof node === 'string') {
    const lookup = (name: string): string | number => {
      const v = values[name];
      if (v !== undefined) return v;
      if (mode === 'plan') return `<${name}>`;
      throw new MissingValueError(`no value for \${${name}}`);
    };
    const whole = WHOLE.exec(node);
    if (whole) return lookup(whole[1]!);
    return node.replace(PLACEHOLDER, (_m, name: string) => String(lookup(name)));
  }
  if (Array.isArray(node)) return node.map((n) => substitute(n, values, mode));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, values, mode)]));
  }
  return node;
}

/** The placeholders a file (path from the repository root) uses, in order of first use. */
export function placeholders(file: string): string[] {
  // Equivalent mutants here: `.*` already runs to the end of the line, so `$` changes nothing; and
  // comments replaced by any text without `${` yield the same placeholders.
  // Stryker disable next-line Regex,StringLiteral: equivalent (see above)
  const text = readFileSync(join(ROOT_DIR, file), 'utf8').replace(/^\s*#.*$/gm, '');
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** Renders a manifest file (path from the repository root, e.g. fixtures/cartservice.yaml). */
// Stryker disable next-line StringLiteral: every mode but 'plan' refuses missing values, so the default's spelling is not observable.
export function render(file: string, values: Values, mode: 'apply' | 'plan' = 'apply'): KubeObject[] {
  const text = readFileSync(join(ROOT_DIR, file), 'utf8');
  const docs = parseAllDocuments(text);
  const out: KubeObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as unknown;
    if (obj == null) continue; // an empty document (null or undefined)
    try {
      out.push(substitute(obj, values, mode) as KubeObject);
    } catch (e) {
      // Stryker disable next-line ConditionalExpression: substitute() throws nothing but MissingValueError.
      if (e instanceof MissingValueError) throw new MissingValueError(`${file}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

/** "ServiceEntry egress-verify-mesh/redis-memorystore" */
export function describeObject(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
