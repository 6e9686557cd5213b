/**
 * The chapter's title, proven: Redis traffic leaves the mesh through istio-egressgateway, and
 * only the cart's identity may use that exit. "Connected" is not enough: each claim is checked
 * in the proxies' own counters (where each connection went) and the gateway's access log. The
 * workshop's original step (a Gateway without a VirtualService) is run last, to show that the
 * suite reports it as bypassing the gateway.
 */
import { CartCallError, readStoredCart } from '../helpers/external/cart.ts';
import { cartDrainDeadlineMs } from '../helpers/mesh/drain.ts';
import { accessLogLinesTo, parseTextStats, proxyAdmin, proxyClustersPage, rbacCount, routingNotLanded } from '../helpers/mesh/envoy-admin.ts';
import { EGRESS_GATEWAY, type EgressEvidence, egressEvidence, egressVerdict, type ProxyReads } from '../helpers/mesh/egress-evidence.ts';
import { readMeshDrain } from '../helpers/mesh/mesh-config.ts';
import type { Kube } from '../helpers/cluster/kube.ts';
import { pollTimed, RetryableError } from '../helpers/run/poll.ts';
import { log, seconds } from '../helpers/run/progress.ts';
import { hostPort } from '../helpers/external/address.ts';
import {
  CART, GATEWAY_SUBSET, gatewaySteps as chapter, outboundCluster, serviceEntryCluster, WORKSHOP_SERVICE_ENTRY_HOST,
} from './chapter.ts';
import { describe, expect, test } from './fixtures.ts';

// Users of this run; each step (and each attempt of a retried call) writes to its own user.
const RUN = `egress-verify-gw-${Date.now().toString(36)}`;
const ITEM = { productId: '66VCHSJNUP', quantity: 2 };
/** The cart sidecar's cluster for the gateway, as fixtures/egress-gateway.yaml's DestinationRule makes it. */
const GATEWAY_SUBSET_CLUSTER = outboundCluster(443, EGRESS_GATEWAY.host, GATEWAY_SUBSET);

async function gatewayPod(kube: Kube, timeoutMs: number): Promise<string> {
  // The gateway's own Envoy container is named istio-proxy, like a sidecar.
  const pod = await kube.readyPod(EGRESS_GATEWAY.namespace, EGRESS_GATEWAY.selector, true, timeoutMs);
  return pod.metadata!.name!;
}

async function read(kube: Kube, cartPod: string, gateway: string): Promise<ProxyReads> {
  const [client, gw] = await Promise.all([
    proxyClustersPage(kube, CART.namespace, cartPod),
    proxyClustersPage(kube, EGRESS_GATEWAY.namespace, gateway),
  ]);
  return { client: client.hosts, gateway: gw.hosts };
}

interface Landed {
  cart: { gone?: string[]; present?: string[] };
  gateway: { gone?: string[]; present?: string[] };
}

/**
 * Waits until a routing change has reached both proxies (clusters gone or present), so that a
 * first read taken next is not of the old routing: counters of a cluster removed and added
 * again between two reads cannot be compared (counterIncrease in helpers/mesh/istio.ts).
 */
async function untilLanded(kube: Kube, cartPod: string, gateway: string, want: Landed, timeoutMs: number, what: string) {
  return pollTimed(`the proxies' clusters to show ${what}`, timeoutMs, async () => {
    const [c, g] = await Promise.all([
      proxyClustersPage(kube, CART.namespace, cartPod),
      proxyClustersPage(kube, EGRESS_GATEWAY.namespace, gateway),
    ]);
    const wrong = [...routingNotLanded(c, want.cart).map((w) => `cart sidecar ${w}`), ...routingNotLanded(g, want.gateway).map((w) => `gateway ${w}`)];
    if (wrong.length > 0) throw new RetryableError(wrong.join('; '));
    return true;
  });
}

const show = (e: EgressEvidence) => `opened between the reads ${JSON.stringify(e.opened)}, open now ${JSON.stringify(e.open)}`;

