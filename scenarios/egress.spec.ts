/**
 * The "Egress Gateway" chapter, as the workshop tells it:
 *   the cart keeps its carts in a managed Redis outside the cluster; the mesh allows only what
 *   its registry declares (REGISTRY_ONLY), so the cart fails until a ServiceEntry declares
 *   that Redis; then it works; and without the ServiceEntry it is blocked again.
 *
 * Each step is its own test, in the chapter's order. "Blocked" must be the mesh's doing (the
 * sidecar accepted and closed the connection, BlackHoleCluster counted it) while Redis answered
 * from outside the mesh; "works" means the item came back and is in Redis.
 */
import { CartCallError, grpcStatus, readStoredCart } from '../helpers/external/cart.ts';
import { cartDrainDeadlineMs } from '../helpers/mesh/drain.ts';
import { blackHoleConnections, proxyClusters, proxyStats, upstreamConnections } from '../helpers/mesh/envoy-admin.ts';
import { readMeshDrain } from '../helpers/mesh/mesh-config.ts';
import { pollTimed, RetryableError } from '../helpers/run/poll.ts';
import { log, seconds } from '../helpers/run/progress.ts';
import { hostPort } from '../helpers/external/address.ts';
import { CART, egressSteps as chapter, serviceEntryCluster } from './chapter.ts';
import { describe, expect, test } from './fixtures.ts';

// Users of this run, so a kept cluster or a reused Redis never mixes runs; each step (and each
// attempt of a retried call, see CartClient.addItemUntil) writes to a user of its own, so what
// a cart holds is exactly what one accepted call wrote.
const RUN = `egress-verify-${Date.now().toString(36)}`;
const ITEM = { productId: 'OLJCESPC7Z', quantity: 3 }; // a product id from the Online Boutique catalogue

/** The cart's call fails the way cartservice fails without its storage. */
async function expectCartStorageFailure(call: Promise<unknown>): Promise<void> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err, 'the cart call succeeded although Redis should be unreachable').toBeInstanceOf(CartCallError);
  expect(grpcStatus[(err as CartCallError).code]).toBe('FAILED_PRECONDITION');
  expect((err as CartCallError).details).toMatch(/^Can't access cart storage/);
}

