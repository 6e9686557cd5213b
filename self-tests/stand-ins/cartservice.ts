/**
 * A STAND-IN for the Online Boutique cartservice (.NET, not buildable here): the same gRPC API,
 * `hipstershop.CartService` on a plaintext port, keeping carts in Redis the way the real one does,
 * so that a real Envoy sidecar in front of it sees the same traffic (one long-lived Redis
 * connection, reconnected when it drops).
 *
 * What it copies from upstream (GoogleCloudPlatform/microservices-demo v0.10.6, src/cartservice):
 * - a cart is a Redis HASH under the bare user id whose `data` field holds the protobuf
 *   hipstershop.Cart (Microsoft.Extensions.Caching.StackExchangeRedis, RedisCache.cs);
 * - AddItem adds the quantity to an existing item of the same product, else appends it;
 *   EmptyCart stores an empty cart (cartstore/RedisCartStore.cs);
 * - when Redis cannot be reached, every call fails with FAILED_PRECONDITION and a message
 *   starting "Can't access cart storage";
 * - the Redis address comes from REDIS_ADDR (host:port), as fixtures/cartservice.yaml sets it;
 * - grpc.health.v1.Health/Check, which the Deployment's gRPC probes call, answers SERVING
 *   whatever Redis does (health.proto here): for the service "" and hipstershop.CartService;
 *   any other name gets NOT_FOUND, as the gRPC health protocol has it.
 *
 * CLI: node cartservice.ts [--redis HOST:PORT] [--listen HOST:PORT]   (default listen 0.0.0.0:7070)
 * Without --redis the address is taken from REDIS_ADDR. Prints one line `listening <host:port>`
 * when it serves; exits on SIGTERM.
 *
 * It also runs as a container image for a cluster (images/cartservice-stand-in/build.ts bundles
 * it into one file, kept beside health.proto, with fixtures/cart.proto at the same relative path).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Redis } from 'ioredis';
import { type Cart, CART_PORT, cartServiceDefinition, decodeCart, encodeCart } from '../../helpers/external/cart.ts';

const CART_FIELD = 'data';

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (!value) {
    process.stderr.write(`usage: node cartservice.ts [--redis HOST:PORT] [--listen HOST:PORT] (without --redis: env REDIS_ADDR=HOST:PORT)\n`);
    process.exit(2);
  }
  return value;
}

const [redisHost, redisPort] = option('--redis', process.env.REDIS_ADDR).split(':');
const listen = option('--listen', `0.0.0.0:${CART_PORT}`);

// One connection for the life of the process, as StackExchange.Redis's multiplexer keeps; a
// dropped one is reconnected. A call while it is down fails at once (no offline queue), the
// way the upstream store reports an unreachable Redis.
const redis = new Redis({
  host: redisHost, port: Number(redisPort), enableOfflineQueue: false, maxRetriesPerRequest: 0,
  connectTimeout: 5_000, retryStrategy: () => 500,
});
redis.on('error', () => undefined);

function storageError(e: unknown): grpc.ServiceError {
  const err = new Error(`Can't access cart storage. ${e instanceof Error ? e.message : String(e)}`) as grpc.ServiceError;
  err.code = grpc.status.FAILED_PRECONDITION;
  err.details = err.message;
  return err;
}

async function load(userId: string): Promise<Cart> {
  const bytes = await redis.hgetBuffer(userId, CART_FIELD);
  return bytes ? decodeCart(bytes) : { userId, items: [] };
}

async function store(cart: Cart): Promise<void> {
  await redis.hset(cart.userId, CART_FIELD, encodeCart(cart));
}

type Call<T> = grpc.ServerUnaryCall<T, unknown>;
type Done = grpc.sendUnaryData<unknown>;

function handle<T>(work: (req: T) => Promise<unknown>): (call: Call<T>, done: Done) => void {
  return (call, done) => {
    work(call.request).then((res) => done(null, res), (e: unknown) => done(storageError(e)));
  };
}

const server = new grpc.Server();
server.addService(cartServiceDefinition(), {
  AddItem: handle(async (req: { userId: string; item: { productId: string; quantity: number } }) => {
    const cart = await load(req.userId);
    const same = cart.items.find((i) => i.productId === req.item.productId);
    if (same) same.quantity += req.item.quantity;
    else cart.items.push({ productId: req.item.productId, quantity: req.item.quantity });
    await store(cart);
    return {};
  }),
  GetCart: handle(async (req: { userId: string }) => load(req.userId)),
  EmptyCart: handle(async (req: { userId: string }) => {
    await store({ userId: req.userId, items: [] });
    return {};
  }),
});

// Health: SERVING for the whole server ("") and for the cart service, never tied to Redis (a
// probe that passes says nothing about storage, as with upstream's cart).
const HEALTHY = new Set(['', 'hipstershop.CartService']);
const health = grpc.loadPackageDefinition(loadSync(join(import.meta.dirname, 'health.proto'), { enums: String, defaults: true })) as unknown as {
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};
server.addService(health.grpc.health.v1.Health.service, {
  Check: (call: Call<{ service: string }>, done: Done) => {
    if (HEALTHY.has(call.request.service)) done(null, { status: 'SERVING' });
    else done({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
  },
});

server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (e, port) => {
  if (e) {
    process.stderr.write(`cartservice stand-in: cannot listen on ${listen}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${listen.replace(/:\d+$/, '')}:${port}\n`);
});

process.on('SIGTERM', () => {
  server.forceShutdown();
  redis.disconnect();
  process.exit(0);
});
