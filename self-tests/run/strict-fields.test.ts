/**
 * helpers/run/strict-fields.ts with values: where a kind's declarations are found (modelOf), and the
 * exact paths the walker reports for unknown fields at every depth and in every form the
 * @kubernetes-models declarations use (arrays, maps, imports, `A & (B | C)`, `| null`), against
 * test-only declarations (self-tests/strict-shapes/) and the real packages. Offline and
 * in-process; the TypeScript program is built once per new model, so the tests share it.
 */
import { describe, expect, test, vi } from 'vitest';
import ts from 'typescript';
import {
  assertNoUnknownFields, knownKind, type Model, modelOf, UnknownFieldsError, unknownFields, unknownFieldsOf,
} from '../../helpers/run/strict-fields.ts';
import type { KubeObject } from '../../helpers/run/manifests.ts';

const SHAPES: Model = { module: './self-tests/strict-shapes/shapes.js', iface: 'IShapes' };
const base = { apiVersion: 'test.example/v1', kind: 'Shapes', required: { a: 'x' } };
/** The unknown-field paths of a Shapes object made of `fields` (plus the required ones). */
const shapes = (fields: Record<string, unknown>) => unknownFieldsOf([{ value: { ...base, ...fields }, model: SHAPES }])[0];

/**
 * Files the TypeScript host reads from disk while `fn` runs (ts.createProgram itself cannot be
 * spied on: the package's exports are not configurable). A new program reads package.json
 * files to resolve its imports, and every declaration file it has not parsed before.
 */
function readsDuring<T>(fn: () => T): { result: T; reads: string[] } {
  const reads: string[] = [];
  const original = ts.sys.readFile;
  const spy = vi.spyOn(ts.sys, 'readFile').mockImplementation((f, enc) => { reads.push(f); return original.call(ts.sys, f, enc); });
  try {
    return { result: fn(), reads };
  } finally {
    spy.mockRestore();
  }
}

describe('strict fields: an empty batch (first: the checker is not built yet)', () => {
  test('no findings, and no program built', () => {
    const r = readsDuring(() => unknownFieldsOf([]));
    expect(r.result).toEqual([]);
    expect(r.reads).toEqual([]);
  });
});

describe('strict fields: where the declarations of a kind are (modelOf, knownKind)', () => {
  test.each([
    ['v1', 'ConfigMap', 'kubernetes-models/v1/ConfigMap'],
    ['apps/v1', 'Deployment', 'kubernetes-models/apps/v1/Deployment'],
    ['networking.istio.io/v1', 'Gateway', '@kubernetes-models/istio/networking.istio.io/v1/Gateway'],
    ['networking.istio.io/v1alpha3', 'EnvoyFilter', '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter'],
    ['security.istio.io/v1', 'AuthorizationPolicy', '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy'],
    ['install.istio.io/v1alpha1', 'IstioOperator', '@kubernetes-models/istio/install.istio.io/v1alpha1/IstioOperator'],
  ])('%s %s: %s', (apiVersion, kind, module) => {
    expect(modelOf(apiVersion, kind)).toEqual({ module, iface: `I${kind}` });
    expect(knownKind(apiVersion, kind)).toBe(true);
  });

  test.each([
    ['apps/v1', 'Gateway', 'a kind of another group'],
    ['networking.istio.io/v1', 'Deployment', 'a built-in kind under an Istio group'],
    ['apps/v2', 'Deployment', 'a version that does not exist'],
    ['example.com/v1', 'Thing', 'a group no package declares'],
    ['v1', 'configMap', 'a kind not starting with a capital'],
    ['v1', 'index', 'the package\'s index file, not a kind'],
    ['v1', 'Config-Map', 'a character kinds never have'],
    ['v1', '', 'no kind'],
    ['', 'ConfigMap', 'no apiVersion'],
    ['apps/v1', 'x/../Deployment', 'a path in the kind'],
    ['apps/v1', 'Deployment/../Deployment', 'a path after a valid kind'],
    ['_schemas', 'IoK8sApiCoreV1ConfigMap', 'the packages\' schema folder, not an API version'],
    ['apps /v1', 'Deployment', 'a space in the group'],
  ])('%s %s: none (%s)', (apiVersion, kind) => {
    expect(modelOf(apiVersion, kind)).toBeUndefined();
    expect(knownKind(apiVersion, kind)).toBe(false);
  });
});