describe('Egress Gateway: Redis leaves the mesh through istio-egressgateway, for the cart only', () => {
  test(chapter.installed.title, async ({ step, kube, env }) => {
    await step(chapter.installed, async () => {
      const svc = await kube.core.readNamespacedService({ name: EGRESS_GATEWAY.service, namespace: EGRESS_GATEWAY.namespace });
      expect(svc.spec?.ports?.map((p) => ({ port: p.port, targetPort: p.targetPort }))).toContainEqual({ port: 443, targetPort: 8443 });
      await gatewayPod(kube, env.settings.readyTimeoutMs);
    });
  });

  test(chapter.route.title, async ({ step, kube, workloads, probes, env, note }) => {
    await step(chapter.route, async () => {
      await workloads.run(chapter.route);
      const ok = await probes.meshedUntil('answered', 'the meshed probe to be answered through the gateway');
      await note('propagation: gateway routing applied -> Redis reachable', ok);
      // Envoy logs a TCP connection when it closes: the probe's connections are closed, so the
      // gateway's access log must name the upstream it opened for them, the Redis endpoint,
      // through the ServiceEntry's cluster. (The cart's connection stays open: it is judged by
      // the proxies' counters in the next step.)
      const gateway = await gatewayPod(kube, env.settings.readyTimeoutMs);
      const lines = await pollTimed('the gateway access log to record the probe\'s connections to Redis', 30_000, async () => {
        const found = accessLogLinesTo(await kube.logs(EGRESS_GATEWAY.namespace, gateway, 'istio-proxy', 2000), serviceEntryCluster(env.redis), hostPort(env.redis));
        if (found.length === 0) throw new RetryableError('no matching line yet');
        return found;
      });
      log(`gateway access log: ${lines.value.length} connection(s) to Redis, e.g. ${lines.value[0]}`);
    });
  });

  test(chapter.through.title, async ({ step, kube, workloads, cart, redis, env, note }) => {
    await step(chapter.through, async () => {
      const endpoint = hostPort(env.redis);
      const gateway = await gatewayPod(kube, env.settings.readyTimeoutMs);
      const cartPod = await workloads.cartPod();
      await untilLanded(kube, cartPod, gateway, {
        cart: { present: [GATEWAY_SUBSET_CLUSTER] }, gateway: { present: [serviceEntryCluster(env.redis)] },
      }, env.settings.propagationTimeoutMs, 'the gateway routing');
      const before = await read(kube, cartPod, gateway);
      const added = await cart.addItemUntil('accepted', `${RUN}-through`, ITEM, env.settings.propagationTimeoutMs);
      await note('cart reconnected through the gateway', added);
      const user = added.value.userId;
      expect((await cart.getCart(user)).items).toEqual([ITEM]);
      expect(readStoredCart(await redis.hgetall(user)).cart.items).toEqual([ITEM]);

      // The cart keeps its Redis connection open: judge where it is now (cx_active), and that
      // no connection went straight to Redis meanwhile (cx_total per cluster and host).
      const judged = await pollTimed('the proxies to show where the cart\'s Redis connection goes', 30_000, async () => {
        const e = egressEvidence(before, await read(kube, cartPod, gateway), endpoint);
        // Not yet visible is worth waiting for; a direct connection is not going to go away.
        const direct = e.opened.direct > 0 || e.open.direct > 0;
        if (egressVerdict(e) === 'inconclusive' && !direct) throw new RetryableError(show(e));
        return e;
      });
      const e = judged.value;
      log(`egress path of the cart: ${egressVerdict(e)}: ${show(e)}`);
      expect(e.opened.direct, 'the cart sidecar connected to Redis itself').toBe(0);
      expect(e.open.direct, 'the cart sidecar holds a connection to Redis itself').toBe(0);
      expect(e.open.toGateway, 'the cart sidecar holds no connection to the gateway').toBeGreaterThan(0);
      expect(e.open.gatewayToRedis, 'the gateway holds no connection to Redis').toBeGreaterThan(0);
      expect(egressVerdict(e)).toBe('through-gateway');
    });
  });

  test(chapter.authz.title, async ({ step, kube, workloads, probes, cart, env, note }) => {
    await step(chapter.authz, async () => {
      const gateway = await gatewayPod(kube, env.settings.readyTimeoutMs);
      const rbac = async () => {
        const stats = parseTextStats(await proxyAdmin(kube, EGRESS_GATEWAY.namespace, gateway, 'stats?filter=rbac'));
        return { allowed: rbacCount(stats, 'allowed'), denied: rbacCount(stats, 'denied') };
      };
      const before = await rbac();
      await workloads.run(chapter.authz);
      // The probe runs as service account `probe`: once the policy is in force it is denied
      // (accepted by the gateway, then closed), three times in a row.
      const denied = await probes.meshedUntil('closed', 'the probe (another service account) to be denied at the gateway');
      await note('propagation: AuthorizationPolicy applied -> other workload denied', denied);
      const afterDeny = await rbac();
      log(`gateway RBAC: ${JSON.stringify(before)} -> ${JSON.stringify(afterDeny)}`);
      expect(afterDeny.denied).toBeGreaterThan(before.denied);

      // The cart's Redis connection predates the policy (RBAC checks a connection when it
      // opens), so restart the cart: its new connection must pass the policy on its identity.
      await kube.restartPods(CART.namespace, CART.selector, 'cartservice', env.settings.readyTimeoutMs);
      const added = await cart.addItemUntil('accepted', `${RUN}-authz`, ITEM, env.settings.propagationTimeoutMs);
      await note('restarted cart allowed through the gateway', added);
      expect((await cart.getCart(added.value.userId)).items).toEqual([ITEM]);
      const afterCart = await rbac();
      expect(afterCart.allowed, 'the gateway allowed no new connection for the cart').toBeGreaterThan(afterDeny.allowed);
      expect(afterCart.denied - afterDeny.denied, 'the cart was denied').toBe(0);
    });
  });

  test(chapter.bypass.title, async ({ step, kube, workloads, probes, cart, env, note }) => {
    await step(chapter.bypass, async () => {
      const endpoint = hostPort(env.redis);
      await workloads.run(chapter.bypass);
      // The workshop's check: telnet connects. It does...
      await probes.meshedUntil('answered', 'the meshed probe to be answered with the workshop\'s manifests');
      // ...but measured where the connections go, the gateway is not on the path. First the
      // old routing must be gone from both proxies (its clusters no longer listed) and the
      // workshop's ServiceEntry cluster present, so the first read is of the new routing.
      const gateway = await gatewayPod(kube, env.settings.readyTimeoutMs);
      const cartPod = await workloads.cartPod();
      const landed = await untilLanded(kube, cartPod, gateway, {
        cart: {
          gone: [GATEWAY_SUBSET_CLUSTER, serviceEntryCluster(env.redis)],
          present: [outboundCluster(env.redis.port, WORKSHOP_SERVICE_ENTRY_HOST)],
        },
        gateway: { gone: [serviceEntryCluster(env.redis)] },
      }, env.settings.propagationTimeoutMs, 'the workshop\'s routing');
      await note('propagation: workshop manifests applied -> old routing gone from the proxies', landed);
      const before = await read(kube, cartPod, gateway);
      // The cart's connection through the gateway predates the change and lasts until the
      // sidecar has drained the listener it came through (drainDuration); then the cart opens
      // a new one. Call until the proxies show where that one goes; the wait is the drain's.
      const drain = await readMeshDrain(kube);
      const deadline = cartDrainDeadlineMs(drain.ms, cart.deadlineMs);
      log(`drain: waiting up to ${seconds(deadline)} for the cart's old connection to be drained (drainDuration ${seconds(drain.ms)}, ${drain.source})`);
      let attempt = 0;
      const judged = await pollTimed('the cart\'s new Redis connection to show its path', deadline, async () => {
        // Fresh user per call: whether a call lands is not what this step judges.
        await cart.addItem(`${RUN}-bypass-${++attempt}`, ITEM).catch((e: unknown) => {
          if (!(e instanceof CartCallError)) throw e;
        });
        const e = egressEvidence(before, await read(kube, cartPod, gateway), endpoint);
        const verdict = egressVerdict(e);
        if (verdict === 'through-gateway') throw new Error(`the workshop's manifests routed the cart through the gateway: ${show(e)}`);
        if (verdict === 'inconclusive') throw new RetryableError(`no new connection judged yet: ${show(e)}`);
        return e;
      }, undefined, { intervalMs: 2000 });
      const e = judged.value;
      log(`drain: the cart's new connection appeared ${seconds(judged.elapsedMs)} after the old routing was gone`);
      await note('drain: workshop manifests applied -> the cart\'s old connection drained, new one judged', judged);
      log(`workshop shape: ${egressVerdict(e)}: ${show(e)}`);
      expect(egressVerdict(e), 'the suite must report that the workshop\'s step bypasses the gateway').toBe('bypassed');
      expect(e.opened.gatewayToRedis + e.open.gatewayToRedis).toBe(0);
    });
  });
});
