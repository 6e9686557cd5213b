/**
 * Global setup of the `scenarios` project: brings the environment up once, hands it to the
 * test files (provide/inject), and always tears it down: after the run, when setup fails,
 * and on Ctrl-C. Prints the timing summary and writes ARTIFACTS_DIR/timings.json.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { Cleanup } from '../helpers/cleanup.ts';
import { log, type PhaseRecord, seconds, Timings } from '../helpers/progress.ts';
import { formatDuration, SettingsError } from '../helpers/settings.ts';
import { loadCheckedSettings } from '../helpers/settings-checks.ts';
import { PrerequisitesError } from '../helpers/tools.ts';
import { keepsEverything, keptNotice } from '../helpers/warm.ts';
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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Invalid settings (and unusable paths) stop here, before anything is created.
  const { settings, warnings } = loadCheckedSettings();
  for (const w of warnings) log(`WARNING: ${w}`);
  // SETUP_TIMEOUT stops new phases from starting; the phase under way (each bounded by its own
  // deadline) is allowed to finish and register its cleanup, so that nothing it created leaks.
  const deadline = new AbortController();
  const timings = new Timings(deadline.signal);
  const cleanup = new Cleanup();
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
    if (cleanup.pending.length > 0) log('setup failed: cleaning up what was created');
    await finish(timings, cleanup, settings.artifactsDir).catch((x: unknown) => log(String(x)));
    removeSignalHandlers();
    if (e instanceof PrerequisitesError) {
      e.message += '\nThe chapter\'s scenarios run only against a real cluster (kind + Istio); none was created, so none ran.'
        + '\nThe suite\'s own tests need only Docker and Node: npm run test:self';
    }
    // Known user-facing errors: the message says it all; a code frame would only distract.
    if (e instanceof SettingsError || e instanceof PrerequisitesError) e.stack = `${e.name}: ${e.message}`;
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
