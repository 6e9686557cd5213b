/**
 * The chapter's title with real traffic: the cart's sidecar, a second workload (service account
 * `probe`) and istio-egressgateway are three real Envoys run by pilot-agent in network
 * namespaces (self-tests/sidecar-host/), configured by a local istiod. The fixtures are the
 * kind scenario's (fixtures/egress-gateway.yaml, egress-gateway-authz.yaml, workshop-gateway.yaml)
 * and the verdicts the suite's own (helpers/mesh/egress-evidence.ts), read from the real proxies'
 * clusters and stats pages.
 *
 * Differences from scenarios/egress-gateway.spec.ts on kind, on purpose: new connections are
 * opened with the probe from the cart's namespace (same identity as the cart) instead of waiting
 * for the cart's own connection to drain; the cart stand-in is called once routing has landed.
 * The upstream-Envoy changes are those of chapter.real-envoy.test.ts.
 */
import { describe, expect, test, type TestContext } from 'vitest';
import { hostPort } from '../../helpers/external/address.ts';
import { type CartClient, readStoredCart } from '../../helpers/external/cart.ts';
import { EGRESS_GATEWAY, egressEvidence, type EgressEvidence, egressVerdict, type ProxyReads } from '../../helpers/mesh/egress-evidence.ts';
import { parseClustersPage, parseTextStats, rbacCount, routingNotLanded } from '../../helpers/mesh/envoy-admin.ts';
import { type KubeObject, render } from '../../helpers/run/manifests.ts';
import { type Polled, pollTimed, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { GATEWAY_SUBSET, outboundCluster, serviceEntryCluster, WORKSHOP_SERVICE_ENTRY_HOST } from '../../scenarios/chapter.ts';
import { labSuite, type Meshed, type StartedSidecarLab } from '../sidecar-host/sidecar-lab.ts';

const PROPAGATION_MS = 60_000;
const GATEWAY_SUBSET_CLUSTER = outboundCluster(443, EGRESS_GATEWAY.host, GATEWAY_SUBSET);
const ITEM = { productId: '66VCHSJNUP', quantity: 2 };
interface World {
  lab: StartedSidecarLab;
  proxies: Meshed[];
  cart: Meshed;
  other: Meshed;
  gateway: Meshed;
  client: CartClient;
}

const RUN = Math.random().toString(16).slice(2, 8);

const suite = labSuite<World>('egress-gateway', async (lab) => {
  const gateway = await lab.addEgressGateway();
  const cart = await lab.addWorkload({ name: 'cartservice', serviceAccount: 'cartservice', labels: { app: 'cartservice' } });
  const other = await lab.addWorkload({ name: 'probe', serviceAccount: 'probe', labels: { app: 'probe' } });
  const client = await lab.startCart(cart);
  return { proxies: [gateway, cart, other], cart, other, gateway, client };
});
const report = suite.report;
const needWorld = (ctx: TestContext): World => suite.need(ctx);

function values(w: World): Record<string, string | number> {
  const { host, port } = w.lab.redis.networkAddress;
  return { REDIS_IP: host, REDIS_PORT: port, REDIS_ADDR: `${host}:${port}` };
}

function manifest(w: World, file: string): KubeObject[] {
  return render(file, values(w));
}

async function read(w: World): Promise<ProxyReads> {
  const [client, gateway] = await Promise.all([w.cart.proxy.admin('clusters'), w.gateway.proxy.admin('clusters')]);
  return { client: parseClustersPage(client).hosts, gateway: parseClustersPage(gateway).hosts };
}

/** Waits until both proxies list (or no longer list) the clusters a routing change makes. */
async function untilLanded(w: World, want: { cart: { gone?: string[]; present?: string[] }; gateway: { gone?: string[]; present?: string[] } }, what: string): Promise<Polled<true>> {
  return pollTimed(what, PROPAGATION_MS, async () => {
    const [c, g] = await Promise.all([w.cart.proxy.admin('clusters'), w.gateway.proxy.admin('clusters')]);
    const wrong = [...routingNotLanded(parseClustersPage(c), want.cart).map((x) => `cart ${x}`), ...routingNotLanded(parseClustersPage(g), want.gateway).map((x) => `gateway ${x}`)];
    if (wrong.length > 0) throw new RetryableError(wrong.join('; '));
    return true as const;
  }, String, { intervalMs: 250 });
}

async function rbac(w: World): Promise<{ allowed: number; denied: number }> {
  const stats = parseTextStats(await w.gateway.proxy.admin('stats?filter=rbac'));
  return { allowed: rbacCount(stats, 'allowed'), denied: rbacCount(stats, 'denied') };
}

function show(e: EgressEvidence): string {
  return `opened ${JSON.stringify(e.opened)}, open ${JSON.stringify(e.open)}`;
}

describe('the egress gateway through real Envoys', () => {
  test('a VirtualService naming a misspelt Gateway does not get the cart to Redis', async (ctx) => {
    const w = needWorld(ctx);
    const broken = manifest(w, 'fixtures/egress-gateway.yaml').map((o) => {
      if (o.kind !== 'VirtualService') return o;
      const text = JSON.stringify(o).replaceAll('"redis-egress"', '"redis-egres"');
      return JSON.parse(text) as KubeObject;
    });
    await w.lab.kube.apply(broken);
    try {
      await untilLanded(w, { cart: { present: [GATEWAY_SUBSET_CLUSTER] }, gateway: {} }, 'the broken routing at the cart\'s sidecar');
      const r = await w.lab.probe(w.cart);
      expect(r.outcome, `the gateway passed traffic with no route bound to it: ${JSON.stringify(r)}`).not.toBe('answered');
    } finally {
      await w.lab.kube.delete(broken);
      await untilLanded(w, { cart: { gone: [GATEWAY_SUBSET_CLUSTER] }, gateway: {} }, 'the broken routing gone');
    }
  });

  test('gateway-route: the chapter\'s routing reaches both proxies', async (ctx) => {
    const w = needWorld(ctx);
    await w.lab.kube.apply(manifest(w, 'fixtures/egress-gateway.yaml'));
    const landed = await untilLanded(w, { cart: { present: [GATEWAY_SUBSET_CLUSTER] }, gateway: { present: [serviceEntryCluster(w.lab.redis.networkAddress)] } }, 'the gateway routing');
    report.push(`gateway-route: routing on both proxies ${formatDuration(landed.elapsedMs)} after the apply`);
    const listeners = await w.gateway.proxy.admin('listeners');
    expect(listeners, 'the gateway has no listener on 8443').toMatch(/0\.0\.0\.0_8443::0\.0\.0\.0:8443/);
  });

  test('gateway-through: the cart works and the gateway, not the cart\'s sidecar, connects to Redis', async (ctx) => {
    const w = needWorld(ctx);
    const endpoint = hostPort(w.lab.redis.networkAddress);
    const before = await read(w);
    const user = `through-${RUN}`;
    const added = await pollTimed('the cart\'s AddItem through the gateway', PROPAGATION_MS, async () => {
      try {
        await w.client.addItem(user, ITEM);
        return true;
      } catch (e) {
        throw new RetryableError((e as Error).message);
      }
    }, String, { intervalMs: 500 });
    report.push(`gateway-through: the cart's AddItem succeeded after ${formatDuration(added.elapsedMs)}`);
    expect((await w.client.getCart(user)).items).toEqual([ITEM]);
    expect(readStoredCart(await w.lab.redis.client().hgetallBuffer(user)).cart.items).toEqual([ITEM]);
    const judged = await pollTimed('the proxies to show where the cart\'s Redis connection goes', 30_000, async () => {
      const e = egressEvidence(before, await read(w), endpoint);
      if (egressVerdict(e) === 'inconclusive' && e.opened.direct === 0 && e.open.direct === 0) throw new RetryableError(show(e));
      return e;
    }, String, { intervalMs: 500 });
    const e = judged.value;
    report.push(`gateway-through: ${egressVerdict(e)}: ${show(e)}`);
    expect(e.opened.direct, 'the cart sidecar connected to Redis itself').toBe(0);
    expect(e.open.toGateway, 'the cart sidecar holds no connection to the gateway').toBeGreaterThan(0);
    expect(e.open.gatewayToRedis, 'the gateway holds no connection to Redis').toBeGreaterThan(0);
    expect(egressVerdict(e)).toBe('through-gateway');
  });

  test('gateway-authz: only the cart\'s service account passes the gateway', async (ctx) => {
    const w = needWorld(ctx);
    const before = await rbac(w);
    // Before the policy the other workload gets through too: the policy is what refuses it.
    const open = await w.lab.probe(w.other);
    expect(open.outcome, `the probe's workload did not reach Redis before the policy: ${JSON.stringify(open)}`).toBe('answered');
    await w.lab.kube.apply(manifest(w, 'fixtures/egress-gateway-authz.yaml'));
    const denied = await pollTimed('the probe (service account probe) denied at the gateway', PROPAGATION_MS, async () => {
      const r = await w.lab.probe(w.other);
      if (r.outcome !== 'closed') throw new RetryableError(r.outcome);
      return r;
    }, String, { intervalMs: 250, consecutive: 3 });
    report.push(`gateway-authz: the other workload denied ${formatDuration(denied.elapsedMs)} after the apply`);
    const afterDeny = await rbac(w);
    expect(afterDeny.denied, 'the gateway\'s RBAC filter denied nothing').toBeGreaterThan(before.denied);
    // A new connection with the cart's identity (its namespace, its sidecar) is allowed.
    const r = await w.lab.probe(w.cart);
    expect(r.outcome, JSON.stringify(r)).toBe('answered');
    const afterCart = await rbac(w);
    expect(afterCart.allowed, 'the gateway allowed no new connection for the cart').toBeGreaterThan(afterDeny.allowed);
    expect(afterCart.denied).toBe(afterDeny.denied);
  });

  test('gateway-bypass: the workshop\'s Gateway without a VirtualService lets the cart go straight to Redis', async (ctx) => {
    const w = needWorld(ctx);
    const endpoint = hostPort(w.lab.redis.networkAddress);
    await w.lab.kube.delete(manifest(w, 'fixtures/egress-gateway-authz.yaml'));
    await w.lab.kube.delete(manifest(w, 'fixtures/egress-gateway.yaml'));
    await w.lab.kube.apply(manifest(w, 'fixtures/workshop-gateway.yaml'));
    const redis = w.lab.redis.networkAddress;
    const landed = await untilLanded(w, {
      cart: { gone: [GATEWAY_SUBSET_CLUSTER, serviceEntryCluster(redis)], present: [outboundCluster(redis.port, WORKSHOP_SERVICE_ENTRY_HOST)] },
      gateway: { gone: [serviceEntryCluster(redis)] },
    }, 'the workshop\'s routing');
    report.push(`gateway-bypass: the workshop's routing on both proxies ${formatDuration(landed.elapsedMs)} after the apply`);
    const before = await read(w);
    // The workshop's check (telnet connects) passes...
    const r = await w.lab.probe(w.cart);
    expect(r.outcome, JSON.stringify(r)).toBe('answered');
    // ...but the new connection did not use the gateway.
    const judged = await pollTimed('the new connection to show its path', 30_000, async () => {
      const e = egressEvidence(before, await read(w), endpoint);
      if (egressVerdict(e) === 'through-gateway') throw new Error(`the workshop's manifests routed through the gateway: ${show(e)}`);
      if (e.opened.direct === 0) throw new RetryableError(show(e));
      return e;
    }, String, { intervalMs: 250 });
    report.push(`gateway-bypass: ${show(judged.value)}`);
    expect(judged.value.opened.direct).toBeGreaterThan(0);
    expect(judged.value.opened.gatewayToRedis, 'the gateway connected to Redis').toBe(0);
  });
});
