/**
 * What a scenario asks for, set up once per file and torn down after it (reverse order):
 *
 *   env        the environment from global setup (cluster, mesh, Redis address)
 *   kube       the Kubernetes API of that cluster (its own kubeconfig and context only)
 *   cleanup    this file's undo steps, registered the moment something needs undoing: undone
 *              last first at the file's end, and on Ctrl-C before the worker ends
 *   workloads  namespaces, probes and the Cart Service, deployed and ready (sidecar present)
 *   probes     the reachability probe from inside the mesh and from outside it
 *   cart       a gRPC client of the Cart Service through a port-forward
 *   redis      what is stored in the external Redis (read directly, not through the cart)
 *   workshop   the workshop's own chapter (WORKSHOP_REPO) planned and started on this cluster:
 *              the mesh on ALLOW_ANY (its restore registered first), the report written at the end
 *   step       runs one chapter step: on failure collects diagnostics and names the folder;
 *              after a failed step the rest of the file is skipped with that reason
 *   block      runs one block of the workshop's chapter (workshop/perform.ts): on an unexpected
 *              failure collects diagnostics and names the folder; the other blocks still run
 */
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { expect, inject, test as base } from 'vitest';
import { CartClient } from '../helpers/external/cart.ts';
import { collectDiagnostics, type DiagnosticsRequest } from '../helpers/cluster/diagnostics.ts';
import type { Kube } from '../helpers/cluster/kube.ts';
import { hasIstioSidecar } from '../helpers/cluster/kube-objects.ts';
import { EGRESS_GATEWAY } from '../helpers/mesh/egress-evidence.ts';
import { proxyClusters, upstreamConnections } from '../helpers/mesh/envoy-admin.ts';
import { setOutboundMode } from '../helpers/mesh/mesh-config.ts';
import { Cleanup } from '../helpers/run/cleanup.ts';
import { resolveTool, toolNeeds } from '../helpers/run/tools.ts';
import type { KubeObject } from '../helpers/run/manifests.ts';
import { type Polled, pollTimed, RetryableError } from '../helpers/run/poll.ts';
import { probeFromPod, type ProbeOutcome, type ProbeResult } from '../helpers/external/probe.ts';
import { log, seconds } from '../helpers/run/progress.ts';
import { CART, MESH_NS, OUTSIDE_NS, PROBE_SELECTOR, renderUse, scenarioOf, type Step, workloadSteps } from './chapter.ts';
import { type EnvHandle, kubeFor, removeTestObjects } from './environment.ts';
import { keepsEverything } from '../helpers/run/keep-and-reuse.ts';
import { substitute, yamlObjects } from '../workshop/check.ts';
import { performBlock, startChapter, type ChapterCluster, type ChapterRun, type Place } from '../workshop/perform.ts';
import { planScenario, readScenarioChapter } from '../workshop/plan.ts';
import { analyse, forJobSummary, toMarkdown, type BlockResult } from '../workshop/report.ts';

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

/** Runs the workshop chapter's block of this id; skips the test when the block is skipped. */
export type BlockRunner = (id: string) => Promise<void>;

interface ChapterState {
  failed: string | undefined;
  /** A failed setup (workloads, workshop), kept so that later tests fail at once instead of setting up again. */
  setupError: unknown;
}

/** What diagnostics collect: namespaces (events, pods, logs, ServiceEntries) and proxies (Envoy admin). */
type Evidence = Pick<DiagnosticsRequest, 'namespaces' | 'proxies'>;

/** The scenarios' own namespaces and proxies: the cart's, the probe's in the mesh, the gateway's. */
const SCENARIO_EVIDENCE: Evidence = {
  namespaces: [MESH_NS, OUTSIDE_NS, 'istio-system'],
  proxies: [[CART.namespace, CART.selector], [MESH_NS, PROBE_SELECTOR], ['istio-system', 'app=istio-egressgateway']],
};

/** The workshop chapter's: its `default` namespace and the current place's, the probe placed there, the gateway. */
export function workshopEvidence(place: Place | undefined): Evidence {
  return {
    namespaces: [...new Set(['default', ...(place ? [place.namespace] : []), 'istio-system'])],
    proxies: [...(place ? [[place.namespace, PROBE_SELECTOR] as const] : []), [EGRESS_GATEWAY.namespace, EGRESS_GATEWAY.selector]],
  };
}

/** chainsaw's catch: evidence of a failure, gathered only when one happened. */
async function diagnose(env: EnvHandle, kube: Kube, id: string, evidence: Evidence = SCENARIO_EVIDENCE): Promise<string> {
  const dir = join(env.settings.artifactsDir, 'diagnostics', id);
  await mkdir(dir, { recursive: true });
  const { problems } = await collectDiagnostics({ kube, dir, ...evidence });
  return `\nDiagnostics for step "${id}": ${dir}${problems.length ? ` (${problems.length} items could not be collected, see collection-problems.txt)` : ''}`;
}

