/**
 * Teardown in reverse order of setup, also on Ctrl-C and SIGTERM.
 *
 * Each thing the suite creates registers how to undo it right after it exists. `run()` undoes
 * them last-first, continuing past failures (and reporting them), exactly once.
 */
import { log } from './progress.ts';
import type { CleanupOutcome } from './user-facing.ts';

type Undo = { name: string; fn: () => Promise<void> };

export class Cleanup {
  readonly #stack: Undo[] = [];
  #running: Promise<string[]> | undefined;
  readonly #removed: string[] = [];
  readonly #failed: string[] = [];
  #interrupted = false;
  readonly #inFlight = new Map<Promise<unknown>, string>();

  add(name: string, fn: () => Promise<void>): void {
    this.#stack.push({ name, fn });
  }

  /**
   * Work under way that registers its own undo when it ends (a container start): a signal waits
   * for it, up to IN_FLIGHT_WAIT_MS, before undoing, so that what it creates is undone instead
   * of appearing after the exit. Returns `work` itself.
   */
  track<T>(name: string, work: Promise<T>): Promise<T> {
    const settled = work.then(() => undefined, () => undefined);
    this.#inFlight.set(settled, name);
    void settled.then(() => this.#inFlight.delete(settled));
    return work;
  }

  /** Waits for tracked work to settle (bounded by `deadlineMs`); returns the names still under way. */
  async settleInFlight(deadlineMs = Cleanup.IN_FLIGHT_WAIT_MS): Promise<string[]> {
    if (this.#inFlight.size === 0) return [];
    log(`waiting for ${[...this.#inFlight.values()].join(', ')} to finish, so that it can be undone`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => { timer = setTimeout(r, deadlineMs); });
    await Promise.race([Promise.all(this.#inFlight.keys()), deadline]);
    clearTimeout(timer);
    return [...this.#inFlight.values()];
  }

  get pending(): string[] {
    return this.#stack.map((u) => u.name);
  }

  /** What run() has undone and failed to undo so far. */
  get outcome(): CleanupOutcome {
    return { removed: [...this.#removed], failed: [...this.#failed] };
  }

  /** Returns the problems met; never throws. */
  run(): Promise<string[]> {
    this.#running ??= (async () => {
      const problems: string[] = [];
      while (this.#stack.length > 0) {
        const { name, fn } = this.#stack.pop()!;
        const started = performance.now();
        try {
          await fn();
          this.#removed.push(name);
          log(`cleaned up: ${name} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
        } catch (e) {
          problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
          this.#failed.push(name);
          log(`cleanup failed: ${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      return problems;
    })();
    return this.#running;
  }

  /**
   * On SIGINT/SIGTERM: clean up, then exit 130/143. Returns a function that gives the signals back.
   *
   * The handlers take the signals over: listeners registered before (vitest's logger registers
   * one that exits 1 ms later) are removed while the run is up and put back afterwards, so the
   * cleanup is not cut short.
   *
   * One keypress is one interrupt: npm passes its SIGINT on to the script it runs, and when that
   * script is the process npm started (`exec`, or a shell that execs a lone command, as bash does)
   * it also gets the terminal's own SIGINT, so one Ctrl-C arrives twice. A repeat within
   * REPEAT_WINDOW_MS is taken as that echo and ignored; a second Ctrl-C after it exits at once,
   * naming what is left.
   */
  onSignals(): () => void {
    const signals = ['SIGINT', 'SIGTERM'] as const;
    const previous = new Map(signals.map((s) => [s, process.listeners(s)]));
    let firstAt: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (firstAt !== undefined) {
        if (performance.now() - firstAt < Cleanup.REPEAT_WINDOW_MS) return;
        log(`${signal} again: exiting now; not cleaned up: ${this.pending.reverse().join(', ') || 'nothing'}`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      firstAt = performance.now();
      this.#interrupted = true;
      log(`${signal}: cleaning up before exit (${this.pending.length} items; press Ctrl-C again to exit at once)…`);
      void this.settleInFlight()
        .then((left) => { if (left.length > 0) log(`still under way, not undone: ${left.join(', ')}`); })
        .then(() => this.run())
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    for (const s of signals) {
      process.removeAllListeners(s);
      process.on(s, handler);
    }
    return () => {
      for (const s of signals) {
        process.off(s, handler);
        for (const l of previous.get(s) ?? []) process.on(s, l as (signal: NodeJS.Signals) => void);
      }
    };
  }

  /** A signal this soon after the first is the same keypress delivered twice (see onSignals). */
  static readonly REPEAT_WINDOW_MS = 2_000;

  /** The longest a signal waits for tracked work (a container start is bounded by its own timeout). */
  static readonly IN_FLIGHT_WAIT_MS = 90_000;

  /** True once a signal has started the cleanup (the signal handler then owns the exit). */
  get interrupted(): boolean {
    return this.#interrupted;
  }
}
