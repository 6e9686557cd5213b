/**
 * The workshop's own chapter on the suite's environment (kind + Istio + the Redis stand-in):
 * every block of the page, in its order, is a test named by its id (`08-egress-gateway#step9.2`),
 * so JUnit and the matrix show which of the chapter's steps broke. Placeholders are substituted
 * (REDIS_ENDPOINT / REDIS_ADDR = the Redis address the cluster reaches); each manifest is dry-run
 * server-side with strict field validation before it is applied; telnet is judged by the probe
 * from a pod placed where the chapter places its client; expected outputs are compared. Known
 * defects of the pinned workshop are expected failures with their reason (workshop/run.ts).
 *
 * The chapter starts on a mesh that still allows everything and turns REGISTRY_ONLY on at its
 * mesh-mode step; the suite does that itself (the chapter's own command does nothing: a finding),
 * and puts REGISTRY_ONLY back at the end for the other scenario files.
 *
 * Without WORKSHOP_REPO every test here is reported as skipped, with that reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, test, type TestContext } from 'vitest';
import { EGRESS_GATEWAY } from '../helpers/mesh/egress-evidence.ts';
import { proxyClusters, upstreamConnections } from '../helpers/mesh/envoy-admin.ts';
import type { Kube } from '../helpers/cluster/kube.ts';
import { hasIstioSidecar } from '../helpers/cluster/kube-objects.ts';
import type { KubeObject } from '../helpers/run/manifests.ts';
import { render } from '../helpers/run/manifests.ts';
import { pollTimed, RetryableError } from '../helpers/run/poll.ts';
import { probeFromPod, probeScript, type ProbeResult } from '../helpers/external/probe.ts';
import { log } from '../helpers/run/progress.ts';
import { loadSettings } from '../helpers/run/settings.ts';
import { resolveTool, toolNeeds } from '../helpers/run/tools.ts';
import { substitute, yamlObjects } from '../workshop/check.ts';
import { classify, type Outcome } from '../workshop/classify.ts';
import { findChapter, readChapter } from '../workshop/parse.ts';
import { KNOWN_DEFECTS, meshModeProblem, planScenario, type PlannedTest } from '../workshop/run.ts';
import { setOutboundMode } from '../helpers/mesh/mesh-config.ts';
import { analyse, toMarkdown, type BlockResult } from '../workshop/report.ts';
import { kubeFor } from './environment.ts';

const settings = loadSettings();
const repo = settings.workshopRepo;
const labsDir = settings.workshopLabs;
const NOT_SET = 'WORKSHOP_REPO is not set: the workshop\'s own chapter runs only with WORKSHOP_REPO (and WORKSHOP_LABS) pointing at its checkouts';

function outcomeOf(r: ProbeResult): Outcome | 'other' {
  if (r.outcome === 'answered') return 'connected';
  if (r.outcome === 'closed') return 'closed';
  if (r.outcome === 'refused') return 'refused';
  return 'other';
}

if (!repo) {
  describe('the workshop\'s own chapter', () => {
    // The reason is in the title too: JSON and JUnit reports do not carry a skip note.
    test('every block of the chapter (skipped: WORKSHOP_REPO is not set)', (ctx) => ctx.skip(NOT_SET));
  });
} else {
  // Collected synchronously: the tests are the chapter's blocks.
  const file = settings.workshopChapter ?? findChapter(repo);
  const labsText = (p: string) => {
    try {
      return labsDir ? readFileSync(join(labsDir, p), 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
  const blocks = classify(readChapter(repo, file), (p) => {
    const t = labsText(p);
    return t === undefined ? undefined : yamlObjects(t);
  });

  describe(`the workshop's own chapter: ${file}`, () => {
    const results = new Map<string, BlockResult>();
    const applied: KubeObject[] = [];
    const work = mkdtempSync(join(tmpdir(), 'egress-verify-chapter-'));
    let kube: Kube;
    let values: Record<string, string>;
    let plan: PlannedTest[];
    let istioctl: string;
    /** Where the chapter's commands run: the pod of its last interactive shell, and the probe placed beside it. */
    const place = { namespace: 'default', pod: '', probe: '' };
    const judged = new Map<string, Outcome | 'other'>();
    let modeBefore: string | undefined;

    beforeAll(async () => {
      const env = inject('env');
      kube = kubeFor(env);
      values = {
        REDIS_ENDPOINT: env.redis.host, REDIS_ADDR: env.redis.host, REDIS_IP: env.redis.host,
        $REGION_ID: env.settings.gcpRegion, $ZONE_ID: env.settings.gcpZone ?? `${env.settings.gcpRegion}-a`,
        $WORKSHOP_HOME: work, $ISTIO_VERSION: env.settings.istioVersion,
      };
      plan = planScenario(blocks, (s) => substitute(s, values));
      istioctl = (await resolveTool(toolNeeds(env.settings)[1]!, env.settings)).path;
      // The chapter begins before its mesh-mode step: outbound traffic still allowed.
      modeBefore = await setOutboundMode(kube, 'ALLOW_ANY');
    });

    afterAll(async () => {
      if (kube) {
        await kube.delete(applied);
        await setOutboundMode(kube, (modeBefore as 'REGISTRY_ONLY' | undefined) ?? 'REGISTRY_ONLY');
      }
      rmSync(work, { recursive: true, force: true });
      if (repo) {
        const a = await analyse({ repo, labs: labsDir, chapter: file });
        const md = toMarkdown(a, results);
        await mkdir(settings.artifactsDir, { recursive: true });
        await writeFile(join(settings.artifactsDir, 'workshop-scenario-report.md'), md);
        if (process.env.GITHUB_STEP_SUMMARY) await writeFile(process.env.GITHUB_STEP_SUMMARY, md, { flag: 'a' });
      }
    });

    const env = () => inject('env');

    // As the chapter: `istioctl kube-inject -f FILE` with the cluster's own injection config
    // (istioctl's default); --kubeconfig/--context are istioctl's global flags.
    async function injected(path: string): Promise<KubeObject[]> {
      const { kubeconfigPath, context } = env();
      const r = await execa(istioctl, ['kube-inject', '-f', path, ...(kubeconfigPath ? ['--kubeconfig', kubeconfigPath] : []), '--context', context]);
      return yamlObjects(r.stdout) as KubeObject[];
    }

    async function applyChecked(id: string, objects: KubeObject[]): Promise<void> {
      const substituted = objects.map((o) => JSON.stringify(o)).join('\n');
      try {
        // Strict server-side dry run first (helpers/cluster/kube.ts; its request shape is self-tested in
        // self-tests/cluster/kube.dry-run.test.ts), so a refusal is this block's verdict with the server's words.
        await kube.dryRunApply(objects);
      } catch (e) {
        results.set(id, { verdict: 'fail', substituted, answer: e instanceof Error ? e.message : String(e) });
        throw e;
      }
      await kube.apply(objects, { dryRunFirst: false });
      applied.push(...objects);
      results.set(id, { verdict: 'pass', substituted });
    }

    /** A probe pod beside the chapter's pod: same namespace, a sidecar if (and only if) it has one. */
    async function placeProbe(namespace: string, pod: string): Promise<void> {
      const client = await kube.core.readNamespacedPod({ name: pod, namespace });
      const objects = render('fixtures/probe.yaml', {
        NAMESPACE: namespace, PROBE_IMAGE: env().settings.probeImage, PROBE_SCRIPT: probeScript(),
      });
      let toApply = objects;
      if (hasIstioSidecar(client)) {
        const path = join(work, 'probe.yaml');
        writeFileSync(path, objects.map((o) => `---\n${JSON.stringify(o)}`).join('\n'));
        toApply = await injected(path);
      }
      await kube.apply(toApply);
      applied.push(...toApply);
      await kube.waitForDeployment(namespace, 'probe', env().settings.readyTimeoutMs);
      const ready = await kube.readyPod(namespace, 'app=probe', hasIstioSidecar(client), env().settings.readyTimeoutMs);
      Object.assign(place, { namespace, pod, probe: ready.metadata!.name! });
    }

    async function probeUntil(host: string, port: number, expected: Outcome | undefined): Promise<Outcome | 'other'> {
      if (!place.probe) throw new Error('no client pod yet: the chapter opens no shell before this telnet');
      const once = async () => outcomeOf(await probeFromPod({ kube, namespace: place.namespace, pod: place.probe }, host, port));
      if (!expected) return once();
      // Config changes take time to reach the sidecar: poll until the outcome holds three times.
      try {
        return (await pollTimed(`telnet ${host} ${port} to be ${expected}`, env().settings.propagationTimeoutMs, async () => {
          const o = await once();
          if (o !== expected) throw new RetryableError(o);
          return o;
        }, undefined, { consecutive: 3 })).value;
      } catch {
        return once();
      }
    }

    for (const planned of blocks.map((b) => b.id)) {
      const body = async (ctx: TestContext) => {
        const t = plan.find((p) => p.id === planned)!;
        const a = t.action;
        switch (a.type) {
          case 'skip': {
            // gcloud with the real backend: the suite's Memorystore backend provides the instance
            // (MEMORYSTORE_CREATE creates it with the chapter's flags); it is not created twice.
            const reason = t.block.policy === 'environment' && t.block.commands.some((c) => c.words[0] === 'gcloud') && env().settings.redisBackend === 'memorystore'
              ? `REDIS_BACKEND=memorystore: the instance ${env().settings.redisInstance} is the suite's Memorystore backend (created with MEMORYSTORE_CREATE), not created again here`
              : a.reason;
            results.set(t.id, { verdict: 'skipped', answer: reason });
            ctx.skip(reason);
            return;
          }
          case 'apply': {
            const text = labsText(a.labsPath);
            if (text === undefined) throw new Error(`istio-workshop-labs/${a.labsPath} is not in WORKSHOP_LABS=${labsDir ?? '(not set)'}`);
            const path = join(work, 'labs', a.labsPath);
            await mkdir(join(work, 'labs'), { recursive: true });
            await writeFile(path, substitute(text, values));
            const objects = a.inject ? await injected(path) : (yamlObjects(readFileSync(path, 'utf8')) as KubeObject[]);
            await applyChecked(t.id, objects);
            for (const pod of objects.filter((o) => o.kind === 'Pod')) {
              await pollTimed(`pod ${pod.metadata.name} ready`, env().settings.readyTimeoutMs, async () => {
                const p = await kube.core.readNamespacedPod({ name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default' });
                if (!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) throw new RetryableError(p.status?.phase ?? 'unknown');
                return true;
              });
            }
            return;
          }
          case 'shell': {
            await placeProbe(a.namespace, a.pod);
            results.set(t.id, { verdict: 'pass', answer: `probe ${place.probe} placed beside ${a.namespace}/${a.pod}` });
            return;
          }
          case 'probe': {
            const got = await probeUntil(a.host, a.port, a.expected);
            judged.set(t.id, got);
            results.set(t.id, { verdict: 'pass', answer: `probe from ${place.namespace}/${place.probe}: ${got}` });
            if (a.expected) expect(got, `telnet ${a.host} ${a.port}`).toBe(a.expected);
            return;
          }
          case 'compare': {
            const got = judged.get(a.of);
            results.set(t.id, { verdict: got === a.expected ? 'pass' : 'fail', answer: `${a.of} was ${got ?? 'not run'}` });
            expect(got, `the outcome of ${a.of}`).toBe(a.expected);
            return;
          }
          case 'reprobe': {
            const gateway = (await kube.readyPod(EGRESS_GATEWAY.namespace, EGRESS_GATEWAY.selector, true, env().settings.readyTimeoutMs)).metadata!.name!;
            const endpoint = `${a.host}:${a.port}`;
            const through = async () => upstreamConnections(await proxyClusters(kube, EGRESS_GATEWAY.namespace, gateway), /^outbound\|/, endpoint);
            const before = await through();
            const got = await probeUntil(a.host, a.port, a.expected);
            const viaGateway = (await through()) - before;
            results.set(t.id, { verdict: 'pass', answer: `probe: ${got}; connections from istio-egressgateway to ${endpoint}: +${viaGateway}` });
            expect(got, `telnet ${a.host} ${a.port}`).toBe(a.expected);
            // After the chapter's egress-gateway step (a labs file with a Gateway), "connected"
            // must mean through the gateway, as the chapter's title says.
            const index = plan.indexOf(t);
            const afterGatewayStep = plan.slice(0, index).some((p) => p.action.type === 'apply'
              && yamlObjects(labsText(p.action.labsPath) ?? '').some((o) => o.kind === 'Gateway'));
            if (afterGatewayStep) expect(viaGateway, 'connections through istio-egressgateway').toBeGreaterThan(0);
            return;
          }
          case 'mesh-mode': {
            // The suite sets the mode itself first, so the steps after this one still run.
            await setOutboundMode(kube, a.mode);
            const problem = meshModeProblem(t.block);
            results.set(t.id, { verdict: problem ? 'fail' : 'pass', answer: problem ?? `sets ${a.keys.join(', ')}` });
            log(`${t.id}: REGISTRY_ONLY set by the suite${problem ? `; the chapter's command would not: ${problem}` : ''}`);
            expect(problem).toBeUndefined();
            return;
          }
        }
      };
      const known = blocks.length ? KNOWN_DEFECTS[planned] : undefined;
      const recordFailure = (e: unknown) => {
        const r = results.get(planned);
        const message = e instanceof Error ? e.message : String(e);
        results.set(planned, { ...r, verdict: known ? 'expected failure' : 'fail', answer: r?.answer ? `${r.answer}\n${message}` : message });
      };
      if (known) {
        // A known defect: expected to fail (test.fails), so a fix in the workshop turns it red.
        test.fails(`${planned} (known defect: ${known})`, async (ctx) => {
          try {
            await body(ctx);
          } catch (e) {
            recordFailure(e);
            throw e;
          }
          results.set(planned, { ...results.get(planned), verdict: 'fail', answer: `passed although a known defect: ${known}; if the workshop fixed it, remove it from KNOWN_DEFECTS (workshop/run.ts)` });
        });
      } else {
        test(planned, async (ctx) => {
          try {
            await body(ctx);
          } catch (e) {
            recordFailure(e);
            throw e;
          }
        });
      }
    }
  });
}
