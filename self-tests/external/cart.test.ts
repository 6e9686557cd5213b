/**
 * The cart client and the Redis readback, against a STAND-IN for cartservice: a small gRPC
 * server written here (the real one is a .NET image that cannot be pulled on this machine).
 * It serves hipstershop.CartService from fixtures/cart.proto and stores carts the way
 * cartservice v0.10.x does (RedisCartStore via Microsoft.Extensions.Caching.StackExchangeRedis):
 * key = user id, a HASH with absexp/sldexp = -1 and `data` = the protobuf Cart; and when Redis
 * cannot be reached it answers FAILED_PRECONDITION "Can't access cart storage. ...".
 * The Redis behind it is real (the Redis stand-in container).
 */
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type Cart, CartCallError, CartClient, cartServiceDefinition, decodeCart, encodeCart, grpcStatus, readStoredCart,
} from '../../helpers/external/cart.ts';
import { RedisStandIn, type StartedRedisStandIn } from '../../helpers/external/redis.ts';
import { startNetwork, type TestNetwork } from '../plumbing/run-resources.ts';
import { dockerAvailable, needDocker, REDIS_IMAGE } from '../plumbing/support.ts';

/**
 * The cartservice stand-in. With `holdFirstAddItemReply`, the first AddItem is written to Redis
 * but its reply is held until stop: for the client, a call whose deadline passed after the
 * write landed.
 */
