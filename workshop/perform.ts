/**
 * The workshop scenario's planned actions (workshop/plan.ts) carried out, one function per action
 * kind, each recording the block's verdict for the report (workshop/report.ts BlockResult) and
 * throwing when the block's outcome is not the chapter's. What they need from the cluster comes
 * through `ChapterCluster` (scenarios/fixtures.ts implements it on kind), so the self-tests run
 * them against a stand-in.
 *
 * What an action is about to change is registered with the run's cleanup (helpers/run/cleanup.ts)
 * before it changes it: the mesh's outbound mode before ALLOW_ANY is set, the objects before they
 * are applied. A failure, the end of the file and a Ctrl-C then undo them, last first.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Cleanup } from '../helpers/run/cleanup.ts';
import { render, type KubeObject } from '../helpers/run/manifests.ts';
import { pollTimed, RetryableError } from '../helpers/run/poll.ts';
import { log } from '../helpers/run/progress.ts';
import type { Settings } from '../helpers/run/settings.ts';
import { probeScript, type ProbeResult } from '../helpers/external/probe.ts';
import { substitute, yamlObjects, type LabsReader, type PlaceholderValues } from './check.ts';
import type { Outcome } from './classify.ts';
import { meshModeProblem, type Action, type PlannedTest } from './plan.ts';
import { workflowCommand, type BlockResult } from './report.ts';

/** What the actions ask of the cluster. */
export interface ChapterCluster {
  /** Server-side dry run with strict field validation; throws the server's refusal. */
  dryRun(objects: readonly KubeObject[]): Promise<void>;
  /** Applies, without a dry run of its own. */
  apply(objects: readonly KubeObject[]): Promise<void>;
  /** Deletes, ignoring objects already gone, last first. */
  delete(objects: readonly KubeObject[]): Promise<void>;
  /** `istioctl kube-inject -f PATH` with the cluster's own injection config. */
  inject(path: string): Promise<KubeObject[]>;
  /** Waits until the pod is Ready. */
  podReady(namespace: string, name: string): Promise<void>;
  /** Whether the pod has an Istio sidecar. */
  hasSidecar(namespace: string, pod: string): Promise<boolean>;
  /** Waits for the probe Deployment in the namespace; its ready pod (with a sidecar or without, as asked). */
  probePod(namespace: string, sidecar: boolean): Promise<string>;
  /** One probe (helpers/external/probe.mjs) from the pod to host:port. */
  probe(from: { namespace: string; pod: string }, host: string, port: number): Promise<ProbeResult>;
  /** The ready istio-egressgateway pod. */
  egressGatewayPod(): Promise<string>;
  /** Connections the gateway pod has opened to the endpoint (host:port) through outbound clusters, so far. */
  gatewayConnections(pod: string, endpoint: string): Promise<number>;
  /** Sets the mesh's outbound mode; returns the mode before (undefined: not set). */
  setOutboundMode(mode: 'REGISTRY_ONLY' | 'ALLOW_ANY'): Promise<string | undefined>;
}

/** Where undo steps go: the run's cleanup, undone last first. */
export type Undo = Pick<Cleanup, 'add'>;

export interface ChapterOptions {
  cluster: ChapterCluster;
  cleanup: Undo;
  plan: readonly PlannedTest[];
  labs: LabsReader;
  /** WORKSHOP_LABS, for messages. */
  labsDir: string | undefined;
  /** $WORKSHOP_HOME: the substituted labs files and the probe's manifest are written under it. */
  work: string;
  values: PlaceholderValues;
  settings: Pick<Settings, 'probeImage' | 'propagationTimeoutMs' | 'redisBackend' | 'redisInstance'>;
}

/** Where the chapter's commands run: the pod of its last interactive shell, and the probe beside it. */
export interface Place {
  namespace: string;
  pod: string;
  probe: string;
}

export interface ChapterRun extends ChapterOptions {
  /** Each block's verdict, for the report. */
  readonly results: Map<string, BlockResult>;
  /** The outcome of each telnet block run so far. */
  readonly judged: Map<string, Outcome | 'other'>;
  place: Place | undefined;
  /** Everything applied so far (and being applied): deleted at the end. */
  readonly applied: KubeObject[];
}

