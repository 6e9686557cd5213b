import { defineConfig } from 'vitest/config';
import { FileHistoryReporter, MutationSequencer } from './self-tests/plumbing/mutation-order.ts';

/**
 * The self-tests StrykerJS runs for every mutant (`npm run test:mutation`, see stryker.config.mjs).
 *
 * The run set is explicit: the files that test the mutated modules without a Docker engine.
 * Left out: the Docker-only files (the Redis stand-in, Ctrl-C during a run), and the files that
 * test modules outside the mutated set while calling into it incidentally (tools.test.ts:
 * downloads from a loopback mirror; plan.test.ts: `npm run plan` in child processes, whose
 * coverage Stryker cannot see; workflow.test.ts: actionlint). They would run for every settings
 * mutant and triple the run time without testing its decisions. The Docker-backed tests inside
 * the files below are skipped by `needDocker` because DOCKER_HOST
 * points at a socket that does not exist: a mutant run can never start a container, even on a
 * machine where an engine is running. (REQUIRE_DOCKER is cleared for the same reason: it would
 * turn those skips into failures, and every mutant would count as killed.)
 */
export const mutationTestFiles = [
  'self-tests/external/cart.test.ts',
  'self-tests/external/cart.client.test.ts',
  'self-tests/mesh/mesh-config.test.ts',
  'self-tests/mesh/istio-install.test.ts',
  'self-tests/cli/docs.test.ts',
  'self-tests/mesh/egress-evidence.test.ts',
  'self-tests/external/gcp.test.ts',
  'self-tests/external/gcp.lifecycle.test.ts',
  'self-tests/mesh/envoy-admin.test.ts',
  'self-tests/cluster/kind.lifecycle.test.ts',
  'self-tests/cluster/kind.decisions.test.ts',
  'self-tests/run/manifests.test.ts',
  'self-tests/run/strict-fields.test.ts',
  'self-tests/cli/matrix-table.test.ts',
  'self-tests/run/poll.test.ts',
  'self-tests/external/probe.protocol.test.ts',
  'self-tests/external/probe.test.ts',
  'self-tests/run/settings.test.ts',
  'self-tests/run/settings.rules.test.ts',
  'self-tests/run/settings-checks.test.ts',
  'self-tests/run/compat.test.ts',
  'self-tests/run/pins.test.ts',
  'self-tests/scenarios/chapter.test.ts',
  'self-tests/mesh/drain.test.ts',
  'self-tests/cluster/host.test.ts',
  'self-tests/cluster/kube-streaming.test.ts',
  'self-tests/cluster/kube-errors.test.ts',
  'self-tests/cluster/context-guard.test.ts',
  'self-tests/cluster/kube.kubeconfig.test.ts',
  'self-tests/cluster/kube-objects.test.ts',
  'self-tests/cluster/kube.dry-run.test.ts',
  'self-tests/scenarios/sequencer.test.ts',
  'self-tests/workshop/parse.test.ts',
  'self-tests/workshop/classify.test.ts',
  'self-tests/workshop/check.test.ts',
  'self-tests/cluster/kind-node-host.test.ts',
  'self-tests/run/local-images.test.ts',
];

export default defineConfig({
  test: {
    // For each mutant, the covering file most likely to kill it per second of its cost runs first
    // (self-tests/plumbing/mutation-order.ts). vitest takes the sequencer and reporters from the root config.
    sequence: { sequencer: MutationSequencer },
    reporters: ['default', new FileHistoryReporter()],
    projects: [
      {
        test: {
          // Same name as the `self` project of vitest.config.ts: the same tests, minus Docker.
          name: 'self',
          include: mutationTestFiles,
          // A mutant that makes a test hang (a promise never settled, a close never done) fails
          // it here, in place, instead of holding the worker: StrykerJS's own timeout is its
          // dry run's overhead (11-17 s) + 6 s, and restarts the test-runner process. Unmutated,
          // every test here takes at most 0.4 s (measured 2026-11-27), but the schema tests of
          // egress-gateway and manifests, which keep 5 s (their first test imports the schemas,
          // about a second); kube-streaming.test.ts sets 1.5 s. A hanging test cost 5 s a kill
          // and a hanging hook 10 s: 364 s of worker time in a 22-minute run, mostly cart-client,
          // poll, probe and kube-streaming.
          testTimeout: 2_000,
          hookTimeout: 3_000,
          fileParallelism: false,
          env: {
            DOCKER_HOST: 'unix:///nonexistent/egress-verify-mutation-no-docker.sock',
            REQUIRE_DOCKER: '',
            TESTCONTAINERS_RYUK_DISABLED: 'true',
            // Leaves out the tests that run the real gcloud (seconds per call; see gcp.test.ts).
            EGRESS_VERIFY_MUTATION: '1',
          },
        },
      },
    ],
  },
});
