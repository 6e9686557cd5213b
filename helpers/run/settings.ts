/**
 * Settings: every knob of the suite, read from environment variables.
 *
 * One table (SETTINGS) is the single source: the parser, the error messages,
 * `npm run plan` and the README's settings table all come from it.
 * An invalid value stops the run before anything is created.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { compatibilityProblem, compatibleNodeImage } from './compat.ts';
import { kindNetwork } from '../cluster/kind.ts';
import { LOCAL_IMAGES, LOCAL_ISTIO_VERSION } from './local-images.ts';
import { pins } from './pins.ts';
import { formatDuration } from './progress.ts';
import { userPath } from './paths.ts';
import { UserFacingError } from './user-facing.ts';

export { formatDuration };

export type RedisBackend = 'container' | 'memorystore';
export type ClusterMode = 'kind' | 'existing';
export type LoadImages = 'present' | 'never';
export type ImageSource = 'published' | 'local';

export interface Settings {
  images: ImageSource;
  istioVersion: string;
  kindNodeImage: string;
  clusterName: string;
  cluster: ClusterMode;
  keepCluster: boolean;
  reuseCluster: boolean;
  allowContext: string | undefined;
  installIstio: boolean;
  redisBackend: RedisBackend;
  redisImage: string;
  cartImage: string;
  probeImage: string;
  loadImages: LoadImages;
  artifactsDir: string;
  toolsCacheDir: string;
  downloadMirror: string | undefined;
  kindBin: string | undefined;
  istioctlBin: string | undefined;
  setupTimeoutMs: number;
  readyTimeoutMs: number;
  propagationTimeoutMs: number;
  gcpProject: string | undefined;
  gcpRegion: string;
  gcpZone: string | undefined;
  redisInstance: string;
  memorystoreCreate: boolean;
  memorystoreRedisVersion: string;
  workshopRepo: string | undefined;
  workshopLabs: string | undefined;
  workshopChapter: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

interface SettingSpec<K extends keyof Settings> {
  env: string;
  key: K;
  /** Shown in the README and in error messages. */
  description: string;
  /** Human-readable default ("" when unset means "not set"). */
  defaultText: string;
  /** The valid values, as named in an error message. */
  valid: string;
  parse(raw: string | undefined, env: Env): Settings[K];
}

/** A value outside the valid set; its message, when there is one, says why beyond the valid values. */
class InvalidValue extends Error {}

