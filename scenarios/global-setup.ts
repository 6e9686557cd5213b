/**
 * Global setup of the `scenarios` project: brings the environment up once, hands it to the
 * test files (provide/inject), and always tears it down: after the run, when setup fails,
 * and on Ctrl-C. Prints the timing summary and writes ARTIFACTS_DIR/timings.json.
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { Cleanup } from '../helpers/run/cleanup.ts';
import { log, type PhaseRecord, seconds, Timings } from '../helpers/run/progress.ts';
import { junitReportFile, writeSetupFailureReport } from '../helpers/run/junit.ts';
import { formatDuration, SettingsError, type Settings } from '../helpers/run/settings.ts';
import { loadCheckedSettings } from '../helpers/run/settings-checks.ts';
import { PrerequisitesError } from '../helpers/run/tools.ts';
import { failureBlock, UserFacingError } from '../helpers/run/user-facing.ts';
import { keepsEverything, keptNotice } from '../helpers/run/keep-and-reuse.ts';
import { type EnvHandle, startEnvironment } from './environment.ts';

async function finish(timings: Timings, cleanup: Cleanup, artifactsDir: string): Promise<void> {
  // Not a Timings.phase: teardown must run even after SETUP_TIMEOUT stopped new phases.
  log('▶ teardown');
  const started = performance.now();
  const problems = await cleanup.run();
  timings.record({ name: 'teardown', ms: performance.now() - started, ok: problems.length === 0 });
  log(`${problems.length === 0 ? '✔' : '✘'} teardown ${seconds(performance.now() - started)}`);
  try {
    const lines = (await readFile(join(artifactsDir, 'timings.steps.jsonl'), 'utf8')).split('\n').filter(Boolean);
    for (const l of lines) timings.record(JSON.parse(l) as PhaseRecord);
  } catch {
    /* no step ran */
  }
  await timings.write(join(artifactsDir, 'timings.json'));
  process.stderr.write(`\n${timings.summary()}\n(written to ${join(artifactsDir, 'timings.json')})\n`);
  if (process.env.GITHUB_STEP_SUMMARY) {
    await appendFile(process.env.GITHUB_STEP_SUMMARY, `${timings.markdown(`egress-verify timings (Istio ${process.env.ISTIO_VERSION ?? 'default'})`)}\n`);
  }
  if (problems.length > 0) throw new Error(`cleanup left things behind:\n  ${problems.join('\n  ')}`);
}

function printKept(env: EnvHandle): void {
  const s = env.settings;
  const lines = keptNotice({
    clusterName: s.clusterName, kubeconfigPath: env.kubeconfigPath, context: env.context, redis: env.redis,
    redisFromHost: env.redisFromHost, redisContainer: env.redisContainer, kind: s.cluster === 'kind',
  });
  process.stderr.write(`\n${lines.join('\n')}\n`);
}

/**
 * A user-facing failure ends the run here: the block (every problem, and what was or was not
 * created) is the last thing printed, and the process exits before vitest reports the thrown
 * error ("No test files found", "Unhandled Error" with a stack, "Serialized Error" repeating it):
 * 2 for invalid settings (the command was called wrongly), 1 for a failure met while setting up.
 * No test ran, so the JUnit report (CI uploads it "always") is this failure, written only where
 * its folder already exists: a run that created nothing creates no folder either.
 */
function exitWith(e: UserFacingError, cleanup: Cleanup): Promise<never> {
  const hints = e instanceof PrerequisitesError
    ? ['The chapter\'s scenarios run only against a real cluster (kind + Istio), so none ran.',
      'The suite\'s own tests need only Docker and Node: npm run test:self']
    : [];
  writeSetupFailureReport(junitReportFile(), e.headline, e.problems);
  const code = e instanceof SettingsError ? 2 : 1;
  process.stderr.write(`\n${failureBlock(e, cleanup.outcome, hints)}`, () => process.exit(code));
  return new Promise<never>(() => {});
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanup = new Cleanup();
  // Invalid settings (and unusable paths such as ARTIFACTS_DIR) stop here, before anything is
  // created, through the same clean block as every user-facing failure.
  let settings: Settings;
  try {
    const checked = loadCheckedSettings();
    settings = checked.settings;
    for (const w of checked.warnings) log(`WARNING: ${w}`);
  } catch (e) {
    if (e instanceof UserFacingError) return exitWith(e, cleanup);
    throw e;
  }
  // SETUP_TIMEOUT stops new phases from starting; the phase under way (each bounded by its own
  // deadline) is allowed to finish and register its cleanup, so that nothing it created leaks.
  const deadline = new AbortController();
  const timings = new Timings(deadline.signal);
  const removeSignalHandlers = cleanup.onSignals();
  const timer = setTimeout(() => {
    log(`SETUP_TIMEOUT (${formatDuration(settings.setupTimeoutMs)}) reached: no further setup phase will start`);
    deadline.abort(new Error(`setup did not finish within SETUP_TIMEOUT (${formatDuration(settings.setupTimeoutMs)})`));
  }, settings.setupTimeoutMs);
  let env: EnvHandle;
  try {
    env = await startEnvironment(settings, timings, cleanup);
    project.provide('env', env);
    // What setup cost, before the steps run: on a warm re-run (REUSE_CLUSTER) it should be little.
    process.stderr.write(`${timings.summary('Setup timings')}\n`);
  } catch (e) {
    clearTimeout(timer);
    // A signal made the phase fail: its handler cleans up and exits 130/143; nothing to add.
    if (cleanup.interrupted) return new Promise<never>(() => {});
    if (cleanup.pending.length > 0) {
      log('setup failed: cleaning up what was created');
      // A user-facing failure's block names what was left; its reasons are logged as they happen.
      await finish(timings, cleanup, settings.artifactsDir).catch((x: unknown) => {
        if (!(e instanceof UserFacingError)) log(String(x));
      });
    } else {
      // Nothing to tear down: the timings file only, without a summary that repeats the progress
      // lines, and only into a folder that exists (a run that created nothing creates no folder).
      if (existsSync(settings.artifactsDir)) await timings.write(join(settings.artifactsDir, 'timings.json')).catch(() => undefined);
    }
    if (cleanup.interrupted) return new Promise<never>(() => {});
    removeSignalHandlers();
    if (e instanceof UserFacingError) return exitWith(e, cleanup);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return async () => {
    try {
      await finish(timings, cleanup, settings.artifactsDir);
    } finally {
      removeSignalHandlers();
      if (keepsEverything(settings)) printKept(env);
    }
  };
}
