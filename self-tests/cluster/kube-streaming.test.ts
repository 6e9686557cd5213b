/**
 * Kube.portForward and Kube.exec, with the real @kubernetes/client-node, against a stand-in that
 * speaks the kubelet's / API server's WebSocket streaming protocols (self-tests/stand-ins/
 * kubelet-streaming.ts, which names its upstream sources). No Docker, no cluster: the pods'
 * listeners are real TCP servers on loopback, and pod names come from the resolver function the
 * suite passes to portForward (the stand-in serves no REST API).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { MUTATION_RUN } from '../plumbing/mutation-run.ts';
import { Kube } from '../../helpers/cluster/kube.ts';
import { UpgradeRefusedError } from '../../helpers/cluster/kube-errors.ts';
import { KubeletStreamingStandIn, STAND_IN_CONTEXT, V4, V5, type ExecCall, type ExecReply } from '../stand-ins/kubelet-streaming.ts';

const NS = 'egress-verify-mesh';
const PORT = 7070;

// Under StrykerJS (EGRESS_VERIFY_MUTATION=1, vitest.mutation.config.ts) a mutant that stops a
// close, a reply or a status holds its test until a deadline, once per mutant: what takes a few
// milliseconds against the stand-in (at most 130 ms, the first test in a cold worker) gets 1 s
// there, 1.5 s per test and per hook, and 5 s otherwise. The hook limit matters as much: a mutant
// that keeps forward.close() from resolving held the afterEach for the 10 s default (measured
// 2026-11-27: 8 such kills, 10-12 s each, of 138 kills that averaged 2.6 s).
const WAIT_MS = MUTATION_RUN ? 1_000 : 5_000;
if (MUTATION_RUN) vi.setConfig({ testTimeout: 1_500, hookTimeout: 1_500 });

let standIn: KubeletStreamingStandIn;
let kube: Kube;
const servers: net.Server[] = [];
const clients = new Set<net.Socket>();
const forwards: { close(): Promise<void> }[] = [];
let logged: string[] = [];

beforeAll(async () => {
  standIn = await KubeletStreamingStandIn.start();
  kube = Kube.fromFile(await standIn.writeKubeconfig(), STAND_IN_CONTEXT);
});

afterAll(async () => {
  await standIn.close();
});

beforeEachLogCapture();

afterEach(async () => {
  for (const c of clients) c.destroy();
  clients.clear();
  await Promise.all(forwards.splice(0).map((f) => f.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => {
    s.close(r);
  })));
});

/** Records what helpers/run/progress.ts `log` writes (to stderr), and still writes it. */
function beforeEachLogCapture(): void {
  let spy: { mockRestore(): void } | undefined;
  const original = process.stderr.write.bind(process.stderr);
  beforeAll(() => {
    spy = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return original(chunk, ...rest);
    }) as typeof process.stderr.write);
  });
  afterAll(() => spy?.mockRestore());
  afterEach(() => {
    logged = [];
  });
}

