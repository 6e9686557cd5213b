/**
 * What a scenario asks for, set up once per file and torn down after it (reverse order):
 *
 *   env        the environment from global setup (cluster, mesh, Redis address)
 *   kube       the Kubernetes API of that cluster (its own kubeconfig and context only)
 *   workloads  namespaces, probes and the Cart Service, deployed and ready (sidecar present)
 *   probes     the reachability probe from inside the mesh and from outside it
 *   cart       a gRPC client of the Cart Service through a port-forward
 *   redis      what is stored in the external Redis (read directly, not through the cart)
 *   step       runs one chapter step: on failure collects diagnostics and names the folder;
 *              after a failed step the rest of the file is skipped with that reason
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { inject, test as base } from 'vitest';
import { CartClient } from '../helpers/external/cart.ts';
import { collectDiagnostics } from '../helpers/cluster/diagnostics.ts';
import type { Kube } from '../helpers/cluster/kube.ts';
import type { KubeObject } from '../helpers/run/manifests.ts';
import { type Polled, pollTimed, RetryableError } from '../helpers/run/poll.ts';
import { probeFromPod, type ProbeOutcome, type ProbeResult } from '../helpers/external/probe.ts';
import { log, seconds } from '../helpers/run/progress.ts';
import { CART, MESH_NS, OUTSIDE_NS, PROBE_SELECTOR, renderUse, type Step, workloadSteps } from './chapter.ts';
import { type EnvHandle, kubeFor, removeTestObjects } from './environment.ts';
import { keepsEverything } from '../helpers/run/keep-and-reuse.ts';

export interface Workloads {
  /** Render and apply a step's manifests (or delete them, as the step says). */
  run(step: Step): Promise<KubeObject[]>;
  /** The cart's current ready pod (asked each time: a step may restart it). */
  cartPod(): Promise<string>;
  meshedProbePod: string;
  outsideProbePod: string;
}

export interface Probes {
  /** From the pod with a sidecar, in egress-verify-mesh. */
  meshed(): Promise<ProbeResult>;
  /**
   * Probes from inside the mesh every second until the outcome holds three times in a row
   * (istio/istio's echo checks) within PROPAGATION_TIMEOUT: how config changes are awaited.
   */
  meshedUntil(outcome: ProbeOutcome, what: string): Promise<Polled<ProbeResult>>;
  /** From the pod without a sidecar, in egress-verify-outside. */
  outside(): Promise<ProbeResult>;
}

export interface RedisStore {
  /** HGETALL with binary values, as the cart's cache library wrote them. */
  hgetall(key: string): Promise<Record<string, Buffer>>;
}

export type StepRunner = (step: Step, body: () => Promise<void>) => Promise<void>;

interface ChapterState {
  failed: string | undefined;
  /** A failed workloads setup, kept so that later tests fail at once instead of redeploying. */
  setupError: unknown;
}

/** chainsaw's catch: evidence of a failure, gathered only when one happened. */
async function diagnose(env: EnvHandle, kube: Kube, id: string): Promise<string> {
  const dir = join(env.settings.artifactsDir, 'diagnostics', id);
  await mkdir(dir, { recursive: true });
  const { problems } = await collectDiagnostics({
    kube, dir, namespaces: [MESH_NS, OUTSIDE_NS, 'istio-system'],
    proxies: [[CART.namespace, CART.selector], [MESH_NS, PROBE_SELECTOR], ['istio-system', 'app=istio-egressgateway']],
  });
  return `\nDiagnostics for step "${id}": ${dir}${problems.length ? ` (${problems.length} items could not be collected, see collection-problems.txt)` : ''}`;
}

async function recordTiming(env: EnvHandle, name: string, ms: number, ok: boolean, note?: string): Promise<void> {
  await appendFile(env.timingsFile, `${JSON.stringify({ name, ms: Math.round(ms), ok, note })}\n`);
}

