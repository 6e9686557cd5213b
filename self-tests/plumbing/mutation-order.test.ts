/**
 * The mutation run's file order (self-tests/plumbing/mutation-order.ts): which covering test file is
 * tried first for a mutant. The order must put a cheap file that has been killing mutants
 * ahead of an expensive one that has not, and must learn both from the run itself.
 */
import { describe, expect, test } from 'vitest';
import type { TestModule } from 'vitest/node';
import { FileHistory, FileHistoryReporter, PRIOR_KILL_CHANCE, RECENT_WEIGHT, workerTime } from './mutation-order.ts';

/** Just the part of vitest's TestModule that the reporter reads. */
function finished(moduleId: string, state: string, times: Partial<Record<'environmentSetupDuration' | 'prepareDuration' | 'setupDuration' | 'collectDuration' | 'duration', number>>): TestModule {
  const d = { environmentSetupDuration: 0, prepareDuration: 0, setupDuration: 0, collectDuration: 0, duration: 0, ...times };
  return { moduleId, state: () => state, diagnostic: () => d } as unknown as TestModule;
}

describe('what a finished file teaches', () => {
  test('the first sighting keeps the prior chance when it passed (no mutant was active), and records its cost', () => {
    const h = new FileHistory();
    h.record('a', 120, false);
    expect(h.get('a')).toEqual({ cost: 120, killChance: PRIOR_KILL_CHANCE });
    h.record('b', 80, true);
    expect(h.get('b')).toEqual({ cost: 80, killChance: 1 });
  });

  test('later runs move the chance toward what happened, the newest weighing RECENT_WEIGHT, and replace the cost', () => {
    const h = new FileHistory();
    h.record('a', 100, false);
    h.record('a', 300, true);
    const afterKill = (1 - RECENT_WEIGHT) * PRIOR_KILL_CHANCE + RECENT_WEIGHT;
    expect(h.get('a')).toEqual({ cost: 300, killChance: afterKill });
    h.record('a', 200, false);
    expect(h.get('a')).toEqual({ cost: 200, killChance: (1 - RECENT_WEIGHT) * afterKill });
  });

  test('worker time adds up every phase vitest measures for a file', () => {
    expect(workerTime(finished('x', 'passed', { environmentSetupDuration: 1, prepareDuration: 2, setupDuration: 4, collectDuration: 8, duration: 16 }))).toBe(31);
  });

  test('the reporter records passed and failed files; a file cut short by bail (skipped) or not run teaches nothing', () => {
    const h = new FileHistory();
    const r = new FileHistoryReporter(h);
    r.onTestModuleEnd(finished('/p/pass.test.ts', 'passed', { collectDuration: 50, duration: 5 }));
    r.onTestModuleEnd(finished('/p/fail.test.ts', 'failed', { collectDuration: 20 }));
    r.onTestModuleEnd(finished('/p/cut.test.ts', 'skipped', { collectDuration: 20 }));
    r.onTestModuleEnd(finished('/p/queued.test.ts', 'queued', {}));
    expect(h.get('/p/pass.test.ts')).toEqual({ cost: 55, killChance: PRIOR_KILL_CHANCE });
    expect(h.get('/p/fail.test.ts')).toEqual({ cost: 20, killChance: 1 });
    expect(h.get('/p/cut.test.ts')).toBeUndefined();
    expect(h.get('/p/queued.test.ts')).toBeUndefined();
  });
});

describe('the order of the covering files', () => {
  const ids = (xs: readonly string[]) => xs;

  test('cheaper first when nothing is known about kills', () => {
    const h = new FileHistory();
    h.record('slow', 900, false);
    h.record('fast', 90, false);
    h.record('mid', 300, false);
    expect(h.order(['slow', 'fast', 'mid'], (x) => x)).toEqual(['fast', 'mid', 'slow']);
  });

  test('the file that just killed goes ahead of a cheaper one that just passed', () => {
    const h = new FileHistory();
    h.record('unit', 400, false);
    h.record('other', 100, false);
    h.record('unit', 400, true);
    h.record('other', 100, false);
    // unit: 0.75 in 400 ms; other: 0.25 in 100 ms, still the better bet per millisecond.
    expect(h.order(['unit', 'other'], (x) => x)).toEqual(['other', 'unit']);
    // One more pass: other 0.125 in 100 ms, now behind.
    h.record('other', 100, false);
    expect(h.order(['other', 'unit'], (x) => x)).toEqual(['unit', 'other']);
  });

  test('but not ahead of a far cheaper one that has killed as often', () => {
    const h = new FileHistory();
    for (const f of ['costly', 'cheap']) { h.record(f, f === 'costly' ? 2000 : 50, false); h.record(f, f === 'costly' ? 2000 : 50, true); }
    expect(h.order(['costly', 'cheap'], (x) => x)).toEqual(['cheap', 'costly']);
  });

  test('a file never seen goes first; equal values keep the order they came in', () => {
    const h = new FileHistory();
    h.record('a', 100, false);
    h.record('b', 100, false);
    expect(h.order(ids(['a', 'b', 'new']), (x) => x)).toEqual(['new', 'a', 'b']);
    expect(h.order(ids(['b', 'a']), (x) => x)).toEqual(['b', 'a']);
  });

  test('a zero cost (a file vitest timed at 0 ms) counts as 1 ms instead of dividing by zero', () => {
    const h = new FileHistory();
    h.record('zero', 0, false);
    h.record('two', 2, false);
    expect(h.value('zero')).toBe(PRIOR_KILL_CHANCE);
    expect(h.order(['two', 'zero'], (x) => x)).toEqual(['zero', 'two']);
  });
});
