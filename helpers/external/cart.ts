/**
 * The Cart Service as its clients see it: gRPC `hipstershop.CartService` on port 7070
 * (plaintext h2c, no reflection), and the carts it leaves in Redis.
 *
 * Upstream facts (GoogleCloudPlatform/microservices-demo v0.10.6, src/cartservice):
 * - When Redis cannot be reached every call fails with FAILED_PRECONDITION and a message
 *   starting "Can't access cart storage" (cartstore/RedisCartStore.cs).
 * - A cart is stored under the bare user id through Microsoft.Extensions.Caching.StackExchangeRedis:
 *   a Redis HASH whose data field holds the protobuf-serialized hipstershop.Cart. The field is
 *   `data` in the releases read (RedisCache.cs: absexp, sldexp, data); newer aspnetcore code
 *   was seen using short names (`dv`), so both are accepted and the one found is reported.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { FIXTURES_DIR } from '../run/manifests.ts';
import { type Polled, pollTimed, RetryableError } from '../run/poll.ts';

export const CART_PORT = 7070;
/** gRPC status names by code (grpc/grpc doc/statuscodes.md). */
export const grpcStatus = grpc.status;
export const CART_PROTO = join(FIXTURES_DIR, 'cart.proto');
export const CART_DATA_FIELDS = ['data', 'dv'] as const;

export interface CartItem {
  productId: string;
  quantity: number;
}

export interface Cart {
  userId: string;
  items: CartItem[];
}

/** A gRPC failure with its status code, as the cart returned it. */
export class CartCallError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  constructor(method: string, e: grpc.ServiceError) {
    super(`CartService.${method} failed: ${grpc.status[e.code]} (${e.code}): ${e.details.slice(0, 300)}`);
    this.name = 'CartCallError';
    this.code = e.code;
    this.details = e.details;
  }
}

const protoOptions = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true } as const;

type Unary<Req, Res> = (req: Req, options: { deadline: Date }, cb: (e: grpc.ServiceError | null, res: Res) => void) => void;

interface CartStub extends grpc.Client {
  AddItem: Unary<{ userId: string; item: CartItem }, object>;
  GetCart: Unary<{ userId: string }, Cart>;
  EmptyCart: Unary<{ userId: string }, object>;
}

/** The service definition, for the client here and for the stand-in server in the self-tests. */
export function cartServiceDefinition(): grpc.ServiceDefinition {
  const pkg = grpc.loadPackageDefinition(loadSync(CART_PROTO, protoOptions)) as unknown as {
    hipstershop: { CartService: grpc.ServiceClientConstructor };
  };
  return pkg.hipstershop.CartService.service;
}

export class CartClient {
  readonly #stub: CartStub;
  readonly #deadlineMs: number;

  // 30 s: without storage, cartservice's Redis client may retry its connect before it answers.
  constructor(address: string, deadlineMs = 30_000) {
    const Ctor = grpc.makeGenericClientConstructor(cartServiceDefinition(), 'CartService');
    this.#stub = new Ctor(address, grpc.credentials.createInsecure()) as unknown as CartStub;
    this.#deadlineMs = deadlineMs;
  }

  #call<Req, Res>(method: 'AddItem' | 'GetCart' | 'EmptyCart', req: Req): Promise<Res> {
    const fn = this.#stub[method] as unknown as Unary<Req, Res>;
    return new Promise((resolve, reject) => {
      fn.call(this.#stub, req, { deadline: new Date(Date.now() + this.#deadlineMs) }, (e, res) => {
        if (e) reject(new CartCallError(method, e));
        else resolve(res);
      });
    });
  }

  async addItem(userId: string, item: CartItem): Promise<void> {
    await this.#call('AddItem', { userId, item });
  }

  async getCart(userId: string): Promise<Cart> {
    const cart = await this.#call<{ userId: string }, Cart>('GetCart', { userId });
    return { userId: cart.userId, items: cart.items.map((i) => ({ productId: i.productId, quantity: i.quantity })) };
  }

  async emptyCart(userId: string): Promise<void> {
    await this.#call('EmptyCart', { userId });
  }

  close(): void {
    this.#stub.close();
  }

  /** How long one call may take before the client gives up (its gRPC deadline). */
  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  /**
   * Calls AddItem every 2 s until the cart accepts it (`accepted`) or rejects it with a gRPC
   * error (`rejected`): after a routing change the cart's Redis client reconnects, or its open
   * connection is drained, on its own schedule. Resolves with the time it took and, for
   * `accepted`, the user whose cart took the item (for `rejected`, the error).
   *
   * Each attempt writes to a user of its own, `<userPrefix>-<attempt>`: an attempt that failed
   * on the client's side (e.g. its deadline passed) may still have landed in Redis, and a retry
   * under the same user would add the quantity twice. So the accepted user's cart holds exactly
   * the one accepted write, and assertions can be exact.
   */
  addItemUntil(until: 'accepted', userPrefix: string, item: CartItem, timeoutMs: number): Promise<Polled<{ userId: string }>>;
  addItemUntil(until: 'rejected', userPrefix: string, item: CartItem, timeoutMs: number): Promise<Polled<CartCallError>>;
  addItemUntil(until: 'accepted' | 'rejected', userPrefix: string, item: CartItem, timeoutMs: number): Promise<Polled<{ userId: string } | CartCallError>> {
    let attempt = 0;
    return pollTimed(`the cart to ${until === 'accepted' ? 'accept' : 'reject'} AddItem`, timeoutMs, async () => {
      const userId = `${userPrefix}-${++attempt}`;
      let error: CartCallError | undefined;
      try {
        await this.addItem(userId, item);
      } catch (e) {
        if (!(e instanceof CartCallError)) throw e;
        error = e;
      }
      if (until === 'accepted' && !error) return { userId };
      if (until === 'rejected' && error) return error;
      throw new RetryableError(error ? error.message : 'AddItem still succeeds');
    }, undefined, { intervalMs: 2000 });
  }
}

let cartType: protobuf.Type | undefined;
function cartMessage(): protobuf.Type {
  cartType ??= protobuf.loadSync(CART_PROTO).lookupType('hipstershop.Cart');
  return cartType;
}

export function encodeCart(cart: Cart): Buffer {
  const t = cartMessage();
  return Buffer.from(t.encode(t.fromObject(cart)).finish());
}

export function decodeCart(bytes: Uint8Array): Cart {
  const obj = cartMessage().toObject(cartMessage().decode(bytes), { defaults: true, longs: Number }) as Cart;
  return { userId: obj.userId, items: obj.items.map((i) => ({ productId: i.productId, quantity: i.quantity })) };
}

export interface StoredCart {
  field: string;
  cart: Cart;
}

/**
 * What the cart left in Redis for a user: the HASH as HGETALL returns it (binary values).
 * Throws with the fields found when no data field is present.
 */
export function readStoredCart(hash: Record<string, Buffer>): StoredCart {
  const field = CART_DATA_FIELDS.find((f) => hash[f] !== undefined);
  if (!field) {
    const found = Object.keys(hash);
    throw new Error(found.length === 0
      ? 'no cart in Redis under that user id (the key is missing or not a HASH)'
      : `the cart HASH has no data field (${CART_DATA_FIELDS.join(' or ')}); fields: ${found.join(', ')}`);
  }
  return { field, cart: decodeCart(hash[field]!) };
}
