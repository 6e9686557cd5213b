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
 * - On SIGINT/SIGTERM the main process takes the signal over (stopOnSignals below): it silences
 *   vitest, cancels the run, kills the test processes (so none creates anything more), removes
 *   everything labelled with the id and the folder, says so in one line, and exits 130/143.
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
import type { TestProject } from 'vitest/node';
import { log } from '../helpers/run/progress.ts';
import { formatRunLabels, RUN_LABELS_ENV } from '../helpers/run/run-labels.ts';
import { runLabels, SELF_TEST_RUN_ENV, SELF_TEST_WITHIN_ENV } from './plumbing/run-label.ts';
import { disableRyukIfUnavailable } from '../helpers/run/ryuk.ts';
import { removeAllOfRun } from './plumbing/run-resources.ts';
import { runTag, sweepSidecarHosts } from './sidecar-host/sweep.ts';
import { dockerAvailable } from './plumbing/support.ts';

function describe(r: { containers: string[]; networks: string[] }): string {
  return `${r.containers.length} container(s), ${r.networks.length} network(s)`;
}

/** How long the sweep after a signal must find nothing new before the run exits. */
const SIGNAL_SETTLE_MS = 3_000;

/**
 * Ctrl-C (SIGINT) or SIGTERM during the run. It reaches vitest's own process, which would exit
 * 1 ms later, and, from a terminal, the test processes too; vitest would then report each as
 * "Worker exited unexpectedly", start the files still queued and end with a summary that reads
 * like a result. So this handler takes the signals over and:
 *   - silences this process at once (nothing vitest prints from here on reaches the user),
 *   - cancels vitest's run (no queued file starts),
 *   - stops every process below this one for good, and removes every container, network and
 *     temp folder of the run (`stop`),
 *   - prints one line saying what it removed, and exits 130 (SIGINT) or 143 (SIGTERM).
 * One keypress is one interrupt (npm passes on its copy of the terminal's SIGINT, see
 * Cleanup.onSignals); another signal after Cleanup.REPEAT_WINDOW_MS exits at once.
 * Returns how to give the signals back, and whether one arrived.
 */
function stopOnSignals(cancel: () => void, stop: () => Promise<string>): { giveBack: () => void; interrupted: () => boolean } {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const previous = new Map(signals.map((s) => [s, process.listeners(s)]));
  const out = process.stderr.write.bind(process.stderr);
  const line = (text: string) => out(`[egress-verify ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (firstAt !== undefined) {
      if (performance.now() - firstAt < Cleanup.REPEAT_WINDOW_MS) return;
      line(`${signal} again: exiting now, before the self-tests' containers and temp folder are removed`);
      process.exit(code);
    }
    firstAt = performance.now();
    const mute = (() => true) as unknown as typeof process.stdout.write;
    process.stdout.write = mute;
    process.stderr.write = mute;
    try {
      cancel();
    } catch { /* the processes are stopped below either way */ }
    void stop()
      .then((what) => line(`${signal}: self-tests interrupted; ${what} (${((performance.now() - firstAt!) / 1000).toFixed(1)}s)`),
        (e: unknown) => line(`${signal}: self-tests interrupted; removing what they created failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => process.exit(code));
  };
  for (const s of signals) {
    process.removeAllListeners(s);
    process.on(s, handler);
  }
  return {
    giveBack: () => {
      for (const s of signals) {
        process.off(s, handler);
        for (const l of previous.get(s) ?? []) process.on(s, l as (signal: NodeJS.Signals) => void);
      }
    },
    interrupted: () => firstAt !== undefined,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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

  const signals = stopOnSignals(
    // Not awaited: it waits for the run to end, which the kill below brings about.
    () => { void project.vitest.cancelCurrentRun('keyboard-input'); },
    async () => {
      // First the processes, so that none of them creates anything more: frozen, killed and gone.
      const killed = await killDescendants();
      let removed = { containers: [] as string[], networks: [] as string[] };
      let hosts: string[] = [];
      try {
        // The real-Envoy tests' proxies run in their own process group and may have outlived
        // their worker; their network namespaces hang on the run's Docker networks.
        hosts = await sweepSidecarHosts(runTag());
        if (await dockerAvailable()) {
          // Swept until nothing new appears for SIGNAL_SETTLE_MS: a create the engine had already
          // received from a process killed before can still complete after a look. Before each
          // look, any test process started meanwhile is stopped too.
          removed = await removeAllOfRun(id, {
            deadlineMs: 60_000, settleMs: SIGNAL_SETTLE_MS, before: async () => (await killDescendants()).length,
          });
        }
      } finally {
        await restoreTmp();
      }
      const proxies = hosts.length > 0 ? `, ${hosts.length} proxy process(es), folder(s) and network namespace(s)` : '';
      return `stopped ${killed.length} test process(es), removed ${describe(removed)}${proxies} and the temp folder ${runTmp}`;
    },
  );

  const note = await disableRyukIfUnavailable();
  if (note) process.stderr.write(`[self-tests] ${note}\n`);

  return async () => {
    // After a signal its handler removes everything and ends the process; vitest's teardown,
    // reached when the cancelled run ends, must not race it.
    if (signals.interrupted()) return new Promise<void>(() => {});
    signals.giveBack();
    const hosts = await sweepSidecarHosts(runTag());
    if (hosts.length > 0) log(`self-test teardown removed leftovers: ${hosts.join(', ')}`);
    // Without an engine the Docker-backed tests were skipped, and there is nothing to remove.
    if (await dockerAvailable()) {
      const removed = await removeAllOfRun(id);
      // Something a test should have removed itself: say so, so the leak gets fixed at its source.
      if (removed.containers.length + removed.networks.length > 0) log(`self-test teardown removed leftovers: ${describe(removed)}`);
    }
    await restoreTmp();
  };
}
