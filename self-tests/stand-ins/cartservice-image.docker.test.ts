/**
 * The cart stand-in's image (images/cartservice-stand-in/build.ts), run the way
 * fixtures/cartservice.yaml runs the cart: REDIS_ADDR=<host>:6379, user 1000, a read-only root
 * filesystem, no capabilities; its Redis is the Redis stand-in, on the same Docker network,
 * reached by container name. The image is built here (a few seconds).
 *
 * The health check is called with its wire bytes written out here (grpc/grpc
 * doc/health-checking.md: HealthCheckRequest.service = field 1, HealthCheckResponse.status =
 * field 1, SERVING = 1), not with the stand-in's health.proto, so a mistake there shows.
 */
import { stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { which } from 'zx';
import { CART_STAND_IN_IMAGE, buildCartStandInImage, type CartStandInImage } from '../../images/cartservice-stand-in/build.ts';
import { CART_PORT, CartCallError, CartClient, grpcStatus, readStoredCart } from '../../helpers/external/cart.ts';
import { RedisStandIn, type StartedRedisStandIn } from '../../helpers/external/redis.ts';
import { pollUntil } from '../../helpers/run/poll.ts';
import { labelArgs, startNetwork, type TestNetwork } from '../plumbing/run-resources.ts';
import { dockerAvailable, needDocker, REDIS_IMAGE } from '../plumbing/support.ts';

/** grpc.health.v1.Health/Check for `service`; resolves with the reply's bytes or the call's error. */
function healthCheck(address: string, service: string): Promise<Buffer | grpc.ServiceError> {
  const name = Buffer.from(service);
  if (name.length > 127) throw new Error('a one-byte length only');
  // proto3 leaves out a field at its default: the request for "" is empty.
  const request = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<Buffer | grpc.ServiceError>((resolve) => {
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, request,
      { deadline: new Date(Date.now() + 10_000) }, (e, reply) => resolve(e ?? reply!));
  }).finally(() => client.close());
}

/** HealthCheckResponse{status: SERVING}: field 1, varint, 1. */
const SERVING = Buffer.from([0x08, 0x01]);

interface Rig {
  built?: CartStandInImage;
  network?: TestNetwork;
  redis?: StartedRedisStandIn;
  cart?: string;
  address?: string;
  client?: CartClient;
}

