/**
 * helpers/run/tools.ts: tool lookup (PATH, a setting, the cache, a verified download), against a
 * loopback HTTP server posing as the release mirror (DOWNLOAD_MIRROR); the download-and-verify
 * step itself: download.test.ts. The "binaries" it serves are small shell scripts that stand
 * in for kind and istioctl: they print a version the way the real tools do
 * (`kind version`: "kind v0.32.0 go1.26.3 linux/amd64"; `istioctl version --remote=false`:
 * "client version: 1.30.5").
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { LOCAL_ISTIO_VERSION } from '../../helpers/run/local-images.ts';
import { pins } from '../../helpers/run/pins.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import {
  builtToolPath, cachePath, checkPrerequisites, currentPlatform, PrerequisitesError, releaseAsset, resolveTool, toolNeeds,
} from '../../helpers/run/tools.ts';
import { loopbackMirror } from '../plumbing/loopback.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const ISTIO = '1.30.5';
const platform = currentPlatform();

const script = (line: string) => `#!/bin/sh\necho "${line}"\n`;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const mirror = loopbackMirror();
const files = mirror.files;
const work = tempFolder('tools');

beforeAll(async () => {
  // A real istioctl release tarball layout: one member, `istioctl`, at the top.
  const stage = join(work.path, 'stage');
  await mkdir(stage);
  await writeFile(join(stage, 'istioctl'), script(`client version: ${ISTIO}`), { mode: 0o755 });
  const tgz = join(work.path, 'istioctl.tar.gz');
  await tarCreate({ gzip: true, file: tgz, cwd: stage }, ['istioctl']);
  const tarball = await readFile(tgz);
  const istio = releaseAsset('istioctl', ISTIO, platform);
  const istioPath = new URL(istio.url).pathname;
  files.set(istioPath, tarball);
  files.set(`${istioPath}.sha256`, `${sha(tarball)} ${istioPath.split('/').pop()}\n`);

  const kindBin = script(`kind ${pins.kind} go1.26.3 ${platform.os}/${platform.arch}`);
  const kind = releaseAsset('kind', pins.kind, platform);
  const kindPath = new URL(kind.url).pathname;
  files.set(kindPath, kindBin);
  files.set(`${kindPath}.sha256sum`, `${sha(kindBin)}  ${kindPath.split('/').pop()}\n`);
});

let cache: string;
beforeEach(async () => {
  cache = await mkdtemp(join(work.path, 'cache-'));
  mirror.requests = [];
});

/** Settings as the suite would read them, pointed at the loopback mirror and a fresh cache. */
function settings(extra: Record<string, string> = {}) {
  return loadSettings({ DOWNLOAD_MIRROR: mirror.url, TOOLS_CACHE_DIR: cache, ISTIO_VERSION: ISTIO, ...extra });
}
// Outside CI whatever this run's own environment says (CI=true changes kind's lookup: below).
const [kindNeed, istioctlNeed] = toolNeeds(settings(), {});

/** A PATH holding only the given stand-in tools (their #!/bin/sh needs no PATH). */
async function pathWith(tools: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(work.path, 'bin-'));
  for (const [name, body] of Object.entries(tools)) await writeFile(join(dir, name), body, { mode: 0o755 });
  return dir;
}

describe('release locations', () => {
  test('kind and istioctl asset names, under github.com or the mirror', () => {
    expect(releaseAsset('kind', 'v0.32.0', { os: 'linux', arch: 'amd64' })).toEqual({
      url: 'https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-linux-amd64',
      checksumUrl: 'https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-linux-amd64.sha256sum',
      tarMember: undefined,
    });
    expect(releaseAsset('istioctl', '1.30.5', { os: 'darwin', arch: 'arm64' }, 'https://m.example/gh')).toEqual({
      url: 'https://m.example/gh/istio/istio/releases/download/1.30.5/istioctl-1.30.5-osx-arm64.tar.gz',
      checksumUrl: 'https://m.example/gh/istio/istio/releases/download/1.30.5/istioctl-1.30.5-osx-arm64.tar.gz.sha256',
      tarMember: 'istioctl',
    });
  });
});

