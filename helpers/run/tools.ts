/**
 * The command-line tools the scenarios drive, found or fetched before anything is created.
 *
 * Lookup order for kind and istioctl: the setting (KIND_BIN / ISTIOCTL_BIN), then PATH, then the
 * per-user cache, then a verified download into that cache (DOWNLOAD_MIRROR replaces
 * https://github.com). istioctl must be exactly ISTIO_VERSION; a kind of another version is
 * used with a warning, except under CI, where it must be the pinned one. `checkPrerequisites`
 * reports every missing tool at once.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { execa } from 'execa';
import { DownloadError, downloadVerified } from './download.ts';
import { checkHost, type HostFindings } from '../cluster/host.ts';
import { partitionByPresence } from './docker.ts';
import { istioImages, LOCAL_IMAGES } from './local-images.ts';
import { pins } from './pins.ts';
import type { Settings } from './settings.ts';
import { UserFacingError } from './user-facing.ts';

export type ToolName = 'kind' | 'istioctl';

export interface ResolvedTool {
  name: ToolName;
  path: string;
  version: string;
  source: 'setting' | 'PATH' | 'cache' | 'built' | 'download';
  warning?: string;
}

export interface Tools {
  /** Absent with CLUSTER=existing: no kind needed. */
  kind: ResolvedTool | undefined;
  /** Absent when Istio is not installed by the suite (CLUSTER=existing without INSTALL_ISTIO). */
  istioctl: ResolvedTool | undefined;
  dockerServerVersion: string;
  gcloud?: string;
  /** Host findings that do not stop the run (helpers/cluster/host.ts), to be logged. */
  hostWarnings: string[];
}