describe('the cart stand-in image, as fixtures/cartservice.yaml runs it', () => {
  const rig: Rig = {};

  beforeAll(async () => {
    if (!(await dockerAvailable(REDIS_IMAGE))) return;
    rig.built = await buildCartStandInImage({ tag: CART_STAND_IN_IMAGE, log: () => undefined });
    rig.network = await startNetwork();
    const net = rig.network.getName();
    const redisName = `${net}-redis`;
    rig.redis = await new RedisStandIn(REDIS_IMAGE).onNetwork(net).withName(redisName).start();
    rig.cart = `${net}-cart`;
    await execa('docker', ['run', '-d', ...labelArgs(), '--name', rig.cart, '--network', net,
      '--read-only', '--user', '1000', '--cap-drop', 'ALL', '--memory', '128m',
      '--env', `REDIS_ADDR=${redisName}:6379`, '--publish', `127.0.0.1::${CART_PORT}`, CART_STAND_IN_IMAGE]);
    const cart = rig.cart;
    await pollUntil('the cart container to say it listens', 20_000, async () => {
      const r = await execa('docker', ['logs', cart], { all: true, reject: false });
      if (r.all.includes(`listening 0.0.0.0:${CART_PORT}`)) return true;
      const state = (await execa('docker', ['inspect', '--format', '{{.State.Status}}', cart])).stdout.trim();
      if (state !== 'running') throw new Error(`the cart container is ${state}; its output:\n${r.all}`);
      return undefined;
    }, undefined, { intervalMs: 200 });
    rig.address = (await execa('docker', ['port', rig.cart, String(CART_PORT)])).stdout.split('\n')[0]!.trim();
    rig.client = new CartClient(rig.address, 10_000);
  });

  afterAll(async () => {
    rig.client?.close();
    if (rig.cart) await execa('docker', ['rm', '-f', '-v', rig.cart], { reject: false });
    await rig.redis?.stop();
    await rig.network?.stop();
  });

  test('the image: FROM scratch with node and the bundle only, user 1000, the stand-in as entrypoint', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const config = JSON.parse((await execa('docker', ['image', 'inspect', '--format', '{{json .Config}}', CART_STAND_IN_IMAGE])).stdout) as {
      User: string; Entrypoint: string[]; ExposedPorts: Record<string, unknown>;
    };
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['node', '/app/self-tests/stand-ins/cartservice.mjs']);
    expect(Object.keys(config.ExposedPorts)).toEqual([`${CART_PORT}/tcp`]);
    expect(rig.built!.tag).toBe(CART_STAND_IN_IMAGE);
    expect(rig.built!.seconds).toBeGreaterThan(0);
    // The node binary, its libraries and a bundle of a few MB: no node_modules (hundreds of MB).
    const nodeBytes = (await stat(await which('node'))).size;
    expect(rig.built!.bytes).toBeGreaterThan(nodeBytes);
    expect(rig.built!.bytes).toBeLessThan(nodeBytes + 30e6);
  });

  test('the gRPC health check answers SERVING, for the server and for the cart service; another name is NOT_FOUND', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    expect(await healthCheck(rig.address!, '')).toEqual(SERVING);
    expect(await healthCheck(rig.address!, 'hipstershop.CartService')).toEqual(SERVING);
    const other = await healthCheck(rig.address!, 'hipstershop.NoSuchService');
    expect(other).toBeInstanceOf(Error);
    expect(grpcStatus[(other as grpc.ServiceError).code]).toBe('NOT_FOUND');
  });

  test('AddItem then GetCart returns the item; Redis holds it as a HASH under the user id, field `data`', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const item = { productId: 'OLJCESPC7Z', quantity: 3 };
    await rig.client!.addItem('user-img', item);
    expect(await rig.client!.getCart('user-img')).toEqual({ userId: 'user-img', items: [item] });
    // The same product again: its quantity grows (upstream's RedisCartStore.AddItemAsync).
    await rig.client!.addItem('user-img', { productId: 'OLJCESPC7Z', quantity: 2 });
    expect(await rig.client!.getCart('user-img')).toEqual({ userId: 'user-img', items: [{ productId: 'OLJCESPC7Z', quantity: 5 }] });
    const store = rig.redis!.client();
    await store.connect();
    expect(await store.type('user-img')).toBe('hash');
    expect(readStoredCart(await store.hgetallBuffer('user-img'))).toEqual({
      field: 'data', cart: { userId: 'user-img', items: [{ productId: 'OLJCESPC7Z', quantity: 5 }] },
    });
  });

  test('with Redis stopped, a call fails with FAILED_PRECONDITION "Can\'t access cart storage"; the health check still says SERVING', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    await rig.redis!.stop();
    rig.redis = undefined;
    const rejected = await rig.client!.addItemUntil('rejected', 'user-gone', { productId: 'x', quantity: 1 }, 30_000);
    expect(rejected.value).toBeInstanceOf(CartCallError);
    expect(grpcStatus[rejected.value.code]).toBe('FAILED_PRECONDITION');
    expect(rejected.value.details).toMatch(/^Can't access cart storage\./);
    const read = await rig.client!.getCart('user-img').catch((e: unknown) => e);
    expect(grpcStatus[(read as CartCallError).code]).toBe('FAILED_PRECONDITION');
    // The probes never see storage failures (upstream's cart too): the pod stays ready.
    expect(await healthCheck(rig.address!, '')).toEqual(SERVING);
  });
});
