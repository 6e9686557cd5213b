/**
 * The probe's decisions without Docker: the RESP reader on whole, partial and malformed replies,
 * the outcome of each way a connection can end, name resolution (a stubbed `dns.lookup`, so no
 * packet leaves the machine), and the CLI's argument rules. Peers are real TCP listeners on
 * loopback made by each test; nothing else is contacted.
 */
import dns from 'node:dns';
import net from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { parseArgs, parseReply, probe } from '../../helpers/external/probe.mjs';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const realLookup = dns.lookup;
afterEach(async () => {
  dns.lookup = realLookup;
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback peer; `requests` collects what each connection sent. */
async function peer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; requests: Buffer[] }> {
  const requests: Buffer[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const index = requests.push(Buffer.alloc(0)) - 1;
    socket.on('data', (d) => { requests[index] = Buffer.concat([requests[index]!, d]); });
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, requests };
}

/** Answers the first request with `reply` (a string or raw bytes), in the given pieces, then optionally ends. */
function answer(reply: Buffer | string, then: 'end' | 'reset' | 'stay' = 'stay') {
  return (s: net.Socket) => s.once('data', () => {
    s.write(reply, () => {
      if (then === 'end') s.end();
      if (then === 'reset') s.resetAndDestroy();
    });
  });
}

/** Resolves `name` to loopback (or fails with `code`) without asking any DNS server. */
function stubLookup(name: string, result: { address: string } | { code: string } | 'never'): void {
  const stub = (host: string, options: unknown, callback: (err: NodeJS.ErrnoException | null, address?: unknown, family?: number) => void) => {
    if (host !== name) throw new Error(`unexpected lookup of ${host}`);
    if (result === 'never') return;
    if ('code' in result) return process.nextTick(callback, Object.assign(new Error(`getaddrinfo ${result.code} ${host}`), { code: result.code }));
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
    return process.nextTick(callback, null, all ? [{ address: result.address, family: 4 }] : result.address, 4);
  };
  dns.lookup = stub as unknown as typeof dns.lookup;
}

const bulk = (s: string | Buffer) => Buffer.concat([Buffer.from(`$${Buffer.byteLength(s)}\r\n`), Buffer.from(s), Buffer.from('\r\n')]);
const array = (...items: (string | Buffer)[]) => Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items.map(bulk)]);

describe('RESP reader: a reply is taken only when it is complete', () => {
  test('simple strings and errors need their line end', () => {
    expect(parseReply(Buffer.from('+PONG'))).toBeUndefined();
    expect(parseReply(Buffer.from('+PONG\r'))).toBeUndefined();
    expect(parseReply(Buffer.from('+PONG\r\n'))).toEqual({ line: '+PONG' });
    expect(parseReply(Buffer.from('-WRONGTYPE Operation against a key\r\n'))).toEqual({ line: '-WRONGTYPE Operation against a key' });
    expect(parseReply(Buffer.alloc(0))).toBeUndefined();
  });

  test('an array: every item whole, to the last byte of its line end', () => {
    const whole = array('data', 'abc');
    expect(parseReply(whole)).toEqual({ line: '*2', items: [Buffer.from('data'), Buffer.from('abc')] });
    for (let cut = 1; cut < whole.length; cut++) {
      expect(parseReply(whole.subarray(0, cut)), `first ${cut} of ${whole.length} bytes`).toBeUndefined();
    }
  });

  test('a value cut off mid-value is not accepted, however long the claimed length', () => {
    const truncated = Buffer.concat([Buffer.from('*2\r\n'), bulk('data'), Buffer.from('$10\r\nabc')]);
    expect(parseReply(truncated)).toBeUndefined();
    expect(parseReply(Buffer.concat([truncated, Buffer.from('defghij\r\n')]))?.items?.[1]).toEqual(Buffer.from('abcdefghij'));
  });

  test('bytes after the reply are not part of it; an empty array is a complete reply', () => {
    expect(parseReply(Buffer.concat([array('k', 'v'), Buffer.from('+EXTRA\r\n')]))).toEqual({ line: '*2', items: [Buffer.from('k'), Buffer.from('v')] });
    expect(parseReply(Buffer.from('*0\r\n'))).toEqual({ line: '*0', items: [] });
  });

  test('binary values keep their bytes, CR LF inside a value included', () => {
    const value = Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x0d, 0x0a]);
    expect(parseReply(array('data', value))?.items).toEqual([Buffer.from('data'), value]);
  });

  test('items are copies: later reuse of the receive buffer does not change them', () => {
    const buf = array('data', 'xyz');
    const items = parseReply(buf)!.items!;
    buf.fill(0);
    expect(items.map(String)).toEqual(['data', 'xyz']);
  });
});

