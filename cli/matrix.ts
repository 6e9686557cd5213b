/**
 * `npm run matrix -- 1.30.5 1.31.1`: the scenarios once per Istio version (default: the pinned
 * matrix), each with its own cluster and ARTIFACTS_DIR/matrix/<version>/ (JUnit, vitest's JSON
 * report, and run.json: exit code, duration, and why it failed before its first step); a failure
 * on one version does not stop the others. Every version is checked before any cluster work.
 * The table below gives the reason of each "FAIL (setup)". CI runs one version per job and
 * combines them with cli/matrix-summary.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { allSteps } from '../scenarios/chapter.ts';
import { matrixTable, RESULTS_FILE, RUN_FILE, setupReason, type MatrixRun, type RunRecord, type VitestJsonReport } from './matrix-table.ts';
import { pins } from '../helpers/run/pins.ts';
import { loadSettings, SettingsError } from '../helpers/run/settings.ts';
import { printedHelp } from './arguments.ts';

async function main(argv: string[]): Promise<number> {
  if (printedHelp('matrix', argv, '[ISTIO_VERSION ...]', [
    `The scenarios once per Istio version (default: ${pins.istioMatrix.join(' ')}), each with its own kind cluster`,
    'and ARTIFACTS_DIR/matrix/<version>/, then a version-by-step table. Exit 0: all passed; 1: a failure; 2: a bad version.',
  ])) return 0;
  const versions = argv.length > 0 ? argv : [...pins.istioMatrix];
  const base = loadSettings();
  const problems: string[] = [];
  for (const v of versions) {
    try {
      loadSettings({ ...process.env, ISTIO_VERSION: v });
    } catch (e) {
      if (!(e instanceof SettingsError)) throw e;
      problems.push(...e.problems.map((p) => `${v}: ${p}`));
    }
  }
  if (problems.length > 0) {
    process.stderr.write(`matrix: nothing was started:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  const runs: MatrixRun[] = [];
  for (const version of versions) {
    const dir = join(base.artifactsDir, 'matrix', version);
    await mkdir(dir, { recursive: true });
    process.stderr.write(`\n=== Istio ${version} (artifacts: ${dir})\n`);
    const started = performance.now();
    // Under GitHub Actions also vitest's own annotations: naming reporters replaces its default list.
    const actions = process.env.GITHUB_ACTIONS === 'true' ? ['--reporter=github-actions'] : [];
    // The output is shown as it comes and kept, to say why a run failed before its first step.
    const r = await execa('npx', ['vitest', 'run', '--project', 'scenarios',
      '--reporter=default', ...actions, '--reporter=json', `--outputFile.json=${join(dir, RESULTS_FILE)}`,
      '--reporter=junit', `--outputFile.junit=${join(dir, 'junit.xml')}`], {
      env: { ISTIO_VERSION: version, ARTIFACTS_DIR: dir, CLUSTER_NAME: `${base.clusterName}-${version.replace(/\./g, '-')}`.slice(0, 32) },
      stdin: 'inherit', stdout: ['inherit', 'pipe'], stderr: ['inherit', 'pipe'], reject: false,
    });
    let report: VitestJsonReport | undefined;
    try {
      report = JSON.parse(await readFile(join(dir, RESULTS_FILE), 'utf8')) as VitestJsonReport;
    } catch {
      report = undefined;
    }
    const record: RunRecord = {
      version, exitCode: r.exitCode ?? 1, durationMs: performance.now() - started,
      setupReason: r.exitCode === 0 ? undefined : setupReason(report, `${String(r.stdout)}\n${String(r.stderr)}`),
    };
    // Beside the reports, for the CI job that combines the legs (cli/matrix-summary.ts).
    await writeFile(join(dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
    runs.push({ ...record, report });
  }
  const table = matrixTable(runs, allSteps(base));
  await writeFile(join(base.artifactsDir, 'matrix', 'summary.md'), `${table}\n`);
  process.stdout.write(`\n${table}\n`);
  if (process.env.GITHUB_STEP_SUMMARY) await writeFile(process.env.GITHUB_STEP_SUMMARY, `## Istio matrix\n\n${table}\n`, { flag: 'a' });
  return runs.every((r) => r.exitCode === 0) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
