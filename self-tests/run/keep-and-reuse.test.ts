/**
 * KEEP_CLUSTER / REUSE_CLUSTER: the warm path's decisions (is the live mesh already what the
 * install makes? is there a kept Redis stand-in of ours?) and what a kept run prints. The mesh
 * verdict works on Deployment/ConfigMap objects shaped as istioctl 1.30 leaves them; the Redis
 * part runs against real containers.
 */
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { RedisStandIn, type StartedRedisStandIn } from '../../helpers/external/redis.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import {
  findKeptRedis, istiodVersion, keepsEverything, keptNotice, redisContainerName, warmMeshVerdict,
} from '../../helpers/run/keep-and-reuse.ts';
import { labelArgs, startNetwork, type TestNetwork } from '../plumbing/run-resources.ts';
import { needDocker, REDIS_IMAGE } from '../plumbing/support.ts';

function deployment(name: string, image: string, available = true): V1Deployment {
  return {
    metadata: { name, namespace: 'istio-system' },
    spec: { selector: {}, template: { spec: { containers: [{ name: name === 'istiod' ? 'discovery' : 'istio-proxy', image }] } } },
    status: { conditions: [{ type: 'Available', status: available ? 'True' : 'False' }] },
  };
}
const mesh = (mode?: string): V1ConfigMap => ({
  metadata: { name: 'istio', namespace: 'istio-system' },
  data: { mesh: mode ? `accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: ${mode}\n` : 'accessLogFile: /dev/stdout\n' },
});
const warm = {
  istiod: deployment('istiod', 'docker.io/istio/pilot:1.30.5'),
  mesh: mesh('REGISTRY_ONLY'),
  egressGateway: deployment('istio-egressgateway', 'docker.io/istio/proxyv2:1.30.5'),
};

describe('warm path: is the live mesh what the install would make?', () => {
  test.each([
    ['docker.io/istio/pilot:1.30.5', '1.30.5'],
    ['docker.io/istio/pilot:1.30.5-distroless', '1.30.5'],
    ['gcr.io/istio-release/pilot:1.31.0-beta.1', '1.31.0-beta.1'],
    ['mirror.internal:5000/istio/pilot:1.29.8', '1.29.8'],
    ['docker.io/istio/pilot:latest', undefined],
    ['docker.io/istio/proxyv2:1.30.5', undefined],
  ])('istiod image %s -> version %s', (image, version) => {
    expect(istiodVersion(deployment('istiod', image))).toBe(version);
  });

  test('everything in place: the install is skipped, and the log says why', () => {
    expect(warmMeshVerdict(warm, '1.30.5')).toEqual({
      skip: true, reason: 'Istio 1.30.5 already runs with REGISTRY_ONLY and istio-egressgateway: install skipped (REUSE_CLUSTER)',
    });
  });

  test.each([
    ['no istiod', { ...warm, istiod: undefined }, /no istiod Deployment in istio-system: installing/],
    ['another version', { ...warm, istiod: deployment('istiod', 'docker.io/istio/pilot:1.29.8') }, /istiod runs 1\.29\.8, ISTIO_VERSION is 1\.30\.5: installing/],
    ['istiod not available', { ...warm, istiod: deployment('istiod', 'docker.io/istio/pilot:1.30.5', false) }, /not Available: installing/],
    ['ALLOW_ANY (explicit)', { ...warm, mesh: mesh('ALLOW_ANY') }, /outbound mode is ALLOW_ANY, not REGISTRY_ONLY: installing/],
    ['mode unset (Istio default ALLOW_ANY)', { ...warm, mesh: mesh() }, /outbound mode is ALLOW_ANY/],
    ['no mesh ConfigMap', { ...warm, mesh: undefined }, /outbound mode is unknown/],
    ['no egress gateway', { ...warm, egressGateway: undefined }, /no istio-egressgateway Deployment: installing/],
    ['egress gateway not available', { ...warm, egressGateway: deployment('istio-egressgateway', 'x/proxyv2:1.30.5', false) }, /istio-egressgateway is not Available/],
  ])('%s: installed again', (_, live, reason) => {
    const v = warmMeshVerdict(live, '1.30.5');
    expect(v.skip).toBe(false);
    expect(v.reason).toMatch(reason);
  });
});

