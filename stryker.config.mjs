// Mutation testing of the suite's own tests: `npm run test:mutation` (docs/mutation-testing.md).
// StrykerJS changes the code that decides (one small change, a "mutant", at a time) and runs
// the Docker-free self-tests against it; a mutant no test notices is a bug the tests would miss.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Every mutant runs its test files in fresh vitest workers, which compile the same modules again
// (vitest's own, and @kubernetes/client-node's hundreds of files for kube.ts's tests). Node's
// on-disk compile cache (NODE_COMPILE_CACHE, Node >= 22.1) keeps the compiled code between
// workers; the test-runner processes StrykerJS starts inherit the setting. Measured here on
// 2026-11-27: a run of kube-decisions.test.ts took 0.58-0.64 s instead of 0.76-0.77 s.
process.env.NODE_COMPILE_CACHE ||= resolve('node_modules/.cache/node-compile-cache');

// The tests' temp folders go into one folder per run, removed when StrykerJS exits (also on
// Ctrl-C): a mutant that disables a test's cleanup would otherwise leave its folder in /tmp.
// TMPDIR is what os.tmpdir() reads; the test-runner processes inherit it. Only when StrykerJS
// itself loads this file: cli/mutation-score.ts imports it too, for the break scores.
const loadedByStryker = /[\\/]stryker(\.js)?$/.test(process.argv[1] ?? '');
if (loadedByStryker && !process.env.EGRESS_VERIFY_MUTATION_TMP) {
  const dir = mkdtempSync(join(tmpdir(), 'egress-verify-mutation-'));
  process.env.EGRESS_VERIFY_MUTATION_TMP = dir;
  process.env.TMPDIR = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

const artifacts = resolve(process.env.ARTIFACTS_DIR || 'artifacts');

/** Where the JSON report goes; cli/mutation-score.ts reads it. */
export const jsonReport = `${artifacts}/mutation/mutation.json`;

/**
 * The code that decides: verdicts and parsers of proxy output and RESP, the mesh-config check,
 * settings validators and cross-checks (and the path checks of settings-checks), GCP preflight
 * and lifecycle, polling, the step plan, the drain deadline, the host checks, the offline
 * unknown-field check, and the workshop reader's findings (workshop/check.ts: errors and
 * warnings).
 *
 * The workshop reader (workshop/parse, classify, check; 1,410 mutants) is mutated with its
 * per-function tests, self-tests/workshop/{parse,classify,check}.test.ts: small Markdown,
 * shell and YAML inputs, milliseconds each, no git, no subprocess, one file per module so that a
 * mutant's fresh worker imports only what that module needs (check's tests use stand-ins for
 * workshop/schema.ts, which loads the TypeScript compiler, and helpers/run/settings.ts). Its
 * whole-chapter tests (self-tests/workshop/inventory.test.ts, a git call per analysis: about 20 mutants a
 * minute, over an hour) stay out of the mutation run. Measured 2026-11-27 on the three files
 * alone, concurrency 1: 1,261 mutants tested (149 static or disabled) in 21 minutes wall clock,
 * 9 minutes of CPU, on a machine at load 8-10 (other runs on its 2 cores); a mutant costs a
 * fresh vitest worker (about 0.3 s) plus its file's imports. Scores: check 97.86%, classify
 * 95.85%, parse 95.37%.
 */
export const decisionModules = [
  'helpers/mesh/mesh-config.ts',
  'helpers/mesh/envoy-admin.ts',
  'helpers/mesh/egress-evidence.ts',
  'helpers/mesh/istio-install.ts',
  'helpers/external/probe.mjs',
  'helpers/run/settings.ts',
  'helpers/external/gcp.ts',
  'helpers/run/poll.ts',
  'scenarios/chapter.ts',
  'helpers/mesh/drain.ts',
  'helpers/cluster/host.ts',
  'helpers/run/strict-fields.ts',
  'helpers/run/settings-checks.ts',
  'workshop/check.ts',
  'helpers/cluster/kind-node-host.ts',
  'helpers/run/local-images.ts',
];

/**
 * helpers/cluster/kube.ts is mutated whole but for the REST plumbing that only a real API server can
 * answer, and that the self-tests must not fake (no stand-in for the Kubernetes REST API):
 * Kube.delete, deleteNamespaces, waitForDeployment, readyPod, restartPods and Kube.logs, fenced in
 * its source by `// Stryker disable all` / `// Stryker restore all` (reported as ignored, never
 * run). What those decide is mutated in the pure functions they call: isNotFound (kube.ts) and
 * the object predicates of helpers/cluster/kube-objects.ts (deploymentWaiting, theReadyPod,
 * freshReadyPods, podReady, hasIstioSidecar, exitCodeOf), whose tests (kube-objects.test.ts) do
 * not load @kubernetes/client-node. Also mutated and tested in-process: the error and Status
 * texts (kube-errors.test.ts), the context guard (context-guard.test.ts) and kubeconfig loading
 * (kube.kubeconfig.test.ts); the strict dry run's requests and middleware (kube.dry-run.test.ts,
 * a loopback request recorder); exec and port-forward against the streaming stand-in
 * (kube-streaming.test.ts, waits of 1 s, 1.5 s per test, in mutation runs).
 */

/**
 * Break scores (percent): below them `npm run test:mutation` fails. Stryker's thresholds.break
 * guards the whole set; cli/mutation-score.ts the decision modules. Reached on 2026-11-27 in a
 * full run on a fresh clone (4,959 mutants, 19 min 8 s at concurrency 2 on this 2-core
 * machine; two more runs of the same took 20 min 45 s and 20 min 51 s, with the same
 * scores): decision modules 95.93%, all 94.98%. Per file: settings 100, manifests 100, gcp 98.4,
 * poll 98.1, check 97.9, matrix 97.6, kube-objects 97.1, cart 96.6, strict-fields 96.2,
 * classify 95.9, parse 95.4, kind 95.2, istio 95.0, host 94.2, probe 92.8, chapter 92.0,
 * drain 91.7, settings-checks 91.4, compat 90.5, kube 85.4 (its object predicates moved to
 * kube-objects, leaving the streaming code, which has more survivors, a larger share).
 * Rounded down below. Raise them as tests improve; never lower them to make a run pass.
 */
export const breakScores = { decision: 95, all: 94 };

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The `self` project with only the Docker-free test files (no container is ever started).
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  // Two cores on the project's machines, shared with other work.
  concurrency: 2,
  // The decision modules, plus the modules around them that have Docker-free tests.
  // Left out: redis.ts, docker.ts, tools/download (their tests need Docker or a loopback mirror
  // and take seconds each; a mutant run would re-run them). kube.ts's REST plumbing is
  // fenced off in its source (see above).
  mutate: [
    ...decisionModules,
    'helpers/run/compat.ts',
    'cli/matrix-table.ts',
    'helpers/run/manifests.ts',
    'helpers/external/cart.ts',
    'helpers/cluster/kind.ts',
    'workshop/parse.ts',
    'workshop/classify.ts',
    'helpers/cluster/kube.ts',
    'helpers/cluster/kube-errors.ts',
    'helpers/cluster/kube-streaming.ts',
    'helpers/cluster/context-guard.ts',
    'helpers/cluster/kube-objects.ts',
  ],
  // Mutants in code that runs only at import time would need the whole suite per mutant
  // (about an hour here for a few hundred of them); they are reported as ignored instead.
  ignoreStatic: true,
  // Incremental mode: a re-run tests only mutants whose code or tests changed. The file lives
  // under reports/ (git-ignored), not ARTIFACTS_DIR: that folder is per run and is wiped or
  // uploaded by CI, while this one must survive between runs on the same clone.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${artifacts}/mutation/mutation.html` },
  jsonReporter: { fileName: jsonReport },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  // Not copied into the sandbox: the Go-built tools and the PyPI Envoy venvs (gigabytes; a venv's
  // lib64 link made the copy fail with EISDIR), and the run's artifacts.
  ignorePatterns: ['/.tools', '/artifacts'],
  cleanTempDir: true,
  // StrykerJS gives a mutant 1.5 x its covering tests' time + its dry run's overhead (11-17 s
  // measured here) + this, then restarts the test runner (about 20 s lost each). Most hangs end
  // sooner: at the per-test limits of vitest.mutation.config.ts, and loops at the hit limit.
  timeoutMS: 6000,
  thresholds: { high: 97, low: 90, break: breakScores.all },
};
