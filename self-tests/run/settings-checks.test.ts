/**
 * Settings as values: the exact object loadSettings returns (every default), each validator at
 * its boundaries, the typo finder's rules, each warning and its absence, and the checks of
 * settings-checks.ts branch by branch. Assertions are on values and on which setting is named,
 * not on the wording of messages (the wording is tested in settings.test.ts). In-process and
 * fast: StrykerJS runs this file for every mutant of settings.ts and settings-checks.ts.
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { LOCAL_IMAGES, LOCAL_ISTIO_VERSION } from '../../helpers/run/local-images.ts';
import { pins } from '../../helpers/run/pins.ts';
import {
  cartImageDefault, describeSettings, editDistance, loadSettings, MAX_DURATION_MS, MEMORYSTORE_REDIS_VERSIONS, parseDuration, probableSetting,
  settingDocs, SettingsError, settingWarnings, type Settings,
} from '../../helpers/run/settings.ts';
import { artifactsDirProblem, executableFileProblem, loadCheckedSettings } from '../../helpers/run/settings-checks.ts';
import { MEMORYSTORE_VERSIONS_OF_SETTINGS } from '../workshop/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';
import { problemsOf } from './support.ts';

type Env = Record<string, string | undefined>;

/** The variable each problem names (the text before the first `=`). */
const named = (problems: readonly string[]) => problems.map((p) => /^([A-Z_]+)=/.exec(p)?.[1] ?? p);

const defaults: Settings = {
  images: 'published',
  istioVersion: pins.istio,
  kindNodeImage: pins.kindNodeImage,
  clusterName: 'egress-verify',
  cluster: 'kind',
  keepCluster: false,
  reuseCluster: false,
  allowContext: undefined,
  installIstio: true,
  redisBackend: 'container',
  redisImage: pins.redisImage,
  cartImage: `us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/cartservice:${pins.cartservice}`,
  probeImage: pins.probeImage,
  loadImages: 'present',
  artifactsDir: resolve('artifacts'),
  toolsCacheDir: '/home/m/.cache/egress-verify',
  downloadMirror: undefined,
  kindBin: undefined,
  istioctlBin: undefined,
  setupTimeoutMs: 1_200_000,
  readyTimeoutMs: 300_000,
  propagationTimeoutMs: 120_000,
  gcpProject: undefined,
  gcpRegion: 'us-central1',
  gcpZone: undefined,
  redisInstance: 'redis-cart',
  memorystoreCreate: false,
  memorystoreRedisVersion: 'redis_7_0',
  workshopRepo: undefined,
  workshopLabs: undefined,
  workshopChapter: undefined,
};

