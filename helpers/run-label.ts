/**
 * A self-test run labels every container and network it creates with its run id (set by
 * self-tests/global-setup.ts in the environment, which workers and spawned programs inherit), so
 * that its teardown, its signal handler and .ci/run can remove exactly what it made, whatever
 * path it took. Outside a self-test run the variable is unset and nothing is added.
 */
export const SELF_TEST_RUN_LABEL = 'egress-verify-selftest-run';
export const SELF_TEST_RUN_ENV = 'EGRESS_VERIFY_SELFTEST_RUN';

export function runLabels(): Record<string, string> {
  const id = process.env[SELF_TEST_RUN_ENV];
  return id ? { [SELF_TEST_RUN_LABEL]: id } : {};
}