describe('Egress Gateway: the cart reaches its external Redis only through a declared ServiceEntry', () => {
  test(chapter.control.title, async ({ step, probes }) => {
    await step(chapter.control, async () => {
      const r = await probes.outside();
      expect(r, 'Redis did not answer from outside the mesh: later failures would prove nothing').toMatchObject({ outcome: 'answered', reply: '+PONG' });
    });
  });

  test(chapter.blocked.title, async ({ step, probes, cart, kube, workloads }) => {
    await step(chapter.blocked, async () => {
      // The chapter's telnet: "Connection closed by foreign host", i.e. accepted, then closed.
      const meshed = await probes.meshed();
      expect(meshed.outcome, `from inside the mesh: ${JSON.stringify(meshed)}`).toBe('closed');

      const before = blackHoleConnections(await proxyStats(kube, CART.namespace, await workloads.cartPod()));
      await expectCartStorageFailure(cart.addItem(`${RUN}-blocked`, ITEM));
      // The cart's own sidecar sent its Redis connection to BlackHoleCluster.
      const rose = await pollTimed('BlackHoleCluster TCP connections to rise in the cart sidecar', 30_000, async () => {
        const now = blackHoleConnections(await proxyStats(kube, CART.namespace, await workloads.cartPod()));
        if (now.count <= before.count) throw new RetryableError(`before ${before.count}, now ${now.count} (counted by: ${now.counted.join(', ') || 'no BlackHoleCluster stat in this proxy'})`);
        return now;
      });
      log(`BlackHoleCluster TCP connections in the cart sidecar: ${before.count} -> ${rose.value.count} (${rose.value.counted.join(' + ')})`);

      // And at the same time Redis itself is fine: the mesh is what blocks.
      expect((await probes.outside()).outcome).toBe('answered');
    });
  });

  test(chapter.serviceEntry.title, async ({ step, workloads, probes, env, note }) => {
    await step(chapter.serviceEntry, async () => {
      await workloads.run(chapter.serviceEntry);
      // Propagation: istiod pushes the new listener to the sidecars. Retry every second until
      // the probe is answered three times in a row (the istio/istio echo-check convention).
      const allowed = await probes.meshedUntil('answered', 'the meshed probe to be answered by Redis');
      log(allowed.elapsedMs > 0
        ? `ServiceEntry propagated to the sidecar in ${seconds(allowed.elapsedMs)} (${allowed.attempts} probes)`
        : `ServiceEntry propagated to the sidecar before the first probe answered, within ${seconds(allowed.heldByMs)} (${allowed.attempts} probes)`);
      await note('propagation: ServiceEntry applied -> Redis reachable', allowed);
      expect(allowed.value.reply).toBe('+PONG');
    });
  });

  test(chapter.allowed.title, async ({ step, cart, redis, kube, workloads, env, note }) => {
    await step(chapter.allowed, async () => {
      // The cart's Redis client reconnects on its own schedule after the failures: retry the
      // first call until it succeeds, within the propagation deadline.
      const added = await cart.addItemUntil('accepted', `${RUN}-allowed`, ITEM, env.settings.propagationTimeoutMs);
      await note('cart reconnected to Redis after the ServiceEntry', added);
      const user = added.value.userId;

      // Exactly the one accepted write: the user is fresh, no other call wrote to it.
      const got = await cart.getCart(user);
      expect(got.items).toEqual([ITEM]);

      // The data reached the external store: read it there, not through the cart.
      const stored = readStoredCart(await redis.hgetall(user));
      log(`cart of ${user} found in Redis (HASH field "${stored.field}")`);
      expect(stored.cart.items).toEqual([ITEM]);

      // And the cart's sidecar connected through the cluster the ServiceEntry declared, to the
      // declared endpoint (STATIC): `outbound|6379||redis.memorystore.internal` -> <ip>:6379.
      const clusters = await proxyClusters(kube, CART.namespace, await workloads.cartPod());
      const via = upstreamConnections(clusters, serviceEntryCluster(env.redis), hostPort(env.redis));
      expect(via, 'connections from the cart sidecar through the ServiceEntry cluster').toBeGreaterThan(0);
    });
  });

  test(chapter.removed.title, async ({ step, workloads, probes, cart, kube, env, note }) => {
    await step(chapter.removed, async () => {
      await workloads.run(chapter.removed);
      const blocked = await probes.meshedUntil('closed', 'the meshed probe to be closed again');
      await note('propagation: ServiceEntry deleted -> Redis blocked', blocked);
      // The cart's already-open Redis connection ends only when the sidecar has drained the
      // removed listener (the mesh's drainDuration); then the cart reconnects, into the
      // blackhole, and every call fails again. That wait is bounded by the drain, not by
      // PROPAGATION_TIMEOUT (helpers/mesh/drain.ts).
      const drain = await readMeshDrain(kube);
      const deadline = cartDrainDeadlineMs(drain.ms, cart.deadlineMs);
      log(`drain: waiting up to ${seconds(deadline)} for the cart's open Redis connection to be drained (drainDuration ${seconds(drain.ms)}, ${drain.source})`);
      const failing = await cart.addItemUntil('rejected', `${RUN}-removed`, ITEM, deadline);
      log(`drain: the cart fails again ${seconds(failing.elapsedMs)} after Redis was blocked for new connections`);
      await note('drain: ServiceEntry deleted -> the cart\'s open connection drained, cart failing again', failing);
      await expectCartStorageFailure(Promise.reject(failing.value));
      expect((await probes.outside()).outcome).toBe('answered');
    });
  });
});