/** The block's outcome is not the chapter's: what was judged, what came, what the chapter shows. */
export class OutcomeMismatch extends Error {
  readonly actual: unknown;
  readonly expected: unknown;

  constructor(what: string, actual: unknown, expected: unknown, relation = 'to be') {
    super(`${what}: expected ${JSON.stringify(actual)} ${relation} ${JSON.stringify(expected)}`);
    this.name = 'OutcomeMismatch';
    this.actual = actual;
    this.expected = expected;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The mode to put back: the one before, REGISTRY_ONLY when it was not set (or not read yet). */
function modeToRestore(before: string | undefined): 'REGISTRY_ONLY' | 'ALLOW_ANY' {
  return (before as 'REGISTRY_ONLY' | 'ALLOW_ANY' | undefined) ?? 'REGISTRY_ONLY';
}

/**
 * The chapter begins before its mesh-mode step, on a mesh that still allows everything: sets
 * ALLOW_ANY, after registering the mode's restore (so a Ctrl-C or a failure at any point after
 * the write puts it back).
 */
export async function startChapter(o: ChapterOptions): Promise<ChapterRun> {
  let before: string | undefined;
  o.cleanup.add('the mesh\'s outbound mode (back from ALLOW_ANY)', async () => {
    await o.cluster.setOutboundMode(modeToRestore(before));
  });
  before = await o.cluster.setOutboundMode('ALLOW_ANY');
  return { ...o, results: new Map(), judged: new Map(), place: undefined, applied: [] };
}

/** Applies, after listing the objects for deletion (registered with the cleanup before the first apply). */
async function applyUndoable(run: ChapterRun, objects: readonly KubeObject[]): Promise<void> {
  if (run.applied.length === 0) {
    run.cleanup.add('the workshop chapter\'s objects', () => run.cluster.delete(run.applied));
  }
  run.applied.push(...objects);
  await run.cluster.apply(objects);
}

/** The probe's answer as a telnet outcome ('other': a timeout or a name that did not resolve). */
export function outcomeOf(r: ProbeResult): Outcome | 'other' {
  if (r.outcome === 'answered') return 'connected';
  if (r.outcome === 'closed') return 'closed';
  if (r.outcome === 'refused') return 'refused';
  return 'other';
}

/**
 * The skip's reason. With the real backend, the chapter's gcloud block is the suite's Memorystore
 * backend (MEMORYSTORE_CREATE creates it with the chapter's flags): it is not created twice.
 */
export function skipReason(run: Pick<ChapterRun, 'settings'>, t: PlannedTest, a: Extract<Action, { type: 'skip' }>): string {
  const gcloud = t.block.policy === 'environment' && t.block.commands.some((c) => c.words[0] === 'gcloud');
  if (gcloud && run.settings.redisBackend === 'memorystore') {
    return `REDIS_BACKEND=memorystore: the instance ${run.settings.redisInstance} is the suite's Memorystore backend (created with MEMORYSTORE_CREATE), not created again here`;
  }
  return a.reason;
}

/** A skipped block: recorded as such; returns the reason. */
export function skipBlock(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'skip' }>): string {
  const reason = skipReason(run, t, a);
  run.results.set(t.id, { verdict: 'skipped', answer: reason });
  return reason;
}

/** Strict dry run first, so a refusal is the block's verdict in the server's words; then apply. */
async function applyChecked(run: ChapterRun, id: string, objects: KubeObject[]): Promise<void> {
  const substituted = objects.map((o) => JSON.stringify(o)).join('\n');
  try {
    await run.cluster.dryRun(objects);
  } catch (e) {
    run.results.set(id, { verdict: 'fail', substituted, answer: message(e) });
    throw e;
  }
  await applyUndoable(run, objects);
  run.results.set(id, { verdict: 'pass', substituted });
}

/** `kubectl apply -f` of a labs file: substituted, kube-injected when the chapter does, checked, applied; its pods awaited. */
export async function applyLabsFile(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'apply' }>): Promise<void> {
  const text = run.labs(a.labsPath);
  if (text === undefined) throw new Error(`istio-workshop-labs/${a.labsPath} is not in WORKSHOP_LABS=${run.labsDir ?? '(not set)'}`);
  const path = join(run.work, 'labs', a.labsPath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, substitute(text, run.values));
  const objects = a.inject ? await run.cluster.inject(path) : (yamlObjects(await readFile(path, 'utf8')) as KubeObject[]);
  await applyChecked(run, t.id, objects);
  for (const pod of objects.filter((o) => o.kind === 'Pod')) {
    await run.cluster.podReady(pod.metadata.namespace ?? 'default', pod.metadata.name);
  }
}

