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
//      Usage errors exit 2.

import { realpathSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const PING = '*1\r\n$4\r\nPING\r\n';
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
 * }} ProbeResult
 */

/**
 * @param {string} host
 * @param {number} port
 * @param {{ timeoutMs?: number }} [options]
 * @returns {Promise<ProbeResult>}
 */
export function probe(host, port, options = {}) {
  const timeoutMs = options.timeoutMs ?? 3000;
  const started = performance.now();
  return new Promise((resolve) => {
    /** @type {'resolve' | 'connect' | 'reply'} */
    let phase = net.isIP(host) ? 'connect' : 'resolve';
    let reply = '';
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
      resolve(result);
    };

    const timer = setTimeout(() => finish('timeout'), timeoutMs);

    socket.once('lookup', (err) => {
      if (!err) phase = 'connect';
    });
    socket.once('connect', () => {
      phase = 'reply';
      socket.write(PING);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // One RESP line is a whole reply to PING.
      if (reply.includes('\r\n')) finish('answered');
    });
    socket.once('end', () => finish(reply ? 'answered' : 'closed'));
    socket.once('close', () => finish(reply ? 'answered' : phase === 'reply' ? 'closed' : 'timeout'));
    socket.once('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      const code = err.code ?? err.message;
      if (DNS_ERRORS.has(code)) return finish('unresolvable', code);
      if (code === 'ECONNREFUSED') return finish('refused', code);
      // A reset means a peer had accepted the connection (even when it lands before our
      // 'connect' callback ran): a close without reply, not a refusal.
      if (phase === 'reply' || code === 'ECONNRESET' || code === 'EPIPE') {
        phase = 'reply';
        return finish(reply ? 'answered' : 'closed', code);
      }
      if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
        return finish('timeout', code);
      }
      finish('refused', code);
    });

    socket.connect({ host, port });
  });
}

/** @param {string[]} argv */
function parseArgs(argv) {
  const [host, portText, ...rest] = argv;
  let timeoutMs = 3000;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--timeout-ms' && /^\d+$/.test(rest[i + 1] ?? '')) timeoutMs = Number(rest[i + 1]);
    else return undefined;
  }
  const port = Number(portText);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port, timeoutMs };
}

// Compare real paths: in a pod the script is a ConfigMap file, which is a symlink
// (probe.mjs -> ..data/probe.mjs), and Node resolves the main module's symlinks.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  const args = parseArgs(process.argv.slice(2));
  if (!args) {
    process.stderr.write('usage: probe.mjs HOST PORT [--timeout-ms N]   (PORT 1-65535)\n');
    process.exit(2);
  }
  const result = await probe(args.host, args.port, { timeoutMs: args.timeoutMs });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
