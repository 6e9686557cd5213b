/**
 * Polling with a deadline: the suite's only way to wait. No fixed sleeps.
 *
 * `check` returns a value when the condition holds, undefined to try again; a thrown error
 * stops the wait at once (a condition that can no longer become true). On timeout the error
 * says what was awaited, for how long, and the last observation.
 */
import { formatDuration } from './progress.ts';

export class PollTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, last: string) {
    super(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}${last ? `; last seen: ${last}` : ''}`);
    this.name = 'PollTimeoutError';
  }
}

export interface Polled<T> {
  value: T;
  /** How long the condition took to hold: to the start of the check that began the final streak. */
  elapsedMs: number;
  /**
   * To the end of that check: when the condition was first seen holding. When the very first check
   * held (elapsedMs 0), this is the only figure that says anything: the wait took at most this.
   */
  heldByMs: number;
  attempts: number;
}

export interface PollOptions {
  /** Delay between attempts; istio.io doc tests retry every 1 s. */
  intervalMs?: number;
  /** The condition must hold this many times in a row (istio/istio echo checks use 3). */
  consecutive?: number;
}

/** The global setTimeout (not node:timers/promises), so that the self-tests can run a poll on a fake clock. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Like pollUntil, and also reports how long it took. */
export async function pollTimed<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  describeLast: (last: unknown) => string = defaultDescribe,
  options: PollOptions = {},
): Promise<Polled<T>> {
  const interval = options.intervalMs ?? 1000;
  const needed = options.consecutive ?? 1;
  const started = performance.now();
  let attempts = 0;
  let streak = 0;
  let last: unknown;
  let firstOfStreak = 0;
  let firstHeld = 0;
  let finalAttempt = false;
  for (;;) {
    attempts++;
    const attemptAt = performance.now();
    let value: T | undefined;
    try {
      value = await check();
      last = value;
    } catch (e) {
      if (!(e instanceof RetryableError)) throw e;
      last = e.message;
    }
    if (value !== undefined) {
      if (streak === 0) {
        firstOfStreak = attemptAt;
        firstHeld = performance.now();
      }
      streak++;
      if (streak >= needed) return { value, elapsedMs: Math.round(firstOfStreak - started), heldByMs: Math.round(firstHeld - started), attempts };
    } else {
      streak = 0;
    }
    const remaining = timeoutMs - (performance.now() - started);
    // Stryker disable next-line EqualityOperator: the clock is fractional; landing exactly on the deadline cannot be arranged, and either side is right.
    if (finalAttempt || remaining <= 0) throw new PollTimeoutError(what, timeoutMs, describeLast(last));
    // Never sleep past the deadline: the last attempt is made at the deadline, so a wait gives up
    // when it says it does, not up to an interval later (2 s for the cart). That attempt is the
    // last whatever the clock says after it (a timer may fire a fraction of a millisecond early).
    // Stryker disable next-line EqualityOperator: remaining equal to the interval to the fraction of a millisecond cannot be arranged; either way the next attempt is at the deadline.
    finalAttempt = remaining <= interval;
    await sleep(Math.min(interval, remaining));
  }
}

export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  describeLast?: (last: unknown) => string,
  options?: PollOptions,
): Promise<T> {
  return (await pollTimed(what, timeoutMs, check, describeLast, options)).value;
}

/** Thrown by a check to mean "not yet, and here is why" (kept as the last observation). */
export class RetryableError extends Error {}

function defaultDescribe(last: unknown): string {
  // Stryker disable next-line ConditionalExpression: JSON.stringify(undefined) is undefined, which the message also leaves out.
  if (last === undefined) return '';
  return typeof last === 'string' ? last : JSON.stringify(last);
}