describe('download and verify (loopback mirror)', () => {
  test('istioctl: the tarball is fetched, verified, unpacked and runs', async () => {
    const tool = await resolveTool(istioctlNeed!, settings(), platform);
    expect(tool).toMatchObject({ name: 'istioctl', version: ISTIO, source: 'download', path: cachePath(cache, 'istioctl', ISTIO) });
    expect(await readdir(join(cache, 'istioctl', ISTIO))).toEqual(['istioctl']);
    // The second run uses the cache: no request reaches the mirror.
    mirror.requests = [];
    expect(await resolveTool(istioctlNeed!, settings(), platform)).toMatchObject({ source: 'cache' });
    expect(mirror.requests).toEqual([]);
  });

  test('kind: the binary is fetched and verified against its .sha256sum', async () => {
    const tool = await resolveTool(kindNeed!, settings(), platform);
    expect(tool).toMatchObject({ name: 'kind', version: pins.kind.slice(1), source: 'download' });
  });

  test('a version that does not exist: named as such, before any cluster work', async () => {
    const s = settings({ ISTIO_VERSION: '1.30.99' });
    const [, need] = toolNeeds(s);
    const err = await resolveTool(need!, s, platform).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/istioctl 1\.30\.99: no such release at http:\/\/127\.0\.0\.1:\d+\/istio\/istio\/releases\/download\/1\.30\.99\/.*\.sha256 \(HTTP 404\)\. Check ISTIO_VERSION against https:\/\/github\.com\/istio\/istio\/releases, and that DOWNLOAD_MIRROR carries it\./);
  });

  test('no published checksum: refused, nothing cached', async () => {
    const asset = releaseAsset('kind', pins.kind, platform, mirror.url);
    const path = new URL(asset.checksumUrl).pathname;
    const sum = files.get(path)!;
    files.delete(path);
    try {
      const err = await resolveTool(kindNeed!, settings(), platform).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrerequisitesError);
      expect((err as Error).message).toContain(`no such release at ${asset.checksumUrl} (HTTP 404)`);
      expect(await readdir(cache)).toEqual([]);
    } finally {
      files.set(path, sum);
    }
  });

  test('two concurrent first runs both succeed and leave one verified binary', async () => {
    const [a, b] = await Promise.all([
      resolveTool(istioctlNeed!, settings(), platform),
      resolveTool(istioctlNeed!, settings(), platform),
    ]);
    expect(a.path).toBe(b.path);
    expect(await readdir(join(cache, 'istioctl', ISTIO))).toEqual(['istioctl']);
    const body = await readFile(a.path, 'utf8');
    expect(body).toContain(`client version: ${ISTIO}`);
  });

  test('mirror down: fails within seconds naming the tool, the address and the alternatives', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const started = Date.now();
    const err = await resolveTool(istioctlNeed!, settings({ DOWNLOAD_MIRROR: `http://127.0.0.1:${port}` }), platform)
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(PrerequisitesError);
    const msg = (err as Error).message;
    expect(msg).toContain(`istioctl ${ISTIO} is not on PATH nor in the cache (${cachePath(cache, 'istioctl', ISTIO)}), and could not download http://127.0.0.1:${port}/istio/istio/releases/download/${ISTIO}/`);
    expect(msg).toContain('ECONNREFUSED');
    expect(msg).toContain(`Put istioctl ${ISTIO} on PATH, set ISTIOCTL_BIN to its path, or set DOWNLOAD_MIRROR`);
  });
});