/**
 * Ctrl-C reaches the test worker too (the terminal signals the whole process group), and would
 * end it at once, before any teardown. While a file runs, a signal undoes the file's cleanup
 * first, then ends the worker with that signal (`end`); a repeat of the same keypress is ignored
 * (Cleanup.REPEAT_WINDOW_MS), a later one ends it at once. Not Cleanup.onSignals: in a worker,
 * vitest turns process.exit into an error. Returns a function that gives the signals back.
 *
 * The run's own teardown (scenarios/global-setup.ts) runs meanwhile in the main process, and
 * vitest ends the workers when that process exits: where the teardown has next to nothing to do
 * (KEEP_CLUSTER, REUSE_CLUSTER) it can end this worker before its undo is done.
 */
export function undoOnSignals(
  cleanup: Cleanup,
  { target = process, end = (signal: NodeJS.Signals) => { process.kill(process.pid, signal); } }:
  { target?: Pick<NodeJS.EventEmitter, 'on' | 'off'>; end?: (signal: NodeJS.Signals) => void } = {},
): () => void {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  let firstAt: number | undefined;
  const giveBack = () => {
    for (const s of signals) target.off(s, handler);
  };
  function handler(signal: NodeJS.Signals): void {
    if (firstAt !== undefined) {
      if (performance.now() - firstAt < Cleanup.REPEAT_WINDOW_MS) return;
      log(`${signal} again: ending the worker now; not undone: ${cleanup.pending.reverse().join(', ') || 'nothing'}`);
      giveBack();
      end(signal);
      return;
    }
    firstAt = performance.now();
    log(`${signal}: undoing this file's changes before the worker ends (${cleanup.pending.length} items)`);
    void cleanup.run().finally(() => {
      giveBack();
      end(signal);
    });
  }
  for (const s of signals) target.on(s, handler);
  return giveBack;
}

/** The workshop chapter's cluster calls, on this cluster and with the istioctl of the run. */
function chapterCluster(env: EnvHandle, kube: Kube, istioctl: string): ChapterCluster {
  const s = env.settings;
  return {
    dryRun: (objects) => kube.dryRunApply(objects),
    apply: (objects) => kube.apply(objects, { dryRunFirst: false }),
    delete: (objects) => kube.delete(objects),
    // As the chapter: `istioctl kube-inject -f FILE` with the cluster's own injection config
    // (istioctl's default); --kubeconfig/--context are istioctl's global flags.
    inject: async (path) => {
      const r = await execa(istioctl, ['kube-inject', '-f', path, ...(env.kubeconfigPath ? ['--kubeconfig', env.kubeconfigPath] : []), '--context', env.context]);
      return yamlObjects(r.stdout) as KubeObject[];
    },
    podReady: async (namespace, name) => {
      await pollTimed(`pod ${name} ready`, s.readyTimeoutMs, async () => {
        const p = await kube.core.readNamespacedPod({ name, namespace });
        if (!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) throw new RetryableError(p.status?.phase ?? 'unknown');
        return true;
      });
    },
    hasSidecar: async (namespace, pod) => hasIstioSidecar(await kube.core.readNamespacedPod({ name: pod, namespace })),
    probePod: async (namespace, sidecar) => {
      await kube.waitForDeployment(namespace, 'probe', s.readyTimeoutMs);
      return (await kube.readyPod(namespace, PROBE_SELECTOR, sidecar, s.readyTimeoutMs)).metadata!.name!;
    },
    probe: (from, host, port) => probeFromPod({ kube, ...from }, host, port),
    egressGatewayPod: async () => (await kube.readyPod(EGRESS_GATEWAY.namespace, EGRESS_GATEWAY.selector, true, s.readyTimeoutMs)).metadata!.name!,
    gatewayConnections: async (pod, endpoint) => upstreamConnections(await proxyClusters(kube, EGRESS_GATEWAY.namespace, pod), /^outbound\|/, endpoint),
    setOutboundMode: (mode) => setOutboundMode(kube, mode),
  };
}