async function startCartStandIn(redis: Redis, opts: { holdFirstAddItemReply?: boolean } = {}): Promise<{ address: string; stop: () => Promise<void> }> {
  const held: (() => void)[] = [];
  let addItems = 0;
  const storageError = (e: unknown): grpc.ServiceError => Object.assign(new Error('storage'), {
    code: grpc.status.FAILED_PRECONDITION,
    details: `Can't access cart storage. ${String(e)}`,
    metadata: new grpc.Metadata(),
  });
  const load = async (userId: string): Promise<Cart> => {
    const data = await redis.hgetBuffer(userId, 'data');
    return data ? decodeCart(data) : { userId, items: [] };
  };
  const save = async (cart: Cart) => {
    await redis.hset(cart.userId, { absexp: '-1', sldexp: '-1', data: encodeCart(cart) });
  };
  type Call<T> = grpc.ServerUnaryCall<T, unknown>;
  const server = new grpc.Server();
  server.addService(cartServiceDefinition(), {
    AddItem: (call: Call<{ userId: string; item: { productId: string; quantity: number } }>, cb: grpc.sendUnaryData<object>) => {
      (async () => {
        const cart = await load(call.request.userId);
        const same = cart.items.find((i) => i.productId === call.request.item.productId);
        if (same) same.quantity += call.request.item.quantity;
        else cart.items.push(call.request.item);
        await save({ ...cart, userId: call.request.userId });
      })().then(() => {
        if (opts.holdFirstAddItemReply && addItems++ === 0) held.push(() => cb(null, {}));
        else cb(null, {});
      }, (e: unknown) => cb(storageError(e)));
    },
    GetCart: (call: Call<{ userId: string }>, cb: grpc.sendUnaryData<Cart>) => {
      load(call.request.userId).then((c) => cb(null, c), (e: unknown) => cb(storageError(e)));
    },
    EmptyCart: (call: Call<{ userId: string }>, cb: grpc.sendUnaryData<object>) => {
      save({ userId: '', items: [] }).then(() => cb(null, {}), (e: unknown) => cb(storageError(e)));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    stop: () => {
      for (const reply of held.splice(0)) reply();
      return new Promise((r) => server.tryShutdown(() => r()));
    },
  };
}

/** What a describe block runs; each part is set as soon as it has started, so afterAll stops what a failed start left. */
interface CartRig {
  network?: TestNetwork;
  redis?: StartedRedisStandIn;
  store?: Redis;
  cartService?: { address: string; stop: () => Promise<void> };
}

/** A network, the Redis stand-in on it, a connected client of it and the cartservice stand-in over that client; false without Docker. */
async function startCartRig(rig: CartRig, opts: { holdFirstAddItemReply?: boolean } = {}): Promise<boolean> {
  if (!(await dockerAvailable(REDIS_IMAGE))) return false;
  rig.network = await startNetwork();
  rig.redis = await new RedisStandIn(REDIS_IMAGE).onNetwork(rig.network.getName()).start();
  rig.store = rig.redis.client();
  await rig.store.connect();
  rig.cartService = await startCartStandIn(rig.store, opts);
  return true;
}

describe('stored cart format', () => {
  test('encode/decode round trip of hipstershop.Cart', () => {
    const cart = { userId: 'u1', items: [{ productId: 'OLJCESPC7Z', quantity: 3 }, { productId: '66VCHSJNUP', quantity: 1 }] };
    expect(decodeCart(encodeCart(cart))).toEqual(cart);
  });
  test('field numbers are upstream\'s: user_id = 1 (tag 0x0a), items = 2 (tag 0x12)', () => {
    const bytes = encodeCart({ userId: 'u', items: [{ productId: 'p', quantity: 2 }] });
    // 0a 01 'u' | 12 05 [0a 01 'p' 10 02]
    expect([...bytes]).toEqual([0x0a, 0x01, 0x75, 0x12, 0x05, 0x0a, 0x01, 0x70, 0x10, 0x02]);
  });
  test('the data field is found as `data` or `dv`, and its absence is explained', () => {
    const data = encodeCart({ userId: 'u', items: [{ productId: 'p', quantity: 1 }] });
    expect(readStoredCart({ absexp: Buffer.from('-1'), data })).toMatchObject({ field: 'data', cart: { userId: 'u' } });
    expect(readStoredCart({ dv: data })).toMatchObject({ field: 'dv' });
    expect(() => readStoredCart({})).toThrow(/no cart in Redis under that user id/);
    expect(() => readStoredCart({ absexp: Buffer.from('-1') })).toThrow(/no data field \(data or dv\); fields: absexp/);
  });
});

describe('cart client against the cartservice stand-in, with a real Redis', () => {
  const rig: CartRig = {};
  let client: CartClient | undefined;

  beforeAll(async () => {
    if (await startCartRig(rig)) client = new CartClient(rig.cartService!.address);
  });

  afterAll(async () => {
    client?.close();
    await rig.cartService?.stop();
    await rig.redis?.stop();
    await rig.network?.stop();
  });

  test('AddItem then GetCart returns the item; Redis holds it under the user id', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const accepted = await client!.addItemUntil('accepted', 'user-a', { productId: 'OLJCESPC7Z', quantity: 3 }, 10_000);
    expect(accepted.attempts).toBe(1);
    expect(accepted.value.userId).toBe('user-a-1');
    expect(await client!.getCart('user-a-1')).toEqual({ userId: 'user-a-1', items: [{ productId: 'OLJCESPC7Z', quantity: 3 }] });
    const direct = new Redis({ ...rig.redis!.hostAddress, lazyConnect: true });
    await direct.connect();
    try {
      const stored = readStoredCart(await direct.hgetallBuffer('user-a-1'));
      expect(stored).toEqual({ field: 'data', cart: { userId: 'user-a-1', items: [{ productId: 'OLJCESPC7Z', quantity: 3 }] } });
      expect(await direct.type('user-a-1')).toBe('hash');
    } finally {
      direct.disconnect();
    }
  });

  test('without its storage the cart fails with FAILED_PRECONDITION, and the client says so', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    await rig.redis!.stop();
    rig.redis = undefined;
    const err = await client!.addItem('user-b', { productId: 'x', quantity: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CartCallError);
    expect(grpcStatus[(err as CartCallError).code]).toBe('FAILED_PRECONDITION');
    expect((err as CartCallError).details).toMatch(/^Can't access cart storage\./);
    expect((err as Error).message).toMatch(/^CartService\.AddItem failed: FAILED_PRECONDITION \(9\)/);
    // How the scenarios wait for it: the first rejection ends the wait.
    const rejected = await client!.addItemUntil('rejected', 'user-b', { productId: 'x', quantity: 1 }, 5000);
    expect(rejected.attempts).toBe(1);
    expect(grpcStatus[rejected.value.code]).toBe('FAILED_PRECONDITION');
    await expect(client!.addItemUntil('accepted', 'user-b', { productId: 'x', quantity: 1 }, 100)).rejects.toThrow(/timed out .* waiting for the cart to accept AddItem; last seen: CartService\.AddItem failed: FAILED_PRECONDITION/);
  });

  test('no server at all: UNAVAILABLE, not a storage error', async () => {
    const nowhere = new CartClient('127.0.0.1:9', 3000);
    try {
      const err = await nowhere.getCart('u').catch((e: unknown) => e);
      expect(grpcStatus[(err as CartCallError).code]).toBe('UNAVAILABLE');
    } finally {
      nowhere.close();
    }
  });
});

describe('addItemUntil: a retried AddItem never writes twice to the cart it reports', () => {
  const rig: CartRig = {};

  beforeAll(async () => {
    await startCartRig(rig, { holdFirstAddItemReply: true });
  });

  afterAll(async () => {
    await rig.cartService?.stop();
    rig.store?.disconnect();
    await rig.redis?.stop();
    await rig.network?.stop();
  });

  test('the first call lands but its reply misses the client deadline; the retry writes to a fresh user, whose cart holds exactly one item', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const item = { productId: 'OLJCESPC7Z', quantity: 3 };
    const client = new CartClient(rig.cartService!.address, 1000);
    try {
      const accepted = await client.addItemUntil('accepted', 'user-d', item, 20_000);
      expect(accepted.attempts).toBe(2);
      expect(accepted.value.userId).toBe('user-d-2');
      // The accepted user's cart: exactly the one accepted write (the same user twice would hold quantity 6).
      expect(await client.getCart('user-d-2')).toEqual({ userId: 'user-d-2', items: [item] });
      // The first write did land, under its own user.
      expect(readStoredCart(await rig.store!.hgetallBuffer('user-d-1')).cart.items).toEqual([item]);
    } finally {
      client.close();
    }
  });
});