describe('tools from PATH or a setting: version checks', () => {
  test('istioctl of another version on PATH is not used; the verified download is', async () => {
    const PATH = await pathWith({ istioctl: script('client version: 1.29.8') });
    const saved = process.env.PATH;
    process.env.PATH = PATH;
    try {
      expect(await resolveTool(istioctlNeed!, settings(), platform)).toMatchObject({ source: 'download', version: ISTIO });
    } finally {
      process.env.PATH = saved;
    }
  });

  test('ISTIOCTL_BIN of another version is an error naming both versions', async () => {
    const PATH = await pathWith({ istioctl: script('client version: 1.29.8') });
    const bin = join(PATH, 'istioctl');
    const s = settings({ ISTIOCTL_BIN: bin });
    const [, need] = toolNeeds(s);
    const err = await resolveTool(need!, s, platform).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(new RegExp(`istioctl at ${bin} \\(setting\\) is 1\\.29\\.8, expected ${ISTIO.replace(/\./g, '\\.')}`));
  });

  test('kind of another version on PATH is used, with a warning', async () => {
    const saved = process.env.PATH;
    process.env.PATH = await pathWith({ kind: script('kind v0.31.0 go1.25.5 linux/amd64') });
    try {
      const tool = await resolveTool(kindNeed!, settings(), platform);
      expect(tool).toMatchObject({ source: 'PATH', version: '0.31.0' });
      expect(tool.warning).toMatch(`is 0.31.0, expected ${pins.kind}`);
    } finally {
      process.env.PATH = saved;
    }
  });

  test('under CI (CI=true) kind must be the pinned one: another on PATH is passed over for the verified download, KIND_BIN of another version fails', async () => {
    const [need] = toolNeeds(settings(), { CI: 'true' });
    const saved = process.env.PATH;
    const other = await pathWith({ kind: script('kind v0.31.0 go1.25.5 linux/amd64') });
    process.env.PATH = other;
    try {
      const tool = await resolveTool(need!, settings(), platform);
      expect(tool).toMatchObject({ source: 'download', version: pins.kind.slice(1) });
      expect(tool.warning).toBeUndefined();
    } finally {
      process.env.PATH = saved;
    }
    const s = settings({ KIND_BIN: join(other, 'kind') });
    const [strict] = toolNeeds(s, { CI: 'true' });
    await expect(resolveTool(strict!, s, platform)).rejects.toThrow(`kind at ${join(other, 'kind')} (setting) is 0.31.0, expected ${pins.kind}; point KIND_BIN at kind ${pins.kind}`);
  });

  test('IMAGES=local: after the cache, the ones tools:build built, before any download; never otherwise', async () => {
    expect(builtToolPath('kind', 'v0.32.0', { TOOLS_DIR: '/p/.tools/bin' })).toBe('/p/.tools/bin/kind');
    expect(builtToolPath('istioctl', '1.31.0', { TOOLS_DIR: '/p/.tools/bin' })).toBe('/p/.tools/istio/1.31.0/bin/istioctl');
    const saved = process.env.PATH;
    process.env.PATH = await pathWith({});
    try {
      const local = settings({ IMAGES: 'local', ISTIO_VERSION: LOCAL_ISTIO_VERSION });
      const [need] = toolNeeds(local);
      const built = builtToolPath('kind', need!.version);
      if (existsSync(built)) expect(await resolveTool(need!, local, platform)).toMatchObject({ source: 'built', path: built });
      expect(await resolveTool(kindNeed!, settings(), platform)).toMatchObject({ source: 'download' });
    } finally {
      process.env.PATH = saved;
    }
  });

  test('KIND_BIN that is not executable is reported', async () => {
    const s = settings({ KIND_BIN: join(work.path, 'no-such-kind') });
    const [need] = toolNeeds(s);
    await expect(resolveTool(need!, s, platform)).rejects.toThrow(/KIND_BIN=.*no-such-kind is not an executable file/);
  });
});

describe('prerequisites report', () => {
  test('kind and istioctl missing and unreachable: both reported at once, nothing created', async () => {
    const dead = `http://127.0.0.1:9`; // discard port; nothing listens on loopback here
    const saved = process.env.PATH;
    process.env.PATH = await pathWith({});
    try {
      const err = await checkPrerequisites(settings({ DOWNLOAD_MIRROR: dead })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrerequisitesError);
      const problems = (err as PrerequisitesError).problems;
      expect(problems.some((p) => p.startsWith(`kind ${pins.kind} is not on PATH nor in the cache`) && p.includes(`could not download ${dead}/kubernetes-sigs/kind/`))).toBe(true);
      expect(problems.some((p) => p.startsWith(`istioctl ${ISTIO} is not on PATH nor in the cache`) && p.includes(`could not download ${dead}/istio/istio/`))).toBe(true);
      // docker is not on this PATH either: it is in the same report.
      expect(problems.some((p) => p.startsWith('docker: the Docker CLI is not on PATH'))).toBe(true);
      expect(await readdir(cache)).toEqual([]);
    } finally {
      process.env.PATH = saved;
    }
  });

  test('the kind executable really is missing on this machine: the report names it', async (ctx) => {
    const { onPath } = await import('../../helpers/run/tools.ts');
    if (await onPath('kind')) ctx.skip('kind is installed on this machine; the missing-kind path is covered above with a bare PATH');
    const err = await checkPrerequisites(settings({ DOWNLOAD_MIRROR: 'http://127.0.0.1:9' })).catch((e: unknown) => e);
    expect((err as PrerequisitesError).problems.some((p) => p.includes('Put kind v0.32.0 on PATH, set KIND_BIN'))).toBe(true);
  });
});
