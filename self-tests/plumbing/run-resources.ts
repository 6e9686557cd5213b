/**
 * What a self-test run creates in Docker, labelled with its run id (self-tests/plumbing/run-label.ts), and
 * how it is all removed: by the teardown of self-tests/global-setup.ts, by its signal handler,
 * and by .ci/run at exit.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { pollUntil } from '../../helpers/run/poll.ts';
import { formatRunLabels, RUN_LABELS_ENV } from '../../helpers/run/run-labels.ts';
import { runLabels, SELF_TEST_RUN_ENV, SELF_TEST_RUN_LABEL, SELF_TEST_WITHIN_ENV, withinLabel } from './run-label.ts';

const DOCKER_TIMEOUT_MS = 20_000;

/** This run's id; "adhoc" for a program started outside a self-test run. */
export function runId(): string {
  return process.env[SELF_TEST_RUN_ENV] || 'adhoc';
}

/** `docker run`/`docker network create` arguments that label with this run's id. */
export function labelArgs(): string[] {
  return Object.entries(runLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
}

/** The prefix of every network name of run `id` (so even an unlabelled one would be found). */
export function networkPrefix(id: string = runId()): string {
  return `egress-verify-self-${id}-`;
}

export interface TestNetwork {
  getName(): string;
  stop(): Promise<void>;
}

/** A user-defined bridge network, labelled and named after this run. */
export async function startNetwork(): Promise<TestNetwork> {
  const name = `${networkPrefix()}${randomBytes(4).toString('hex')}`;
  await execa('docker', ['network', 'create', ...labelArgs(), name], { timeout: DOCKER_TIMEOUT_MS });
  return {
    getName: () => name,
    stop: async () => {
      await execa('docker', ['network', 'rm', name], { timeout: DOCKER_TIMEOUT_MS });
    },
  };
}

export interface RunResources {
  containers: string[];
  networks: string[];
}

/** Containers (ids) and networks (names) of run `id` and of the runs started within it. */
export async function resourcesOf(id: string): Promise<RunResources> {
  const docker = async (args: string[]) => (await execa('docker', args, { timeout: DOCKER_TIMEOUT_MS })).stdout.split('\n').filter(Boolean);
  const containers: string[] = [];
  const networks: string[] = [];
  // Several --filter label=... would have to match all at once: one look per label.
  for (const filter of [`label=${SELF_TEST_RUN_LABEL}=${id}`, `label=${withinLabel(id)}`]) {
    containers.push(...await docker(['ps', '-aq', '--no-trunc', '--filter', filter]));
    networks.push(...await docker(['network', 'ls', '--filter', filter, '--format', '{{.Name}}']));
  }
  // `name=` filters match anywhere in the name: keep the ones that start with the prefix.
  const named = await docker(['network', 'ls', '--filter', `name=${networkPrefix(id)}`, '--format', '{{.Name}}']);
  networks.push(...named.filter((n) => n.startsWith(networkPrefix(id))));
  return { containers: [...new Set(containers)], networks: [...new Set(networks)] };
}

/** Removes everything of run `id` once (containers first: a network in use cannot go). */
export async function removeResources(id: string): Promise<RunResources> {
  const found = await resourcesOf(id);
  if (found.containers.length > 0) await execa('docker', ['rm', '-f', '-v', ...found.containers], { timeout: DOCKER_TIMEOUT_MS, reject: false });
  if (found.networks.length > 0) await execa('docker', ['network', 'rm', ...found.networks], { timeout: DOCKER_TIMEOUT_MS, reject: false });
  return found;
}

export interface SweepOptions {
  /** Gives up (throws) after this long. */
  deadlineMs?: number;
  /** Done once this long has passed with nothing found (and, with `before`, nothing stopped). */
  settleMs?: number;
  /** Run before each look; returns how many things it stopped (a reason to keep looking). */
  before?: () => Promise<number>;
}

/**
 * Removes everything of run `id` until nothing new has appeared for `settleMs`: a create call
 * that was under way when its process was killed can still complete in the engine, later on a
 * loaded machine. Polls (no fixed wait); throws if something is still there at the deadline.
 * Returns what was removed.
 */
export async function removeAllOfRun(id: string, options: SweepOptions = {}): Promise<RunResources> {
  const { deadlineMs = 30_000, settleMs = 1_000, before } = options;
  const removed: RunResources = { containers: [], networks: [] };
  let lastSeen = performance.now();
  await pollUntil(`nothing new of self-test run ${id} for ${settleMs} ms`, deadlineMs, async () => {
    const stopped = before ? await before() : 0;
    const found = await removeResources(id);
    removed.containers.push(...found.containers.filter((c) => !removed.containers.includes(c)));
    removed.networks.push(...found.networks.filter((n) => !removed.networks.includes(n)));
    if (stopped + found.containers.length + found.networks.length > 0) lastSeen = performance.now();
    return performance.now() - lastSeen >= settleMs ? true : undefined;
  }, () => `containers ${removed.containers.join(' ') || 'none'}, networks ${removed.networks.join(' ') || 'none'}`,
  { intervalMs: 250 });
  return removed;
}

/**
 * The folders in os.tmpdir(), sorted. Files are left out: testcontainers keeps one lock file per
 * user there (`testcontainers-node-<uid>.lock`, reused by every run), which is not a leak.
 */
export async function tempFolders(): Promise<string[]> {
  return (await readdir(tmpdir(), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * The environment for a program a self-test starts as a run of its own (id `id`): what it creates
 * is labelled with `id`, and also as made within this run, whose sweep then removes it too.
 */
export function childRunEnv(id: string): Record<string, string> {
  const within = [...(process.env[SELF_TEST_WITHIN_ENV] ?? '').split(','), runId()].filter(Boolean).join(',');
  const env = { [SELF_TEST_RUN_ENV]: id, [SELF_TEST_WITHIN_ENV]: within };
  // What the product itself labels its containers with (helpers/run/run-labels.ts).
  return { ...env, [RUN_LABELS_ENV]: formatRunLabels(runLabels(env)) };
}