describe('strict fields: the paths of unknown fields, in every form of declaration (test-only declarations)', () => {
  test('an object with declared fields only: none', () => {
    expect(shapes({
      optional: { c: 'x' }, list: [{ name: 'a', inner: [{ x: 1 }] }], matrix: [[{ v: 1 }]], readonlyList: [{ r: 'x' }],
      tuple: [{ t: 'x' }], map: { a: { known: 'x' } }, part: { deep: { deeper: [{ leaf: 'x' }] } }, str: 'x', strOrNum: 3,
    })).toEqual([]);
  });

  test('top level: the key itself, bracketed and quoted when it is not an identifier', () => {
    expect(shapes({ extra: 1 })).toEqual(['extra']);
    expect(shapes({ $dollar: 1, _under: 2, x9: 3 })).toEqual(['$dollar', '_under', 'x9']);
    expect(shapes({ 'bad-key': 1, '9lives': 2, 'a b': 3, '': 4 })).toEqual(['["bad-key"]', '["9lives"]', '["a b"]', '[""]']);
  });

  test('nested objects, optional and required: the dotted path', () => {
    expect(shapes({ required: { a: 'x', b: 1, zz: 2 } })).toEqual(['required.zz']);
    expect(shapes({ optional: { c: 'x', d: 1 } })).toEqual(['optional.d']);
    expect(shapes({ optional: null })).toEqual([]);
    expect(shapes({ dashed: { 'with-dash': { z: 'x', y: 1 } } })).toEqual(['dashed["with-dash"].y']);
  });

  test('arrays of objects, arrays of arrays, readonly arrays, tuples: the index of each element', () => {
    expect(shapes({ list: [{ name: 'a' }, { name: 'b', bad: 1, inner: [{ x: 1 }, { y: 2 }] }] })).toEqual(['list[1].bad', 'list[1].inner[1].y']);
    expect(shapes({ matrix: [[{ v: 1 }], [{ v: 2 }, { w: 3 }]] })).toEqual(['matrix[1][1].w']);
    expect(shapes({ readonlyList: [{ r: 'x', s: 'y' }] })).toEqual(['readonlyList[0].s']);
    expect(shapes({ tuple: [{ t: 'x', u: 'y' }] })).toEqual(['tuple[0].u']);
  });

  test('maps take any key; what their values declare still counts', () => {
    expect(shapes({ map: { 'a.b/c': { known: 'x' }, other: { known: 'y', nope: 1 } } })).toEqual(['map.other.nope']);
    expect(shapes({ map: { 'a.b/c': { nope: 1 } } })).toEqual(['map["a.b/c"].nope']);
    expect(shapes({ mixed: { fixed: { f: 'x', g: 1 }, anything: { goes: 1 } } })).toEqual(['mixed.fixed.g']);
  });

  test('types reached through an import', () => {
    expect(shapes({ part: { deep: { deeper: [{ leaf: 'x' }, { leaf: 'y', stem: 1 }] }, top: 1 } })).toEqual(['part.deep.deeper[1].stem', 'part.top']);
  });

  test('open members (any, unknown) are not walked', () => {
    expect(shapes({ open: { a: { b: 1 } }, openUnknown: { c: [1] } })).toEqual([]);
  });

  test('a union of objects: fits when one member declares every field, else the closest member counts', () => {
    expect(shapes({ choice: { one: 'x', shared: 'y' } })).toEqual([]);
    expect(shapes({ choice: { two: 'x', three: 'y', shared: 'z' } })).toEqual([]);
    // One member would report two, the other one: the closer wins, whichever is declared first.
    expect(shapes({ choice: { one: 'x', two: 'y', three: 'z' } })).toEqual(['choice.one']);
    expect(shapes({ choice: { two: 'x', one: 'y', zz: 1 } })).toEqual(['choice.two', 'choice.zz']);
  });

  test('a union of a list and an object: the member of the value\'s form is walked', () => {
    expect(shapes({ listOrObject: [{ e: 'x' }, { e: 'y', f: 1 }] })).toEqual(['listOrObject[1].f']);
    expect(shapes({ listOrObject: { k: 'x', j: 1 } })).toEqual(['listOrObject.j']);
    expect(shapes({ listOrObject: { e: 'x' } })).toEqual(['listOrObject.e']);
  });

  test('an intersection (oneOf as A & (B | C)): a field is known when any part declares it', () => {
    expect(shapes({ oneOf: { base: 'x', left: 'y' } })).toEqual([]);
    expect(shapes({ oneOf: { base: 'x', right: 'y' } })).toEqual([]);
    expect(shapes({ oneOf: { base: 'x', zap: 1, left: 'y' } })).toEqual(['oneOf.zap']);
    expect(shapes({ both: { p: 'x', q: 'y' } })).toEqual([]);
    expect(shapes({ both: { p: 'x', r: 1, q: 'y' } })).toEqual(['both.r']);
    expect(shapes({ both: [{ r: 1 }] })).toEqual([]);
    // A part that cannot describe an object (the string of a branded string) does not hide what the others report.
    expect(shapes({ branded: { k: 'x', z: 1 } })).toEqual(['branded.z']);
    expect(shapes({ unionOfIntersections: { a1: 'x', a2: 'y' } })).toEqual([]);
    expect(shapes({ unionOfIntersections: { b1: 'x' } })).toEqual([]);
    expect(shapes({ unionOfIntersections: { a1: 'x', a2: 'y', c: 1 } })).toEqual(['unionOfIntersections.c']);
  });

  test('type mismatches are not this check\'s business: nothing reported, nothing walked', () => {
    expect(shapes({ str: { a: 1 }, strOrNum: { b: 2 } })).toEqual([]);
    expect(shapes({ list: { name: 'a', bad: 1 } })).toEqual([]);
    expect(shapes({ required: ['x'] })).toEqual([]);
    expect(shapes({ optional: [{ zz: 1 }], map: 5, matrix: 'x' })).toEqual([]);
    // A string is not walked as an object of its characters.
    expect(shapes({ required: 'ab', optional: 'cd', map: 'ef' })).toEqual([]);
    // A declared list without an element type (an empty tuple): its elements are not walked.
    expect(shapes({ emptyTuple: [{ a: 1 }] })).toEqual([]);
  });
});