describe('KEEP_CLUSTER: what is kept, and what the end of the run says', () => {
  test('keeping: KEEP_CLUSTER, or REUSE_CLUSTER (a reused cluster is never deleted)', () => {
    expect(keepsEverything(loadSettings({}))).toBe(false);
    expect(keepsEverything(loadSettings({ KEEP_CLUSTER: 'true' }))).toBe(true);
    expect(keepsEverything(loadSettings({ REUSE_CLUSTER: 'on' }))).toBe(true);
    expect(redisContainerName(loadSettings({ CLUSTER_NAME: 'dev-1' }))).toBe('dev-1-redis');
  });

  test('the notice names the kubeconfig, the cart sidecar logs line, the Redis address, and how to remove it all', () => {
    const lines = keptNotice({
      clusterName: 'egress-verify', kubeconfigPath: '/w/artifacts/kubeconfig', context: 'kind-egress-verify',
      redis: { host: '172.18.0.5', port: 6379 }, redisFromHost: { host: '127.0.0.1', port: 32768 },
      redisContainer: 'egress-verify-redis', kind: true,
    }).join('\n');
    expect(lines).toContain('kubeconfig:     /w/artifacts/kubeconfig');
    expect(lines).toContain('kubectl --kubeconfig /w/artifacts/kubeconfig --context kind-egress-verify -n egress-verify-mesh logs deploy/cartservice -c istio-proxy');
    expect(lines).toContain('172.18.0.5:6379 from the cluster, 127.0.0.1:32768 from this machine');
    expect(lines).toMatch(/Remove it afterwards:\n {2}kind delete cluster --name egress-verify\n {2}docker rm -f egress-verify-redis$/);
  });

  test('on an existing cluster: no kind line, the namespaces are what to remove', () => {
    const lines = keptNotice({
      clusterName: 'x', kubeconfigPath: undefined, context: 'gke_p_r_c', redis: { host: '10.0.0.3', port: 6379 },
      redisFromHost: undefined, redisContainer: undefined, kind: false,
    }).join('\n');
    expect(lines).not.toContain('kind delete');
    expect(lines).not.toContain('docker rm');
    expect(lines).toContain('kubectl --context gke_p_r_c delete namespace egress-verify-mesh egress-verify-outside');
  });
});

describe('REUSE_CLUSTER: a kept Redis stand-in is found and reused, anything else is not', () => {
  let network: TestNetwork | undefined;
  let kept: StartedRedisStandIn | undefined;
  const name = `egress-verify-warm-${process.pid}-redis`;
  const stranger = `egress-verify-warm-${process.pid}-stranger`;

  afterAll(async () => {
    await execa('docker', ['rm', '-f', name, stranger], { reject: false });
    await network?.stop();
  });

  test('kept (started with keepAfterExit): not tied to the reaper, and found with the addresses it was started with', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    network = await startNetwork();
    kept = await new RedisStandIn(REDIS_IMAGE).onNetwork(network.getName()).withName(name).keepAfterExit().start();
    // testcontainers' reaper removes containers carrying its session label; a kept one has none.
    const labels = JSON.parse((await execa('docker', ['inspect', '--format', '{{json .Config.Labels}}', name])).stdout) as Record<string, string>;
    expect(labels['egress-verify/role']).toBe('redis-stand-in');
    expect(labels['org.testcontainers.session-id']).toBeUndefined();
    expect(labels['egress-verify/kept']).toBe('true');

    const found = await findKeptRedis(name, network.getName());
    expect(found.reason).toBe(`reusing the kept Redis stand-in ${name}`);
    expect(found.kept).toMatchObject({
      containerId: kept.containerId, name, networkAddress: kept.networkAddress, hostAddress: { port: kept.hostAddress.port },
    });
    // The address found answers: it is the same server (testcontainers says "localhost", docker 0.0.0.0).
    const client = new Redis({ ...found.kept!.hostAddress, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  test('on another network, or stopped: not reused, with the reason', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    expect(kept, 'the kept stand-in did not start').toBeDefined();
    expect(await findKeptRedis(name, 'kind-of-nonexistent')).toEqual({ reason: 'it is not on the kind-of-nonexistent network' });
    await execa('docker', ['stop', '-t', '1', name]);
    expect(await findKeptRedis(name, network!.getName())).toEqual({ reason: 'it is not running' });
  });

  test('a container of that name that is not ours is never reused; none at all says so', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    await execa('docker', ['create', ...labelArgs(), '--name', stranger, REDIS_IMAGE, 'redis-server']);
    expect((await findKeptRedis(stranger, network!.getName())).reason).toMatch(new RegExp(`container ${stranger} is not labelled egress-verify/role=redis-stand-in: not ours, left alone`));
    expect(await findKeptRedis(`${stranger}-absent`, network!.getName())).toEqual({ reason: `no container ${stranger}-absent` });
  });
});

describe('the plan shows the warm path', () => {
  test('REUSE_CLUSTER: reuse if present, skip the install if it matches, reuse the kept Redis, keep at the end', async () => {
    const r = await execa('npm', ['run', '-s', 'plan'], { env: { REUSE_CLUSTER: 'true', DOCKER_HOST: 'unix:///nonexistent.sock' }, reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/\[cluster\] Reuse the kind cluster "egress-verify" if present, else create it/);
    expect(r.stdout).toMatch(/\[istio\] .*skip the install if it matches \(istiod runs \d+\.\d+\.\d+, REGISTRY_ONLY, istio-egressgateway present\)/);
    expect(r.stdout).toMatch(/\[redis\] Reuse the kept Redis stand-in egress-verify-redis if it runs, else start one/);
    expect(r.stdout).toMatch(/\[teardown\] Keep everything for inspection \(REUSE_CLUSTER\)/);
  });

  test('KEEP_CLUSTER: everything kept; without either, everything removed', async () => {
    const keep = await execa('npm', ['run', '-s', 'plan'], { env: { KEEP_CLUSTER: '1', DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(keep.stdout).toMatch(/\[teardown\] Keep everything for inspection \(KEEP_CLUSTER\): kind cluster, Istio, Redis stand-in, test namespaces/);
    expect(keep.stdout).toMatch(/\[cluster\] Create the kind cluster/);
    const plain = await execa('npm', ['run', '-s', 'plan'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(plain.stdout).toMatch(/\[teardown\] Clean up in reverse order: namespaces, Redis stand-in, kind cluster \(deleted\)/);
  });
});