/** A real TCP listener playing the pod's port: optionally greets, then echoes. */
async function podListener(greeting?: string): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    if (greeting) socket.write(greeting);
    socket.pipe(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** A loopback port with nothing listening (bound once, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Client {
  socket: net.Socket;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1');
  clients.add(socket);
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  const closedP = new Promise<void>((r) => socket.once('close', () => {
    closed = true;
    r();
  }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks), closed: closedP, isClosed: () => closed };
}

async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function receivedAtLeast(c: Client, bytes: number, ms = 2 * WAIT_MS): Promise<Buffer> {
  await vi.waitFor(() => {
    if (c.isClosed() && c.received().length < bytes) throw new Error(`closed after ${c.received().length} of ${bytes} bytes`);
    expect(c.received().length).toBeGreaterThanOrEqual(bytes);
  }, { timeout: ms, interval: 10 });
  return c.received();
}

const loggedText = () => logged.join('');

describe('Kube.portForward against the kubelet port-forward protocol (stand-in)', () => {
  test('relays data both ways on several connections, larger payloads included, over v4.channel.k8s.io', async () => {
    standIn.addPod(NS, 'echo-0', { containers: ['app'], ports: { [PORT]: await podListener() } });
    const forward = await kube.portForward(NS, 'echo-0', PORT);
    forwards.push(forward);
    const calls = standIn.portForwardCalls.length;
    const conns = await Promise.all([0, 1, 2].map(() => connect(forward.port)));
    const payloads = conns.map((_c, i) => randomBytes(i === 0 ? 16 : 300_000 * i));
    conns.forEach((c, i) => c.socket.write(payloads[i]!));
    const back = await Promise.all(conns.map((c, i) => receivedAtLeast(c, payloads[i]!.length)));
    back.forEach((b, i) => expect(b.equals(payloads[i]!), `connection ${i}: the bytes that came back`).toBe(true));
    // A second round on the same connections: they stay usable.
    conns[0]!.socket.write('again');
    expect((await receivedAtLeast(conns[0]!, 16 + 5)).subarray(16).toString()).toBe('again');
    expect(conns.every((c) => !c.isClosed())).toBe(true);
    expect(standIn.portForwardCalls.slice(calls)).toEqual(conns.map(() => ({ namespace: NS, pod: 'echo-0', port: PORT, protocol: V4 })));
  });

  test('the port header the kubelet writes on the data AND the error channel neither closes the connection nor reaches the client', async () => {
    standIn.addPod(NS, 'greeter-0', { containers: ['app'], ports: { [PORT]: await podListener('hello from greeter-0\n') } });
    const forward = await kube.portForward(NS, 'greeter-0', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    // The pod speaks first: the first bytes the client sees are the pod's, not the 2-byte port.
    expect((await receivedAtLeast(c, 21)).toString()).toBe('hello from greeter-0\n');
    c.socket.write('ping');
    expect((await receivedAtLeast(c, 25)).toString()).toBe('hello from greeter-0\nping');
    expect(c.isClosed()).toBe(false);
    expect(standIn.liveConnections(NS, 'greeter-0')).toBe(1);
    expect(loggedText()).not.toContain('reported');
  });

  test('an error frame with text closes the local socket and the kubelet\'s words are logged', async () => {
    standIn.addPod(NS, 'refusing-0', { containers: ['app'], ports: { [PORT]: await closedPort() } });
    const forward = await kube.portForward(NS, 'refusing-0', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
    await vi.waitFor(() => expect(loggedText()).toContain(`error forwarding port ${PORT} to pod refusing-0`), { timeout: WAIT_MS, interval: 10 });
    expect(loggedText()).toMatch(/ECONNREFUSED/);
    expect(loggedText()).toContain(`port-forward to ${NS}/refusing-0:${PORT}`);
  });

  test('the pod going away mid-connection closes the local socket; the next connection asks the resolver again and reaches the new pod', async () => {
    standIn.addPod(NS, 'cart-a', { containers: ['server'], ports: { [PORT]: await podListener('pod-a\n') } });
    let current = 'cart-a';
    const asked: string[] = [];
    const forward = await kube.portForward(NS, async () => {
      asked.push(current);
      return current;
    }, PORT);
    forwards.push(forward);
    const first = await connect(forward.port);
    expect((await receivedAtLeast(first, 6)).toString()).toBe('pod-a\n');
    first.socket.write('x');
    expect((await receivedAtLeast(first, 7)).toString()).toBe('pod-a\nx');

    // The Deployment replaces the pod: the old one's connections break off.
    standIn.addPod(NS, 'cart-b', { containers: ['server'], ports: { [PORT]: await podListener('pod-b\n') } });
    current = 'cart-b';
    standIn.removePod(NS, 'cart-a');
    await within('the local socket to close after the pod went away', WAIT_MS, first.closed);

    const second = await connect(forward.port);
    expect((await receivedAtLeast(second, 6)).toString()).toBe('pod-b\n');
    second.socket.write('y');
    expect((await receivedAtLeast(second, 7)).toString()).toBe('pod-b\ny');
    expect(asked).toEqual(['cart-a', 'cart-b']);
  });

  test('a refused port-forward (the pod is gone) is logged with the API server\'s words and closes the local socket', async () => {
    const forward = await kube.portForward(NS, async () => 'no-such-pod', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
    await vi.waitFor(() => expect(loggedText()).toContain('pods "no-such-pod" not found'), { timeout: WAIT_MS, interval: 10 });
    expect(loggedText()).toContain('HTTP 404');
  });

  test('a resolver that fails is logged with its reason and closes the local socket', async () => {
    const forward = await kube.portForward(NS, async () => {
      throw new Error('no ready pod app=cartservice in egress-verify-mesh');
    }, PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
    await vi.waitFor(() => expect(loggedText()).toContain('no ready pod app=cartservice'), { timeout: WAIT_MS, interval: 10 });
  });
});

// A real Redis as the pod's listener, when the host has Debian's redis-server (CI does: images:build needs it).
// Skipped in mutation runs: it starts a redis-server per run and relays 1 MiB, for nothing the
// relay test above does not already decide about kube.ts.
const REDIS_SERVER = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!REDIS_SERVER || MUTATION_RUN)('Kube.portForward with a real Redis behind the stand-in (skipped: redis-server is not on PATH, or a mutation run)', () => {
  let redis: ChildProcess | undefined;
  afterAll(async () => {
    if (redis && redis.exitCode === null) {
      const exited = new Promise((r) => redis!.once('exit', r));
      redis.kill('SIGTERM');
      await exited;
    }
  });

  test('ioredis through the forward: SET and GET of a 1 MiB value, PING on several connections', async () => {
    const redisPort = await closedPort();
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await vi.waitFor(async () => {
      const probe = await connect(redisPort);
      probe.socket.destroy();
    }, { timeout: 10_000, interval: 50 });
    standIn.addPod(NS, 'redis-0', { containers: ['redis'], ports: { 6379: redisPort } });
    const forward = await kube.portForward(NS, async () => 'redis-0', 6379);
    forwards.push(forward);
    const clientsR = [0, 1].map(() => new Redis({ host: forward.host, port: forward.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }));
    try {
      await Promise.all(clientsR.map((c) => c.connect()));
      expect(await Promise.all(clientsR.map((c) => c.ping()))).toEqual(['PONG', 'PONG']);
      const value = randomBytes(1 << 20);
      expect(await clientsR[0]!.set('cart:user-1', value)).toBe('OK');
      const back = await clientsR[1]!.getBuffer('cart:user-1');
      expect(back?.equals(value)).toBe(true);
    } finally {
      clientsR.forEach((c) => c.disconnect());
    }
  });
});

describe('Kube.exec against the API server\'s remotecommand protocol (stand-in)', () => {
  const replies = new Map<string, ExecReply>();
  const execCalls = () => standIn.execCalls;
  beforeAll(() => {
    standIn.exec = (call: ExecCall) => replies.get(call.command.join(' ')) ?? { stderr: `unknown command ${call.command.join(' ')}\n`, exitCode: 127 };
    standIn.addPod(NS, 'cart-0', { containers: ['server'], initContainers: ['istio-proxy'] });
  });

  test('stdout, stderr and exit code 0, over v5.channel.k8s.io', async () => {
    replies.set('pilot-agent request GET stats/prometheus', { stdout: 'istio_build{component="proxy"} 1\n', stderr: 'warming up\n', exitCode: 0 });
    const before = execCalls().length;
    const r = await kube.exec(NS, 'cart-0', 'server', ['pilot-agent', 'request', 'GET', 'stats/prometheus']);
    expect(r).toEqual({ exitCode: 0, stdout: 'istio_build{component="proxy"} 1\n', stderr: 'warming up\n' });
    expect(execCalls().slice(before)).toEqual([{ namespace: NS, pod: 'cart-0', container: 'server', command: ['pilot-agent', 'request', 'GET', 'stats/prometheus'], protocol: V5, tty: false }]);
  });

  test('a non-zero exit code comes from the Status\'s ExitCode cause', async () => {
    replies.set('node /probe/probe.mjs 10.0.0.1 6379', { stdout: '{"outcome":"closed"}\n', stderr: 'boom\n', exitCode: 3 });
    const r = await kube.exec(NS, 'cart-0', 'server', ['node', '/probe/probe.mjs', '10.0.0.1', '6379']);
    expect(r).toEqual({ exitCode: 3, stdout: '{"outcome":"closed"}\n', stderr: 'boom\n' });
  });

  test('exec into a native-sidecar init container (istio-proxy with restartPolicy Always) by name', async () => {
    replies.set('pilot-agent request GET clusters', { stdout: 'outbound|6379||redis::10.0.0.1:6379::cx_total::2\n' });
    const before = execCalls().length;
    const r = await kube.exec(NS, 'cart-0', 'istio-proxy', ['pilot-agent', 'request', 'GET', 'clusters']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('outbound|6379||redis::10.0.0.1:6379::cx_total::2\n');
    expect(execCalls().slice(before).map((c) => c.container)).toEqual(['istio-proxy']);
  });

  test('a command that could not run (InternalError, no ExitCode cause) fails with the server\'s words, not as exit 1', async () => {
    const why = 'error executing command in container: failed to exec in container: exec: "pilot-agent": executable file not found in $PATH';
    replies.set('pilot-agent request GET config_dump', { internalError: why });
    const e = await kube.exec(NS, 'cart-0', 'server', ['pilot-agent', 'request', 'GET', 'config_dump'], 10_000).then((r) => r, (err: unknown) => err);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain('executable file not found in $PATH');
    expect((e as Error).message).toContain(`exec in ${NS}/cart-0/server`);
  });

  test('a refused upgrade (400 with a Status body) reports the API server\'s words', async () => {
    const e = await kube.exec(NS, 'cart-0', 'nope', ['true'], 10_000).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(Error);
    const message = (e as Error).message;
    expect(message).toContain('container nope is not valid for pod cart-0');
    expect(message).toContain('HTTP 400');
    expect(message).toContain(`exec in ${NS}/cart-0/nope`);
    expect(message).not.toContain('[object Object]');
  });

  test('a connection that closes without a status fails at once, well before the timeout', async () => {
    replies.set('sleep 3600', { stdout: 'partial', closeWithoutStatus: true });
    const started = performance.now();
    const e = await kube.exec(NS, 'cart-0', 'server', ['sleep', '3600'], 60_000).then(() => undefined, (err: unknown) => err);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain('closed without an exit status');
  });
});

describe('Kube.portForward and Kube.exec on partial or unexpected input (stand-in)', () => {
  test('an empty error frame after the port header is no error: the connection stays and relays', async () => {
    standIn.addPod(NS, 'quiet-0', { containers: ['app'], ports: { [PORT]: await podListener() }, framesAfterHeader: [{ channel: 1 }, { channel: 0 }] });
    const forward = await kube.portForward(NS, 'quiet-0', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    c.socket.write('ping');
    expect((await receivedAtLeast(c, 4)).toString()).toBe('ping');
    expect(c.isClosed()).toBe(false);
    expect(loggedText()).not.toContain('reported');
  });

  test('a frame on a channel no port was asked for ends the connection (client-node with disconnectOnErr)', async () => {
    standIn.addPod(NS, 'odd-0', { containers: ['app'], ports: { [PORT]: await podListener() }, framesAfterHeader: [{ channel: 3, payload: 'x' }] });
    const forward = await kube.portForward(NS, 'odd-0', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
  });

  test('the pod ending the connection closes the local socket without a "broke off" log; a reset (1006) logs it', async () => {
    const bye = net.createServer((socket) => socket.end('bye\n'));
    servers.push(bye);
    await new Promise<void>((r) => bye.listen(0, '127.0.0.1', r));
    standIn.addPod(NS, 'bye-0', { containers: ['app'], ports: { [PORT]: (bye.address() as net.AddressInfo).port } });
    const forward = await kube.portForward(NS, 'bye-0', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
    expect(c.received().toString()).toBe('bye\n');
    expect(loggedText()).not.toContain('1006');

    standIn.addPod(NS, 'reset-0', { containers: ['app'], ports: { [PORT]: await podListener('up\n') } });
    const forward2 = await kube.portForward(NS, 'reset-0', PORT);
    forwards.push(forward2);
    const d = await connect(forward2.port);
    await receivedAtLeast(d, 3);
    standIn.removePod(NS, 'reset-0');
    await within('the local socket to close', WAIT_MS, d.closed);
    await vi.waitFor(() => expect(loggedText()).toContain(`port-forward to ${NS}/reset-0:${PORT}: the connection to the pod broke off (WebSocket close 1006)`), { timeout: WAIT_MS, interval: 10 });
  });

  test('close() ends the open local connections', async () => {
    standIn.addPod(NS, 'open-0', { containers: ['app'], ports: { [PORT]: await podListener('up\n') } });
    const forward = await kube.portForward(NS, 'open-0', PORT);
    const c = await connect(forward.port);
    await receivedAtLeast(c, 3);
    await forward.close();
    await within('the local socket to close', WAIT_MS, c.closed);
    expect(forward.host).toBe('127.0.0.1');
  });

  const replies = new Map<string, ExecReply>();
  beforeAll(() => {
    standIn.exec = (call: ExecCall) => replies.get(call.command.join(' ')) ?? { stderr: `unknown command ${call.command.join(' ')}\n`, exitCode: 127 };
    standIn.addPod(NS, 'partial-0', { containers: ['server'] });
  });
  const failure = async (command: string, timeoutMs = 10_000) => {
    const e = await kube.exec(NS, 'partial-0', 'server', command.split(' '), timeoutMs).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  };

  test('a Failure Status without details or message: the command did not run, and the Status is quoted', async () => {
    replies.set('bare failure', { status: { status: 'Failure' } });
    expect(await failure('bare failure')).toBe(`exec in ${NS}/partial-0/server: bare failure did not run: {"status":"Failure"}`);
  });

  test('a Failure whose ExitCode cause has no number is exit 1, not "did not run"', async () => {
    replies.set('odd exit', { stdout: 'out', status: { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode' }] } } });
    expect(await kube.exec(NS, 'partial-0', 'server', ['odd', 'exit'])).toEqual({ exitCode: 1, stdout: 'out', stderr: '' });
  });

  test('closed without a status: the error quotes stderr, trimmed', async () => {
    replies.set('half done', { stderr: '  half a line\n', closeWithoutStatus: true });
    expect(await failure('half done')).toBe(`exec in ${NS}/partial-0/server: the connection closed without an exit status (stderr: half a line)`);
  });

  test('no status and no close: the timeout fails the exec and closes the connection', async () => {
    replies.set('sleep forever', { hang: true });
    expect(await failure('sleep forever', 100)).toBe(`exec in ${NS}/partial-0/server timed out after 100ms: sleep forever`);
    await vi.waitFor(() => expect(standIn.liveConnections(NS, 'partial-0')).toBe(0), { timeout: WAIT_MS, interval: 10 });
  });
});

describe('Kube.portForward and Kube.exec: what closes, what is logged, what is kept (stand-in)', () => {
  test('an error frame with text closes the local socket by itself (the kubelet has not closed yet); the text is logged trimmed', async () => {
    standIn.addPod(NS, 'err-0', { containers: ['app'], ports: { [PORT]: await podListener() }, framesAfterHeader: [{ channel: 1, payload: 'error forwarding port 7070: boom\n' }] });
    const forward = await kube.portForward(NS, 'err-0', PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
    await vi.waitFor(() => expect(loggedText()).toContain(`port-forward to ${NS}/err-0:${PORT}: the kubelet reported: error forwarding port 7070: boom\n`), { timeout: WAIT_MS, interval: 10 });
    expect(loggedText()).not.toContain('boom\n\n');
  });

  test('a resolver that fails is logged as "pod not resolved yet", with the port', async () => {
    const forward = await kube.portForward(NS, async () => {
      throw new Error('no ready pod');
    }, PORT);
    forwards.push(forward);
    const c = await connect(forward.port);
    await within('the local socket to close', WAIT_MS, c.closed);
    await vi.waitFor(() => expect(loggedText()).toContain(`port-forward to ${NS}/(pod not resolved yet):${PORT} failed: no ready pod\n`), { timeout: WAIT_MS, interval: 10 });
  });

  test('a client gone before its WebSocket opened: the WebSocket is closed as soon as it opens', async () => {
    standIn.addPod(NS, 'late-0', { containers: ['app'], ports: { [PORT]: await podListener() } });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const forward = await kube.portForward(NS, async () => {
      await gate;
      return 'late-0';
    }, PORT);
    forwards.push(forward);
    const calls = standIn.portForwardCalls.length;
    const c = await connect(forward.port);
    c.socket.destroy();
    await within('the client to close', WAIT_MS, c.closed);
    release();
    await vi.waitFor(() => expect(standIn.portForwardCalls.length).toBe(calls + 1), { timeout: WAIT_MS, interval: 10 });
    await vi.waitFor(() => expect(standIn.liveConnections(NS, 'late-0')).toBe(0), { timeout: WAIT_MS, interval: 10 });
  });

  test('a client that resets its connection leaves the forward usable', async () => {
    standIn.addPod(NS, 'rst-0', { containers: ['app'], ports: { [PORT]: await podListener() } });
    const forward = await kube.portForward(NS, 'rst-0', PORT);
    forwards.push(forward);
    const first = await connect(forward.port);
    first.socket.write('x');
    await receivedAtLeast(first, 1);
    first.socket.resetAndDestroy();
    await within('the client to close', WAIT_MS, first.closed);
    const second = await connect(forward.port);
    second.socket.write('y');
    expect((await receivedAtLeast(second, 1)).toString()).toBe('y');
    await vi.waitFor(() => expect(standIn.liveConnections(NS, 'rst-0')).toBe(1), { timeout: WAIT_MS, interval: 10 });
  });

  const replies = new Map<string, ExecReply>();
  beforeAll(() => {
    standIn.exec = (call: ExecCall) => replies.get(call.command.join(' ')) ?? { stderr: `unknown command ${call.command.join(' ')}\n`, exitCode: 127 };
    standIn.addPod(NS, 'kept-0', { containers: ['server'] });
  });
  const run = (command: string) => kube.exec(NS, 'kept-0', 'server', command.split(' '), 10_000);
  const failure = async (command: string) => {
    const e = await run(command).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  };

  test('stdout in several frames is kept whole', async () => {
    replies.set('cat parts', { stdout: ['first ', 'second ', 'third'] });
    expect(await run('cat parts')).toEqual({ exitCode: 0, stdout: 'first second third', stderr: '' });
  });

  test('the ExitCode cause counts wherever it is among the causes', async () => {
    replies.set('exit four', { status: { status: 'Failure', reason: 'NonZeroExitCode', message: 'exit 4', details: { causes: [{ reason: 'Other', message: 'x' }, { reason: 'ExitCode', message: '4' }] } } });
    expect((await run('exit four')).exitCode).toBe(4);
  });

  test('a Failure with details but no causes: did not run, in the server\'s words', async () => {
    replies.set('no causes', { status: { status: 'Failure', reason: 'InternalError', message: 'Internal error occurred: no runtime', details: {} } });
    expect((await failure('no causes')).message).toBe(`exec in ${NS}/kept-0/server: no causes did not run: Internal error occurred: no runtime`);
  });

  test('closed without a status: stderr is quoted up to 200 characters', async () => {
    replies.set('long stderr', { stderr: `${'e'.repeat(250)}\n`, closeWithoutStatus: true });
    expect((await failure('long stderr')).message).toBe(`exec in ${NS}/kept-0/server: the connection closed without an exit status (stderr: ${'e'.repeat(200)})`);
  });

  test('a refused upgrade keeps the refusal (code and Status body) as the cause', async () => {
    const e = await kube.exec(NS, 'kept-0', 'nope', ['true'], 10_000).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(Error);
    const cause = (e as Error).cause;
    expect(cause).toBeInstanceOf(UpgradeRefusedError);
    expect((cause as UpgradeRefusedError).code).toBe(400);
    expect(JSON.parse((cause as UpgradeRefusedError).body)).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });
});