/** `kubectl exec -it POD`: a probe pod beside the chapter's pod (same namespace, a sidecar if and only if it has one). */
export async function openShell(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'shell' }>): Promise<void> {
  const sidecar = await run.cluster.hasSidecar(a.namespace, a.pod);
  const objects = render('fixtures/probe.yaml', {
    NAMESPACE: a.namespace, PROBE_IMAGE: run.settings.probeImage, PROBE_SCRIPT: probeScript(),
  });
  let toApply = objects;
  if (sidecar) {
    const path = join(run.work, 'probe.yaml');
    await mkdir(run.work, { recursive: true });
    await writeFile(path, objects.map((o) => `---\n${JSON.stringify(o)}`).join('\n'));
    toApply = await run.cluster.inject(path);
  }
  await run.cluster.dryRun(toApply);
  await applyUndoable(run, toApply);
  const probe = await run.cluster.probePod(a.namespace, sidecar);
  run.place = { namespace: a.namespace, pod: a.pod, probe };
  run.results.set(t.id, { verdict: 'pass', answer: `probe ${probe} placed beside ${a.namespace}/${a.pod}` });
}

/**
 * The probe's outcome from the current place. With an expected outcome, config changes take time
 * to reach the sidecar: probes until it holds three times in a row (PROPAGATION_TIMEOUT), else
 * the outcome of one more probe.
 */
export async function probeUntil(run: ChapterRun, host: string, port: number, expected: Outcome | undefined): Promise<Outcome | 'other'> {
  const place = run.place;
  if (!place) throw new Error('no client pod yet: the chapter opens no shell before this telnet');
  const once = async () => outcomeOf(await run.cluster.probe({ namespace: place.namespace, pod: place.probe }, host, port));
  if (!expected) return once();
  try {
    return (await pollTimed(`telnet ${host} ${port} to be ${expected}`, run.settings.propagationTimeoutMs, async () => {
      const o = await once();
      if (o !== expected) throw new RetryableError(o);
      return o;
    }, undefined, { consecutive: 3 })).value;
  } catch {
    return once();
  }
}

/** `telnet HOST PORT` from the current place, judged by the probe against the outcome the chapter shows next. */
export async function telnet(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'probe' }>): Promise<void> {
  const got = await probeUntil(run, a.host, a.port, a.expected);
  run.judged.set(t.id, got);
  run.results.set(t.id, { verdict: 'pass', answer: `probe from ${run.place!.namespace}/${run.place!.probe}: ${got}` });
  if (a.expected && got !== a.expected) throw new OutcomeMismatch(`telnet ${a.host} ${a.port}`, got, a.expected);
}

/** An outcome the chapter shows after a telnet block: the outcome that block was judged to have. */
export function compareOutcome(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'compare' }>): void {
  const got = run.judged.get(a.of);
  run.results.set(t.id, { verdict: got === a.expected ? 'pass' : 'fail', answer: `${a.of} was ${got ?? 'not run'}` });
  if (got !== a.expected) throw new OutcomeMismatch(`the outcome of ${a.of}`, got, a.expected);
}

/** Whether a block before `t` applied a labs file with a Gateway: the chapter's egress-gateway step. */
export function afterGatewayStep(plan: readonly PlannedTest[], t: PlannedTest, labs: LabsReader): boolean {
  return plan.slice(0, plan.indexOf(t)).some((p) => p.action.type === 'apply'
    && yamlObjects(labs(p.action.labsPath) ?? '').some((o) => o.kind === 'Gateway'));
}

/**
 * An outcome shown after another command: probes again from the current place. After the
 * chapter's egress-gateway step, "connected" must mean through the gateway, as the chapter's
 * title says (its per-host counters rose).
 */
