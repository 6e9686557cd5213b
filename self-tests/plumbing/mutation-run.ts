/**
 * True inside a StrykerJS run (vitest.mutation.config.ts sets EGRESS_VERIFY_MUTATION=1). Tests
 * that run child processes skip themselves then: Stryker cannot see what they reach, and each
 * would add seconds to every mutant that re-runs them.
 */
export const MUTATION_RUN = process.env.EGRESS_VERIFY_MUTATION === '1';
