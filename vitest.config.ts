// First: on a Node older than the suite's floor, one line saying so instead of a crash inside a
// dependency (execa needs Set.prototype.union, Node >= 22) while vitest loads this file.
import './cli/require-node.mjs';
import { dirname } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { JUnitAtEnd, junitReportFile } from './helpers/run/junit.ts';
import { artifactsDirProblem } from './helpers/run/paths.ts';
import { ChapterSequencer } from './scenarios/sequencer.ts';

// `npx vitest` without --project would run every project at once (the chapter against a cluster
// and the self-tests twice, as `self` and `self-quick`): say what to run instead. Only the vitest
// command is asked; a program that starts vitest itself (the sequencer's self-test) names its project.
const cliArgs = process.argv.slice(2);
if (/[\\/]vitest(\.mjs)?$/.test(process.argv[1] ?? '') && !cliArgs.some((a) => a === '--project' || a.startsWith('--project='))) {
  process.stderr.write('egress-verify: run `npm test` (the chapter against a cluster) or `npm run test:self` (the suite\'s own tests); vitest itself needs a project: npx vitest run --project scenarios|self|self-quick\n');
  process.exit(2);
}

// Reports go to ARTIFACTS_DIR, beside the diagnostics and timings (CI uploads that folder): a
// path the user wrote is meant from the user's folder, the default is the project's (as in
// helpers/run/settings.ts).
const junitFile = junitReportFile();
const artifacts = dirname(junitFile);
// Checked here, at config time, because the JUnit reporter writes there at the end of the run:
// an unusable folder would otherwise end the run with a raw ENOTDIR/EACCES (or hang under /proc).
// Without it the run goes on without the JUnit file; `npm test`'s settings check names the
// problem and stops before anything is created, and the self-tests say it here once.
const artifactsProblem = artifactsDirProblem(artifacts);
if (artifactsProblem && !process.argv.includes('scenarios')) {
  process.stderr.write(`WARNING: ${artifactsProblem}; no JUnit report is written\n`);
}

/**
 * The self-tests left out of the quick loop (`npm run test:self`, project self-quick), each taking
 * seconds to tens of seconds here: the whole-command ones (interrupts, README recipes, `npm test`'s
 * failures, exit codes, the settings through npm), the ones that start real components (kind's
 * CLI, Envoy, an API server, istiod and its xDS, istioctl, gcloud) and the ones that run npm, npx
 * or vitest as subprocesses (plan, workshop, the Node floor, the scenario fixtures and sequencer).
 * The project `self` (`npm run test:self:all`, CI) runs them with the rest.
 */
const SLOW_SELF_TESTS = [
  'self-tests/process/**',
  'self-tests/**/*.real-*.test.ts',
  'self-tests/**/*api-server.test.ts',
  'self-tests/mesh/xds.test.ts',
  'self-tests/mesh/istiod.test.ts',
  'self-tests/mesh/istio-install.istioctl.test.ts',
  'self-tests/cli/plan.test.ts',
  'self-tests/cli/workshop.test.ts',
  'self-tests/cli/require-node.test.ts',
  'self-tests/external/gcp.test.ts',
  'self-tests/workshop/inventory.test.ts',
  'self-tests/scenarios/workshop.test.ts',
  'self-tests/scenarios/fixtures.test.ts',
  'self-tests/scenarios/sequencer.test.ts',
];

function selfTests(name: string, slow: readonly string[]) {
  return {
    test: {
      name,
      include: ['self-tests/**/*.test.ts'],
      exclude: [...configDefaults.exclude, ...slow],
      // A run id labelling all it creates in Docker, a temp folder of its own, and their removal
      // at the end and on Ctrl-C/SIGTERM; turns testcontainers' reaper off (and says so once)
      // when its image cannot be had here.
      globalSetup: ['self-tests/global-setup.ts'],
      // What the code under test prints while meeting a stand-in's expected failure is kept with
      // its test, and shown only when that test fails (`silent` below).
      setupFiles: ['self-tests/plumbing/captured-output.ts'],
      testTimeout: 120_000,
      hookTimeout: 180_000,
      // Docker-backed tests start containers; two cores, so keep files in one worker at a time.
      fileParallelism: false,
    },
  };
}

// Two suites: `scenarios` (the chapter, end to end, against a real cluster) and
// `self` (the suite's own tests, runnable on any machine with Docker).
export default defineConfig({
  test: {
    // The JUnit file only at the run's end: never a 0-byte file, nor a folder made, by a run that
    // stopped early (helpers/run/junit.ts).
    // Naming reporters drops vitest's automatic github-actions one (annotations): kept by name.
    reporters: [...(artifactsProblem ? ['default'] : ['default', new JUnitAtEnd({ outputFile: junitFile })]), ...(process.env.GITHUB_ACTIONS === 'true' ? ['github-actions'] : [])],
    // A run is one run: `vitest` without `run` would watch in a terminal, re-running the chapter.
    watch: false,
    // A test's console output only under a test that failed (vitest reads this from the root).
    silent: 'passed-only',
    // The scenario files run in the chapter's order (scenarios/chapter.ts scenarioFiles), not
    // vitest's default larger-first order. Only the root config may set a sequencer.
    sequence: { sequencer: ChapterSequencer },
    projects: [
      {
        test: {
          name: 'scenarios',
          include: ['scenarios/**/*.spec.ts'],
          globalSetup: ['scenarios/global-setup.ts'],
          // One scenario file at a time: they share one cluster and one mesh.
          fileParallelism: false,
          sequence: { concurrent: false },
          // A step's own deadlines are shorter; the first test of a file also deploys the workloads.
          testTimeout: 20 * 60_000,
          hookTimeout: 30 * 60_000,
          // A failed step must not be retried silently: its diagnostics are the point.
          retry: 0,
        },
      },
      // Every self-test (`npm run test:self:all`, CI), and the quick loop without the slow
      // process-level ones (`npm run test:self`). A run uses one of the two, never both.
      selfTests('self', []),
      selfTests('self-quick', SLOW_SELF_TESTS),
    ],
  },
});
