/**
 * workshop/schema.ts: the workshop reader's strict, offline validation of the chapter's objects,
 * with the real schema packages and the TypeScript checker (about a second to load, so the
 * per-function tests of workshop/check.ts use a stand-in for this module instead).
 */
import { describe, expect, test } from 'vitest';
import { knownKind, modelOf, strictProblems, type Manifest, kindsOf, plainSchemaError } from '../../workshop/schema.ts';

const serviceEntry = (spec: Record<string, unknown> = {}): Manifest => ({
  apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'redis' },
  spec: { hosts: ['redis.example'], ports: [{ number: 6379, name: 'tcp-redis', protocol: 'TCP' }], location: 'MESH_EXTERNAL', resolution: 'STATIC', ...spec },
});

describe('strictProblems: one list of problems per object, in order', () => {
  test('a valid object has none', async () => {
    expect(await strictProblems([serviceEntry()])).toEqual([[]]);
  });

  test('a field the schema does not declare: an unknown-field problem naming its path', async () => {
    expect(await strictProblems([serviceEntry({ exportTo: ['.'], endpoint: [] })])).toEqual([[
      { kind: 'unknown-field', message: 'unknown field "spec.endpoint" (strict field validation refuses it)' },
    ]]);
  });

  test('a value the schema refuses: the schema\'s complaint, its first line; unknown fields come first', async () => {
    const [problems] = await strictProblems([serviceEntry({ resolution: 'MAGIC', extra: 1 })]);
    expect(problems!.map((p) => p.kind)).toEqual(['unknown-field', 'schema']);
    expect(problems![0]!.message).toBe('unknown field "spec.extra" (strict field validation refuses it)');
    expect(problems![1]!.message).not.toContain('\n');
    expect(problems![1]!.message.length).toBeGreaterThan(0);
  });

  test('an apiVersion or kind the packages do not know, or none at all: one no-schema problem; the others are still checked', async () => {
    const out = await strictProblems([
      { apiVersion: 'example.com/v1', kind: 'Thing' },
      serviceEntry({ bogus: true }),
      { kind: 'ConfigMap' },
      serviceEntry(),
    ]);
    expect(out).toEqual([
      [{ kind: 'no-schema', message: 'no schema for apiVersion example.com/v1 kind Thing (example.com/v1 is not an API version the schemas know)' }],
      [{ kind: 'unknown-field', message: 'unknown field "spec.bogus" (strict field validation refuses it)' }],
      [{ kind: 'no-schema', message: 'no schema for apiVersion undefined kind ConfigMap' }],
      [],
    ]);
  });

  test('no objects, no problems', async () => {
    expect(await strictProblems([])).toEqual([]);
  });
});

describe('the kinds it knows (re-exported from helpers/run/strict-fields.ts)', () => {
  test('Kubernetes and Istio kinds are known; others are not', () => {
    expect(knownKind('networking.istio.io/v1', 'ServiceEntry')).toBe(true);
    expect(knownKind('apps/v1', 'Deployment')).toBe(true);
    expect(knownKind('example.com/v1', 'Thing')).toBe(false);
    expect(modelOf('example.com/v1', 'Thing')).toBeUndefined();
    expect(modelOf('v1', 'ConfigMap')).toBeDefined();
  });
});

describe('schema messages in plain words (issue 23)', () => {
  test('the field as a path, the value, the allowed values; a misspelt kind gets "did you mean"', async () => {
    const [first, second] = await strictProblems([
      { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 's' }, spec: { hosts: ['a'], location: 'MESH_OUTSIDE', ports: [{ number: 'x', name: 'a' }] } },
      { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntri', metadata: { name: 's' } },
    ]);
    const [problem, kind] = [first![0], second![0]];
    expect(problem!.message).toBe('spec.location: "MESH_OUTSIDE" is not allowed; valid values: MESH_EXTERNAL, MESH_INTERNAL; spec.ports[0].number: "x" is not an integer');
    expect(kind!.message).toBe('no schema for apiVersion networking.istio.io/v1 kind ServiceEntri (did you mean ServiceEntry?)');
    expect(plainSchemaError({ instancePath: '', keyword: 'required', params: { missingProperty: 'spec' } }, {})).toBe('(the object): the field spec is required');
    expect(plainSchemaError({ instancePath: '/a', keyword: 'minimum', params: {}, message: 'must be >= 1' }, { a: 0 })).toBe('a: must be >= 1');
    expect(kindsOf('networking.istio.io/v1')).toContain('Gateway');
    expect(kindsOf('example.com/v1')).toEqual([]);
  });
});
