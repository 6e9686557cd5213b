/**
 * Teardown in reverse order of setup, also on Ctrl-C and SIGTERM.
 *
 * Each thing the suite creates registers how to undo it right after it exists. `run()` undoes
 * them last-first, continuing past failures (and reporting them), exactly once.
 */
import { log } from './progress.ts';

type Undo = { name: string; fn: () => Promise<void> };

export class Cleanup {
  readonly #stack: Undo[] = [];
  #running: Promise<string[]> | undefined;

  add(name: string, fn: () => Promise<void>): void {
    this.#stack.push({ name, fn });
  }

  get pending(): string[] {
    return this.#stack.map((u) => u.name);
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
          log(`cleaned up: ${name} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
        } catch (e) {
          problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
          log(`cleanup failed: ${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      return problems;
    })();
    return this.#running;
  }

  /** On SIGINT/SIGTERM: clean up, then exit 130/143. Returns a function that removes the handlers. */
  onSignals(): () => void {
    const handler = (signal: NodeJS.Signals) => {
      log(`${signal}: cleaning up before exit (${this.pending.length} items)…`);
      void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }
}
