/**
 * Polling: what is retried and what is not, streaks of consecutive successes, and what is
 * reported (value, attempts, how long until the condition first held for good).
 */
import { describe, expect, test, vi } from 'vitest';
import { pollTimed, PollTimeoutError, pollUntil, RetryableError } from '../../helpers/run/poll.ts';

/** A check that plays `script` in order: a value, undefined (not yet), or an error to throw. */
function scripted<T>(script: (T | undefined | Error)[]) {
  let i = 0;
  const check = async (): Promise<T | undefined> => {
    const step = script[Math.min(i++, script.length - 1)];
    if (step instanceof Error) throw step;
    return step;
  };
  return { check, calls: () => i };
}

// On a fake clock (global setTimeout and performance): no wall time spent waiting out intervals,
// which a mutation run would pay again for every mutant these tests cover.
async function onFakeClock(run: () => Promise<void>): Promise<void> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  try {
    await run();
  } finally {
    vi.useRealTimers();
  }
}

describe('poll: fatal errors stop at once, retryable ones are retried', () => {
  test('an error that is not a RetryableError is thrown on the first attempt, long before the deadline', async () => {
    const fatal = new TypeError('namespace is terminating');
    const { check, calls } = scripted<number>([fatal, 1]);
    const started = performance.now();
    const err = await pollTimed('x', 60_000, check, undefined, { intervalMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBe(fatal);
    expect(calls()).toBe(1);
    expect(performance.now() - started).toBeLessThan(900);
  });

  test('a RetryableError is retried; its message is the last observation', async () => {
    const { check, calls } = scripted<string>([new RetryableError('closed'), new RetryableError('still closed'), 'answered']);
    const r = await pollTimed('Redis', 5000, check, undefined, { intervalMs: 5 });
    expect(r).toMatchObject({ value: 'answered', attempts: 3 });
    expect(calls()).toBe(3);
  });

  test('falsy values other than undefined are results', async () => {
    for (const v of [0, '', false, null]) {
      const r = await pollTimed('falsy', 1000, async () => v, undefined, { intervalMs: 5 });
      expect(r.value, String(v)).toBe(v);
      expect(r.attempts).toBe(1);
    }
  });
});

describe('poll: consecutive successes', () => {
  test('a not-yet or a retryable error in between restarts the streak', async () => {
    const { check } = scripted<number>([1, 2, undefined, 3, new RetryableError('flap'), 4, 5, 6]);
    const r = await pollTimed('3 in a row', 5000, check, undefined, { intervalMs: 5, consecutive: 3 });
    expect(r).toMatchObject({ value: 6, attempts: 8 });
  });

  test('exactly `consecutive` successes are enough', async () => {
    const { check } = scripted<number>([1, 2, 3, 4]);
    expect(await pollTimed('2 in a row', 5000, check, undefined, { intervalMs: 5, consecutive: 2 })).toMatchObject({ value: 2, attempts: 2 });
  });

  test('elapsed is measured to the first success of the final streak, not to its end (fake clock)', () => onFakeClock(async () => {
    const always = pollTimed('steady', 5000, async () => 'ok', undefined, { intervalMs: 150, consecutive: 3 });
    await vi.advanceTimersByTimeAsync(300);
    expect(await always).toEqual({ value: 'ok', attempts: 3, elapsedMs: 0, heldByMs: 0 });
    // Attempts at 0, 300, 600 and 900 ms: the streak began with the third (600), not the fourth.
    const { check, calls } = scripted<string>([undefined, undefined, 'ok', 'ok']);
    const late = pollTimed('late', 5000, check, undefined, { intervalMs: 300, consecutive: 2 });
    await vi.advanceTimersByTimeAsync(899);
    expect(calls()).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(await late).toEqual({ value: 'ok', attempts: 4, elapsedMs: 600, heldByMs: 600 });
  }));

  test('heldBy is the end of the check that began the streak: with slow checks that held at once, the only bound (fake clock)', () => onFakeClock(async () => {
    // Each check takes 250 ms (a probe's exec round trip); the first one already holds.
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve('ok'), 250));
    const atOnce = pollTimed('slow', 5000, slow, undefined, { intervalMs: 100, consecutive: 3 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await atOnce).toEqual({ value: 'ok', attempts: 3, elapsedMs: 0, heldByMs: 250 });
    // Not at once: a failed check (250 ms), a pause (100), then the streak's first check (250).
    let n = 0;
    const later = pollTimed('slow, later', 5000, async () => { await new Promise((r) => setTimeout(r, 250)); n++; return n >= 2 ? 'ok' : undefined; }, undefined, { intervalMs: 100 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await later).toEqual({ value: 'ok', attempts: 2, elapsedMs: 350, heldByMs: 600 });
  }));

  test('by default one success is enough, and attempts are a second apart (fake clock)', () => onFakeClock(async () => {
    const { check, calls } = scripted<string>([undefined, 'ok']);
    let settled = false;
    const r = pollTimed('default interval', 10_000, check).finally(() => { settled = true; });
    await vi.advanceTimersByTimeAsync(999);
    expect([calls(), settled]).toEqual([1, false]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await r).toEqual({ value: 'ok', attempts: 2, elapsedMs: 1000, heldByMs: 1000 });
  }));
});

describe('poll: the deadline', () => {
  test('on timeout: what was awaited, the deadline and the last observation as text', async () => {
    const { check, calls } = scripted<{ outcome: string }>([undefined]);
    const err = await pollTimed('the probe', 120, check, undefined, { intervalMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PollTimeoutError);
    expect((err as Error).name).toBe('PollTimeoutError');
    expect((err as Error).message).toBe('timed out after 120ms waiting for the probe');
    expect(calls()).toBeGreaterThanOrEqual(3);
  });

  test('the last observation: a string as is, anything else as JSON, through a custom describer if given', async () => {
    const text = await pollUntil('x', 30, async () => { throw new RetryableError('closed'); }, undefined, { intervalMs: 5 }).catch((e: Error) => e.message);
    expect(text).toBe('timed out after 30ms waiting for x; last seen: closed');
    // A value seen, but the deadline passed before the streak was complete.
    const object = await pollUntil('w', 30, async () => ({ outcome: 'answered' }), undefined, { intervalMs: 50, consecutive: 3 }).catch((e: Error) => e.message);
    expect(object).toBe('timed out after 30ms waiting for w; last seen: {"outcome":"answered"}');
    const seen: unknown[] = [];
    const custom = await pollTimed('y', 30, async () => undefined, (last) => { seen.push(last); return 'described'; }, { intervalMs: 5 }).catch((e: Error) => e.message);
    expect(custom).toBe('timed out after 30ms waiting for y; last seen: described');
    expect(seen).toEqual([undefined]);
    expect(new PollTimeoutError('z', 2500, '{"outcome":"closed"}').message).toBe('timed out after 2.5s waiting for z; last seen: {"outcome":"closed"}');
  });

  test('a check that never holds is tried until the deadline, not beyond it', async () => {
    const { check, calls } = scripted<number>([undefined]);
    const started = performance.now();
    await expect(pollTimed('never', 200, check, undefined, { intervalMs: 40 })).rejects.toBeInstanceOf(PollTimeoutError);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(1500);
    expect(calls()).toBeGreaterThanOrEqual(3);
  });

  test('an interval longer than the deadline: one more attempt at the deadline, then the timeout, not an interval later', async () => {
    const { check, calls } = scripted<number>([undefined]);
    const started = performance.now();
    await expect(pollTimed('slow interval', 100, check, undefined, { intervalMs: 60_000 })).rejects.toBeInstanceOf(PollTimeoutError);
    const took = performance.now() - started;
    // The first attempt, then one at the deadline.
    expect(calls()).toBe(2);
    expect(took).toBeGreaterThanOrEqual(95);
    expect(took).toBeLessThan(1000);
  });

  test('the attempt at the deadline is the last even if its timer fired a fraction of a millisecond early (fake clock)', () => onFakeClock(async () => {
    // Timers may fire before the clock reaches their time (fractional clock, whole-millisecond
    // timers). Played here on a fake clock, read half a millisecond behind from the third attempt
    // on: without the final-attempt rule, 0.5 ms would seem left and a fourth attempt would see
    // the value. Real timers show this only by chance.
    let skew = 0;
    const clock = performance.now.bind(performance);
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock() - skew);
    try {
      let calls = 0;
      const check = async () => {
        calls++;
        if (calls === 3) skew = 0.5;
        return calls >= 4 ? 'late' : undefined;
      };
      // Attempts at 0 and 20 ms, then the last at the 30 ms deadline.
      const r = pollTimed('the deadline', 30, check, undefined, { intervalMs: 20 }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(100);
      expect(await r).toBeInstanceOf(PollTimeoutError);
      expect(calls).toBe(3);
    } finally {
      now.mockRestore();
    }
  }));

  test('pollUntil returns the value itself', async () => {
    expect(await pollUntil('v', 1000, async () => ({ ok: 1 }), undefined, { intervalMs: 5 })).toEqual({ ok: 1 });
  });
});