export class PrerequisitesError extends UserFacingError {
  constructor(problems: readonly string[]) {
    super('Missing prerequisites', problems, `Missing prerequisites; nothing was created:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PrerequisitesError';
  }
}

const GITHUB = 'https://github.com';

interface Platform {
  os: 'linux' | 'darwin';
  arch: 'amd64' | 'arm64';
}

export function currentPlatform(): Platform {
  const os = process.platform === 'darwin' ? 'darwin' : process.platform === 'linux' ? 'linux' : undefined;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : undefined;
  if (!os || !arch) throw new PrerequisitesError([`unsupported platform ${process.platform}/${process.arch}: kind and istioctl are fetched for linux or darwin, amd64 or arm64`]);
  return { os, arch };
}

/** Release download locations, relative to https://github.com or DOWNLOAD_MIRROR. */
export function releaseAsset(tool: ToolName, version: string, p: Platform, mirror?: string) {
  const base = mirror ?? GITHUB;
  if (tool === 'kind') {
    // kind RELEASE.md / hack/release/build/cross.sh: kind-<os>-<arch> and <asset>.sha256sum (shasum -a 256).
    const v = version.startsWith('v') ? version : `v${version}`;
    const url = `${base}/kubernetes-sigs/kind/releases/download/${v}/kind-${p.os}-${p.arch}`;
    return { url, checksumUrl: `${url}.sha256sum`, tarMember: undefined };
  }
  // istio/release-builder: istioctl-<v>-<linux|osx>-<amd64|arm64>.tar.gz (macOS is "osx", not
  // "darwin"), each with a .sha256 file ("<hex> <name>"); the tarball holds the file `istioctl`.
  const suffix = `${p.os === 'darwin' ? 'osx' : 'linux'}-${p.arch}`;
  const url = `${base}/istio/istio/releases/download/${version}/istioctl-${version}-${suffix}.tar.gz`;
  return { url, checksumUrl: `${url}.sha256`, tarMember: 'istioctl' };
}

/** Where a tool of a version lives in the cache. */
export function cachePath(cacheDir: string, tool: ToolName, version: string): string {
  return join(cacheDir, tool, version, tool);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function onPath(command: string, pathVar = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

const VERSION = /v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.+-]+)?)/;

/** The version a tool reports of itself: `kind version` / `istioctl version --remote=false`. */
export async function reportedVersion(tool: ToolName, path: string): Promise<string> {
  // istioctl: `version --remote=false` prints the client version only (no cluster contact).
  const args = tool === 'kind' ? ['version'] : ['version', '--remote=false'];
  const { stdout } = await execa(path, args, { timeout: 20_000 });
  const m = VERSION.exec(stdout);
  if (!m?.[1]) throw new Error(`${tool} at ${path}: could not read a version from "${stdout.trim()}"`);
  return m[1];
}

function sameVersion(a: string, b: string): boolean {
  return a.replace(/^v/, '') === b.replace(/^v/, '');
}

export interface ToolNeed {
  name: ToolName;
  version: string;
  setting: 'KIND_BIN' | 'ISTIOCTL_BIN';
  configured: string | undefined;
  /** istioctl must match ISTIO_VERSION; kind may differ (warning), except under CI. */
  strict: boolean;
  /** Whether this run uses the tool: kind only for CLUSTER=kind, istioctl only when the suite installs Istio. */
  needed: boolean;
}

/**
 * Under CI (GitHub Actions and most CI services set CI=true) kind must be the pinned, verified
 * one: runner images ship their own kind, which PATH would find first.
 */
function needs(s: Settings, env: NodeJS.ProcessEnv = process.env): ToolNeed[] {
  return [
    { name: 'kind', version: pins.kind, setting: 'KIND_BIN', configured: s.kindBin, strict: env.CI === 'true', needed: s.cluster === 'kind' },
    { name: 'istioctl', version: s.istioVersion, setting: 'ISTIOCTL_BIN', configured: s.istioctlBin, strict: true, needed: s.installIstio },
  ];
}

async function checkFound(need: ToolNeed, path: string, source: ResolvedTool['source']): Promise<ResolvedTool> {
  const version = await reportedVersion(need.name, path);
  if (sameVersion(version, need.version)) return { name: need.name, path, version, source };
  const msg = `${need.name} at ${path} (${source}) is ${version}, expected ${need.version}`;
  if (need.strict) throw new PrerequisitesError([`${msg}; point ${need.setting} at ${need.name} ${need.version}, or remove it from PATH so the suite fetches it`]);
  return { name: need.name, path, version, source, warning: msg };
}

export async function resolveTool(need: ToolNeed, s: Settings, platform = currentPlatform()): Promise<ResolvedTool> {
  if (need.configured) {
    if (!(await isExecutable(need.configured))) {
      throw new PrerequisitesError([`${need.setting}=${need.configured} is not an executable file`]);
    }
    return checkFound(need, need.configured, 'setting');
  }
  const fromPath = await onPath(need.name);
  // On PATH but of another version: istioctl then falls through to the cache, kind warns.
  if (fromPath) {
    try {
      return await checkFound(need, fromPath, 'PATH');
    } catch (e) {
      if (!need.strict) throw e;
    }
  }
  const cached = cachePath(s.toolsCacheDir, need.name, need.version);
  if (await isExecutable(cached)) return checkFound(need, cached, 'cache');
  // IMAGES=local (no registry, so likely no release downloads either): the ones `npm run tools:build` built.
  const built = s.images === 'local' ? builtToolPath(need.name, need.version) : undefined;
  if (built && (await isExecutable(built))) return checkFound(need, built, 'built');

  const asset = releaseAsset(need.name, need.version, platform, s.downloadMirror);
  const alternatives =
    `Put ${need.name} ${need.version} on PATH, set ${need.setting} to its path, or set DOWNLOAD_MIRROR to a mirror of the release downloads.`;
  const started = Date.now();
  process.stderr.write(`[tools] fetching ${need.name} ${need.version} from ${asset.url}\n`);
  try {
    await downloadVerified({
      tool: `${need.name} ${need.version}`,
      url: asset.url,
      checksumUrl: asset.checksumUrl,
      dest: cached,
      tarMember: asset.tarMember,
      alternatives,
      timeoutMs: 120_000,
    });
  } catch (e) {
    if (e instanceof DownloadError && e.status === 404) {
      // No such release asset: the version does not exist (or the mirror does not carry it).
      const releases = need.name === 'kind' ? 'https://github.com/kubernetes-sigs/kind/releases' : 'https://github.com/istio/istio/releases';
      const what = need.name === 'istioctl' ? 'ISTIO_VERSION' : 'the kind pin (helpers/run/pins.ts)';
      throw new PrerequisitesError([`${need.name} ${need.version}: no such release at ${asset.checksumUrl} (HTTP 404). Check ${what} against ${releases}${s.downloadMirror ? ', and that DOWNLOAD_MIRROR carries it' : ''}.`]);
    }
    if (e instanceof DownloadError) {
      throw new PrerequisitesError([`${need.name} ${need.version} is not on PATH nor in the cache (${cached}), and ${e.message.replace(`${need.name} ${need.version}: `, '')}`]);
    }
    throw e;
  }
  process.stderr.write(`[tools] ${need.name} ${need.version} verified and cached at ${cached} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  return checkFound(need, cached, 'download');
}

/** Where `npm run tools:build` puts its binaries (TOOLS_DIR overrides; images/tools/build-tools.ts). */
export function toolsBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TOOLS_DIR?.trim() || join(import.meta.dirname, '..', '..', '.tools', 'bin'));
}

/** Where `npm run tools:build` puts the Istio binaries it builds (istioctl, pilot-discovery, pilot-agent). */
export function istioBinDir(env: NodeJS.ProcessEnv = process.env, version: string = pins.istioBuild.version): string {
  return join(toolsBinDir(env), '..', 'istio', version, 'bin');
}