export class SettingsError extends UserFacingError {
  constructor(problems: readonly string[]) {
    super('Invalid settings', problems, `Invalid settings, nothing was started:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

function bool(raw: string | undefined): boolean {
  const v = (raw ?? '').trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new InvalidValue();
}

function oneOf<T extends string>(values: readonly T[], fallback: T) {
  return (raw: string | undefined): T => {
    const v = (raw ?? '').trim();
    if (v === '') return fallback;
    if ((values as readonly string[]).includes(v)) return v as T;
    throw new InvalidValue();
  };
}

function optional(raw: string | undefined): string | undefined {
  const v = raw?.trim();
  return v ? v : undefined;
}

const DURATION = /^(\d+|(\d+(ms|h|m|s))+)$/;
const DURATION_PART = /(\d+)(ms|h|m|s)/g;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/**
 * The longest duration a setting may have. Node's timers take at most 2^31-1 ms (about 24.8
 * days) and fire after 1 ms when given more (Node docs, setTimeout), so a larger value must be
 * refused, never passed on; a day is far beyond any real setup.
 */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** "90" and "90s" are 90 seconds; "5m", "1h", "500ms", "2m30s" as written; at most MAX_DURATION_MS. */
export function parseDuration(raw: string): number {
  const v = raw.trim();
  if (!DURATION.test(v)) throw new InvalidValue();
  // Stryker disable next-line Regex: DURATION lets through only all-digit values or values ending in a unit, so /\d+$/ selects the same ones
  const ms = /^\d+$/.test(v)
    ? Number(v) * UNIT_MS.s
    : [...v.matchAll(DURATION_PART)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS], 0);
  if (ms <= 0) throw new InvalidValue();
  if (ms > MAX_DURATION_MS) throw new InvalidValue(`more than the maximum, ${formatDuration(MAX_DURATION_MS)}`);
  return ms;
}

function duration(fallback: string) {
  return (raw: string | undefined): number => parseDuration(optional(raw) ?? fallback);
}

// x.y.z with an optional pre-release such as 1.31.0-beta.1 (istio's own tag format).
const ISTIO_VERSION = /^\d+\.\d+\.\d+(-(alpha|beta|rc)\.\d+)?$/;
// An image reference: [host[:port]/]path[:tag][@sha256:digest]; no spaces, no scheme.
const IMAGE = /^[a-z0-9][a-z0-9._-]*(:\d+)?(\/[a-z0-9][a-z0-9._-]*)*(:\w[\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
// kind turns the name into Docker container names and a kubeconfig context.
const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

function matching(re: RegExp, fallback: string) {
  return (raw: string | undefined): string => {
    const v = optional(raw) ?? fallback;
    if (!re.test(v)) throw new InvalidValue();
    return v;
  };
}

function url(raw: string | undefined): string | undefined {
  const v = optional(raw);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InvalidValue();
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidValue();
  return v.replace(/\/+$/, '');
}

/**
 * A path setting, made absolute: a value the user wrote is meant from the folder the command was
 * run in (helpers/run/paths.ts), even when npm runs the script in the project's folder; the
 * default from the project's folder.
 */
function absolutePath(fallback: string) {
  return (raw: string | undefined, env: Env): string => {
    const v = optional(raw);
    return v === undefined ? resolve(fallback) : userPath(v, env);
  };
}

/** An optional path (the workshop checkouts, a tool's binary), made absolute as above. */
function optionalPath(raw: string | undefined, env: Env): string | undefined {
  const v = optional(raw);
  return v === undefined ? undefined : userPath(v, env);
}

function defaultCacheDir(env: Env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(env.HOME ?? homedir(), '.cache'), 'egress-verify');
}

type KeysOf<T> = { [K in keyof Settings]: Settings[K] extends T ? K : never }[keyof Settings];
const BOOL_VALID = 'true, false, 1, 0, yes, no, on, off (any case); empty is false';
const DURATION_VALID = 'a duration up to 24h: 90, 90s, 5m, 2m30s, 1h, 500ms';

/** A true/false setting, false unless set. */
function flag<K extends KeysOf<boolean>>(env: string, key: K, description: string): SettingSpec<K> {
  return { env, key, description, defaultText: 'false', valid: BOOL_VALID, parse: bool } as unknown as SettingSpec<K>;
}

/** A free-form setting that is unset by default. */
function optionalText<K extends KeysOf<string | undefined>>(env: string, key: K, description: string, valid: string): SettingSpec<K> {
  return { env, key, description, defaultText: '', valid, parse: optional } as unknown as SettingSpec<K>;
}

function timeout<K extends KeysOf<number>>(env: string, key: K, description: string, fallback: string): SettingSpec<K> {
  return { env, key, description, defaultText: fallback, valid: DURATION_VALID, parse: duration(fallback) } as unknown as SettingSpec<K>;
}

/** A setting matching a pattern, with a default. */
function pattern<K extends KeysOf<string>>(env: string, key: K, description: string, re: RegExp, fallback: string, valid: string): SettingSpec<K> {
  return { env, key, description, defaultText: fallback, valid, parse: matching(re, fallback) } as unknown as SettingSpec<K>;
}

/** A setting that is one of a few words; the default is the first unless named. */
function choice<K extends KeysOf<string>>(env: string, key: K, description: string, values: readonly [string, ...string[]], fallback = values[0]): SettingSpec<K> {
  return { env, key, description, defaultText: fallback, valid: values.join(', '), parse: oneOf(values, fallback) } as unknown as SettingSpec<K>;
}

/** The --redis-version values Memorystore accepts (its supported-versions page); also checked in the workshop's gcloud commands. */
export const MEMORYSTORE_REDIS_VERSIONS = ['redis_3_2', 'redis_4_0', 'redis_5_0', 'redis_6_x', 'redis_7_0', 'redis_7_2'] as const;

export const cartImageDefault = `us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/cartservice:${pins.cartservice}`;

// The order here is the order of the README table.
const SETTINGS: { [K in keyof Settings]: SettingSpec<K> } = {
  images: choice('IMAGES', 'images', `published: the images upstream publishes (kindest/node, Istio's, the .NET cartservice), pulled as needed. local: the images \`npm run images:build -- --kind\` builds on this machine from Debian packages, Go modules and PyPI's Envoy, for hosts without a container registry; it runs Istio ${LOCAL_ISTIO_VERSION} with upstream Envoy and a cart stand-in, and the run lists how that differs from a laptop run. The image settings below still win when set.`, ['published', 'local']),
  istioVersion: pattern('ISTIO_VERSION', 'istioVersion', 'Istio release to install; istioctl of exactly this version is used.', ISTIO_VERSION, pins.istio, 'a release version x.y.z (e.g. 1.30.4, 1.31.0-beta.1)'),
  kindNodeImage: pattern('KIND_NODE_IMAGE', 'kindNodeImage', 'kind node image (Kubernetes version), pinned by digest. Unset: the newest pinned image ISTIO_VERSION supports. A tag without a digest is accepted with a warning: the run is then not reproducible.', IMAGE, pins.kindNodeImage, 'an image reference, e.g. kindest/node:v1.36.1@sha256:<64 hex>'),
  clusterName: pattern('CLUSTER_NAME', 'clusterName', 'Name of the kind cluster the suite creates (or reuses).', CLUSTER_NAME, 'egress-verify', 'lower-case letters, digits and "-", at most 32 characters'),
  cluster: choice('CLUSTER', 'cluster', 'Where to run: a kind cluster the suite creates, or the existing current context of KUBECONFIG. existing with REDIS_BACKEND=container works only when that cluster is a kind cluster on this Docker engine (pods must reach the `kind` network).', ['kind', 'existing']),
  keepCluster: flag('KEEP_CLUSTER', 'keepCluster', 'Keep everything after the run for debugging: the kind cluster, Istio, the Redis stand-in and the test namespaces; the run ends saying how to look at them and how to remove them.'),
  reuseCluster: flag('REUSE_CLUSTER', 'reuseCluster', 'Reuse a kind cluster of CLUSTER_NAME if it exists, skip the Istio install if the live mesh already matches, reuse a kept Redis stand-in; everything is then kept.'),
  allowContext: optionalText('ALLOW_CONTEXT', 'allowContext', 'With CLUSTER=existing: the one kubeconfig context the suite may change.', 'a context name from your kubeconfig'),
  installIstio: flag('INSTALL_ISTIO', 'installIstio', 'With CLUSTER=existing: install Istio (REGISTRY_ONLY) with istioctl instead of using the mesh already there. Always true for kind.'),
  redisBackend: choice('REDIS_BACKEND', 'redisBackend', 'The external Redis: a container on the kind network, or real GCP Memorystore.', ['container', 'memorystore']),
  redisImage: pattern('REDIS_IMAGE', 'redisImage', 'Image of the Redis stand-in (container backend). Use egress-verify/redis:local after `npm run images:build` where no registry is reachable.', IMAGE, pins.redisImage, 'an image reference'),
  cartImage: pattern('CART_IMAGE', 'cartImage', 'The microservices-demo cartservice image.', IMAGE, cartImageDefault, 'an image reference'),
  probeImage: pattern('PROBE_IMAGE', 'probeImage', 'Image of the probe pods; it needs `node` (>= 20) on PATH.', IMAGE, pins.probeImage, 'an image reference'),
  loadImages: choice('LOAD_IMAGES', 'loadImages', 'present: `kind load` every image that is present in the local Docker engine (CI caches, air-gapped mirrors); never: let the node pull them.', ['present', 'never']),
  artifactsDir: {
    env: 'ARTIFACTS_DIR', key: 'artifactsDir',
    description: 'Where kubeconfig, diagnostics, timings and JUnit reports go.',
    defaultText: './artifacts', valid: 'a directory path',
    parse: absolutePath('artifacts'),
  },
  toolsCacheDir: {
    env: 'TOOLS_CACHE_DIR', key: 'toolsCacheDir',
    description: 'Per-user cache of downloaded, verified kind and istioctl binaries.',
    defaultText: '$XDG_CACHE_HOME/egress-verify or ~/.cache/egress-verify', valid: 'a directory path',
    parse: (raw, env) => absolutePath(defaultCacheDir(env))(raw, env),
  },
  downloadMirror: {
    env: 'DOWNLOAD_MIRROR', key: 'downloadMirror',
    description: 'Base URL that replaces https://github.com for kind and istioctl release downloads (same paths below it). Checksums are still verified.',
    defaultText: '', valid: 'an http:// or https:// URL',
    parse: url,
  },
  kindBin: { ...optionalText('KIND_BIN', 'kindBin', 'Path to a kind binary; wins over PATH and the cache.', 'a path to an executable'), parse: optionalPath },
  istioctlBin: { ...optionalText('ISTIOCTL_BIN', 'istioctlBin', 'Path to an istioctl binary (must be ISTIO_VERSION); wins over PATH and the cache.', 'a path to an executable'), parse: optionalPath },
  setupTimeoutMs: timeout('SETUP_TIMEOUT', 'setupTimeoutMs', 'Deadline for bringing up cluster, Istio, Redis and workloads.', '20m'),
  readyTimeoutMs: timeout('READY_TIMEOUT', 'readyTimeoutMs', 'Deadline for one workload or control plane to become ready.', '5m'),
  propagationTimeoutMs: timeout('PROPAGATION_TIMEOUT', 'propagationTimeoutMs', 'Deadline for a config change (ServiceEntry) to reach the sidecars; istio.io doc tests allow 120 s.', '120s'),
  gcpProject: optionalText('GCP_PROJECT', 'gcpProject', 'memorystore backend: the GCP project (default: gcloud\'s configured project).', 'a GCP project id'),
  gcpRegion: {
    env: 'GCP_REGION', key: 'gcpRegion',
    description: 'memorystore backend: the instance\'s region.',
    defaultText: 'us-central1', valid: 'a GCP region, e.g. us-central1',
    parse: matching(/^[a-z]+-[a-z]+\d+$/, 'us-central1'),
  },
  gcpZone: {
    env: 'GCP_ZONE', key: 'gcpZone',
    description: 'memorystore backend with MEMORYSTORE_CREATE: the zone to create the instance in.',
    defaultText: '', valid: 'a GCP zone, e.g. us-central1-a',
    parse: (raw) => {
      const v = optional(raw);
      if (v !== undefined && !/^[a-z]+-[a-z]+\d+-[a-z]$/.test(v)) throw new InvalidValue();
      return v;
    },
  },
  redisInstance: {
    env: 'REDIS_INSTANCE', key: 'redisInstance',
    description: 'memorystore backend: the instance name (the chapter\'s is redis-cart).',
    defaultText: 'redis-cart', valid: 'lower-case letters, digits and "-", starting with a letter, at most 40 characters',
    parse: matching(/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/, 'redis-cart'),
  },
  memorystoreCreate: flag('MEMORYSTORE_CREATE', 'memorystoreCreate', 'memorystore backend: create the instance if missing (and delete it at the end).'),
  // redis_7_0: what microservices-demo's memorystore component and Terraform use, and the
  // server's documented default (gcloud sets none). The chapter itself used redis_4_0.
  memorystoreRedisVersion: choice('MEMORYSTORE_REDIS_VERSION', 'memorystoreRedisVersion', 'memorystore backend with MEMORYSTORE_CREATE: --redis-version of the new instance.', MEMORYSTORE_REDIS_VERSIONS, 'redis_7_0'),
  workshopRepo: { ...optionalText('WORKSHOP_REPO', 'workshopRepo', 'The workshop\'s content checkout (the Hugo site): `npm run workshop` checks its chapter, `npm test` then also runs the chapter\'s own blocks. Read only, never written.', 'a directory path'), parse: optionalPath },
  workshopLabs: { ...optionalText('WORKSHOP_LABS', 'workshopLabs', 'The workshop\'s labs checkout (the files the chapter applies from $WORKSHOP_HOME/istio-workshop-labs). Read only.', 'a directory path'), parse: optionalPath },
  workshopChapter: optionalText('WORKSHOP_CHAPTER', 'workshopChapter', 'The chapter\'s page, relative to WORKSHOP_REPO. Unset: the page under content/ whose front-matter title is "Egress Gateway".', 'a path such as content/09-traffic-management/08-egress-gateway.md'),
};

export interface SettingDoc {
  env: string;
  description: string;
  defaultText: string;
  valid: string;
}

/** The table the README and `npm run plan` show. */
export function settingDocs(): SettingDoc[] {
  return Object.values(SETTINGS).map(({ env, description, defaultText, valid }) => ({
    env, description, defaultText, valid,
  }));
}

/** Parses every setting; reports all invalid ones at once. */
export function loadSettings(env: Env = process.env): Settings {
  const problems: string[] = [];
  const out: Partial<Record<keyof Settings, unknown>> = {};
  for (const spec of Object.values(SETTINGS) as SettingSpec<keyof Settings>[]) {
    const raw = env[spec.env];
    try {
      out[spec.key] = spec.parse(raw, env);
    } catch (e) {
      if (!(e instanceof InvalidValue)) throw e;
      problems.push(`${spec.env}=${JSON.stringify(raw)} is not valid${e.message ? ` (${e.message})` : ''}; valid values: ${spec.valid}`);
    }
  }
  const s = out as Settings;
  if (problems.length === 0) problems.push(...crossChecks(s, env));
  if (problems.length > 0) throw new SettingsError(problems);
  return s;
}

/** Rules that involve more than one setting. */
function crossChecks(s: Settings, env: Env): string[] {
  const problems: string[] = [];
  if (s.redisBackend === 'memorystore' && s.cluster === 'kind') {
    problems.push(
      'REDIS_BACKEND=memorystore needs CLUSTER=existing: Memorystore is reachable only from inside its VPC, not from a kind cluster on this machine',
    );
  }
  if (s.images === 'local') problems.push(...useLocalImages(s, env));
  if (s.cluster === 'kind') {
    s.installIstio = true;
    // The default node image follows ISTIO_VERSION; an explicit one must be supported by it.
    if (!env.KIND_NODE_IMAGE?.trim() && s.images === 'published') s.kindNodeImage = compatibleNodeImage(s.istioVersion) ?? s.kindNodeImage;
    const problem = compatibilityProblem(s.istioVersion, s.kindNodeImage);
    if (problem) problems.push(problem);
  }
  if (s.cluster === 'existing' && s.reuseCluster) {
    problems.push('REUSE_CLUSTER applies to kind clusters only; with CLUSTER=existing, unset it');
  }
  if (s.memorystoreCreate && s.redisBackend !== 'memorystore') {
    problems.push('MEMORYSTORE_CREATE is set but REDIS_BACKEND is not memorystore; valid values for REDIS_BACKEND here: memorystore');
  }
  return problems;
}

/**
 * IMAGES=local: the images built here are the defaults of the image settings a user left unset;
 * the one Istio they were built for is the only one they can run.
 */
function useLocalImages(s: Settings, env: Env): string[] {
  const unset = (name: string) => !env[name]?.trim();
  if (unset('KIND_NODE_IMAGE')) s.kindNodeImage = LOCAL_IMAGES.kindNode;
  if (unset('CART_IMAGE')) s.cartImage = LOCAL_IMAGES.cart;
  if (unset('PROBE_IMAGE')) s.probeImage = LOCAL_IMAGES.probe;
  if (unset('REDIS_IMAGE')) s.redisImage = LOCAL_IMAGES.redis;
  if (unset('ISTIO_VERSION')) s.istioVersion = LOCAL_ISTIO_VERSION;
  const problems: string[] = [];
  if (s.istioVersion !== LOCAL_ISTIO_VERSION) {
    problems.push(`ISTIO_VERSION=${s.istioVersion} with IMAGES=local: the Istio images built here are ${LOCAL_ISTIO_VERSION} only (the one release the Go module proxy serves); unset ISTIO_VERSION or set it to ${LOCAL_ISTIO_VERSION}`);
  }
  if (s.cluster !== 'kind') {
    problems.push('IMAGES=local needs CLUSTER=kind: the images built here are loaded into the kind cluster the suite creates; valid values for CLUSTER here: kind');
  }
  return problems;
}

/**
 * Settings as plain values for plan output (no secrets are among them). A duration is shown as
 * the user wrote it in `env` (PROPAGATION_TIMEOUT=120s stays 120s), a default as the README
 * writes it (20m).
 */
export function describeSettings(s: Settings, env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const spec of Object.values(SETTINGS)) {
    const v = s[spec.key] as string | number | boolean | undefined;
    const written = env[spec.env]?.trim();
    // Stryker disable next-line LogicalOperator,ConditionalExpression: the durations are the only numbers, so either half alone decides the same
    out[spec.env] = typeof v === 'number' && spec.valid === DURATION_VALID ? written || formatDuration(v) : v ?? null;
  }
  return out;
}

/**
 * Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions):
 * the number of single-character insertions, deletions, substitutions and swaps between a and b.
 */
export function editDistance(a: string, b: string): number {
  // Stryker disable next-line ConditionalExpression: the inner cells' start value is never read (the loop writes each before reading it)
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: at i = 1 (j = 1) a[-1] (b[-1]) is undefined and equals no character, so the bounds decide nothing the characters do not
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The setting a variable name is probably a typo of, or undefined. */
export function probableSetting(name: string): string | undefined {
  // Only names shaped like ours: upper-case words joined by "_", not a setting itself.
  if (!/^[A-Z][A-Z0-9_]{3,}$/.test(name)) return undefined;
  const names = Object.values(SETTINGS).map((s) => s.env);
  if (names.includes(name)) return undefined;
  let found: { env: string; distance: number } | undefined;
  for (const env of names) {
    // Same family: the first three letters agree (ISTIO_VERSON, KIND_BN, REDIS_IMGE), so
    // PATH, HOME, CI, NODE_OPTIONS and the like are never taken for ours.
    if (name.slice(0, 3) !== env.slice(0, 3)) continue;
    // Short names allow one edit only: two would reach too many unrelated words.
    const limit = env.length <= 8 ? 1 : 2;
    const distance = editDistance(name, env);
    // Stryker disable next-line ConditionalExpression: with today's table no name is within reach of two settings at different distances (only WORKSHOP_REPO/WORKSHOP_LABS, 4 apart, meet at 2 each), so "the first found" equals "the closest"
    if (distance <= limit && (!found || distance < found.distance)) found = { env, distance };
  }
  return found?.env;
}

/** Things that are allowed but probably not what was meant; printed before the run, never fatal. */
export function settingWarnings(env: Env = process.env): string[] {
  const warnings: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const meant = probableSetting(name);
    if (meant) warnings.push(`${name} is not a setting; did you mean ${meant}? (${name} is ignored${env[meant] === undefined ? `, ${meant} keeps its default` : ''})`);
  }
  if (env.CLUSTER?.trim() === 'existing' && (env.REDIS_BACKEND?.trim() || 'container') === 'container') {
    warnings.push(`CLUSTER=existing with REDIS_BACKEND=container works only when the current context is a kind cluster on this Docker engine: its pods must reach the Redis container on the \`${kindNetwork(env)}\` network`);
  }
  const node = env.KIND_NODE_IMAGE?.trim();
  if (node && !/@sha256:[a-f0-9]{64}$/.test(node)) {
    warnings.push(`KIND_NODE_IMAGE=${node} has no @sha256: digest: the tag may point to another image tomorrow, so this run is not reproducible`);
  }
  return warnings;
}
