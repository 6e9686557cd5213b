/**
 * Global setup of the `self` project: whatever path a run takes (passing, failing, Ctrl-C,
 * SIGTERM, a worker killed mid-start), it leaves no container, network or temp folder behind.
 *
 * - A run id goes into the environment (EGRESS_VERIFY_SELFTEST_RUN): workers and the programs
 *   they spawn inherit it, and every container and network they create carries it as a label
 *   (self-tests/plumbing/run-label.ts, self-tests/plumbing/run-resources.ts).
 * - TMPDIR points at a folder of this run, so every temp folder made with os.tmpdir() lands in it.
 * - Teardown removes everything labelled with the id, and the folder. Runs started within this
 *   one (a self-test that runs the suite as a child) also label with this id, so what they leave
 *   when killed is removed too.
 * - On SIGINT/SIGTERM the main process takes the signal over (helpers/run/cleanup.ts: one keypress is
 *   one interrupt): it kills the test processes (so none creates anything more), removes
 *   everything labelled with the id, removes the folder, and exits 130/143.
 * - Without a registry, testcontainers' reaper cannot be pulled; helpers/run/ryuk.ts turns it off then,
 *   and this says so once for the whole run (the workers inherit the environment).
 *
 * SELFTEST_RUN_ID chooses the id (a self-test that runs the suite as a child uses it to count what
 * its child leaves).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup } from '../helpers/run/cleanup.ts';
import { killDescendants } from './plumbing/process-tree.ts';
import { log } from '../helpers/run/progress.ts';
import { formatRunLabels, RUN_LABELS_ENV } from '../helpers/run/run-labels.ts';
import { runLabels, SELF_TEST_RUN_ENV, SELF_TEST_WITHIN_ENV } from './plumbing/run-label.ts';
import { disableRyukIfUnavailable } from '../helpers/run/ryuk.ts';
import { removeAllOfRun } from './plumbing/run-resources.ts';
import { dockerAvailable } from './plumbing/support.ts';

function describe(r: { containers: string[]; networks: string[] }): string {
  return `${r.containers.length} container(s), ${r.networks.length} network(s)`;
}

/** How long the sweep after a signal must find nothing new before the run exits. */
const SIGNAL_SETTLE_MS = 3_000;

export default async function setup(): Promise<() => Promise<void>> {
  const id = process.env.SELFTEST_RUN_ID || `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  // A run within another self-test run (a child run under test) also labels with the outer ids.
  const outer = process.env[SELF_TEST_RUN_ENV];
  if (outer && outer !== id) {
    process.env[SELF_TEST_WITHIN_ENV] = [...(process.env[SELF_TEST_WITHIN_ENV] ?? '').split(','), outer].filter(Boolean).join(',');
  }
  process.env[SELF_TEST_RUN_ENV] = id;
  // The product labels what it creates with EGRESS_VERIFY_LABELS (helpers/run/run-labels.ts).
  process.env[RUN_LABELS_ENV] = formatRunLabels(runLabels());
  const savedTmp = process.env.TMPDIR;
  // Node's compile cache (vitest turns it on) defaults to os.tmpdir(): keep it where it was, shared
  // between runs, rather than in the folder this run removes.
  process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'node-compile-cache');
  // Synchronous, like the signal handlers' registration below: no moment in between where a
  // signal would find the folder made but its removal not yet registered.
  const runTmp = mkdtempSync(join(tmpdir(), `egress-verify-self-${id}-`));
  process.env.TMPDIR = runTmp;
  const restoreTmp = async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(runTmp, { recursive: true, force: true });
  };

  // Used only when a signal arrives; registered in the order opposite to how they run.
  const onSignal = new Cleanup();
  onSignal.add(`temp folder ${runTmp}`, restoreTmp);
  onSignal.add(`containers and networks of self-test run ${id}`, async () => {
    if (!(await dockerAvailable())) return;
    // Swept until nothing new appears for SIGNAL_SETTLE_MS: a create the engine had already
    // received from a process killed before can still complete after a look. Before each look,
    // any test process started meanwhile (vitest's pool replacing a killed worker) is stopped too.
    const removed = await removeAllOfRun(id, {
      deadlineMs: 60_000, settleMs: SIGNAL_SETTLE_MS, before: async () => (await killDescendants()).length,
    });
    log(`removed ${describe(removed)}`);
  });
  onSignal.add('test processes', async () => {
    // First, so that none of them creates anything more: frozen, killed and gone before the sweep.
    const killed = await killDescendants();
    log(`stopped ${killed.length} test process(es)`);
  });
  const giveSignalsBack = onSignal.onSignals();

  const note = await disableRyukIfUnavailable();
  if (note) process.stderr.write(`[self-tests] ${note}\n`);

  return async () => {
    giveSignalsBack();
    // Without an engine the Docker-backed tests were skipped, and there is nothing to remove.
    if (await dockerAvailable()) {
      const removed = await removeAllOfRun(id);
      // Something a test should have removed itself: say so, so the leak gets fixed at its source.
      if (removed.containers.length + removed.networks.length > 0) log(`self-test teardown removed leftovers: ${describe(removed)}`);
    }
    await restoreTmp();
  };
}
