#!/usr/bin/env node
// The reachability probe: open TCP to host:port, send a Redis PING, classify what happened.
//
// Plain JavaScript on node:net only, so that the very same file runs in the test process,
// in a probe container, and in a probe pod (mounted from a ConfigMap, run with any Node >= 20).
//
// Outcomes:
//   answered      the peer replied (a Redis replies "+PONG")
//   closed        the connection was accepted, then closed with no reply. Under Istio
//                 REGISTRY_ONLY this is the sidecar's BlackHoleCluster: Envoy accepts the
//                 redirected connection and tcp_proxy closes it at once (response flag UH).
//   refused       nothing listens (RST on connect)
//   timeout       no connection, or no reply, within the deadline (`phase` says which)
//   unresolvable  the host name did not resolve
//
// CLI: node probe.mjs HOST PORT [--timeout-ms N]   -> one JSON line on stdout, exit 0.
//      node probe.mjs HOST PORT --hgetall KEY        -> the same, plus `hash`: the HASH at KEY,
//      each value base64 (binary-safe), to read what an app stored where only the cluster can reach.
//      Usage errors exit 2.

import { realpathSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const PING = '*1\r\n$4\r\nPING\r\n';

/** A RESP command (array of bulk strings). @param {string[]} args */
function command(args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Parses one RESP reply from the start of `buf`: a simple string, an error, or an array of bulk
 * strings (what PING and HGETALL return). Returns undefined while the reply is incomplete.
 * @param {Buffer} buf
 * @returns {{ line: string, items?: Buffer[] } | undefined}
 */
export function parseReply(buf) {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const line = buf.subarray(0, eol).toString('utf8');
  if (line[0] !== '*') return { line };
  const count = Number(line.slice(1));
  /** @type {Buffer[]} */
  const items = [];
  let at = eol + 2;
  for (let i = 0; i < count; i++) {
    const end = buf.indexOf('\r\n', at);
    // Stryker disable next-line EqualityOperator: `end` is at least `at` (> 0), so it is never 0.
    if (end < 0) return undefined;
    const len = Number(buf.subarray(at + 1, end).toString('utf8'));
    if (buf.length < end + 2 + len + 2) return undefined;
    items.push(Buffer.from(buf.subarray(end + 2, end + 2 + len)));
    at = end + 2 + len + 2;
  }
  return { line, items };
}
const DNS_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * @typedef {'answered' | 'closed' | 'refused' | 'timeout' | 'unresolvable'} ProbeOutcome
 * @typedef {{
 *   outcome: ProbeOutcome,
 *   host: string,
 *   port: number,
 *   elapsedMs: number,
 *   phase: 'resolve' | 'connect' | 'reply',
 *   reply?: string,
 *   error?: string,
 *   hash?: Record<string, string>,
 * }} ProbeResult
 */

/**
 * @param {string} host
 * @param {number} port
 * @param {{ timeoutMs?: number, hgetall?: string }} [options]
 * @returns {Promise<ProbeResult>}
 */
export function probe(host, port, options = {}) {
  const timeoutMs = options.timeoutMs ?? 3000;
  const request = options.hgetall === undefined ? PING : command(['HGETALL', options.hgetall]);
  const started = performance.now();
  return new Promise((resolve) => {
    /** @type {'resolve' | 'connect' | 'reply'} */
    let phase = net.isIP(host) ? 'connect' : 'resolve';
    let reply = '';
    let received = Buffer.alloc(0);
    /** @type {Record<string, string> | undefined} */
    let hash;
    let settled = false;
    const socket = new net.Socket();

    /** @param {ProbeOutcome} outcome @param {string} [error] */
    const finish = (outcome, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      /** @type {ProbeResult} */
      const result = { outcome, host, port, phase, elapsedMs: Math.round(performance.now() - started) };
      if (reply) result.reply = reply.trim();
      if (error) result.error = error;
      if (hash) result.hash = hash;
      resolve(result);
    };

    const timer = setTimeout(() => finish('timeout'), timeoutMs);

    socket.once('lookup', (err) => {
      if (!err) phase = 'connect';
    });
    socket.once('connect', () => {
      phase = 'reply';
      socket.write(request);
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseReply(received);
      if (!parsed) return;
      reply = parsed.line;
      if (parsed.items) {
        hash = {};
        const items = parsed.items;
        for (let i = 0; i + 1 < items.length; i += 2) {
          hash[String(items[i])] = /** @type {Buffer} */ (items[i + 1]).toString('base64');
        }
      }
      finish('answered');
    });
    // Bytes that did not make a whole reply still mean the peer answered.
    const answeredSoFar = () => received.length > 0;
    socket.once('end', () => {
      reply = received.toString('utf8').split('\r\n')[0] ?? '';
      finish(answeredSoFar() ? 'answered' : 'closed');
    });
    // A safety net against a hang that never decides: Node emits 'end' or 'error' before 'close' on
    // every path, and both settle the result first.
    // Stryker disable next-line all: equivalent (see above)
    socket.once('close', () => finish(answeredSoFar() ? 'answered' : phase === 'reply' ? 'closed' : 'timeout'));
    socket.once('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      const code = err.code ?? err.message;
      if (DNS_ERRORS.has(code)) return finish('unresolvable', code);
      // A refusal also reaches the last line ('refused'); this one names the case.
      // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent (see above)
      if (code === 'ECONNREFUSED') return finish('refused', code);
      // A reset means a peer had accepted the connection (even when it lands before our
      // 'connect' callback ran): a close without reply, not a refusal.
      if (phase === 'reply' || code === 'ECONNRESET' || code === 'EPIPE') {
        phase = 'reply';
        return finish(answeredSoFar() ? 'answered' : 'closed', code);
      }
      if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
        return finish('timeout', code);
      }
      finish('refused', code);
    });

    socket.connect({ host, port });
  });
}

/**
 * The CLI's arguments (HOST PORT [--timeout-ms N] [--hgetall KEY]); undefined for a usage error.
 * @param {string[]} argv
 */
export function parseArgs(argv) {
  const [host, portText, ...rest] = argv;
  let timeoutMs = 3000;
  /** @type {string | undefined} */
  let hgetall;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--timeout-ms' && /^\d+$/.test(String(rest[i + 1]))) timeoutMs = Number(rest[i + 1]);
    else if (rest[i] === '--hgetall' && rest[i + 1]) hgetall = rest[i + 1];
    else return undefined;
  }
  const port = Number(portText);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port, timeoutMs, hgetall };
}

// Compare real paths: in a pod the script is a ConfigMap file, which is a symlink
// (probe.mjs -> ..data/probe.mjs), and Node resolves the main module's symlinks.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  const args = parseArgs(process.argv.slice(2));
  if (!args) {
    process.stderr.write('usage: probe.mjs HOST PORT [--timeout-ms N] [--hgetall KEY]   (PORT 1-65535)\n');
    process.exit(2);
  }
  const result = await probe(args.host, args.port, { timeoutMs: args.timeoutMs, hgetall: args.hgetall });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