describe('strict fields: batches and the checker they share', () => {
  const cm = (data: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, ...data });
  const CM = modelOf('v1', 'ConfigMap')!;
  // Kinds no other test file checks, so they are new to the checker here even when another file
  // ran first in the same worker (vitest's --isolate=false).
  const SECRET = modelOf('v1', 'LimitRange')!;
  const NS = modelOf('v1', 'ResourceQuota')!;

  test('a batch: one finding list per item, in order', () => {
    expect(unknownFieldsOf([
      { value: cm({ data: { a: 'b' }, datta: 1 }), model: CM },
      { value: { ...base, extra: 1 }, model: SHAPES },
      { value: cm({}), model: CM },
    ])).toEqual([['datta'], ['extra'], []]);
  });

  test('models seen before need no new program; a new one needs one, which keeps the old ones without reading their files again', () => {
    unknownFieldsOf([{ value: cm({}), model: CM }, { value: base, model: SHAPES }]);
    const again = readsDuring(() => unknownFieldsOf([{ value: cm({ x: 1 }), model: CM }, { value: { ...base, v: 1 }, model: SHAPES }]));
    expect(again.result).toEqual([['x'], ['v']]);
    expect(again.reads).toEqual([]);
    const secret = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 's' }, spec: { limits: [] }, y: 1 };
    const added = readsDuring(() => unknownFieldsOf([{ value: secret, model: SECRET }, { value: cm({}), model: CM }]));
    expect(added.result).toEqual([['y'], []]);
    expect(added.reads.filter((f) => f.endsWith('/v1/LimitRange.d.ts'))).toHaveLength(1);
    expect(added.reads.filter((f) => f.endsWith('/v1/ConfigMap.d.ts') || f.endsWith('/strict-shapes/shapes.d.ts'))).toEqual([]);
    // All three stay known: no program, no reads.
    const all = readsDuring(() => unknownFieldsOf([{ value: cm({ z: 1 }), model: CM }, { value: { ...base, w: 1 }, model: SHAPES }, { value: secret, model: SECRET }]));
    expect(all.result).toEqual([['z'], ['w'], ['y']]);
    expect(all.reads).toEqual([]);
    // A batch of a known and a new model: the new one is added.
    const ns = readsDuring(() => unknownFieldsOf([{ value: cm({}), model: CM }, { value: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'n' }, spex: {} }, model: NS }]));
    expect(ns.result).toEqual([[], ['spex']]);
    expect(ns.reads.filter((f) => f.endsWith('/v1/ResourceQuota.d.ts'))).toHaveLength(1);
  });

  test('a model whose interface does not exist is an error, and the checker stays usable', () => {
    unknownFieldsOf([{ value: cm({}), model: CM }]);
    expect(() => unknownFieldsOf([{ value: {}, model: { module: 'kubernetes-models/v1/Pod', iface: 'INoSuchInterface' } }])).toThrow(Error);
    const after = readsDuring(() => unknownFieldsOf([{ value: cm({ q: 1 }), model: CM }]));
    expect(after.result).toEqual([['q']]);
    expect(after.reads).toEqual([]);
  });
});