describe('settings values: the whole object', () => {
  test('defaults: every key with its exact value', () => {
    expect(loadSettings({ HOME: '/home/m' })).toStrictEqual(defaults);
    expect(cartImageDefault).toBe(defaults.cartImage);
  });

  test('every setting given: every key takes it (trimmed, paths absolute)', () => {
    const env: Env = {
      IMAGES: ' published ', ISTIO_VERSION: ' 1.29.8 ', KIND_NODE_IMAGE: pins.kindNodeImages[1], CLUSTER_NAME: 'ci-1', CLUSTER: 'existing',
      KEEP_CLUSTER: 'on', REUSE_CLUSTER: 'off', ALLOW_CONTEXT: ' ctx ', INSTALL_ISTIO: 'yes', REDIS_BACKEND: 'memorystore',
      REDIS_IMAGE: 'r:1', CART_IMAGE: 'c:2', PROBE_IMAGE: 'p:3', LOAD_IMAGES: 'never', ARTIFACTS_DIR: 'rel/a',
      TOOLS_CACHE_DIR: '/c', DOWNLOAD_MIRROR: 'https://m.local/x/', KIND_BIN: '/k', ISTIOCTL_BIN: '/i',
      SETUP_TIMEOUT: '1m', READY_TIMEOUT: '2s', PROPAGATION_TIMEOUT: '3ms', GCP_PROJECT: 'p-1', GCP_REGION: 'europe-west4',
      GCP_ZONE: 'europe-west4-b', REDIS_INSTANCE: 'r-1', MEMORYSTORE_CREATE: '1', MEMORYSTORE_REDIS_VERSION: 'redis_7_2',
      WORKSHOP_REPO: 'ws', WORKSHOP_LABS: '/labs', WORKSHOP_CHAPTER: ' content/x.md ',
    };
    expect(loadSettings(env)).toStrictEqual({
      images: 'published', istioVersion: '1.29.8', kindNodeImage: pins.kindNodeImages[1], clusterName: 'ci-1', cluster: 'existing',
      keepCluster: true, reuseCluster: false, allowContext: 'ctx', installIstio: true, redisBackend: 'memorystore',
      redisImage: 'r:1', cartImage: 'c:2', probeImage: 'p:3', loadImages: 'never', artifactsDir: resolve('rel/a'),
      toolsCacheDir: '/c', downloadMirror: 'https://m.local/x', kindBin: '/k', istioctlBin: '/i',
      setupTimeoutMs: 60_000, readyTimeoutMs: 2000, propagationTimeoutMs: 3, gcpProject: 'p-1', gcpRegion: 'europe-west4',
      gcpZone: 'europe-west4-b', redisInstance: 'r-1', memorystoreCreate: true, memorystoreRedisVersion: 'redis_7_2',
      workshopRepo: resolve('ws'), workshopLabs: '/labs', workshopChapter: 'content/x.md',
    } satisfies Settings);
  });

  test('describeSettings of the defaults: every variable, durations as written, unset as null', () => {
    expect(describeSettings(loadSettings({ HOME: '/home/m' }))).toStrictEqual({
      IMAGES: 'published', ISTIO_VERSION: pins.istio, KIND_NODE_IMAGE: pins.kindNodeImage, CLUSTER_NAME: 'egress-verify', CLUSTER: 'kind',
      KEEP_CLUSTER: false, REUSE_CLUSTER: false, ALLOW_CONTEXT: null, INSTALL_ISTIO: true, REDIS_BACKEND: 'container',
      REDIS_IMAGE: pins.redisImage, CART_IMAGE: defaults.cartImage, PROBE_IMAGE: pins.probeImage, LOAD_IMAGES: 'present',
      ARTIFACTS_DIR: resolve('artifacts'), TOOLS_CACHE_DIR: '/home/m/.cache/egress-verify', DOWNLOAD_MIRROR: null,
      KIND_BIN: null, ISTIOCTL_BIN: null, SETUP_TIMEOUT: '20m', READY_TIMEOUT: '5m', PROPAGATION_TIMEOUT: '2m',
      GCP_PROJECT: null, GCP_REGION: 'us-central1', GCP_ZONE: null, REDIS_INSTANCE: 'redis-cart', MEMORYSTORE_CREATE: false,
      MEMORYSTORE_REDIS_VERSION: 'redis_7_0', WORKSHOP_REPO: null, WORKSHOP_LABS: null, WORKSHOP_CHAPTER: null,
    });
    expect(describeSettings({ ...defaults, readyTimeoutMs: 1500 }).READY_TIMEOUT).toBe('1.5s');
  });

  test('settingDocs: the default and valid values of every setting, in table order', () => {
    const bool = 'true, false, 1, 0, yes, no, on, off (any case); empty is false';
    const duration = 'a duration up to 24h: 90, 90s, 5m, 2m30s, 1h, 500ms';
    expect(settingDocs().map(({ env, defaultText, valid }) => [env, defaultText, valid])).toEqual([
      ['IMAGES', 'published', 'published, local'],
      ['ISTIO_VERSION', pins.istio, 'a release version x.y.z (e.g. 1.30.4, 1.31.0-beta.1)'],
      ['KIND_NODE_IMAGE', pins.kindNodeImage, 'an image reference, e.g. kindest/node:v1.36.1@sha256:<64 hex>'],
      ['CLUSTER_NAME', 'egress-verify', 'lower-case letters, digits and "-", at most 32 characters'],
      ['CLUSTER', 'kind', 'kind, existing'],
      ['KEEP_CLUSTER', 'false', bool],
      ['REUSE_CLUSTER', 'false', bool],
      ['ALLOW_CONTEXT', '', 'a context name from your kubeconfig'],
      ['INSTALL_ISTIO', 'false', bool],
      ['REDIS_BACKEND', 'container', 'container, memorystore'],
      ['REDIS_IMAGE', pins.redisImage, 'an image reference'],
      ['CART_IMAGE', defaults.cartImage, 'an image reference'],
      ['PROBE_IMAGE', pins.probeImage, 'an image reference'],
      ['LOAD_IMAGES', 'present', 'present, never'],
      ['ARTIFACTS_DIR', './artifacts', 'a directory path'],
      ['TOOLS_CACHE_DIR', '$XDG_CACHE_HOME/egress-verify or ~/.cache/egress-verify', 'a directory path'],
      ['DOWNLOAD_MIRROR', '', 'an http:// or https:// URL'],
      ['KIND_BIN', '', 'a path to an executable'],
      ['ISTIOCTL_BIN', '', 'a path to an executable'],
      ['SETUP_TIMEOUT', '20m', duration],
      ['READY_TIMEOUT', '5m', duration],
      ['PROPAGATION_TIMEOUT', '120s', duration],
      ['GCP_PROJECT', '', 'a GCP project id'],
      ['GCP_REGION', 'us-central1', 'a GCP region, e.g. us-central1'],
      ['GCP_ZONE', '', 'a GCP zone, e.g. us-central1-a'],
      ['REDIS_INSTANCE', 'redis-cart', 'lower-case letters, digits and "-", starting with a letter, at most 40 characters'],
      ['MEMORYSTORE_CREATE', 'false', bool],
      ['MEMORYSTORE_REDIS_VERSION', 'redis_7_0', 'redis_3_2, redis_4_0, redis_5_0, redis_6_x, redis_7_0, redis_7_2'],
      ['WORKSHOP_REPO', '', 'a directory path'],
      ['WORKSHOP_LABS', '', 'a directory path'],
      ['WORKSHOP_CHAPTER', '', 'a path such as content/09-traffic-management/08-egress-gateway.md'],
    ]);
    for (const d of settingDocs()) expect(Object.keys(d)).toEqual(['env', 'description', 'defaultText', 'valid']);
  });

  test('invalid values: one problem per variable, in table order, and no cross-check until all are valid', () => {
    expect(named(problemsOf({ LOAD_IMAGES: 'x', CLUSTER: 'x', ISTIO_VERSION: 'x', REDIS_BACKEND: 'memorystore' }))).toEqual(['ISTIO_VERSION', 'CLUSTER', 'LOAD_IMAGES']);
    expect(problemsOf({ CLUSTER: 'gke' })).toEqual(['CLUSTER="gke" is not valid; valid values: kind, existing']);
    expect(problemsOf({ SETUP_TIMEOUT: '25h' })).toEqual(['SETUP_TIMEOUT="25h" is not valid (more than the maximum, 24h); valid values: a duration up to 24h: 90, 90s, 5m, 2m30s, 1h, 500ms']);
  });

  test('cross-checks: each rule alone, named by its setting, and none when the combination is fine', () => {
    expect(named(problemsOf({ REDIS_BACKEND: 'memorystore' }))).toEqual(['REDIS_BACKEND']);
    expect(named(problemsOf({ CLUSTER: 'existing', REUSE_CLUSTER: '1' }))).toEqual(['REUSE_CLUSTER applies to kind clusters only; with CLUSTER=existing, unset it']);
    expect(problemsOf({ CLUSTER: 'existing', MEMORYSTORE_CREATE: '1' })).toHaveLength(1);
    expect(problemsOf({ CLUSTER: 'existing', MEMORYSTORE_CREATE: '1' })[0]).toMatch(/^MEMORYSTORE_CREATE /);
    expect(named(problemsOf({ ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage }))).toEqual(['ISTIO_VERSION']);
    expect(loadSettings({ CLUSTER: 'existing', REDIS_BACKEND: 'memorystore', MEMORYSTORE_CREATE: '1', REUSE_CLUSTER: '0' }))
      .toMatchObject({ cluster: 'existing', redisBackend: 'memorystore', memorystoreCreate: true, reuseCluster: false, installIstio: false });
    expect(loadSettings({ REUSE_CLUSTER: '1' })).toMatchObject({ reuseCluster: true, cluster: 'kind' });
    // All four rules at once: each named once.
    expect(problemsOf({ REDIS_BACKEND: 'memorystore', ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage })).toHaveLength(2);
  });

  test('kind: the node image follows ISTIO_VERSION when KIND_NODE_IMAGE is unset or blank, not when set', () => {
    expect(loadSettings({ ISTIO_VERSION: '1.29.8' }).kindNodeImage).toBe(pins.kindNodeImages[1]);
    expect(loadSettings({ ISTIO_VERSION: '1.29.8', KIND_NODE_IMAGE: ' ' }).kindNodeImage).toBe(pins.kindNodeImages[1]);
    expect(loadSettings({ ISTIO_VERSION: '1.29.8', KIND_NODE_IMAGE: pins.kindNodeImages[2] }).kindNodeImage).toBe(pins.kindNodeImages[2]);
    // An Istio minor newer than the table: no compatible image known, the default stays.
    expect(loadSettings({ ISTIO_VERSION: '1.99.0' }).kindNodeImage).toBe(pins.kindNodeImage);
    expect(loadSettings({ CLUSTER: 'existing', ISTIO_VERSION: '1.29.8' }).kindNodeImage).toBe(pins.kindNodeImage);
  });

  test('IMAGES=local: the images built here and their Istio are the defaults; a setting given still wins', () => {
    expect(loadSettings({ IMAGES: 'local' })).toMatchObject({
      images: 'local', istioVersion: LOCAL_ISTIO_VERSION, kindNodeImage: LOCAL_IMAGES.kindNode,
      cartImage: LOCAL_IMAGES.cart, probeImage: LOCAL_IMAGES.probe, redisImage: LOCAL_IMAGES.redis, installIstio: true,
    });
    expect(loadSettings({ IMAGES: 'local', CART_IMAGE: 'c:1', PROBE_IMAGE: 'p:2', REDIS_IMAGE: 'r:3', KIND_NODE_IMAGE: 'n:v1.35.0' }))
      .toMatchObject({ cartImage: 'c:1', probeImage: 'p:2', redisImage: 'r:3', kindNodeImage: 'n:v1.35.0' });
    expect(loadSettings({ IMAGES: 'local', ISTIO_VERSION: ` ${LOCAL_ISTIO_VERSION} ` }).istioVersion).toBe(LOCAL_ISTIO_VERSION);
    // The published images stay the defaults otherwise.
    expect(loadSettings({ IMAGES: 'published' })).toMatchObject({ kindNodeImage: pins.kindNodeImage, cartImage: cartImageDefault, istioVersion: pins.istio });
    // Another Istio, or a cluster the suite does not create: refused, named.
    expect(named(problemsOf({ IMAGES: 'local', ISTIO_VERSION: '1.30.5' }))).toEqual(['ISTIO_VERSION']);
    expect(problemsOf({ IMAGES: 'local', CLUSTER: 'existing' })).toEqual([expect.stringMatching(/^IMAGES=local needs CLUSTER=kind/)]);
    expect(named(problemsOf({ IMAGES: 'lokal' }))).toEqual(['IMAGES']);
  });
});

