import { describe, expect, test } from 'vitest';
import { pins } from '../helpers/pins.ts';
import { loadSettings, parseDuration, settingDocs, SettingsError } from '../helpers/settings.ts';

function errorOf(env: Record<string, string>): SettingsError {
  try {
    loadSettings(env);
  } catch (e) {
    if (e instanceof SettingsError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('settings: defaults', () => {
  const s = loadSettings({ HOME: '/home/maintainer' });
  test('versions and images come from the pins', () => {
    expect(s.istioVersion).toBe(pins.istio);
    expect(s.kindNodeImage).toBe(pins.kindNodeImage);
    expect(s.redisImage).toBe(pins.redisImage);
    expect(s.probeImage).toBe(pins.probeImage);
    expect(s.cartImage).toMatch(new RegExp(`/cartservice:${pins.cartservice}$`));
  });
  test('the stand-in runs the Redis version a default Memorystore instance runs', () => {
    const [, major, minor] = /^redis_(\d+)_(\d+)$/.exec(s.memorystoreRedisVersion) ?? [];
    expect(s.redisImage).toBe(`redis:${major}.${minor}`);
  });
  test('the kind node image is pinned by digest', () => {
    expect(s.kindNodeImage).toMatch(/^kindest\/node:v1\.\d+\.\d+@sha256:[a-f0-9]{64}$/);
  });
  test('cluster, backend and flags', () => {
    expect(s).toMatchObject({
      clusterName: 'egress-verify', cluster: 'kind', keepCluster: false, reuseCluster: false,
      redisBackend: 'container', loadImages: 'present', allowContext: undefined,
      downloadMirror: undefined, kindBin: undefined, istioctlBin: undefined,
      redisInstance: 'redis-cart', gcpRegion: 'us-central1', memorystoreCreate: false,
    });
  });
  test('paths are absolute; the tools cache follows XDG_CACHE_HOME', () => {
    expect(s.artifactsDir).toBe(`${process.cwd()}/artifacts`);
    expect(s.toolsCacheDir).toBe('/home/maintainer/.cache/egress-verify');
    expect(loadSettings({ XDG_CACHE_HOME: '/xdg' }).toolsCacheDir).toBe('/xdg/egress-verify');
  });
  test('timeouts', () => {
    expect(s.propagationTimeoutMs).toBe(120_000);
    expect(s.readyTimeoutMs).toBe(300_000);
    expect(s.setupTimeoutMs).toBe(1_200_000);
  });
});

describe('settings: each value parsed', () => {
  test.each([
    ['ISTIO_VERSION', '1.29.6', 'istioVersion', '1.29.6'],
    ['ISTIO_VERSION', '1.31.0-beta.1', 'istioVersion', '1.31.0-beta.1'],
    ['KIND_NODE_IMAGE', `kindest/node:v1.35.5@sha256:${'a'.repeat(64)}`, 'kindNodeImage', `kindest/node:v1.35.5@sha256:${'a'.repeat(64)}`],
    ['CLUSTER_NAME', 'ci-42', 'clusterName', 'ci-42'],
    ['CLUSTER', 'existing', 'cluster', 'existing'],
    ['KEEP_CLUSTER', 'yes', 'keepCluster', true],
    ['KEEP_CLUSTER', '0', 'keepCluster', false],
    ['REUSE_CLUSTER', 'TRUE', 'reuseCluster', true],
    ['REDIS_IMAGE', 'egress-verify/redis:local', 'redisImage', 'egress-verify/redis:local'],
    ['LOAD_IMAGES', 'never', 'loadImages', 'never'],
    ['ARTIFACTS_DIR', '/tmp/a', 'artifactsDir', '/tmp/a'],
    ['TOOLS_CACHE_DIR', '/opt/cache', 'toolsCacheDir', '/opt/cache'],
    ['DOWNLOAD_MIRROR', 'https://mirror.example/github/', 'downloadMirror', 'https://mirror.example/github'],
    ['KIND_BIN', '/usr/local/bin/kind', 'kindBin', '/usr/local/bin/kind'],
    ['ISTIOCTL_BIN', '/opt/istioctl', 'istioctlBin', '/opt/istioctl'],
    ['SETUP_TIMEOUT', '30m', 'setupTimeoutMs', 1_800_000],
    ['READY_TIMEOUT', '90', 'readyTimeoutMs', 90_000],
    ['PROPAGATION_TIMEOUT', '500ms', 'propagationTimeoutMs', 500],
    ['ALLOW_CONTEXT', 'gke_p_r_c', 'allowContext', 'gke_p_r_c'],
    ['GCP_PROJECT', 'my-proj', 'gcpProject', 'my-proj'],
    ['GCP_REGION', 'europe-west1', 'gcpRegion', 'europe-west1'],
    ['GCP_ZONE', 'europe-west1-b', 'gcpZone', 'europe-west1-b'],
    ['REDIS_INSTANCE', 'redis-cart-ci', 'redisInstance', 'redis-cart-ci'],
    ['MEMORYSTORE_REDIS_VERSION', 'redis_4_0', 'memorystoreRedisVersion', 'redis_4_0'],
  ] as const)('%s=%s', (env, value, key, expected) => {
    expect(loadSettings({ [env]: value })[key]).toEqual(expected);
  });

  test('REDIS_BACKEND=memorystore with CLUSTER=existing and MEMORYSTORE_CREATE', () => {
    const s = loadSettings({ REDIS_BACKEND: 'memorystore', CLUSTER: 'existing', MEMORYSTORE_CREATE: '1' });
    expect(s).toMatchObject({ redisBackend: 'memorystore', cluster: 'existing', memorystoreCreate: true });
  });

  test('durations', () => {
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration(' 45s ')).toBe(45_000);
  });
});

describe('settings: invalid values stop the run, naming the variable, the value and the valid values', () => {
  test.each([
    ['ISTIO_VERSION', '1.30', /ISTIO_VERSION="1\.30" is not valid; valid values: a release version x\.y\.z/],
    ['ISTIO_VERSION', 'latest', /ISTIO_VERSION="latest"/],
    ['KIND_NODE_IMAGE', 'kindest/node v1', /KIND_NODE_IMAGE="kindest\/node v1" is not valid; valid values: an image reference/],
    ['CLUSTER_NAME', 'Egress_Verify', /CLUSTER_NAME="Egress_Verify" is not valid; valid values: lower-case letters/],
    ['CLUSTER', 'gke', /CLUSTER="gke" is not valid; valid values: kind, existing/],
    ['KEEP_CLUSTER', 'maybe', /KEEP_CLUSTER="maybe" is not valid; valid values: true, false, 1, 0, yes, no/],
    ['REUSE_CLUSTER', '2', /REUSE_CLUSTER="2" is not valid/],
    ['REDIS_BACKEND', 'elasticache', /REDIS_BACKEND="elasticache" is not valid; valid values: container, memorystore/],
    ['REDIS_IMAGE', 'http://redis', /REDIS_IMAGE="http:\/\/redis" is not valid/],
    ['CART_IMAGE', 'Cart Service', /CART_IMAGE="Cart Service" is not valid/],
    ['PROBE_IMAGE', ' @', /PROBE_IMAGE=" @" is not valid/],
    ['LOAD_IMAGES', 'always', /LOAD_IMAGES="always" is not valid; valid values: present, never/],
    ['DOWNLOAD_MIRROR', 'ftp://mirror', /DOWNLOAD_MIRROR="ftp:\/\/mirror" is not valid; valid values: an http:\/\/ or https:\/\/ URL/],
    ['DOWNLOAD_MIRROR', 'not a url', /DOWNLOAD_MIRROR="not a url"/],
    ['SETUP_TIMEOUT', '10 minutes', /SETUP_TIMEOUT="10 minutes" is not valid; valid values: a duration/],
    ['READY_TIMEOUT', '0', /READY_TIMEOUT="0" is not valid/],
    ['PROPAGATION_TIMEOUT', '-5s', /PROPAGATION_TIMEOUT="-5s" is not valid/],
    ['GCP_REGION', 'us central', /GCP_REGION="us central" is not valid; valid values: a GCP region/],
    ['GCP_ZONE', 'us-central1', /GCP_ZONE="us-central1" is not valid; valid values: a GCP zone/],
    ['REDIS_INSTANCE', '9cart', /REDIS_INSTANCE="9cart" is not valid/],
    ['MEMORYSTORE_CREATE', 'sure', /MEMORYSTORE_CREATE="sure" is not valid/],
    ['MEMORYSTORE_REDIS_VERSION', '7.2', /MEMORYSTORE_REDIS_VERSION="7\.2" is not valid; valid values: redis_3_2, .*redis_7_2/],
  ])('%s=%s', (env, value, message) => {
    expect(errorOf({ [env]: value }).message).toMatch(message);
  });

  test('all invalid values are reported at once', () => {
    const e = errorOf({ CLUSTER: 'gke', REDIS_BACKEND: 'x', KEEP_CLUSTER: 'maybe' });
    expect(e.problems).toHaveLength(3);
    expect(e.message).toMatch(/nothing was started/);
  });

  test('combinations that cannot work', () => {
    expect(errorOf({ REDIS_BACKEND: 'memorystore' }).message).toMatch(/REDIS_BACKEND=memorystore needs CLUSTER=existing/);
    expect(errorOf({ CLUSTER: 'existing', REUSE_CLUSTER: '1' }).message).toMatch(/REUSE_CLUSTER applies to kind clusters only/);
    expect(errorOf({ MEMORYSTORE_CREATE: '1' }).message).toMatch(/MEMORYSTORE_CREATE is set but REDIS_BACKEND is not memorystore/);
  });
});

describe('settings: documentation', () => {
  test('every setting is documented with a description, a default and its valid values', () => {
    const docs = settingDocs();
    expect(docs.length).toBeGreaterThanOrEqual(20);
    for (const d of docs) {
      expect(d.env).toMatch(/^[A-Z][A-Z_]+$/);
      expect(d.description.length).toBeGreaterThan(10);
      expect(d.valid.length).toBeGreaterThan(2);
    }
    expect(new Set(docs.map((d) => d.env)).size).toBe(docs.length);
  });
});
