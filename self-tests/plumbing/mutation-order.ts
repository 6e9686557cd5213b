/**
 * The order in which a mutation run tries the test files that cover a mutant
 * (vitest.mutation.config.ts; `npm run test:mutation`).
 *
 * StrykerJS runs, for each mutant, the tests that covered its code, and stops at the first test
 * that fails (the vitest runner passes `bail: 1`). Every file costs a fresh vitest worker and the
 * import of its module graph, often more than its tests. Which file is tried first decides the
 * run time: vitest's own sequencer (BaseSequencer in vitest/node) puts files that failed before
 * first and then the slower ones first, which is right for a suite run on many workers and wrong
 * here. Measured on 2026-11-27: a full run took 48.6 minutes, near the 54 minutes it would take if
 * every covering file ran for every mutant, against about 26 if the file that kills ran first.
 *
 * The rule: try files in decreasing order of (chance that this file kills the mutant) / (what
 * running it costs). Both are learned during the run, per vitest instance (StrykerJS keeps one
 * per test-runner process): the cost is the file's last measured worker time (environment,
 * prepare, setup files, import and tests), the chance a moving average of whether it failed when
 * it ran, weighted to the recent runs. Neighbouring mutants are handed out in source order, and are
 * mostly killed by the same file, so a file that just killed one goes first for the next.
 *
 * The order changes which file kills a mutant and how long a run takes, never whether it is
 * killed: a mutant survives only if every covering test passes, and that holds in any order.
 */
import { BaseSequencer, type Reporter, type TestModule, type TestSpecification } from 'vitest/node';

/** The weight of the newest observation in the moving averages. */
export const RECENT_WEIGHT = 0.5;
/** The chance of a kill assumed for a file before it has ever failed or passed under a mutant. */
export const PRIOR_KILL_CHANCE = 0.5;

export interface FileRecord {
  /** Milliseconds the file's last completed run took in its worker. */
  cost: number;
  /** 0..1: a moving average of "failed" over the runs where it ran to the end or failed. */
  killChance: number;
}

/** What the run has learned so far, per test file (module id). */
export class FileHistory {
  readonly #records = new Map<string, FileRecord>();

  get(moduleId: string): FileRecord | undefined {
    return this.#records.get(moduleId);
  }

  /**
   * One finished run of a file. The first sighting is StrykerJS's initial run with no mutant
   * active, where a pass says nothing about kills: it keeps the prior.
   */
  record(moduleId: string, cost: number, failed: boolean): void {
    const was = this.#records.get(moduleId);
    if (!was) {
      this.#records.set(moduleId, { cost, killChance: failed ? 1 : PRIOR_KILL_CHANCE });
      return;
    }
    this.#records.set(moduleId, {
      cost,
      killChance: (1 - RECENT_WEIGHT) * was.killChance + RECENT_WEIGHT * (failed ? 1 : 0),
    });
  }

  /** Higher first: kill chance per millisecond. A file never seen goes first (its cost is unknown). */
  value(moduleId: string): number {
    const r = this.#records.get(moduleId);
    if (!r) return Number.POSITIVE_INFINITY;
    return r.killChance / Math.max(r.cost, 1);
  }

  /** `items` by decreasing value; equal values keep their order. */
  order<T>(items: readonly T[], moduleIdOf: (item: T) => string): T[] {
    return items
      .map((item, i) => ({ item, i, v: this.value(moduleIdOf(item)) }))
      .sort((a, b) => (b.v - a.v) || (a.i - b.i))
      .map(({ item }) => item);
  }
}

/** One history per process: the reporter writes it, the sequencer reads it. */
export const history = new FileHistory();

/** The time a finished file took in its worker, from vitest's own measurements. */
export function workerTime(m: TestModule): number {
  const d = m.diagnostic();
  return d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration;
}

/** Records each file that ran to the end or failed; a file cut short by `bail` says nothing. */
export class FileHistoryReporter implements Reporter {
  readonly #into: FileHistory;

  constructor(into: FileHistory = history) {
    this.#into = into;
  }

  onTestModuleEnd(m: TestModule): void {
    const state = m.state();
    if (state !== 'passed' && state !== 'failed') return;
    this.#into.record(m.moduleId, workerTime(m), state === 'failed');
  }
}

export class MutationSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return history.order(files, (spec) => spec.moduleId);
  }
}
