/**
 * Settings at their boundaries: each validator accepts whole values only (a valid value with
 * something before or after it is refused), lengths at and past their limits, blank values,
 * the rules that tie settings together, and the defaults and lists the README promises.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { pins } from '../../helpers/run/pins.ts';
import { describeSettings, loadSettings, settingDocs, SettingsError } from '../../helpers/run/settings.ts';
import { problemsOf, refusalOf } from './support.ts';

const accepts = (env: Record<string, string>) => () => loadSettings(env);

describe('validators take whole values only', () => {
  test.each([
    ['ISTIO_VERSION', ['1.30.5', '1.29.8', '11.300.55', '1.31.0-alpha.0', '1.31.0-beta.1', '1.31.0-rc.12'],
      ['1.30.5x', 'x1.30.5', 'v1.30.5', '1.30', '1.30.5.1', '1.30.5-beta', '1.30.5-gamma.1', '1.30.5-beta.1x', '1..5', '1.30.5 1.29.8']],
    ['CLUSTER_NAME', ['a', '7', 'ci-42', 'a'.repeat(32), `a${'-'.repeat(30)}b`],
      ['a'.repeat(33), '-ci', 'ci-', 'Ci', 'ci_42', 'ci.42', 'x ci', 'ci x']],
    ['GCP_REGION', ['us-central1', 'europe-west10', 'northamerica-northeast2'],
      ['Xus-central1', 'us-central1-a', 'us-central', 'uscentral1', 'us-central1x', '-central1', 'us--central1']],
    ['GCP_ZONE', ['us-central1-a', 'europe-west10-c'],
      ['us-central1', 'us-central1-ab', 'Xus-central1-a', 'us-central1-a1', 'us-central1-A', 'us-central-a']],
    ['REDIS_INSTANCE', ['r', 'redis-cart', 'r9', `r${'x'.repeat(38)}9`],
      [`r${'x'.repeat(39)}9`, 'redis-', '9cart', '-cart', 'Redis-cart', 'redis_cart', 'redis cart']],
    ['KIND_NODE_IMAGE', ['kindest/node:v1.36.1', `kindest/node:v1.36.1@sha256:${'0'.repeat(64)}`, 'localhost:5000/kindest/node:v1.36.1'],
      ['kindest/node v1', `kindest/node:v1.36.1@sha256:${'0'.repeat(63)}`, 'https://kindest/node', 'Kindest/node:v1.36.1']],
  ] as const)('%s', (env, good, bad) => {
    for (const v of good) expect(accepts({ [env]: v }), v).not.toThrow();
    for (const v of bad) {
      expect(problemsOf({ [env]: v }), v).toEqual([expect.stringMatching(new RegExp(`^${env}=`))]);
    }
  });

  test('the problem names the variable, the value as given and the valid values', () => {
    expect(problemsOf({ ISTIO_VERSION: '1.30.5x' })).toEqual([
      'ISTIO_VERSION="1.30.5x" is not valid; valid values: a release version x.y.z (e.g. 1.30.4, 1.31.0-beta.1)',
    ]);
    const e = refusalOf({ CLUSTER: 'gke' });
    expect(e.name).toBe('SettingsError');
    expect(e.message).toBe('Invalid settings, nothing was started:\n  - CLUSTER="gke" is not valid; valid values: kind, existing');
    expect(new SettingsError(['a', 'b']).message).toBe('Invalid settings, nothing was started:\n  - a\n  - b');
  });

  test('values are trimmed; blank means the default', () => {
    expect(loadSettings({ ISTIO_VERSION: ' 1.29.8 ', CLUSTER_NAME: '  ' })).toMatchObject({ istioVersion: '1.29.8', clusterName: 'egress-verify' });
    expect(loadSettings({ CLUSTER: ' existing ', LOAD_IMAGES: '' })).toMatchObject({ cluster: 'existing', loadImages: 'present' });
    expect(loadSettings({ ALLOW_CONTEXT: '   ', GCP_ZONE: ' ', KIND_BIN: '' })).toMatchObject({ allowContext: undefined, gcpZone: undefined, kindBin: undefined });
    expect(loadSettings({ GCP_ZONE: ' us-east1-b ' }).gcpZone).toBe('us-east1-b');
  });

  test('flags: every spelling, case and whitespace ignored; anything else refused', () => {
    for (const v of ['1', 'true', 'TRUE', ' yes ', 'on', 'On']) expect(loadSettings({ KEEP_CLUSTER: v }).keepCluster, v).toBe(true);
    for (const v of ['0', 'false', 'No', 'off', '', '  ']) expect(loadSettings({ KEEP_CLUSTER: v }).keepCluster, v).toBe(false);
    for (const v of ['2', 'y', 'truee', 'enabled']) expect(problemsOf({ KEEP_CLUSTER: v }), v).toHaveLength(1);
  });

  test('one-of choices are exact words', () => {
    for (const v of ['Kind', 'kind,existing', 'existin']) expect(problemsOf({ CLUSTER: v }), v).toHaveLength(1);
    expect(loadSettings({ REDIS_BACKEND: 'memorystore', CLUSTER: 'existing' }).redisBackend).toBe('memorystore');
  });

  test('download mirror: http(s) only, trailing slashes dropped', () => {
    expect(loadSettings({ DOWNLOAD_MIRROR: 'http://mirror.local:8080/gh///' }).downloadMirror).toBe('http://mirror.local:8080/gh');
    expect(loadSettings({ DOWNLOAD_MIRROR: 'https://mirror.local' }).downloadMirror).toBe('https://mirror.local');
    expect(loadSettings({ DOWNLOAD_MIRROR: ' ' }).downloadMirror).toBeUndefined();
    for (const v of ['file:///srv/mirror', 'mirror.local', 'ftp://mirror.local']) expect(problemsOf({ DOWNLOAD_MIRROR: v }), v).toHaveLength(1);
  });

  test('paths: relative ones are made absolute; the cache ignores a relative XDG_CACHE_HOME', () => {
    expect(loadSettings({ ARTIFACTS_DIR: 'out/run-1' }).artifactsDir).toBe(resolve('out/run-1'));
    expect(loadSettings({ ARTIFACTS_DIR: '/abs/a' }).artifactsDir).toBe('/abs/a');
    expect(loadSettings({ TOOLS_CACHE_DIR: 'cache' }).toolsCacheDir).toBe(resolve('cache'));
    expect(loadSettings({ XDG_CACHE_HOME: 'relative', HOME: '/home/m' }).toolsCacheDir).toBe('/home/m/.cache/egress-verify');
    expect(loadSettings({ XDG_CACHE_HOME: '', HOME: '/home/m' }).toolsCacheDir).toBe('/home/m/.cache/egress-verify');
    expect(loadSettings({}).toolsCacheDir).toBe(join(homedir(), '.cache', 'egress-verify'));
  });
});

describe('rules across settings', () => {
  test('kind always installs Istio; an existing cluster only when asked', () => {
    expect(loadSettings({ CLUSTER: 'kind', INSTALL_ISTIO: 'false' }).installIstio).toBe(true);
    expect(loadSettings({ CLUSTER: 'existing' }).installIstio).toBe(false);
    expect(loadSettings({ CLUSTER: 'existing', INSTALL_ISTIO: '1' }).installIstio).toBe(true);
  });

  test('the kind node image follows ISTIO_VERSION unless set; an existing cluster is not checked against it', () => {
    expect(loadSettings({ ISTIO_VERSION: '1.29.8' }).kindNodeImage).toMatch(/^kindest\/node:v1\.35\./);
    expect(loadSettings({ ISTIO_VERSION: '1.29.8', KIND_NODE_IMAGE: '  ' }).kindNodeImage).toMatch(/^kindest\/node:v1\.35\./);
    const explicit = pins.kindNodeImages.find((i) => /:v1\.34\./.test(i))!;
    expect(loadSettings({ ISTIO_VERSION: '1.29.8', KIND_NODE_IMAGE: explicit }).kindNodeImage).toBe(explicit);
    // Kubernetes 1.36 is too new for Istio 1.28: refused with kind, irrelevant for an existing cluster.
    expect(problemsOf({ ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage })).toHaveLength(1);
    const existing = loadSettings({ CLUSTER: 'existing', ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage });
    expect(existing.kindNodeImage).toBe(pins.kindNodeImage);
    expect(loadSettings({ CLUSTER: 'existing', ISTIO_VERSION: '1.29.8' }).kindNodeImage).toBe(pins.kindNodeImage);
  });

  test('each combination rule fires exactly when it should', () => {
    expect(problemsOf({ REDIS_BACKEND: 'memorystore' })).toEqual([
      'REDIS_BACKEND=memorystore needs CLUSTER=existing: Memorystore is reachable only from inside its VPC, not from a kind cluster on this machine',
    ]);
    expect(problemsOf({ CLUSTER: 'existing', REUSE_CLUSTER: 'true' })).toEqual(['REUSE_CLUSTER applies to kind clusters only; with CLUSTER=existing, unset it']);
    expect(problemsOf({ CLUSTER: 'existing', MEMORYSTORE_CREATE: 'true' })).toEqual([
      'MEMORYSTORE_CREATE is set but REDIS_BACKEND is not memorystore; valid values for REDIS_BACKEND here: memorystore',
    ]);
    expect(accepts({ REUSE_CLUSTER: 'true' })).not.toThrow();
    expect(accepts({ CLUSTER: 'existing', REDIS_BACKEND: 'memorystore', MEMORYSTORE_CREATE: 'true' })).not.toThrow();
    expect(accepts({ CLUSTER: 'existing' })).not.toThrow();
  });

  test('several rules broken at once: all reported', () => {
    expect(problemsOf({ REDIS_BACKEND: 'memorystore', MEMORYSTORE_CREATE: '1', ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage })).toHaveLength(2);
    expect(problemsOf({ CLUSTER: 'existing', REUSE_CLUSTER: '1', MEMORYSTORE_CREATE: '1' })).toHaveLength(2);
  });

  test('rules are checked only once every value is valid (no follow-up noise)', () => {
    expect(problemsOf({ REDIS_BACKEND: 'memorystore', CLUSTER_NAME: 'Bad_Name' })).toEqual([
      expect.stringMatching(/^CLUSTER_NAME="Bad_Name" is not valid/),
    ]);
  });
});

describe('defaults and documented lists', () => {
  const docs = new Map(settingDocs().map((d) => [d.env, d]));

  test('defaults of the values a run depends on', () => {
    expect(loadSettings({})).toMatchObject({
      istioVersion: pins.istio, cluster: 'kind', installIstio: true, redisBackend: 'container', loadImages: 'present',
      memorystoreRedisVersion: 'redis_7_0', redisInstance: 'redis-cart', gcpRegion: 'us-central1', gcpZone: undefined, gcpProject: undefined,
    });
  });

  test('Memorystore versions: the ones the API lists, redis_7_0 by default', () => {
    expect(docs.get('MEMORYSTORE_REDIS_VERSION')).toMatchObject({ defaultText: 'redis_7_0', valid: 'redis_3_2, redis_4_0, redis_5_0, redis_6_x, redis_7_0, redis_7_2' });
    for (const v of ['redis_3_2', 'redis_4_0', 'redis_5_0', 'redis_6_x', 'redis_7_0', 'redis_7_2']) {
      expect(loadSettings({ MEMORYSTORE_REDIS_VERSION: v }).memorystoreRedisVersion).toBe(v);
    }
    expect(problemsOf({ MEMORYSTORE_REDIS_VERSION: 'redis_8_0' })).toHaveLength(1);
  });

  test('the documented defaults are the ones used', () => {
    expect(docs.get('ISTIO_VERSION')?.defaultText).toBe(pins.istio);
    expect(docs.get('CLUSTER')).toMatchObject({ defaultText: 'kind', valid: 'kind, existing' });
    expect(docs.get('REDIS_BACKEND')).toMatchObject({ defaultText: 'container', valid: 'container, memorystore' });
    expect(docs.get('LOAD_IMAGES')).toMatchObject({ defaultText: 'present', valid: 'present, never' });
    expect(docs.get('KEEP_CLUSTER')).toMatchObject({ defaultText: 'false', valid: 'true, false, 1, 0, yes, no, on, off (any case); empty is false' });
    expect(docs.get('PROPAGATION_TIMEOUT')).toMatchObject({ defaultText: '120s', valid: 'a duration up to 24h: 90, 90s, 5m, 2m30s, 1h, 500ms' });
    expect(docs.get('GCP_ZONE')?.defaultText).toBe('');
  });

  test('describeSettings: one entry per variable, unset values as null', () => {
    const d = describeSettings(loadSettings({ HOME: '/home/m', GCP_PROJECT: 'p-1' }));
    expect(Object.keys(d)).toEqual(settingDocs().map((x) => x.env));
    expect(d).toMatchObject({ CLUSTER: 'kind', KEEP_CLUSTER: false, GCP_PROJECT: 'p-1', GCP_ZONE: null, ALLOW_CONTEXT: null, READY_TIMEOUT: '5m' });
  });
});

describe('errors that are not invalid values', () => {
  test('an unexpected error while reading a setting is thrown as it is, not reported as an invalid value', () => {
    const boom = new TypeError('environment unreadable');
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_t, key) => {
        if (key === 'XDG_CACHE_HOME') throw boom;
        return undefined;
      },
    });
    expect(() => loadSettings(env)).toThrow(boom);
  });
});
