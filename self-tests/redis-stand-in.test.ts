import { execa } from 'execa';
import { Network, type StartedNetwork } from 'testcontainers';
import { afterAll, describe, expect, test } from 'vitest';
import { encodeCart, readStoredCart } from '../helpers/cart.ts';
import { RedisStandIn, type StartedRedisStandIn } from '../helpers/redis.ts';
import { containersWithLabel, needDocker, PROBE_IMAGE, REDIS_IMAGE as image } from './support.ts';

describe(`Redis stand-in (${image}) on a user-defined Docker network`, () => {
  let network: StartedNetwork | undefined;
  let redis: StartedRedisStandIn | undefined;

  afterAll(async () => {
    await redis?.stop();
    await network?.stop();
  });

  test('starts on the network and reports its IP there', async (ctx) => {
    await needDocker(ctx, image, PROBE_IMAGE);
    network = await new Network().start();
    redis = await new RedisStandIn(image).onNetwork(network.getName()).start();
    const { stdout } = await execa('docker', [
      'inspect', '--format', `{{(index .NetworkSettings.Networks "${network.getName()}").IPAddress}}`, redis.containerId,
    ]);
    expect(redis.networkAddress).toEqual({ host: stdout.trim(), port: 6379 });
  });

  test('another container on that network reaches it by IP (what a pod does on kind)', async (ctx) => {
    await needDocker(ctx, image, PROBE_IMAGE);
    expect(redis, 'the stand-in did not start').toBeDefined();
    const { stdout } = await execa('docker', [
      'run', '--rm', '--network', network!.getName(), PROBE_IMAGE, redis!.networkAddress.host, '6379',
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'answered', reply: '+PONG' });
  });

  test('the test process writes and reads it with ioredis through the published port', async (ctx) => {
    await needDocker(ctx, image);
    expect(redis, 'the stand-in did not start').toBeDefined();
    const client = redis!.client();
    await client.connect();
    await client.set('egress-verify:self-test', 'written from the test process');
    expect(await client.get('egress-verify:self-test')).toBe('written from the test process');
    // The same key is visible from inside the container, so it is the same server.
    const { stdout } = await execa('docker', ['exec', redis!.containerId, 'redis-cli', 'GET', 'egress-verify:self-test']);
    expect(stdout.trim()).toBe('written from the test process');
  });

  test('the probe reads a binary HASH from inside the network (how Memorystore is read back)', async (ctx) => {
    await needDocker(ctx, image, PROBE_IMAGE);
    expect(redis, 'the stand-in did not start').toBeDefined();
    const cart = encodeCart({ userId: 'user-x', items: [{ productId: 'OLJCESPC7Z', quantity: 3 }] });
    const client = redis!.client();
    if (client.status !== 'ready') await client.connect();
    await client.hset('user-x', { absexp: '-1', sldexp: '-1', data: cart });
    const { stdout } = await execa('docker', [
      'run', '--rm', '--network', network!.getName(), PROBE_IMAGE, redis!.networkAddress.host, '6379', '--hgetall', 'user-x',
    ]);
    const r = JSON.parse(stdout) as { outcome: string; hash: Record<string, string> };
    expect(r.outcome).toBe('answered');
    const hash = Object.fromEntries(Object.entries(r.hash).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    expect(readStoredCart(hash)).toEqual({ field: 'data', cart: { userId: 'user-x', items: [{ productId: 'OLJCESPC7Z', quantity: 3 }] } });
  });

  test('stop() leaves no container behind', async (ctx) => {
    await needDocker(ctx, image);
    expect(redis, 'the stand-in did not start').toBeDefined();
    const id = redis!.containerId;
    await redis!.stop();
    redis = undefined;
    const left = await containersWithLabel('egress-verify/role=redis-stand-in');
    expect(left.filter((c) => id.startsWith(c))).toEqual([]);
    const inspect = await execa('docker', ['inspect', id], { reject: false });
    expect(inspect.exitCode).not.toBe(0);
  });

  test('refuses to start without a network: pods could not reach it', async () => {
    await expect(() => new RedisStandIn(image).start()).rejects.toThrow(/onNetwork/);
  });
});
