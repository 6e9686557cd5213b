/**
 * helpers/run/download.ts: download-and-verify into the tools cache, against a loopback HTTP
 * server posing as the release mirror. A binary or a .tar.gz member lands at its destination
 * only once its SHA-256 matches the published one; a refused download leaves nothing behind.
 * How tools.ts picks the URLs and when it downloads: tools.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import { beforeAll, describe, expect, test } from 'vitest';
import { DownloadError, downloadVerified, parseChecksumFile, type VerifiedDownload } from '../../helpers/run/download.ts';
import { loopbackMirror } from '../plumbing/loopback.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const KIND = '#!/bin/sh\necho "kind v0.32.0"\n';

const mirror = loopbackMirror();
const files = mirror.files;
const work = tempFolder('download');

beforeAll(async () => {
  files.set('/kind', KIND);
  files.set('/kind.sha256sum', `${sha(KIND)}  kind-linux-amd64\n`);
  // An istioctl release tarball's layout: one member, `istioctl`, at the top.
  const stage = join(work.path, 'stage');
  await mkdir(stage);
  await writeFile(join(stage, 'istioctl'), '#!/bin/sh\necho "client version: 1.30.5"\n', { mode: 0o755 });
  await tarCreate({ gzip: true, file: join(work.path, 'istioctl.tar.gz'), cwd: stage }, ['istioctl']);
  const tarball = await readFile(join(work.path, 'istioctl.tar.gz'));
  files.set('/istioctl.tar.gz', tarball);
  files.set('/istioctl.tar.gz.sha256', `${sha(tarball)} istioctl-1.30.5-linux-amd64.tar.gz\n`);
});

/** A fresh tools cache for each test. */
const cache = tempFolder('download-cache', { each: true });

/** The download of `path` from the mirror into the fresh cache. */
const spec = (path: string, extra: Partial<VerifiedDownload> = {}): VerifiedDownload => ({
  tool: path.slice(1).split('.')[0]!, url: `${mirror.url}${path}`, checksumUrl: `${mirror.url}${path}.sha256sum`,
  dest: join(cache.path, 'bin', 'tool'), alternatives: 'Put it on PATH.', ...extra,
});
const refusal = (s: VerifiedDownload) => downloadVerified(s).then(() => { throw new Error('accepted'); }, (e: unknown) => e as DownloadError);

describe('checksum files', () => {
  test('checksum files: shasum (two spaces) and istio (one space) formats', () => {
    const hex = 'ab'.repeat(32);
    expect(parseChecksumFile(`${hex}  kind-linux-amd64\n`)).toBe(hex);
    expect(parseChecksumFile(`${hex.toUpperCase()} istioctl-1.30.5-linux-amd64.tar.gz`)).toBe(hex);
    expect(parseChecksumFile('<html>404</html>')).toBeUndefined();
  });

  test('the checksum alone on its line, after blank space; anything but 64 hex digits first is none', () => {
    const hex = '0f'.repeat(32);
    expect(parseChecksumFile(`  ${hex}\n`)).toBe(hex);
    expect(parseChecksumFile(`${hex}\tkind\n`)).toBe(hex);
    for (const text of ['', `${hex.slice(1)}  kind`, `${hex}0  kind`, `${hex}x`, `sha256:${hex}`, `kind ${hex}`]) {
      expect(parseChecksumFile(text), text).toBeUndefined();
    }
  });
});

describe('download and verify (loopback mirror)', () => {
  test('a binary: fetched, verified, made executable at its destination (folders made for it); nothing else left', async () => {
    const s = spec('/kind');
    expect(await downloadVerified(s)).toBe(s.dest);
    expect(await readFile(s.dest, 'utf8')).toBe(KIND);
    expect((await stat(s.dest)).mode & 0o777).toBe(0o755);
    expect(await readdir(join(cache.path, 'bin'))).toEqual(['tool']);
  });

  test('a .tar.gz: the member named is what lands at the destination', async () => {
    const s = spec('/istioctl.tar.gz', { checksumUrl: `${mirror.url}/istioctl.tar.gz.sha256`, tarMember: 'istioctl' });
    await downloadVerified(s);
    expect(await readFile(s.dest, 'utf8')).toContain('client version: 1.30.5');
    expect(await readdir(join(cache.path, 'bin'))).toEqual(['tool']);
  });

  test('a verified archive without the member: refused, nothing left', async () => {
    const s = spec('/istioctl.tar.gz', { checksumUrl: `${mirror.url}/istioctl.tar.gz.sha256`, tarMember: 'bin/istioctl' });
    expect((await refusal(s)).message).toBe('istioctl: the verified archive has no member "bin/istioctl"');
    expect(await readdir(join(cache.path, 'bin'))).toEqual([]);
  });

  test('a tampered artifact is refused and deleted', async () => {
    const good = files.get('/kind')!;
    files.set('/kind', `${good}\necho pwned\n`);
    try {
      const s = spec('/kind');
      const err = await refusal(s);
      expect(err).toBeInstanceOf(DownloadError);
      expect(err.message).toMatch(/checksum mismatch .* expected [a-f0-9]{64} .* got [a-f0-9]{64}\. The download was deleted/);
      expect(existsSync(s.dest)).toBe(false);
      expect(await readdir(join(cache.path, 'bin'))).toEqual([]);
    } finally {
      files.set('/kind', good);
    }
  });

  test('a checksum file that holds no checksum is refused', async () => {
    const sum = files.get('/kind.sha256sum')!;
    files.set('/kind.sha256sum', 'Service Unavailable');
    try {
      expect((await refusal(spec('/kind'))).message).toMatch(/holds no SHA-256 checksum; refusing/);
      expect(await readdir(cache.path)).toEqual([]);
    } finally {
      files.set('/kind.sha256sum', sum);
    }
  });

  test('an HTTP error: the address and the status, with the alternatives; the status kept for the caller', async () => {
    const noSum = await refusal(spec('/missing'));
    expect([noSum.name, noSum.status, noSum.message]).toEqual(['DownloadError', 404, `missing: ${mirror.url}/missing.sha256sum answered HTTP 404. Put it on PATH.`]);
    files.set('/orphan.sha256sum', `${sha('x')}  orphan\n`);
    expect((await refusal(spec('/orphan'))).status).toBe(404);
  });

  test('nothing listening: the address and the reason, with the alternatives; no status', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const err = await refusal({ ...spec('/kind'), checksumUrl: `http://127.0.0.1:${port}/kind.sha256sum` });
    expect(err.message).toBe(`kind: could not download http://127.0.0.1:${port}/kind.sha256sum (ECONNREFUSED). Put it on PATH.`);
    expect(err.status).toBeUndefined();
  });
});