describe('settings values: validators at their boundaries', () => {
  const ok = (env: Env) => loadSettings(env);
  const refused = (name: string, value: string) => expect(named(problemsOf({ [name]: value })), `${name}=${value}`).toEqual([name]);

  test('ISTIO_VERSION: anchored at both ends, trimmed', () => {
    expect(ok({ ISTIO_VERSION: ' 1.30.5' }).istioVersion).toBe('1.30.5');
    expect(ok({ ISTIO_VERSION: '10.20.30', CLUSTER: 'existing' }).istioVersion).toBe('10.20.30');
    expect(ok({ ISTIO_VERSION: '1.31.0-rc.10' }).istioVersion).toBe('1.31.0-rc.10');
    for (const v of ['1.30.5x', 'x1.30.5', '1.30.5-', '1.30.5-rc', '1.30.5-rc.', '1.30', '1.30.x', 'a.b.c', '1.30.5-rc.1-rc.1']) refused('ISTIO_VERSION', v);
  });

  test('CLUSTER_NAME: 1 to 32 characters, no leading or trailing "-"', () => {
    expect(ok({ CLUSTER_NAME: 'a'.repeat(32) }).clusterName).toBe('a'.repeat(32));
    expect(ok({ CLUSTER_NAME: 'a-b' }).clusterName).toBe('a-b');
    expect(ok({ CLUSTER_NAME: '9' }).clusterName).toBe('9');
    expect(ok({ CLUSTER_NAME: 'ab' }).clusterName).toBe('ab');
    for (const v of ['a'.repeat(33), '-a', 'a-', '-', 'a_b', 'A', 'xA', 'Ax']) refused('CLUSTER_NAME', v);
  });

  test('images: host:port, path, tag and digest; nothing before or after', () => {
    const digest = `@sha256:${'f'.repeat(64)}`;
    for (const v of ['redis', 'redis:7.0', 'r.io:5000/a/b:v1', `a/b${digest}`, `a/b:t${digest}`, 'a_b/c-d.e:T_1', `a:${'t'.repeat(128)}`]) {
      expect(ok({ REDIS_IMAGE: v }).redisImage, v).toBe(v);
    }
    for (const v of ['Redis', 'redis:', ':7', 'a//b', 'a/:t', `a:${'t'.repeat(129)}`, `a${digest}x`, `a@sha256:${'f'.repeat(63)}`,
      `a@sha256:${'F'.repeat(64)}`, 'a:-t', 'a:5000x/b', ' a b', 'a b', '_a', 'a/_b']) {
      refused('REDIS_IMAGE', v);
    }
  });

  test('GCP_REGION and GCP_ZONE: letters-letters+digits(-letter), anchored', () => {
    expect(ok({ GCP_REGION: 'asia-east2' }).gcpRegion).toBe('asia-east2');
    for (const v of ['asia-east', 'asia-2', '-east2', 'asia-east2-', 'Asia-east2', 'asia-east2a', 'aasia east2', 'asia-east2 x']) refused('GCP_REGION', v);
    expect(ok({ GCP_ZONE: 'asia-east2-c' }).gcpZone).toBe('asia-east2-c');
    for (const v of ['asia-east2-', 'asia-east2-cc', 'asia-east2-1', 'asia-east-c', '-east2-c', 'x asia-east2-c', 'asia-east2-c x']) refused('GCP_ZONE', v);
  });

  test('REDIS_INSTANCE: a letter first, 40 characters at most, no trailing "-"', () => {
    const forty = `r${'x'.repeat(39)}`;
    expect(ok({ REDIS_INSTANCE: forty }).redisInstance).toBe(forty);
    expect(ok({ REDIS_INSTANCE: 'a-9' }).redisInstance).toBe('a-9');
    for (const v of [`${forty}x`, 'r-', '9r', '-r', 'R', 'r_x', 'rX', 'x r']) refused('REDIS_INSTANCE', v);
  });

  test('flags: each spelling; anything else names the flag', () => {
    for (const [v, b] of [['1', true], ['true', true], ['yes', true], ['on', true], [' ON ', true], ['Yes', true],
      ['0', false], ['false', false], ['no', false], ['off', false], ['', false], ['FALSE', false]] as const) {
      expect(ok({ INSTALL_ISTIO: v, CLUSTER: 'existing' }).installIstio, v).toBe(b);
      expect(ok({ MEMORYSTORE_CREATE: v, CLUSTER: 'existing', REDIS_BACKEND: 'memorystore' }).memorystoreCreate, v).toBe(b);
    }
    expect(ok({}).keepCluster).toBe(false);
    for (const v of ['ja', 't', 'nope', '1 1']) refused('KEEP_CLUSTER', v);
  });

  test('choices: the fallback when blank, exact words otherwise', () => {
    expect(ok({ LOAD_IMAGES: '  ' }).loadImages).toBe('present');
    expect(ok({ LOAD_IMAGES: ' never ' }).loadImages).toBe('never');
    expect(ok({ MEMORYSTORE_REDIS_VERSION: '' }).memorystoreRedisVersion).toBe('redis_7_0');
    expect(ok({ MEMORYSTORE_REDIS_VERSION: 'redis_3_2' }).memorystoreRedisVersion).toBe('redis_3_2');
    for (const v of ['Never', 'nevers', 'present,never']) refused('LOAD_IMAGES', v);
  });

  test('DOWNLOAD_MIRROR: http(s) only, every trailing slash dropped, inner slashes kept', () => {
    expect(ok({ DOWNLOAD_MIRROR: ' http://m.local//a//b// ' }).downloadMirror).toBe('http://m.local//a//b');
    expect(ok({ DOWNLOAD_MIRROR: 'HTTPS://m.local/' }).downloadMirror).toBe('HTTPS://m.local');
    expect(ok({ DOWNLOAD_MIRROR: '' }).downloadMirror).toBeUndefined();
    for (const v of ['file:///srv', 'ftp://m', 'httpx://m', 'data:text/plain,x', '//m.local', 'http//m']) refused('DOWNLOAD_MIRROR', v);
  });

  test('paths: relative made absolute, absolute kept; the cache default follows an absolute XDG_CACHE_HOME only', () => {
    expect(ok({ ARTIFACTS_DIR: ' /abs/x ' }).artifactsDir).toBe('/abs/x');
    expect(ok({ ARTIFACTS_DIR: 'x/../y' }).artifactsDir).toBe(resolve('y'));
    expect(ok({ TOOLS_CACHE_DIR: 'c/d', HOME: '/home/m' }).toolsCacheDir).toBe(resolve('c/d'));
    expect(ok({ XDG_CACHE_HOME: '/xdg/c', HOME: '/home/m' }).toolsCacheDir).toBe('/xdg/c/egress-verify');
    expect(ok({ XDG_CACHE_HOME: 'rel/c', HOME: '/home/m' }).toolsCacheDir).toBe('/home/m/.cache/egress-verify');
    expect(ok({ XDG_CACHE_HOME: '/xdg', TOOLS_CACHE_DIR: '/t' }).toolsCacheDir).toBe('/t');
    expect(ok({ WORKSHOP_REPO: ' ', WORKSHOP_LABS: 'labs' })).toMatchObject({ workshopRepo: undefined, workshopLabs: resolve('labs') });
    expect(ok({ WORKSHOP_REPO: '/w/r' }).workshopRepo).toBe('/w/r');
  });
});

