import { hostname } from 'node:os';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { encodeCart, readStoredCart } from '../../helpers/external/cart.ts';
import { clearLeftover, RedisStandIn, type StartedRedisStandIn } from '../../helpers/external/redis.ts';
import { labelArgs, startNetwork, type TestNetwork } from '../plumbing/run-resources.ts';
import { containersWithLabel, needDocker, PROBE_IMAGE, REDIS_IMAGE as image } from '../plumbing/support.ts';

describe(`Redis stand-in (${image}) on a user-defined Docker network`, () => {
  let network: TestNetwork | undefined;
  let redis: StartedRedisStandIn | undefined;

  afterAll(async () => {
    await redis?.stop();
    await network?.stop();
  });

  test('starts on the network and reports its IP there', async (ctx) => {
    await needDocker(ctx, image, PROBE_IMAGE);
    network = await startNetwork();
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
      'run', '--rm', ...labelArgs(), '--network', network!.getName(), PROBE_IMAGE, redis!.networkAddress.host, '6379',
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
      'run', '--rm', ...labelArgs(), '--network', network!.getName(), PROBE_IMAGE, redis!.networkAddress.host, '6379', '--hgetall', 'user-x',
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

describe('Redis stand-in: a failed start leaves nothing, a leftover of the name is handled', () => {
  const name = `egress-verify-selftest-${process.pid}-redis`;
  const containersNamed = async (n: string) =>
    (await execa('docker', ['ps', '-aq', '--filter', `name=^/${n}$`])).stdout.split('\n').filter(Boolean);
  afterAll(async () => {
    await execa('docker', ['rm', '-f', '-v', name], { reject: false });
  });

  test('on a Docker network that does not exist: the start fails and no container is left (the next start is not a 409)', async (ctx) => {
    await needDocker(ctx, image);
    const err = await new RedisStandIn(image).onNetwork(`egress-verify-no-such-net-${process.pid}`).withName(name).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/not found/i);
    expect(await containersNamed(name)).toEqual([]);
  });

  test('a container of the name that is not ours: a clear error, and it is left alone', async (ctx) => {
    await needDocker(ctx, image);
    await execa('docker', ['create', '--name', name, image, 'redis-server']);
    try {
      await expect(new RedisStandIn(image).onNetwork('bridge').withName(name).start()).rejects.toThrow(
        `a container named "${name}" already exists and is not a Redis stand-in of this suite (no label egress-verify/role=redis-stand-in); remove it (docker rm -f ${name}) or set CLUSTER_NAME to another name`,
      );
      expect(await containersNamed(name)).toHaveLength(1);
    } finally {
      await execa('docker', ['rm', '-f', name]);
    }
  });

  test('a stand-in of a live run on this machine is refused; one left by a run that ended is removed, and the start succeeds', async (ctx) => {
    await needDocker(ctx, image);
    const labelled = async (pid: number) => execa('docker', [
      'create', '--name', name, '--label', 'egress-verify/role=redis-stand-in', '--label', `egress-verify/pid=${pid}`,
      '--label', `egress-verify/host=${hostname()}`, image, 'redis-server',
    ]);
    await labelled(process.pid);
    await expect(clearLeftover(name)).rejects.toThrow(`a Redis stand-in named "${name}" is in use by a run still going on this machine (pid ${process.pid})`);
    await execa('docker', ['rm', '-f', name]);

    const ended = await execa(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const leftover = (await labelled(Number(ended.stdout))).stdout.trim();
    const started = await new RedisStandIn(image).onNetwork('bridge').withName(name).start();
    try {
      expect(started.containerId).not.toBe(leftover);
      expect((await execa('docker', ['inspect', leftover], { reject: false })).exitCode).not.toBe(0);
    } finally {
      await started.stop();
    }
    expect(await containersNamed(name)).toEqual([]);
  });
});
