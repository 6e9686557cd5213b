/**
 * The cart client without Docker: a scripted STAND-IN for the cartservice's gRPC API (the
 * service definition from fixtures/cart.proto, served on loopback by grpc-js), so each answer
 * the client must handle can be given on purpose: items with extra fields, storage errors with
 * long details, an AddItem that starts failing or starts working.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { CartCallError, cartServiceDefinition, CartClient, grpcStatus, readStoredCart, type Cart } from '../../helpers/external/cart.ts';
import type { Polled } from '../../helpers/run/poll.ts';

type Handler = (call: grpc.ServerUnaryCall<{ userId: string; item?: { productId: string; quantity: number } }, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

const servers: grpc.Server[] = [];
const clients: CartClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  // Not tryShutdown: it waits for calls in flight, and a call the stand-in never answers (or a
  // mutant that stops one) would hold the hook until its timeout.
  for (const s of servers.splice(0)) s.forceShutdown();
});

async function standIn(handlers: { AddItem?: Handler; GetCart?: Handler; EmptyCart?: Handler }, deadlineMs = 3000): Promise<CartClient> {
  const server = new grpc.Server();
  const unimplemented: Handler = (_c, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not scripted' });
  server.addService(cartServiceDefinition(), {
    AddItem: handlers.AddItem ?? unimplemented, GetCart: handlers.GetCart ?? unimplemented, EmptyCart: handlers.EmptyCart ?? unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  servers.push(server);
  const client = new CartClient(`127.0.0.1:${port}`, deadlineMs);
  clients.push(client);
  return client;
}

const storageError = (details: string): Partial<grpc.StatusObject> => ({ code: grpc.status.FAILED_PRECONDITION, details });

describe('cart client calls (gRPC stand-in on loopback)', () => {
  test('GetCart: the user and the items, nothing else', async () => {
    const client = await standIn({
      GetCart: (call, cb) => cb(null, { userId: call.request.userId, items: [{ productId: 'OLJCESPC7Z', quantity: 3 }, { productId: '66VCHSJNUP', quantity: 1 }] }),
    });
    const cart: Cart = await client.getCart('user-1');
    expect(cart).toEqual({ userId: 'user-1', items: [{ productId: 'OLJCESPC7Z', quantity: 3 }, { productId: '66VCHSJNUP', quantity: 1 }] });
  });

  test('AddItem and EmptyCart send the user and the item', async () => {
    const seen: unknown[] = [];
    const client = await standIn({
      AddItem: (call, cb) => { seen.push(call.request); cb(null, {}); },
      EmptyCart: (call, cb) => { seen.push(call.request); cb(null, {}); },
    });
    await client.addItem('u', { productId: 'p', quantity: 2 });
    await client.emptyCart('u');
    expect(seen).toEqual([{ userId: 'u', item: { productId: 'p', quantity: 2 } }, { userId: 'u' }]);
  });

  test('a storage error: the method, the status by name and number, and at most 300 characters of details', async () => {
    const details = `Can't access cart storage. ${'x'.repeat(400)}`;
    const client = await standIn({ GetCart: (_c, cb) => cb(storageError(details)) });
    const err = await client.getCart('u').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CartCallError);
    const e = err as CartCallError;
    expect(e.name).toBe('CartCallError');
    expect(e.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(e.details).toBe(details);
    expect(e.message).toBe(`CartService.GetCart failed: FAILED_PRECONDITION (9): ${details.slice(0, 300)}`);
  });

  test('the deadline applies to each call', async () => {
    const client = await standIn({ GetCart: () => { /* never answers */ } }, 300);
    const started = performance.now();
    const err = await client.getCart('u').catch((e: unknown) => e);
    expect((err as CartCallError).code).toBe(grpcStatus.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('AddItem until accepted or rejected', () => {
  test('rejected at once: the error is the value, after one attempt', async () => {
    const client = await standIn({ AddItem: (_c, cb) => cb(storageError('Can\'t access cart storage.')) });
    // One second: the answer comes in milliseconds, and a second attempt would come after two.
    const r = await client.addItemUntil('rejected', 'u', { productId: 'p', quantity: 1 }, 1_000);
    expect(r.attempts).toBe(1);
    expect(r.value).toBeInstanceOf(CartCallError);
    expect(r.value.code).toBe(grpcStatus.FAILED_PRECONDITION);
  });

  test('accepted at once: the user id of the accepted call, after one attempt', async () => {
    const client = await standIn({ AddItem: (_c, cb) => cb(null, {}) });
    expect(await client.addItemUntil('accepted', 'u', { productId: 'p', quantity: 1 }, 1_000)).toMatchObject({ value: { userId: 'u-1' }, attempts: 1 });
  });

  test('a storage that comes back: rejected first, accepted on a later attempt, two seconds apart (fake clock, real gRPC)', async () => {
    let calls = 0;
    const client = await standIn({ AddItem: (_c, cb) => (++calls === 1 ? cb(storageError('Can\'t access cart storage.')) : cb(null, {})) });
    // The clock and the timers are fake, the connection is real: two seconds of wall time here
    // would be paid again for every mutant of the cart client in a mutation run. Between steps of
    // the clock, real event-loop turns let the calls go and come back over loopback.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      let settled: Polled<{ userId: string }> | undefined;
      void client.addItemUntil('accepted', 'u', { productId: 'p', quantity: 1 }, 10_000).then((r) => { settled = r; });
      for (let step = 0; step < 100 && !settled; step++) {
        for (let turn = 0; turn < 20; turn++) await new Promise((r) => setImmediate(r));
        await vi.advanceTimersByTimeAsync(50);
      }
      expect(settled).toMatchObject({ value: { userId: 'u-2' }, attempts: 2 });
      expect(calls).toBe(2);
      // The second attempt came no sooner than 2 s (of the fake clock) after the first.
      expect(settled!.elapsedMs).toBeGreaterThanOrEqual(2000);
      expect(settled!.elapsedMs).toBeLessThan(3000);
    } finally {
      vi.useRealTimers();
    }
  });

  test('never the wanted answer: a timeout naming the wait and the last answer', async () => {
    const accepting = await standIn({ AddItem: (_c, cb) => cb(null, {}) });
    await expect(accepting.addItemUntil('rejected', 'u', { productId: 'p', quantity: 1 }, 50))
      .rejects.toThrow(/^timed out after 50ms waiting for the cart to reject AddItem; last seen: AddItem still succeeds$/);
    const failing = await standIn({ AddItem: (_c, cb) => cb(storageError('down')) });
    await expect(failing.addItemUntil('accepted', 'u', { productId: 'p', quantity: 1 }, 50))
      .rejects.toThrow(/^timed out after 50ms waiting for the cart to accept AddItem; last seen: CartService\.AddItem failed: FAILED_PRECONDITION \(9\): down$/);
  });
});

describe('closing, and a stored cart without its data field', () => {
  test('after close() the client makes no more calls', async () => {
    const client = await standIn({ GetCart: (call, cb) => cb(null, { userId: call.request.userId, items: [] }) });
    expect(await client.getCart('u')).toEqual({ userId: 'u', items: [] });
    client.close();
    await expect(client.getCart('u')).rejects.toThrow();
  });

  test('every field found is named, in order', () => {
    expect(() => readStoredCart({ absexp: Buffer.from('-1'), sldexp: Buffer.from('-1') }))
      .toThrow(new Error('the cart HASH has no data field (data or dv); fields: absexp, sldexp'));
  });
});
