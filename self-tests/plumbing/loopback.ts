/**
 * Peers on loopback for the tests of a file or a describe block, started before them and closed
 * after: a release mirror that serves what the tests put in it, and a listener that only counts
 * who connects. Nothing outside the machine is contacted.
 */
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface LoopbackMirror {
  /** `http://127.0.0.1:<port>`; set once the tests start. */
  readonly url: string;
  /** What it serves, by path; change it at will between requests. */
  readonly files: Map<string, Buffer | string>;
  /** The paths asked for, in order; clear it at will. */
  requests: string[];
}

/**
 * An HTTP server posing as the release mirror (DOWNLOAD_MIRROR): it serves the bodies put in
 * `files` (path -> body), answers 404 for any other path, and records the paths asked for.
 */
export function loopbackMirror(): LoopbackMirror {
  const mirror = { url: '', files: new Map<string, Buffer | string>(), requests: [] as string[] };
  let server: Server | undefined;
  beforeAll(async () => {
    server = createServer((req, res) => {
      mirror.requests.push(req.url ?? '');
      const body = mirror.files.get(req.url ?? '');
      if (body === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    mirror.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    if (server) await new Promise((r) => server!.close(r));
  });
  return mirror;
}

export interface CountingListener {
  /** Its port on 127.0.0.1; set once the tests start. */
  readonly port: number;
  /** How many connections it has had so far. */
  readonly connections: number;
}

/**
 * A TCP listener that closes every connection at once and counts them: for tests that must show
 * that nothing connects (a refused kubeconfig context, a download that must not be tried).
 */
export function countingListener(): CountingListener {
  const listener = { port: 0, connections: 0 };
  let server: net.Server | undefined;
  beforeAll(async () => {
    server = net.createServer((s) => {
      listener.connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    listener.port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    if (server) await new Promise((r) => server!.close(r));
  });
  return listener;
}
