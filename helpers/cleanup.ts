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

  add(name: string, fn: () => Promise<void>): void {
    this.#stack.push({ name, fn });
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
   * cleanup is not cut short. A second Ctrl-C exits at once, naming what is left.
   */
  onSignals(): () => void {
    const signals = ['SIGINT', 'SIGTERM'] as const;
    const previous = new Map(signals.map((s) => [s, process.listeners(s)]));
    let interrupted = false;
    const handler = (signal: NodeJS.Signals) => {
      if (interrupted) {
        log(`${signal} again: exiting now; not cleaned up: ${this.pending.reverse().join(', ') || 'nothing'}`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      interrupted = true;
      log(`${signal}: cleaning up before exit (${this.pending.length} items; press Ctrl-C again to exit at once)…`);
      void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
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
}
