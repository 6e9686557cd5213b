import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { pins } from '../../helpers/run/pins.ts';
import {
  describeSettings, formatDuration, loadSettings, MAX_DURATION_MS, parseDuration, probableSetting,
  settingDocs, settingWarnings,
} from '../../helpers/run/settings.ts';
import { artifactsDirProblem, executableFileProblem, loadCheckedSettings } from '../../helpers/run/settings-checks.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';
import { refusalOf } from './support.ts';

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
    expect(parseDuration('2m30s')).toBe(150_000);
    expect(parseDuration('1h5m')).toBe(3_900_000);
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
    ['KEEP_CLUSTER', 'maybe', /KEEP_CLUSTER="maybe" is not valid; valid values: true, false, 1, 0, yes, no, on, off/],
    ['REUSE_CLUSTER', '2', /REUSE_CLUSTER="2" is not valid/],
    ['REDIS_BACKEND', 'elasticache', /REDIS_BACKEND="elasticache" is not valid; valid values: container, memorystore/],
    ['REDIS_IMAGE', 'http://redis', /REDIS_IMAGE="http:\/\/redis" is not valid/],
    ['CART_IMAGE', 'Cart Service', /CART_IMAGE="Cart Service" is not valid/],
    ['PROBE_IMAGE', ' @', /PROBE_IMAGE=" @" is not valid/],
    ['LOAD_IMAGES', 'always', /LOAD_IMAGES="always" is not valid; valid values: present, never/],
    ['DOWNLOAD_MIRROR', 'ftp://mirror', /DOWNLOAD_MIRROR="ftp:\/\/mirror" is not valid; valid values: an http:\/\/ or https:\/\/ URL/],
    ['DOWNLOAD_MIRROR', 'not a url', /DOWNLOAD_MIRROR="not a url"/],
    ['SETUP_TIMEOUT', '10 minutes', /SETUP_TIMEOUT="10 minutes" is not valid; valid values: a duration/],
    ['SETUP_TIMEOUT', '5m 30s', /SETUP_TIMEOUT="5m 30s" is not valid/],
    ['SETUP_TIMEOUT', '90s5', /SETUP_TIMEOUT="90s5" is not valid/],
    ['READY_TIMEOUT', '0', /READY_TIMEOUT="0" is not valid/],
    ['PROPAGATION_TIMEOUT', '-5s', /PROPAGATION_TIMEOUT="-5s" is not valid/],
    ['GCP_REGION', 'us central', /GCP_REGION="us central" is not valid; valid values: a GCP region/],
    ['GCP_ZONE', 'us-central1', /GCP_ZONE="us-central1" is not valid; valid values: a GCP zone/],
    ['REDIS_INSTANCE', '9cart', /REDIS_INSTANCE="9cart" is not valid/],
    ['MEMORYSTORE_CREATE', 'sure', /MEMORYSTORE_CREATE="sure" is not valid/],
    ['MEMORYSTORE_REDIS_VERSION', '7.2', /MEMORYSTORE_REDIS_VERSION="7\.2" is not valid; valid values: redis_3_2, .*redis_7_2/],
  ])('%s=%s', (env, value, message) => {
    expect(refusalOf({ [env]: value }).message).toMatch(message);
  });

  test('all invalid values are reported at once', () => {
    const e = refusalOf({ CLUSTER: 'gke', REDIS_BACKEND: 'x', KEEP_CLUSTER: 'maybe' });
    expect(e.problems).toHaveLength(3);
    expect(e.message).toMatch(/nothing was started/);
  });

  test('combinations that cannot work', () => {
    expect(refusalOf({ REDIS_BACKEND: 'memorystore' }).message).toMatch(/REDIS_BACKEND=memorystore needs CLUSTER=existing/);
    expect(refusalOf({ CLUSTER: 'existing', REUSE_CLUSTER: '1' }).message).toMatch(/REUSE_CLUSTER applies to kind clusters only/);
    expect(refusalOf({ MEMORYSTORE_CREATE: '1' }).message).toMatch(/MEMORYSTORE_CREATE is set but REDIS_BACKEND is not memorystore/);
  });

  test('an explicit node image the Istio version does not support: a clear error with the fix', () => {
    expect(refusalOf({ ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage }).message)
      .toMatch(/ISTIO_VERSION=1\.28\.10 supports Kubernetes 1\.29 to 1\.34, but KIND_NODE_IMAGE is Kubernetes 1\.36 .* Use KIND_NODE_IMAGE=kindest\/node:v1\.34\.8@sha256:/);
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

describe('settings: durations are capped and shown as written', () => {
  test('a duration above 24h is refused by name, saying the maximum (Node timers would fire after 1 ms)', () => {
    const e = refusalOf({ SETUP_TIMEOUT: '1000h' });
    expect(e.problems).toEqual([expect.stringMatching(/^SETUP_TIMEOUT="1000h" is not valid \(more than the maximum, 24h\); valid values: a duration up to 24h/)]);
    expect(refusalOf({ READY_TIMEOUT: '86400001ms' }).message).toMatch(/READY_TIMEOUT="86400001ms" is not valid \(more than the maximum, 24h\)/);
    expect(refusalOf({ PROPAGATION_TIMEOUT: '99999999999999999999' }).message).toMatch(/PROPAGATION_TIMEOUT=.*more than the maximum/);
  });
  test('exactly the maximum is accepted', () => {
    expect(loadSettings({ SETUP_TIMEOUT: '24h' }).setupTimeoutMs).toBe(MAX_DURATION_MS);
    expect(MAX_DURATION_MS).toBeLessThan(2 ** 31 - 1);
  });
  test('written durations read back as the same value', () => {
    for (const ms of [500, 45_000, 120_000, 150_000, 1_200_000, 3_600_000, 5_430_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  test('the plan shows durations as written: the user\'s text, else the default as the README writes it (issue 24: 120s showed as 2m)', () => {
    const env = { SETUP_TIMEOUT: '1200', PROPAGATION_TIMEOUT: ' 120s ' };
    const d = describeSettings(loadSettings(env), env);
    expect(d).toMatchObject({ SETUP_TIMEOUT: '1200', READY_TIMEOUT: '5m', PROPAGATION_TIMEOUT: '120s' });
    expect(describeSettings(loadSettings({}), {})).toMatchObject({ SETUP_TIMEOUT: '20m', READY_TIMEOUT: '5m', PROPAGATION_TIMEOUT: '2m' });
  });
});

describe('settings: a variable name a small edit away from a setting is reported', () => {
  test.each([
    ['ISTIO_VERSON', 'ISTIO_VERSION'],
    ['ISTIO_VRESION', 'ISTIO_VERSION'],
    ['KIND_NODE_IMG', 'KIND_NODE_IMAGE'],
    ['KEEP_CLUSTERS', 'KEEP_CLUSTER'],
    ['REUSECLUSTER', 'REUSE_CLUSTER'],
    ['REDIS_IMAGES', 'REDIS_IMAGE'],
    ['ARTIFACT_DIR', 'ARTIFACTS_DIR'],
    ['LOAD_IMAGE', 'LOAD_IMAGES'],
    ['SETUP_TIMOUT', 'SETUP_TIMEOUT'],
    ['KIND_BN', 'KIND_BIN'],
  ])('%s -> %s', (typo, meant) => {
    expect(probableSetting(typo)).toBe(meant);
    expect(settingWarnings({ [typo]: 'x' })).toEqual([expect.stringContaining(`${typo} is not a setting; did you mean ${meant}?`)]);
  });
  test('common variables, settings themselves and lower-case names are never reported', () => {
    const common = [
      'PATH', 'HOME', 'CI', 'USER', 'SHELL', 'TERM', 'PWD', 'LANG', 'TMPDIR', 'EDITOR', 'NODE_OPTIONS', 'NODE_ENV', 'NODE_PATH',
      'KUBECONFIG', 'DOCKER_HOST', 'GITHUB_ACTIONS', 'GITHUB_STEP_SUMMARY', 'XDG_CACHE_HOME', 'REQUIRE_DOCKER', 'INIT_CWD',
      'TESTCONTAINERS_RYUK_DISABLED', 'REDIS_URL', 'REDIS_HOST', 'GCP_PROJECT_ID', 'CLOUDSDK_CORE_PROJECT', 'VITEST', 'VITEST_POOL_ID',
      'npm_config_cache', 'istio_versoin', 'KIND_EXPERIMENTAL_DOCKER_NETWORK', 'CLUSTER_NAME', 'ISTIO_VERSION',
    ];
    for (const name of common) expect(probableSetting(name), name).toBeUndefined();
    expect(settingWarnings(Object.fromEntries(common.map((n) => [n, 'x'])))).toEqual([]);
  });
  test('the real environment of this test run raises no warning', () => {
    expect(settingWarnings(process.env).filter((w) => w.includes('is not a setting'))).toEqual([]);
  });
});

describe('settings: KIND_NODE_IMAGE without a digest is accepted with a warning', () => {
  test('a tag only: accepted, and warned about as not reproducible', () => {
    expect(loadSettings({ KIND_NODE_IMAGE: 'kindest/node:v1.36.1' }).kindNodeImage).toBe('kindest/node:v1.36.1');
    expect(settingWarnings({ KIND_NODE_IMAGE: 'kindest/node:v1.36.1' })).toEqual([
      expect.stringMatching(/^KIND_NODE_IMAGE=kindest\/node:v1\.36\.1 has no @sha256: digest: .*not reproducible/),
    ]);
  });
  test('with a digest, or unset: no warning', () => {
    expect(settingWarnings({ KIND_NODE_IMAGE: pins.kindNodeImage })).toEqual([]);
    expect(settingWarnings({})).toEqual([]);
  });
  test('the table says which', () => {
    expect(settingDocs().find((d) => d.env === 'KIND_NODE_IMAGE')!.description).toMatch(/without a digest is accepted with a warning/);
  });
});

describe('settings: paths are checked before the run relies on them', () => {
  const work = tempFolder('settings');

  test.each([
    // /proc last: a recursive mkdir under /proc never returns (see settings-checks.test.ts), so a
    // mutant that loses the guard fails on /sys or /dev first instead of hanging.
    ['/sys/egress-verify', /pseudo-filesystem \/sys/],
    ['/dev/shm/../egress-verify', /pseudo-filesystem \/dev/],
    ['/proc/egress-verify', /ARTIFACTS_DIR=\/proc\/egress-verify is on the kernel's pseudo-filesystem \/proc/],
    ['/proc', /pseudo-filesystem \/proc/],
  ])('ARTIFACTS_DIR=%s is refused', (dir, message) => {
    expect(artifactsDirProblem(resolve(dir))).toMatch(message);
  });

  test('ARTIFACTS_DIR below a file is refused, naming the file', async () => {
    const file = join(work.path, 'a-file');
    await writeFile(file, '');
    expect(artifactsDirProblem(join(file, 'reports'))).toMatch(new RegExp(`^ARTIFACTS_DIR=${file}/reports cannot be a directory: ${file} is a file; valid values: a writable directory path`));
    expect(artifactsDirProblem(file)).toMatch(/cannot be a directory/);
  });

  test('a missing ARTIFACTS_DIR that can be created is accepted, and the check leaves nothing behind', () => {
    const dir = join(work.path, 'new', 'deeper');
    expect(artifactsDirProblem(dir)).toBeUndefined();
    expect(existsSync(join(work.path, 'new'))).toBe(false);
  });

  test('an existing ARTIFACTS_DIR keeps its contents and gets no probe file left in it', async () => {
    const dir = join(work.path, 'existing');
    await mkdir(dir);
    await writeFile(join(dir, 'junit.xml'), 'old');
    expect(artifactsDirProblem(dir)).toBeUndefined();
    expect(await readdir(dir)).toEqual(['junit.xml']);
  });

  test('a directory this user cannot write to is refused', async (ctx) => {
    const dir = join(work.path, 'read-only');
    await mkdir(dir);
    // Permission bits do not stop root; the immutable attribute (chattr +i, ext4 and others) does.
    const root = process.getuid?.() === 0;
    if (root) {
      const r = await execa('chattr', ['+i', dir], { reject: false });
      if (r.exitCode !== 0) ctx.skip(`running as root and chattr +i is not available here (${r.stderr.trim() || r.shortMessage}): no way to make a folder unwritable for root`);
    } else {
      await chmod(dir, 0o500);
    }
    try {
      expect(artifactsDirProblem(join(dir, 'reports'))).toMatch(new RegExp(`^ARTIFACTS_DIR=${dir}/reports cannot be created: ${dir} is not writable \\((EACCES|EPERM)\\)`));
      expect(artifactsDirProblem(dir)).toMatch(new RegExp(`^ARTIFACTS_DIR=${dir} is not writable \\((EACCES|EPERM)\\)`));
    } finally {
      if (root) await execa('chattr', ['-i', dir], { reject: false });
      else await chmod(dir, 0o700);
    }
  });

  test('KIND_BIN / ISTIOCTL_BIN must be executable files', async () => {
    const script = join(work.path, 'kind');
    await writeFile(script, '#!/bin/sh\n', { mode: 0o755 });
    const plain = join(work.path, 'plain');
    await writeFile(plain, '', { mode: 0o644 });
    expect(executableFileProblem('KIND_BIN', script)).toBeUndefined();
    expect(executableFileProblem('KIND_BIN', work.path)).toBe(`KIND_BIN=${work.path} is a directory, not an executable file; valid values: a path to an executable file`);
    expect(executableFileProblem('ISTIOCTL_BIN', join(work.path, 'nope'))).toMatch(/^ISTIOCTL_BIN=.*nope does not exist/);
    expect(executableFileProblem('KIND_BIN', '/dev/null')).toMatch(/is not a regular file/);
    // Even root may execute only a file with an execute bit set (access(2)).
    expect(executableFileProblem('KIND_BIN', plain)).toMatch(/is not executable/);
  });

  test('loadCheckedSettings reports every problem at once and returns the warnings', () => {
    expect(refusalOf({ ARTIFACTS_DIR: '/proc/x', KIND_BIN: '/tmp', SETUP_TIMEOUT: '1000h' }, loadCheckedSettings).problems).toEqual([
      expect.stringMatching(/^SETUP_TIMEOUT="1000h"/),
      expect.stringMatching(/^ARTIFACTS_DIR=\/proc\/x /),
      expect.stringMatching(/^KIND_BIN=\/tmp is a directory, not an executable file/),
    ]);
    const ok = loadCheckedSettings({ ARTIFACTS_DIR: join(work.path, 'ok'), ISTIO_VERSON: '1.29.8' });
    expect(ok.settings.istioVersion).toBe(pins.istio);
    expect(ok.warnings).toEqual([expect.stringMatching(/^ISTIO_VERSON is not a setting; did you mean ISTIO_VERSION\?/)]);
  });
});

describe('settings: CLUSTER=existing with the container backend', () => {
  test('accepted, with a warning that it needs a kind cluster on this Docker engine; the table says so', () => {
    expect(loadSettings({ CLUSTER: 'existing' })).toMatchObject({ cluster: 'existing', redisBackend: 'container' });
    expect(settingWarnings({ CLUSTER: 'existing' })).toEqual([expect.stringMatching(/^CLUSTER=existing with REDIS_BACKEND=container works only when the current context is a kind cluster on this Docker engine/)]);
    expect(settingWarnings({ CLUSTER: 'existing', REDIS_BACKEND: 'memorystore' })).toEqual([]);
    expect(settingWarnings({ CLUSTER: 'kind' })).toEqual([]);
    expect(settingDocs().find((d) => d.env === 'CLUSTER')!.description).toMatch(/existing with REDIS_BACKEND=container works only when that cluster is a kind cluster/);
  });
});

describe('settings: the CLUSTER=existing warning names the network kind uses', () => {
  test('the `kind` network, or the one KIND_EXPERIMENTAL_DOCKER_NETWORK names', () => {
    expect(settingWarnings({ CLUSTER: 'existing' })[0]).toMatch(/on the `kind` network$/);
    expect(settingWarnings({ CLUSTER: 'existing', KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab-net' })[0]).toMatch(/on the `lab-net` network$/);
  });
});