describe('strict fields: unknownFields and assertNoUnknownFields on whole objects', () => {
  const o = (x: Record<string, unknown>) => ({ metadata: { name: 'n', namespace: 'ns' }, ...x }) as KubeObject;

  test('the IstioOperator is not checked (istioctl reads it); the walker alone would report its spec', () => {
    const op = o({ apiVersion: 'install.istio.io/v1alpha1', kind: 'IstioOperator', spec: { profile: 'minimal' } });
    expect(unknownFields(op)).toEqual([]);
    expect(() => assertNoUnknownFields(op)).not.toThrow();
    expect(unknownFieldsOf([{ value: op, model: modelOf('install.istio.io/v1alpha1', 'IstioOperator')! }])).toEqual([['spec']]);
    // The same kind in another version is checked like any other.
    expect(() => unknownFields(o({ apiVersion: 'install.istio.io/v1alpha2', kind: 'IstioOperator' }))).toThrow(Error);
  });

  test('a kind without declarations: an error, not an empty list', () => {
    for (const check of [unknownFields, assertNoUnknownFields]) {
      const e = (() => { try { check(o({ apiVersion: 'example.com/v1', kind: 'Thing' })); return undefined; } catch (x) { return x; } })();
      // Its own Error, not a TypeError from walking without a model.
      expect((e as Error).constructor).toBe(Error);
    }
  });

  test('assertNoUnknownFields: silent for none, UnknownFieldsError with every path for some', () => {
    const good = o({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: 'b' } });
    expect(unknownFields(good)).toEqual([]);
    expect(() => assertNoUnknownFields(good)).not.toThrow();
    for (const paths of [['datta'], ['datta', 'spec']]) {
      const bad = o({ apiVersion: 'v1', kind: 'ConfigMap', ...Object.fromEntries(paths.map((p) => [p, 1])) });
      const e = (() => { try { assertNoUnknownFields(bad); return undefined; } catch (x) { return x; } })();
      expect(e).toBeInstanceOf(UnknownFieldsError);
      expect((e as UnknownFieldsError).name).toBe('UnknownFieldsError');
      expect((e as UnknownFieldsError).paths).toEqual(paths);
      expect((e as UnknownFieldsError).message).toContain(paths.join(', '));
    }
  });

  test('UnknownFieldsError says "a field" for one path and "fields" for more', () => {
    const x = o({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(new UnknownFieldsError(x, ['a']).message).toMatch(/ has a field its schema/);
    expect(new UnknownFieldsError(x, ['a', 'b']).message).toMatch(/ has fields its schema/);
  });
});
