/**
 * The reachability probe end to end: helpers/external/probe.mjs against real TCP peers on
 * loopback and, with Docker, in containers; and helpers/external/probe.ts, which runs it in a
 * pod and reads its answer. Its decisions one by one, without Docker: probe.protocol.test.ts.
 */
import net from 'node:net';
import { execa } from 'execa';
import { afterEach, describe, expect, test } from 'vitest';
import { probe } from '../../helpers/external/probe.mjs';
import { parseProbeOutput, probeFromPod } from '../../helpers/external/probe.ts';
import type { Kube } from '../../helpers/cluster/kube.ts';
import { labelArgs, networkPrefix } from '../plumbing/run-resources.ts';
import { needDocker, PROBE_IMAGE, REDIS_IMAGE } from '../plumbing/support.ts';

// Real peers on loopback, made by each test; never any outside address.
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
afterEach(async () => {
  // A peer that never reads keeps its half of the connection; end it so close() returns.
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

describe('reachability probe against real TCP peers', () => {
  test('a Redis answers: answered, +PONG', async () => {
    // A minimal RESP peer that answers PING like Redis (the real Redis is covered below, in a container).
    const port = await listen((s) => s.on('data', (d) => {
      if (d.toString().includes('PING')) s.write('+PONG\r\n');
    }));
    const r = await probe('127.0.0.1', port);
    expect(r).toMatchObject({ outcome: 'answered', reply: '+PONG', phase: 'reply' });
  });

  test('accepted then closed with no reply (the BlackHoleCluster signature): closed', async () => {
    const port = await listen((s) => s.end());
    expect(await probe('127.0.0.1', port)).toMatchObject({ outcome: 'closed', phase: 'reply' });
  });

  test('accepted then reset: closed', async () => {
    const port = await listen((s) => s.resetAndDestroy());
    expect(await probe('127.0.0.1', port)).toMatchObject({ outcome: 'closed', phase: 'reply' });
  });

  test('nothing listening: refused', async () => {
    const port = await listen(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    expect(await probe('127.0.0.1', port)).toMatchObject({ outcome: 'refused', error: 'ECONNREFUSED' });
  });

  test('accepted but never answers: timeout, in the reply phase, near the deadline', async () => {
    const port = await listen(() => {});
    const r = await probe('127.0.0.1', port, { timeoutMs: 400 });
    expect(r).toMatchObject({ outcome: 'timeout', phase: 'reply' });
    expect(r.elapsedMs).toBeGreaterThanOrEqual(380);
    expect(r.elapsedMs).toBeLessThan(2000);
  });

  test('--hgetall: a RESP array arriving in pieces, binary values intact (base64)', async () => {
    const value = Buffer.from([0x0a, 0x00, 0xff, 0x0d, 0x0a, 0x12]); // includes \r\n and a NUL
    const reply = Buffer.concat([Buffer.from(`*2\r\n$4\r\ndata\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    const port = await listen((s) => s.once('data', () => {
      s.write(reply.subarray(0, 9));
      setTimeout(() => s.write(reply.subarray(9)), 20);
    }));
    const r = await probe('127.0.0.1', port, { hgetall: 'user-1' });
    expect(r.outcome).toBe('answered');
    expect(Buffer.from(r.hash!.data!, 'base64')).toEqual(value);
  });

  test('CLI: prints one JSON line and exits 0; usage errors exit 2', async () => {
    const port = await listen((s) => s.end());
    const ok = await execa(process.execPath, ['helpers/external/probe.mjs', '127.0.0.1', String(port)]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ outcome: 'closed', port });
    const bad = await execa(process.execPath, ['helpers/external/probe.mjs', '127.0.0.1', 'redis'], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/usage/);
  });

  test('in a container (how it runs in a pod): a name that cannot resolve is unresolvable', async (ctx) => {
    await needDocker(ctx, PROBE_IMAGE);
    // --network none: the lookup fails inside the container; no packet leaves it.
    const { stdout } = await execa('docker', ['run', '--rm', ...labelArgs(), '--network', 'none', PROBE_IMAGE, 'redis.memorystore.invalid', '6379']);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'unresolvable', phase: 'resolve' });
  });

  test('in a container, against a real Redis on the same network: answered', async (ctx) => {
    await needDocker(ctx, PROBE_IMAGE, REDIS_IMAGE);
    const net = `${networkPrefix()}probe-${process.pid}`;
    const redisImage = REDIS_IMAGE;
    await execa('docker', ['network', 'create', ...labelArgs(), net]);
    try {
      await execa('docker', ['run', '-d', ...labelArgs(), '--name', `${net}-redis`, '--network', net, redisImage,
        'redis-server', '--protected-mode', 'no', '--save', '']);
      // Poll the probe until Redis is up (deadline 20 s), then check the outcome.
      const started = Date.now();
      let last: { outcome?: string } = {};
      while (Date.now() - started < 20_000) {
        const { stdout } = await execa('docker', ['run', '--rm', ...labelArgs(), '--network', net, PROBE_IMAGE, `${net}-redis`, '6379']);
        last = JSON.parse(stdout);
        if (last.outcome === 'answered') break;
      }
      expect(last).toMatchObject({ outcome: 'answered', reply: '+PONG' });
    } finally {
      await execa('docker', ['rm', '-f', `${net}-redis`], { reject: false });
      await execa('docker', ['network', 'rm', net], { reject: false });
    }
  });
});

describe('the probe run in a pod (helpers/external/probe.ts; a recording Kube double: only its exec is used)', () => {
  test('the probe\'s JSON line is read; anything else is quoted in the error', () => {
    expect(parseProbeOutput('{"outcome":"closed","host":"10.0.0.1","port":6379,"phase":"reply","elapsedMs":3}\n').outcome).toBe('closed');
    expect(() => parseProbeOutput('sh: node: not found', '')).toThrow(/the probe printed no result: stdout="sh: node: not found"/);
  });

  test('runs the script in the pod\'s probe container with the deadline (and the key to read); a failed exec names the pod', async () => {
    const calls: unknown[][] = [];
    let exitCode = 0;
    const kube = { exec: async (...args: unknown[]) => {
      calls.push(args);
      return { exitCode, stdout: 'log line\n{"outcome":"answered","reply":"+PONG"}\n', stderr: exitCode ? ' node: not found \n' : '' };
    } } as unknown as Kube;
    const pod = { kube, namespace: 'egress-verify-mesh', pod: 'probe-1' };
    expect(await probeFromPod(pod, '10.0.0.1', 6379)).toMatchObject({ outcome: 'answered', reply: '+PONG' });
    expect(await probeFromPod(pod, '10.0.0.1', 6380, 500, 'cart-1')).toMatchObject({ outcome: 'answered' });
    expect(calls).toEqual([
      ['egress-verify-mesh', 'probe-1', 'probe', ['node', '/probe/probe.mjs', '10.0.0.1', '6379', '--timeout-ms', '3000'], 33_000],
      ['egress-verify-mesh', 'probe-1', 'probe', ['node', '/probe/probe.mjs', '10.0.0.1', '6380', '--timeout-ms', '500', '--hgetall', 'cart-1'], 30_500],
    ]);
    exitCode = 127;
    await expect(probeFromPod(pod, '10.0.0.1', 6379)).rejects.toThrow(new Error('probe in egress-verify-mesh/probe-1 exited 127: node: not found'));
  });
});