export async function reprobe(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'reprobe' }>): Promise<void> {
  const gateway = await run.cluster.egressGatewayPod();
  const endpoint = `${a.host}:${a.port}`;
  const before = await run.cluster.gatewayConnections(gateway, endpoint);
  const got = await probeUntil(run, a.host, a.port, a.expected);
  const viaGateway = (await run.cluster.gatewayConnections(gateway, endpoint)) - before;
  run.results.set(t.id, { verdict: 'pass', answer: `probe: ${got}; connections from istio-egressgateway to ${endpoint}: +${viaGateway}` });
  if (got !== a.expected) throw new OutcomeMismatch(`telnet ${a.host} ${a.port}`, got, a.expected);
  if (afterGatewayStep(run.plan, t, run.labs) && viaGateway <= 0) {
    throw new OutcomeMismatch('connections through istio-egressgateway', viaGateway, 0, 'to be greater than');
  }
}

/**
 * The mesh-mode step: the suite sets the mode itself first, so the steps after it still run;
 * the block fails when the chapter's own command would not set it.
 */
export async function setMeshMode(run: ChapterRun, t: PlannedTest, a: Extract<Action, { type: 'mesh-mode' }>): Promise<void> {
  await run.cluster.setOutboundMode(a.mode);
  const problem = meshModeProblem(t.block);
  run.results.set(t.id, { verdict: problem ? 'fail' : 'pass', answer: problem ?? `sets ${a.keys.join(', ')}` });
  log(`${t.id}: REGISTRY_ONLY set by the suite${problem ? `; the chapter's command would not: ${problem}` : ''}`);
  if (problem) throw new Error(problem);
}

/** Carries out a planned block's action; returns the reason when the block is skipped. */
export async function perform(run: ChapterRun, t: PlannedTest): Promise<string | undefined> {
  const a = t.action;
  switch (a.type) {
    case 'skip': return skipBlock(run, t, a);
    case 'apply': await applyLabsFile(run, t, a); break;
    case 'shell': await openShell(run, t, a); break;
    case 'probe': await telnet(run, t, a); break;
    case 'compare': compareOutcome(run, t, a); break;
    case 'reprobe': await reprobe(run, t, a); break;
    case 'mesh-mode': await setMeshMode(run, t, a); break;
  }
  return undefined;
}

/**
 * One block as a test: its action carried out and its verdict recorded. An unexpected failure is
 * recorded with its message and `diagnose`'s words (where its diagnostics went) and thrown. A
 * known defect (workshop/plan.ts) does not fail the test either way: its failure is recorded as
 * the expected failure it is, and a pass as "fixed", so a workshop change that fixes it is green
 * and the report says which entry to remove. Under GitHub Actions both are also notices on the
 * block's line of the chapter. Returns the reason when the block is skipped.
 */
export async function performBlock(run: ChapterRun, id: string, diagnose: (id: string) => Promise<string>): Promise<string | undefined> {
  const t = run.plan.find((p) => p.id === id);
  if (!t) throw new Error(`${id} is not a block of the planned chapter`);
  const known = t.knownDefect;
  let skipped: string | undefined;
  try {
    skipped = await perform(run, t);
  } catch (e) {
    const r = run.results.get(id);
    const m = message(e);
    run.results.set(id, { ...r, verdict: known ? 'expected failure' : 'fail', answer: r?.answer ? `${r.answer}\n${m}` : m });
    if (!known) {
      if (e instanceof Error) e.message += await diagnose(id);
      throw e;
    }
    blockNotice(t, `known defect, failed as expected: ${known}`);
    return undefined;
  }
  if (skipped !== undefined) return skipped;
  if (known) {
    const answer = `passed although a known defect: ${known}; the workshop fixed it: remove it from DEFECTS (workshop/plan.ts)`;
    run.results.set(id, { ...run.results.get(id), verdict: 'fixed', answer });
    blockNotice(t, answer);
  }
  return undefined;
}

/**
 * A notice on the block's line of the chapter, printed only under GitHub Actions. Straight to
 * stdout: vitest keeps a passing test's console output to itself (the config's `silent`), while
 * the runner reads workflow commands from the job's output.
 */
function blockNotice(t: PlannedTest, text: string): void {
  if (process.env.GITHUB_ACTIONS !== 'true') return;
  process.stdout.write(`${workflowCommand({ type: 'notice', file: t.block.file, line: t.block.line, title: `workshop block ${t.id}`, message: text })}\n`);
}