/** The chapter's report with each block's verdict: ARTIFACTS_DIR/workshop-scenario-report.md, and the job summary. */
async function writeWorkshopReport(env: EnvHandle, file: string, results: ReadonlyMap<string, BlockResult>): Promise<void> {
  const s = env.settings;
  const md = toMarkdown(await analyse({ repo: s.workshopRepo!, labs: s.workshopLabs, chapter: file }), results);
  await mkdir(s.artifactsDir, { recursive: true });
  const reportFile = join(s.artifactsDir, 'workshop-scenario-report.md');
  await writeFile(reportFile, md);
  if (process.env.GITHUB_STEP_SUMMARY) await writeFile(process.env.GITHUB_STEP_SUMMARY, forJobSummary(md, `\`workshop-scenario-report.md\` in this run's artifacts (written to \`${reportFile}\`)`), { flag: 'a' });
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
    cleanup: Cleanup;
    workshop: ChapterRun;
  };
  $test: { step: StepRunner; block: BlockRunner; note: (name: string, waited: Pick<Polled<unknown>, 'elapsedMs' | 'heldByMs'>) => Promise<void> };
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

  cleanup: [async ({}, use) => {
    const cleanup = new Cleanup();
    const giveBack = undoOnSignals(cleanup);
    try {
      await use(cleanup);
    } finally {
      // The signals are given back only after the undo: a Ctrl-C during it must not cut it short.
      const problems = await cleanup.run();
      giveBack();
      if (problems.length > 0) throw new Error(`cleanup left things behind:\n  ${problems.join('\n  ')}`);
    }
  }, { scope: 'file' }],

  workshop: [async ({ env, kube, cleanup, chapter }, use) => {
    if (chapter.setupError) throw chapter.setupError;
    const s = env.settings;
    if (!s.workshopRepo) throw new Error('the workshop fixture needs WORKSHOP_REPO');
    const source = readScenarioChapter({ repo: s.workshopRepo, labs: s.workshopLabs, chapter: s.workshopChapter });
    let run: ChapterRun | undefined;
    try {
      try {
        const work = await mkdtemp(join(tmpdir(), 'egress-verify-chapter-'));
        cleanup.add(`the chapter's work folder ${work}`, () => rm(work, { recursive: true, force: true }));
        const values = {
          REDIS_ENDPOINT: env.redis.host, REDIS_ADDR: env.redis.host, REDIS_IP: env.redis.host,
          $REGION_ID: s.gcpRegion, $ZONE_ID: s.gcpZone ?? `${s.gcpRegion}-a`,
          $WORKSHOP_HOME: work, $ISTIO_VERSION: s.istioVersion,
        };
        const plan = planScenario(source.blocks, (text) => substitute(text, values));
        const istioctl = (await resolveTool(toolNeeds(s)[1]!, s)).path;
        run = await startChapter({
          cluster: chapterCluster(env, kube, istioctl), cleanup, plan, labs: source.labs, labsDir: s.workshopLabs, work, values, settings: s,
        });
      } catch (e) {
        chapter.setupError = e;
        throw e;
      }
      await use(run);
    } finally {
      await writeWorkshopReport(env, source.file, run?.results ?? new Map());
    }
  }, { scope: 'file' }],

  workloads: [async ({ env, kube, chapter }, use) => {
    // vitest sets up a file fixture again for each test after a failure: fail at once instead.
    if (chapter.setupError) throw chapter.setupError;
    // A file fixture is not told its file; vitest's expect state is (the file this worker runs).
    const testPath = expect.getState().testPath ?? '';
    const scenario = scenarioOf(testPath);
    if (!scenario) throw new Error(`the workloads fixture is for the chapter's scenario files (scenarios/chapter.ts scenarioFiles), not ${testPath}`);
    const deploy: Step = workloadSteps(scenario)[0]!;
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
        await run(deploy);
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
        chapter.failed = deploy.id;
        chapter.setupError = e;
        if (e instanceof Error) e.message += await diagnose(env, kube, deploy.id);
        await recordTiming(env, deploy.id, performance.now() - started, false);
        throw e;
      }
      const [, meshedProbe, outsideProbe] = pods;
      await recordTiming(env, deploy.id, performance.now() - started, true);
      log(`${deploy.id} ready in ${seconds(performance.now() - started)}`);
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
    // When the first check already held, its start (0 s) says nothing: the time it was seen
    // holding is recorded, as an upper bound.
    await use((name, waited) => recordTiming(env, name, waited.elapsedMs > 0 ? waited.elapsedMs : waited.heldByMs, true,
      waited.elapsedMs > 0 ? 'measured' : 'measured: at most (held at the first check)'));
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

  block: [async ({ env, kube, workshop, skip }, use) => {
    await use(async (id: string) => {
      const skipped = await performBlock(workshop, id, (failed) => diagnose(env, kube, failed, workshopEvidence(workshop.place)));
      if (skipped !== undefined) skip(skipped);
    });
  }, { scope: 'test' }],
});

export { describe, expect } from 'vitest';
