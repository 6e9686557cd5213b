/**
 * Failures a user fixes from the message alone (a setting, a missing tool, the context guard, GCP
 * not ready, a host check): `npm test` prints them as one block, with every problem at once and
 * what was or was not created, and no stack. Anything else is unexpected and keeps its stack.
 *
 * A new kind of such failure extends UserFacingError; nothing else needs to know about it.
 */
export class UserFacingError extends Error {
  /** What is wrong, in a few words ("Missing prerequisites"); says nothing about what exists. */
  readonly headline: string;
  /** Each thing to fix, one line each. */
  readonly problems: readonly string[];
  /** `message` defaults to the headline followed by the problems. */
  constructor(headline: string, problems: readonly string[], message?: string) {
    super(message ?? `${headline}:\n${bullets(problems)}`);
    this.headline = headline;
    this.problems = problems;
  }
}

export function bullets(problems: readonly string[]): string {
  return problems.map((p) => `  - ${p}`).join('\n');
}

/** What the run's cleanup did; see Cleanup.outcome. */
export interface CleanupOutcome {
  /** Undone, in the order they were undone. */
  removed: readonly string[];
  /** Could not be undone (why is logged when it happens). */
  failed: readonly string[];
}

/** The block `npm test` ends with on a user-facing failure. */
export function failureBlock(e: UserFacingError, outcome: CleanupOutcome, hints: readonly string[] = []): string {
  const lines = [`✘ ${e.headline}:`, bullets(e.problems)];
  if (outcome.removed.length + outcome.failed.length === 0) lines.push('Nothing was created.');
  if (outcome.removed.length > 0) lines.push(`Created, then removed again: ${outcome.removed.join(', ')}.`);
  if (outcome.failed.length > 0) lines.push(`LEFT BEHIND, its cleanup failed (see above): ${outcome.failed.join(', ')}.`);
  return `${[...lines, ...hints].join('\n')}\n`;
}