describe('probe: what is sent, and what each ending means', () => {
  const base = (port: number) => ({ host: '127.0.0.1', port, elapsedMs: expect.any(Number) });

  test('PING is sent as a RESP array; the answer is trimmed; no error, no hash', async () => {
    const { port, requests } = await peer(answer('+PONG\r\n'));
    expect(await probe('127.0.0.1', port)).toEqual({ ...base(port), outcome: 'answered', phase: 'reply', reply: '+PONG' });
    expect(requests[0]!.toString()).toBe('*1\r\n$4\r\nPING\r\n');
  });

  test('HGETALL sends the key by its byte length (UTF-8) and returns each field base64', async () => {
    const value = Buffer.from([0x0a, 0x03, 0x75, 0x00, 0xff]);
    const { port, requests } = await peer(answer(array('data', value, 'sldexp', '-1')));
    const r = await probe('127.0.0.1', port, { hgetall: 'usér-1' });
    expect(r).toEqual({ ...base(port), outcome: 'answered', phase: 'reply', reply: '*4', hash: { data: value.toString('base64'), sldexp: Buffer.from('-1').toString('base64') } });
    expect(requests[0]!).toEqual(Buffer.from('*2\r\n$7\r\nHGETALL\r\n$7\r\nusér-1\r\n'));
  });

  test('HGETALL of a missing key (empty array) is an empty hash; an odd trailing field is dropped', async () => {
    const empty = await peer(answer('*0\r\n'));
    expect((await probe('127.0.0.1', empty.port, { hgetall: 'nobody' })).hash).toEqual({});
    const odd = await peer(answer(array('a', '1', 'b')));
    expect((await probe('127.0.0.1', odd.port, { hgetall: 'k' })).hash).toEqual({ a: Buffer.from('1').toString('base64') });
  });

  test('a HGETALL cut off mid-value, then closed: the peer answered, but no (truncated) hash is returned', async () => {
    const partial = Buffer.concat([Buffer.from('*2\r\n'), bulk('data'), Buffer.from('$10\r\nabc')]);
    const { port } = await peer(answer(partial, 'end'));
    const r = await probe('127.0.0.1', port, { hgetall: 'user-1' });
    expect(r).toEqual({ ...base(port), outcome: 'answered', phase: 'reply', reply: '*2' });
  });

  test('a HGETALL cut off mid-value, and nothing more: a timeout, with no hash', async () => {
    const partial = Buffer.concat([Buffer.from('*2\r\n'), bulk('data'), Buffer.from('$10\r\nabc')]);
    const { port } = await peer(answer(partial));
    const r = await probe('127.0.0.1', port, { hgetall: 'user-1', timeoutMs: 300 });
    expect(r).toEqual({ ...base(port), outcome: 'timeout', phase: 'reply' });
  });

  test('part of a reply, then a reset: answered (bytes came back), the reset named', async () => {
    const { port } = await peer(answer('+PON', 'reset'));
    const r = await probe('127.0.0.1', port);
    expect(r).toMatchObject({ outcome: 'answered', phase: 'reply' });
    expect(['ECONNRESET', 'EPIPE', undefined]).toContain(r.error);
  });

  test('part of a line, then a clean close: answered, the reply is what came', async () => {
    const { port } = await peer(answer('+PON', 'end'));
    expect(await probe('127.0.0.1', port)).toEqual({ ...base(port), outcome: 'answered', phase: 'reply', reply: '+PON' });
  });

  test('accepted, closed with no byte: closed in the reply phase, no reply field', async () => {
    const { port } = await peer((s) => s.end());
    expect(await probe('127.0.0.1', port)).toEqual({ ...base(port), outcome: 'closed', phase: 'reply' });
  });

  test('accepted, reset with no byte: closed in the reply phase, the reset named', async () => {
    const { port } = await peer((s) => s.resetAndDestroy());
    const r = await probe('127.0.0.1', port);
    expect(r).toMatchObject({ outcome: 'closed', phase: 'reply' });
    expect(r).not.toHaveProperty('reply');
  });

  test('refused: in the connect phase, with the code', async () => {
    const { port } = await peer(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    expect(await probe('127.0.0.1', port)).toEqual({ ...base(port), outcome: 'refused', phase: 'connect', error: 'ECONNREFUSED' });
  });

  test('the default deadline is 3 s: still waiting at 2999 ms, a timeout at 3000 ms (fake clock, real socket)', async () => {
    // Only the timer and the clock are faked: the connection is real. Waiting 3 s of wall time
    // here would cost 3 s for every mutant of probe() in a mutation run.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      let connected!: () => void;
      const accepted = new Promise<void>((r) => { connected = r; });
      const { port } = await peer(() => connected());
      let settled: Awaited<ReturnType<typeof probe>> | undefined;
      const result = probe('127.0.0.1', port).then((r) => { settled = r; return r; });
      await accepted;
      await vi.advanceTimersByTimeAsync(2999);
      expect(settled).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(await result).toMatchObject({ outcome: 'timeout', phase: 'reply', elapsedMs: 3000 });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('probe: names (dns.lookup stubbed; no DNS server is asked)', () => {
  test.each(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA'])('%s: unresolvable, in the resolve phase', async (code) => {
    stubLookup('redis.memorystore.internal', { code });
    expect(await probe('redis.memorystore.internal', 6379)).toEqual({
      host: 'redis.memorystore.internal', port: 6379, elapsedMs: expect.any(Number), outcome: 'unresolvable', phase: 'resolve', error: code,
    });
  });

  test('a name that resolves goes on to connect and reply', async () => {
    const { port } = await peer(answer('+PONG\r\n'));
    stubLookup('redis.memorystore.internal', { address: '127.0.0.1' });
    expect(await probe('redis.memorystore.internal', port)).toMatchObject({ outcome: 'answered', phase: 'reply', reply: '+PONG' });
  });

  test('a name that resolves to where nothing listens: refused in the connect phase', async () => {
    const { port } = await peer(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    stubLookup('redis.memorystore.internal', { address: '127.0.0.1' });
    expect(await probe('redis.memorystore.internal', port)).toMatchObject({ outcome: 'refused', phase: 'connect', error: 'ECONNREFUSED' });
  });

  test('a lookup that never returns: a timeout in the resolve phase', async () => {
    stubLookup('redis.memorystore.internal', 'never');
    expect(await probe('redis.memorystore.internal', 6379, { timeoutMs: 200 })).toMatchObject({ outcome: 'timeout', phase: 'resolve' });
  });

  test.each([
    ['EHOSTUNREACH', 'timeout', 'resolve'],
    ['ENETUNREACH', 'timeout', 'resolve'],
    ['ETIMEDOUT', 'timeout', 'resolve'],
    ['ECONNRESET', 'closed', 'reply'],
    ['EPIPE', 'closed', 'reply'],
    ['EACCES', 'refused', 'resolve'],
  ])('an error %s before a connection: %s', async (code, outcome, phase) => {
    stubLookup('redis.memorystore.internal', { code });
    expect(await probe('redis.memorystore.internal', 6379)).toMatchObject({ outcome, phase, error: code });
  });
});

describe('probe CLI arguments', () => {
  test('host and port, with the defaults', () => {
    expect(parseArgs(['10.0.0.5', '6379'])).toEqual({ host: '10.0.0.5', port: 6379, timeoutMs: 3000, hgetall: undefined });
  });
  test('--timeout-ms and --hgetall, in any order', () => {
    expect(parseArgs(['h', '1', '--timeout-ms', '250', '--hgetall', 'user-1'])).toEqual({ host: 'h', port: 1, timeoutMs: 250, hgetall: 'user-1' });
    expect(parseArgs(['h', '65535', '--hgetall', 'k', '--timeout-ms', '10'])).toEqual({ host: 'h', port: 65535, timeoutMs: 10, hgetall: 'k' });
  });
  test.each([
    [[]], [['h']], [['', '6379']], [['h', '0']], [['h', '65536']], [['h', '63.5']], [['h', 'redis']],
    [['h', '6379', '--timeout-ms']], [['h', '6379', '--timeout-ms', '1s']], [['h', '6379', '--timeout-ms', '-5']],
    [['h', '6379', '--timeout-ms', '5x']], [['h', '6379', '--timeout-ms', 'x5']],
    [['h', '6379', '--hgetall']], [['h', '6379', '--hgetall', '']], [['h', '6379', '--verbose', '1']],
  ])('usage error: %j', (argv) => {
    expect(parseArgs(argv)).toBeUndefined();
  });
});

describe('probe: what it leaves behind and exactly what it returns', () => {
  test('a bare line end is a reply line too (the peer answered something)', () => {
    expect(parseReply(Buffer.from('\r\n'))).toEqual({ line: '' });
  });

  test('an answer has no error or hash fields at all; a partial line is trimmed', async () => {
    const pong = await peer(answer('+PONG\r\n'));
    const r = await probe('127.0.0.1', pong.port);
    expect(r).toStrictEqual({ outcome: 'answered', host: '127.0.0.1', port: pong.port, phase: 'reply', elapsedMs: r.elapsedMs, reply: '+PONG' });
    const spaced = await peer(answer('+PONG  ', 'end'));
    expect((await probe('127.0.0.1', spaced.port)).reply).toBe('+PONG');
  });

  test('once settled, no timer is left running and the connection is closed', async () => {
    const closed: Promise<void>[] = [];
    const { port } = await peer((s) => {
      closed.push(new Promise((r) => s.once('close', () => r())));
      answer('+PONG\r\n')(s);
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      expect((await probe('127.0.0.1', port, { timeoutMs: 60_000 })).outcome).toBe('answered');
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    await closed[0];
  });
});