export const test = base.extend<{
  $file: {
    env: EnvHandle;
    kube: Kube;
    workloads: Workloads;
    probes: Probes;
    cart: CartClient;
    redis: RedisStore;
    chapter: ChapterState;
  };
  $test: { step: StepRunner; note: (name: string, ms: number) => Promise<void> };
}>({
  env: [async ({}, use) => {
    await use(inject('env'));
  }, { scope: 'file' }],

  kube: [async ({ env }, use) => {
    await use(kubeFor(env));
  }, { scope: 'file' }],

  chapter: [async ({}, use) => {
    await use({ failed: undefined, setupError: undefined });
  }, { scope: 'file' }],

  workloads: [async ({ env, kube, chapter }, use) => {
    // vitest sets up a file fixture again for each test after a failure: fail at once instead.
    if (chapter.setupError) throw chapter.setupError;
    const s = env.settings;
    const applied: KubeObject[] = [];
    const run = async (step: Step) => {
      const objects: KubeObject[] = [];
      for (const m of step.manifests) {
        const rendered = renderUse(m, s, env.redis, 'apply');
        if (m.action === 'delete') await kube.delete(rendered);
        else {
          await kube.apply(rendered);
          applied.push(...rendered);
        }
        objects.push(...rendered);
      }
      return objects;
    };
    const started = performance.now();
    // Keeping (KEEP_CLUSTER/REUSE_CLUSTER): the previous file's (or run's) objects were left for
    // inspection, so they are removed here, at the start, and this file's are left at its end.
    const keep = keepsEverything(s);
    try {
      let pods: V1Pod[];
      try {
        if (keep) await removeTestObjects(kube, s);
        for (const step of workloadSteps()) await run(step);
        await Promise.all([
          kube.waitForDeployment(OUTSIDE_NS, 'probe', s.readyTimeoutMs),
          kube.waitForDeployment(MESH_NS, 'probe', s.readyTimeoutMs),
          kube.waitForDeployment(CART.namespace, 'cartservice', s.readyTimeoutMs),
        ]);
        // Ready, and with (or without) the sidecar each must have.
        pods = await Promise.all([
          kube.readyPod(CART.namespace, CART.selector, true, s.readyTimeoutMs),
          kube.readyPod(MESH_NS, PROBE_SELECTOR, true, s.readyTimeoutMs),
          kube.readyPod(OUTSIDE_NS, PROBE_SELECTOR, false, s.readyTimeoutMs),
        ]);
      } catch (e) {
        chapter.failed = 'workloads';
        chapter.setupError = e;
        if (e instanceof Error) e.message += await diagnose(env, kube, 'workloads');
        await recordTiming(env, 'workloads', performance.now() - started, false);
        throw e;
      }
      const [, meshedProbe, outsideProbe] = pods;
      await recordTiming(env, 'workloads', performance.now() - started, true);
      log(`workloads ready in ${seconds(performance.now() - started)}`);
      await use({
        run,
        cartPod: async () => (await kube.readyPod(CART.namespace, CART.selector, true, s.readyTimeoutMs)).metadata!.name!,
        meshedProbePod: meshedProbe!.metadata!.name!,
        outsideProbePod: outsideProbe!.metadata!.name!,
      });
    } finally {
      if (keep) {
        log('keeping the test namespaces for inspection (KEEP_CLUSTER/REUSE_CLUSTER); the next file or run replaces them');
      } else {
        // Namespaces take their objects with them; the wait keeps the next file from racing them.
        const namespaces = applied.filter((o) => o.kind === 'Namespace');
        await kube.delete(applied.filter((o) => o.kind !== 'Namespace' && !namespaces.some((n) => n.metadata.name === o.metadata.namespace)));
        await kube.deleteNamespaces(namespaces, s.readyTimeoutMs);
      }
    }
  }, { scope: 'file' }],

  probes: [async ({ env, kube, workloads }, use) => {
    const { host, port } = env.redis;
    const meshed = () => probeFromPod({ kube, namespace: MESH_NS, pod: workloads.meshedProbePod }, host, port);
    await use({
      meshed,
      meshedUntil: (outcome, what) => pollTimed(what, env.settings.propagationTimeoutMs, async () => {
        const r = await meshed();
        if (r.outcome !== outcome) throw new RetryableError(JSON.stringify(r));
        return r;
      }, undefined, { consecutive: 3 }),
      outside: () => probeFromPod({ kube, namespace: OUTSIDE_NS, pod: workloads.outsideProbePod }, host, port),
    });
  }, { scope: 'file' }],

  cart: [async ({ kube, workloads }, use) => {
    const forward = await kube.portForward(CART.namespace, () => workloads.cartPod(), CART.port);
    const client = new CartClient(`${forward.host}:${forward.port}`);
    try {
      await use(client);
    } finally {
      client.close();
      await forward.close();
    }
  }, { scope: 'file' }],

  redis: [async ({ env, kube, workloads }, use) => {
    if (!env.redisFromHost) {
      // Memorystore is reachable only inside its VPC: read it from the probe pod outside the mesh.
      await use({
        hgetall: async (key) => {
          const r = await probeFromPod({ kube, namespace: OUTSIDE_NS, pod: workloads.outsideProbePod }, env.redis.host, env.redis.port, 5000, key);
          if (r.outcome !== 'answered' || !r.hash) throw new Error(`reading ${key} from Redis through the cluster failed: ${JSON.stringify(r)}`);
          return Object.fromEntries(Object.entries(r.hash).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
        },
      });
      return;
    }
    const client = new Redis({ ...env.redisFromHost, lazyConnect: true, maxRetriesPerRequest: 2 });
    await client.connect();
    try {
      await use({ hgetall: (key) => client.hgetallBuffer(key) });
    } finally {
      client.disconnect();
    }
  }, { scope: 'file' }],

  note: [async ({ env }, use) => {
    await use((name: string, ms: number) => recordTiming(env, name, ms, true, 'measured'));
  }, { scope: 'test' }],

  step: [async ({ env, kube, chapter, skip }, use) => {
    await use(async (step: Step, body: () => Promise<void>) => {
      if (chapter.failed) skip(`an earlier step failed ("${chapter.failed}"); this one depends on it`);
      const started = performance.now();
      let ok = false;
      try {
        await body();
        ok = true;
      } catch (e) {
        chapter.failed = step.id;
        const where = await diagnose(env, kube, step.id);
        if (e instanceof Error) e.message += where;
        throw e;
      } finally {
        await recordTiming(env, `step ${step.id}`, performance.now() - started, ok);
      }
    });
  }, { scope: 'test' }],
});

export { describe, expect } from 'vitest';