/** The kind or istioctl `npm run tools:build` built. */
export function builtToolPath(tool: ToolName, version: string, env: NodeJS.ProcessEnv = process.env): string {
  return tool === 'kind' ? join(toolsBinDir(env), 'kind') : join(istioBinDir(env, version), 'istioctl');
}

/** `docker version`: the engine answers, not only the CLI. */
export async function dockerServerVersion(): Promise<string> {
  if (!(await onPath('docker'))) {
    throw new PrerequisitesError(['docker: the Docker CLI is not on PATH; install Docker (Docker Desktop, or Debian/Ubuntu: apt-get install docker.io)']);
  }
  try {
    const { stdout } = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 });
    return stdout.trim();
  } catch (e) {
    const detail = (e as { stderr?: string }).stderr?.trim().split('\n')[0] ?? String(e);
    throw new PrerequisitesError([`docker: no Docker engine answers (${detail}); start Docker Desktop or dockerd`]);
  }
}

export async function gcloudPath(): Promise<string> {
  const path = await onPath('gcloud');
  if (!path) throw new PrerequisitesError(['gcloud: not on PATH; install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), then `gcloud auth login`']);
  return path;
}

/**
 * Every prerequisite, checked concurrently; all problems reported in one error.
 * Creates nothing but (on success) files in the tools cache.
 */
export async function checkPrerequisites(s: Settings): Promise<Tools> {
  const [kind, istioctl] = needs(s);
  // Docker runs kind and the Redis stand-in; with an existing cluster and Memorystore it is not needed.
  const needDocker = s.cluster === 'kind' || s.redisBackend === 'container';
  const engine = needDocker ? dockerServerVersion() : Promise.resolve('not needed');
  // The host (engine size and architecture, inotify, the stand-in's network) once the engine
  // answers; an engine that does not is already reported by `engine` above.
  const host: Promise<HostFindings> = needDocker
    ? engine.then(() => checkHost(s), (): HostFindings => ({ problems: [], warnings: [] }))
      .catch((e: unknown): HostFindings => ({ problems: [`the host could not be checked: ${e instanceof Error ? e.message : String(e)}`], warnings: [] }))
    : Promise.resolve({ problems: [], warnings: [] });
  // IMAGES=local: every image built here that this run uses must be present (nothing can be pulled).
  const localImages = s.images === 'local' ? engine.then(() => localImagesProblem(s), () => undefined) : Promise.resolve(undefined);
  const results = await Promise.allSettled([
    engine,
    kind!.needed ? resolveTool(kind!, s) : Promise.resolve(undefined),
    istioctl!.needed ? resolveTool(istioctl!, s) : Promise.resolve(undefined),
    s.redisBackend === 'memorystore' ? gcloudPath() : Promise.resolve(undefined),
  ]);
  const findings = await host;
  const localProblem = await localImages.catch((e: unknown) => `the local images could not be checked: ${e instanceof Error ? e.message : String(e)}`);
  if (localProblem) findings.problems.push(localProblem);
  const problems = [...results.flatMap((r) =>
    r.status === 'rejected'
      ? r.reason instanceof PrerequisitesError ? [...r.reason.problems] : [String(r.reason)]
      : [],
  ), ...findings.problems];
  if (problems.length > 0) throw new PrerequisitesError(problems);
  const [docker, kindTool, istioctlTool, gcloud] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  return {
    dockerServerVersion: docker as string,
    kind: kindTool as ResolvedTool | undefined,
    istioctl: istioctlTool as ResolvedTool | undefined,
    gcloud: gcloud as string | undefined,
    hostWarnings: findings.warnings,
  };
}

/** The images of IMAGES=local this run uses (those of `images:build -- --kind`), and which are missing. */
export function localImagesWanted(s: Pick<Settings, 'kindNodeImage' | 'istioVersion' | 'cartImage' | 'probeImage' | 'redisImage'>): string[] {
  const { pilot, proxy } = istioImages(LOCAL_IMAGES.istioHub, s.istioVersion);
  const built = new Set<string>([...Object.values(LOCAL_IMAGES), pilot, proxy]);
  return [s.kindNodeImage, pilot, proxy, s.cartImage, s.probeImage, s.redisImage].filter((i) => built.has(i));
}

async function localImagesProblem(s: Settings): Promise<string | undefined> {
  const { absent } = await partitionByPresence(localImagesWanted(s));
  if (absent.length === 0) return undefined;
  return `IMAGES=local: not built on this machine: ${absent.join(', ')}; build them with \`npm run images:build -- --kind\` (cached: seconds when nothing changed)`;
}

export { needs as toolNeeds };
