/**
 * A self-test run labels every container and network it creates with its run id (set by
 * self-tests/global-setup.ts in the environment, which workers and spawned programs inherit), so
 * that its teardown, its signal handler and .ci/run can remove exactly what it made, whatever
 * path it took. Outside a self-test run the variable is unset and nothing is added.
 *
 * A run started by a self-test (a child `vitest run` under test) has an id of its own and also
 * carries one label per run it runs within, so that the outer run's sweep removes what an
 * inner run it had to kill left behind.
 */
export const SELF_TEST_RUN_LABEL = 'egress-verify-selftest-run';
export const SELF_TEST_RUN_ENV = 'EGRESS_VERIFY_SELFTEST_RUN';
/** Comma-separated ids of the runs this one runs within. */
export const SELF_TEST_WITHIN_ENV = 'EGRESS_VERIFY_SELFTEST_WITHIN';

/** The label (key only) every resource made within run `id` carries. */
export function withinLabel(id: string): string {
  return `${SELF_TEST_RUN_LABEL}.within.${id}`;
}

export function runLabels(env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const id = env[SELF_TEST_RUN_ENV];
  if (!id) return {};
  const within = (env[SELF_TEST_WITHIN_ENV] ?? '').split(',').filter(Boolean);
  return { [SELF_TEST_RUN_LABEL]: id, ...Object.fromEntries(within.map((w) => [withinLabel(w), 'true'])) };
}