describe('settings values: durations', () => {
  test('units and their sum; bare numbers are seconds; blank space around is trimmed', () => {
    const cases = [
      ['12', 12_000], ['90', 90_000], ['1h2m3s4ms', 3_723_004], ['10ms', 10], ['3s', 3000], ['15m', 900_000], [' 5m ', 300_000],
      ['1h', 3_600_000], ['2s2s', 4000], ['0s1ms', 1],
    ] as const;
    for (const [text, ms] of cases) expect(parseDuration(text), text).toBe(ms);
  });
  test('the boundaries: above 0, at most MAX_DURATION_MS; anything else refused', () => {
    expect(parseDuration('1ms')).toBe(1);
    expect(parseDuration(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    expect(parseDuration('86400')).toBe(MAX_DURATION_MS);
    expect(parseDuration('23h59m59s999ms')).toBe(MAX_DURATION_MS - 1);
    for (const v of [
      '0', '0ms', '0h', '0s0m', `${MAX_DURATION_MS + 1}ms`, '86401', '24h1ms', '1.5s', '', 's', 'ms', '5M', '5 m', '5 s', '5d',
      'x1s', 'x5s', '1sx', '5sx', '1x', '-1', '-1s',
    ]) {
      expect(() => parseDuration(v), v).toThrow();
    }
  });
  test('the maximum is refused with its own reason, other values without one', () => {
    const [over] = problemsOf({ READY_TIMEOUT: '24h1ms' });
    const [zero] = problemsOf({ READY_TIMEOUT: '0' });
    expect(over).toContain('(more than the maximum, 24h)');
    expect(zero).toBe('READY_TIMEOUT="0" is not valid; valid values: a duration up to 24h: 90, 90s, 5m, 2m30s, 1h, 500ms');
  });
  test('a blank timeout takes its default', () => {
    expect(loadSettings({ SETUP_TIMEOUT: ' ', PROPAGATION_TIMEOUT: '', READY_TIMEOUT: '' }))
      .toMatchObject({ setupTimeoutMs: 1_200_000, propagationTimeoutMs: 120_000, readyTimeoutMs: 300_000 });
  });
});

describe('settings values: the typo finder', () => {
  test('editDistance: insertions, deletions, substitutions and swaps of neighbours', () => {
    const cases = [
      ['', '', 0], ['', 'ab', 2], ['ab', 'ba', 1], ['abc', 'bca', 2], ['abcd', 'badc', 2], ['ca', 'abc', 3], ['a', 'b', 1],
      ['ab', 'ab', 0], ['abx', 'bax', 1], ['xab', 'xba', 1], ['aab', 'aba', 1], ['abcdef', 'abdcef', 1], ['flaw', 'lawn', 2],
    ] as const;
    for (const [a, b, distance] of cases) expect(editDistance(a, b), `${a} -> ${b}`).toBe(distance);
  });

  test('the shape of names considered: upper-case words, at least four characters, whole name', () => {
    expect(probableSetting('KIN-D_BIN')).toBeUndefined();
    expect(probableSetting('KIND_BI.')).toBeUndefined();
    expect(probableSetting('KIND_BIn')).toBeUndefined();
    expect(probableSetting('KIND_BI')).toBe('KIND_BIN');
    expect(probableSetting('CLUSTERS')).toBe('CLUSTER');
    expect(probableSetting('CLUSTR')).toBe('CLUSTER');
    expect(probableSetting('CLUSTER')).toBeUndefined();
  });

  test('the first three letters must agree', () => {
    expect(probableSetting('XIND_BIN')).toBeUndefined();
    expect(probableSetting('KNID_BIN')).toBeUndefined();
    expect(probableSetting('ITSIO_VERSION')).toBeUndefined();
    expect(probableSetting('ISTIO_VERSIOM')).toBe('ISTIO_VERSION');
  });

  test('one edit for names of 8 characters or fewer, two for longer ones', () => {
    expect(probableSetting('KIND_B')).toBeUndefined();
    expect(probableSetting('GCP_ZO')).toBeUndefined();
    expect(probableSetting('GCP_ZON')).toBe('GCP_ZONE');
    expect(probableSetting('CLUST')).toBeUndefined();
    expect(probableSetting('CART_IMG')).toBe('CART_IMAGE');
    expect(probableSetting('CART_IM')).toBeUndefined();
    expect(probableSetting('GCP_REGI')).toBe('GCP_REGION');
    expect(probableSetting('GCP_REG')).toBeUndefined();
  });

  test('of two settings within reach, the first in table order wins a tie', () => {
    // WORKSHOP_REPO and WORKSHOP_LABS are four edits apart: this name is two from each.
    expect(editDistance('WORKSHOP_LAPO', 'WORKSHOP_REPO')).toBe(2);
    expect(editDistance('WORKSHOP_LAPO', 'WORKSHOP_LABS')).toBe(2);
    expect(probableSetting('WORKSHOP_LAPO')).toBe('WORKSHOP_REPO');
    expect(probableSetting('WORKSHOP_LABZ')).toBe('WORKSHOP_LABS');
    expect(probableSetting('WORKSHOP_REPZ')).toBe('WORKSHOP_REPO');
  });
});

describe('settings values: warnings', () => {
  test('a typo: named with the setting it probably means, and whether that one keeps its default', () => {
    expect(settingWarnings({ KIND_BN: '/k' })).toEqual(['KIND_BN is not a setting; did you mean KIND_BIN? (KIND_BN is ignored, KIND_BIN keeps its default)']);
    expect(settingWarnings({ KIND_BN: '/k', KIND_BIN: '/j' })).toEqual(['KIND_BN is not a setting; did you mean KIND_BIN? (KIND_BN is ignored)']);
    expect(settingWarnings({ KIND_BN: '/k', KIND_BIN: '' })).toEqual(['KIND_BN is not a setting; did you mean KIND_BIN? (KIND_BN is ignored)']);
    expect(settingWarnings({ KIND_BN: undefined })).toEqual([]);
    expect(settingWarnings({ KIND_BN: '' })).toHaveLength(1);
  });

  test('CLUSTER=existing warns exactly with the container backend (unset, blank or named)', () => {
    const warned = (env: Env) => settingWarnings(env).filter((w) => w.startsWith('CLUSTER=existing')).length;
    expect(warned({ CLUSTER: 'existing' })).toBe(1);
    expect(warned({ CLUSTER: ' existing ', REDIS_BACKEND: ' ' })).toBe(1);
    expect(warned({ CLUSTER: 'existing', REDIS_BACKEND: ' container ' })).toBe(1);
    expect(warned({ CLUSTER: 'existing', REDIS_BACKEND: 'memorystore' })).toBe(0);
    expect(warned({ CLUSTER: 'kind' })).toBe(0);
    expect(warned({ CLUSTER: 'existingx' })).toBe(0);
    expect(warned({ REDIS_BACKEND: 'container' })).toBe(0);
    expect(settingWarnings({ CLUSTER: 'existing' })).toEqual([
      'CLUSTER=existing with REDIS_BACKEND=container works only when the current context is a kind cluster on this Docker engine: its pods must reach the Redis container on the `kind` network',
    ]);
  });

  test('KIND_NODE_IMAGE: warned without a full trailing digest, trimmed; not when blank or digested', () => {
    const digest = `@sha256:${'0'.repeat(64)}`;
    expect(settingWarnings({ KIND_NODE_IMAGE: ' kindest/node:v1 ' })).toEqual([
      'KIND_NODE_IMAGE=kindest/node:v1 has no @sha256: digest: the tag may point to another image tomorrow, so this run is not reproducible',
    ]);
    expect(settingWarnings({ KIND_NODE_IMAGE: `k/n:v1${digest}` })).toEqual([]);
    expect(settingWarnings({ KIND_NODE_IMAGE: `k/n:v1${digest} ` })).toEqual([]);
    expect(settingWarnings({ KIND_NODE_IMAGE: '  ' })).toEqual([]);
    for (const v of [`k/n@sha256:${'0'.repeat(63)}`, `k/n@sha256:${'A'.repeat(64)}`, `k/n${digest}0`, `k/n${digest}x`, `k/n@sha512:${'0'.repeat(64)}`]) {
      expect(settingWarnings({ KIND_NODE_IMAGE: v }), v).toHaveLength(1);
    }
  });
});

describe('settings values: settings-checks', () => {
  // Made in beforeAll, not while collecting: a mutation run collects this file for every mutant
  // and runs hooks only when one of these tests covers the mutant.
  let work = '';
  let exe = '';
  let file = '';
  let artifacts = '';
  const folder = tempFolder('settings-values');
  beforeAll(() => {
    work = folder.path;
    exe = join(work, 'tool');
    writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
    file = join(work, 'file');
    writeFileSync(file, '');
    artifacts = join(work, 'artifacts');
  });

  test('valid: the settings and the warnings of the same env', () => {
    const env = { ARTIFACTS_DIR: artifacts, KIND_BIN: exe, ISTIOCTL_BIN: exe, KIND_BN: 'x', HOME: '/home/m' };
    const r = loadCheckedSettings(env);
    expect(r).toStrictEqual({ settings: { ...defaults, artifactsDir: artifacts, kindBin: exe, istioctlBin: exe }, warnings: settingWarnings(env) });
    expect(r.warnings).toHaveLength(1);
  });

  test('the paths are checked only for the tools this run uses', () => {
    // CLUSTER=existing without INSTALL_ISTIO uses neither kind nor istioctl.
    expect(loadCheckedSettings({ ARTIFACTS_DIR: artifacts, CLUSTER: 'existing', KIND_BIN: file, ISTIOCTL_BIN: file }).settings.kindBin).toBe(file);
    expect(named(problemsOf({ ARTIFACTS_DIR: artifacts, CLUSTER: 'existing', INSTALL_ISTIO: '1', KIND_BIN: file, ISTIOCTL_BIN: file }, loadCheckedSettings))).toEqual(['ISTIOCTL_BIN']);
    expect(named(problemsOf({ ARTIFACTS_DIR: artifacts, KIND_BIN: file, ISTIOCTL_BIN: file }, loadCheckedSettings))).toEqual(['KIND_BIN', 'ISTIOCTL_BIN']);
    expect(named(problemsOf({ ARTIFACTS_DIR: artifacts, KIND_BIN: exe, ISTIOCTL_BIN: ` ${file} ` }, loadCheckedSettings))).toEqual(['ISTIOCTL_BIN']);
    expect(loadCheckedSettings({ ARTIFACTS_DIR: artifacts, KIND_BIN: ' ', ISTIOCTL_BIN: '' }).settings).toMatchObject({ kindBin: undefined, istioctlBin: undefined });
  });

  test('another value invalid: every tool path that is set is checked, and ARTIFACTS_DIR as given', () => {
    expect(named(problemsOf({ CLUSTER: 'gke', ARTIFACTS_DIR: artifacts, KIND_BIN: file, ISTIOCTL_BIN: file }, loadCheckedSettings))).toEqual(['CLUSTER', 'KIND_BIN', 'ISTIOCTL_BIN']);
    expect(named(problemsOf({ CLUSTER: 'gke', ARTIFACTS_DIR: ` ${file}/x ` }, loadCheckedSettings))).toEqual(['CLUSTER', 'ARTIFACTS_DIR']);
    expect(problemsOf({ CLUSTER: 'gke', ARTIFACTS_DIR: ` ${file}/x ` }, loadCheckedSettings)[1]).toMatch(new RegExp(`^ARTIFACTS_DIR=${file}/x `));
    expect(named(problemsOf({ CLUSTER: 'gke', ARTIFACTS_DIR: '  ' }, loadCheckedSettings))).toEqual(['CLUSTER']);
    expect(named(problemsOf({ CLUSTER: 'gke' }, loadCheckedSettings))).toEqual(['CLUSTER']);
    expect(named(problemsOf({ CLUSTER: 'gke', KIND_BIN: exe }, loadCheckedSettings))).toEqual(['CLUSTER']);
  });

  test('a relative ARTIFACTS_DIR is checked below the working directory', () => {
    // package.json is a file in the working directory (the repository root) of every self-test run.
    const rel = 'package.json/reports';
    const p = problemsOf({ CLUSTER: 'gke', ARTIFACTS_DIR: rel }, loadCheckedSettings);
    expect(named(p)).toEqual(['CLUSTER', 'ARTIFACTS_DIR']);
    expect(p[1]).toMatch(new RegExp(`^ARTIFACTS_DIR=${resolve(rel)} cannot be a directory: ${resolve('package.json')} is a file;`));
    expect(problemsOf({ ARTIFACTS_DIR: rel }, loadCheckedSettings)).toEqual([artifactsDirProblem(resolve(rel))]);
  });

  test('an unexpected error while loading is thrown as it is, not collected', () => {
    const boom = new TypeError('environment unreadable');
    const env = new Proxy({} as Env, {
      get: (_t, key) => {
        if (key === 'CLUSTER') throw boom;
        return undefined;
      },
    });
    expect(() => loadCheckedSettings(env)).toThrow(boom);
  });

  test('artifactsDirProblem: undefined for a usable directory; the setting named as given', () => {
    expect(artifactsDirProblem(artifacts)).toBeUndefined();
    expect(artifactsDirProblem(work)).toBeUndefined();
    expect(artifactsDirProblem(join(file, 'a', 'b'), 'X_DIR')).toMatch(new RegExp(`^X_DIR=${file}/a/b cannot be a directory: ${file} is a file;`));
    expect(artifactsDirProblem(file, 'X_DIR')).toMatch(new RegExp(`^X_DIR=${file} cannot be a directory: ${file} is a file;`));
    // /proc last, here and below: a recursive mkdir under /proc never returns (Node 24, measured
    // 2026-11-27), so a mutant that loses the pseudo-filesystem guard would hang this test until
    // StrykerJS's timeout (about 22 s) instead of failing on /dev or /sys first.
    expect(artifactsDirProblem('/dev')).toMatch(/pseudo-filesystem \/dev,/);
    expect(artifactsDirProblem('/proc/1/x/y')).toMatch(/^ARTIFACTS_DIR=\/proc\/1\/x\/y is on the kernel's pseudo-filesystem \/proc,/);
  });

  test('a path reaching a pseudo-filesystem through a symbolic link is refused by where it leads', () => {
    for (const target of ['/sys', '/proc']) {
      const link = join(work, `to-${target.slice(1)}`);
      symlinkSync(target, link);
      expect(artifactsDirProblem(join(link, 'x'))).toMatch(new RegExp(`^ARTIFACTS_DIR=${link}/x is on the kernel's pseudo-filesystem ${target},`));
    }
  });

  test('SettingsError: headline, problems and message', () => {
    const e = new SettingsError(['A=1 is not valid']);
    expect([e.name, e.headline, e.problems]).toEqual(['SettingsError', 'Invalid settings', ['A=1 is not valid']]);
  });

  test('executableFileProblem: undefined for an executable file; each reason otherwise', () => {
    expect(executableFileProblem('KIND_BIN', exe)).toBeUndefined();
    expect(executableFileProblem('K', join(work, 'missing'))).toBe(`K=${join(work, 'missing')} does not exist; valid values: a path to an executable file`);
    expect(executableFileProblem('K', `${file}/x`)).toBe(`K=${file}/x cannot be read (ENOTDIR); valid values: a path to an executable file`);
    expect(executableFileProblem('K', work)).toBe(`K=${work} is a directory, not an executable file; valid values: a path to an executable file`);
    expect(executableFileProblem('K', '/dev/null')).toBe('K=/dev/null is not a regular file; valid values: a path to an executable file');
    expect(executableFileProblem('K', file)).toBe(`K=${file} is not executable (no execute permission for this user); valid values: a path to an executable file`);
  });
});

describe('settings values: copies kept by other tests', () => {
  test('the Memorystore versions the workshop check tests use are settings.ts\'s', () => {
    expect(MEMORYSTORE_VERSIONS_OF_SETTINGS).toEqual(MEMORYSTORE_REDIS_VERSIONS);
  });
});
