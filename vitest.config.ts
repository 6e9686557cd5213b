import { resolve } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { artifactsDirProblem } from './helpers/run/settings-checks.ts';
import { ChapterSequencer } from './scenarios/sequencer.ts';

// Reports go to ARTIFACTS_DIR, beside the diagnostics and timings (CI uploads that folder).
const artifacts = resolve(process.env.ARTIFACTS_DIR?.trim() || 'artifacts');
// Checked here, at config time, because the JUnit reporter writes there at the end of the run:
// an unusable folder would otherwise end the run with a raw ENOTDIR/EACCES (or hang under /proc).
// Without it the run goes on without the JUnit file; `npm test`'s settings check names the
// problem and stops before anything is created, and the self-tests say it here once.
const artifactsProblem = artifactsDirProblem(artifacts);
if (artifactsProblem && !process.argv.includes('scenarios')) {
  process.stderr.write(`WARNING: ${artifactsProblem}; no JUnit report is written\n`);
}

/** Self-tests that run whole commands (interrupts, README recipes, `npm test`'s failures, kind's pull retries). */
const SLOW_SELF_TESTS = ['self-tests/process/**', 'self-tests/**/*.real-cli.test.ts'];

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
    reporters: artifactsProblem ? ['default'] : ['default', 'junit'],
    outputFile: artifactsProblem ? {} : { junit: `${artifacts}/junit.xml` },
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
