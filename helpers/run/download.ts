/**
 * Download-and-verify into the per-user tools cache: the one path for kind and istioctl.
 *
 * Order of work: fetch the published checksum (small; fails fast when offline), stream the
 * artifact into a temporary file beside its destination while hashing it, compare, and only
 * then move it into place with rename(2). A mismatch deletes the temporary file. Concurrent
 * first runs each write their own temporary file, so the cache never holds a partial or
 * unverified binary.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { x as untar } from 'tar';

export interface VerifiedDownload {
  /** Tool name, for messages. */
  tool: string;
  url: string;
  /** URL of a file whose first token is the SHA-256 hex of the artifact (`shasum -a 256` format). */
  checksumUrl: string;
  /** Final path of the executable. */
  dest: string;
  /** For a .tar.gz: the member to extract as `dest`. Absent: the download is the binary itself. */
  tarMember?: string;
  /** Per-request deadline. */
  timeoutMs?: number;
  /** How else to provide the tool, for the offline message. */
  alternatives: string;
}

export class DownloadError extends Error {
  /** The HTTP status when the server answered with an error (404: no such release). */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'DownloadError';
    this.status = status;
  }
}

const SHA256 = /^([a-f0-9]{64})(\s|$)/i;

/** The first token of a checksum file, lower-cased; undefined when it is not a SHA-256. */
export function parseChecksumFile(text: string): string | undefined {
  return SHA256.exec(text.trim())?.[1]?.toLowerCase();
}

function describeFetchError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
    if (e.name === 'TimeoutError') return 'timed out';
    if (cause?.code) return cause.code;
    if (cause?.message) return cause.message;
    return e.message;
  }
  return String(e);
}

async function get(spec: VerifiedDownload, url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(spec.timeoutMs ?? 60_000) });
  } catch (e) {
    throw new DownloadError(
      `${spec.tool}: could not download ${url} (${describeFetchError(e)}). ${spec.alternatives}`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new DownloadError(`${spec.tool}: ${url} answered HTTP ${res.status}. ${spec.alternatives}`, res.status);
  }
  return res;
}

export async function downloadVerified(spec: VerifiedDownload): Promise<string> {
  const checksumRes = await get(spec, spec.checksumUrl);
  const expected = parseChecksumFile(await checksumRes.text());
  if (!expected) {
    throw new DownloadError(`${spec.tool}: ${spec.checksumUrl} holds no SHA-256 checksum; refusing to use ${spec.url} unverified`);
  }

  const dir = dirname(spec.dest);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${process.pid}-${randomBytes(4).toString('hex')}.part`);
  try {
    const res = await get(spec, spec.url);
    if (!res.body) throw new DownloadError(`${spec.tool}: ${spec.url} returned no body`);
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body), hashing, createWriteStream(tmp, { mode: 0o600 }));
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new DownloadError(
        `${spec.tool}: checksum mismatch for ${spec.url}: expected ${expected} (from ${spec.checksumUrl}), got ${actual}. The download was deleted.`,
      );
    }
    const binary = spec.tarMember ? await extractMember(tmp, spec.tarMember, spec.tool) : tmp;
    await chmod(binary, 0o755);
    await rename(binary, spec.dest);
    return spec.dest;
  } finally {
    await rm(tmp, { force: true });
    await rm(`${tmp}.d`, { recursive: true, force: true });
  }
}

async function extractMember(archive: string, member: string, tool: string): Promise<string> {
  const out = `${archive}.d`;
  await mkdir(out);
  let found = false;
  await untar({
    file: archive,
    cwd: out,
    filter: (path) => {
      const hit = path.replace(/^\.\//, '') === member;
      found ||= hit;
      return hit;
    },
  });
  if (!found) throw new DownloadError(`${tool}: the verified archive has no member "${member}"`);
  return join(out, member);
}
