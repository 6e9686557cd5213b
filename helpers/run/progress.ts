/**
 * Progress lines and phase timings for long steps.
 *
 *   const t = new Timings();
 *   await t.phase('cluster', () => kind.start());   // prints "▶ cluster" and "✔ cluster 61.2s"
 *   t.summary()                                      // table for the end of the run
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface PhaseRecord {
  name: string;
  ms: number;
  ok: boolean;
  note?: string;
}

export function log(message: string): void {
  process.stderr.write(`[egress-verify ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A duration as a person writes it, in the notation of the duration settings: 20m, 2m30s, 1h, 500ms, 1.5s. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms);
  if (total < 1000) return `${total}ms`;
  if (total < 60_000) return total % 1000 === 0 ? `${total / 1000}s` : `${(total / 1000).toFixed(1)}s`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const sec = Math.round((total % 60_000) / 1000);
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}` || '0s';
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export class Timings {
  readonly records: PhaseRecord[] = [];
  /** How this run differs from a laptop run on the published images (the run's report lists them). */
  readonly deviations: string[] = [];
  readonly #signal: AbortSignal | undefined;
  readonly #notes = new Map<string, string>();

  /** With a signal: once it is aborted, no new phase starts (the one under way finishes). */
  constructor(signal?: AbortSignal) {
    this.#signal = signal;
  }

  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.#signal?.aborted) {
      const reason: unknown = this.#signal.reason;
      throw reason instanceof Error ? reason : new Error(`not started: ${name} (${String(reason)})`);
    }
    log(`▶ ${name}`);
    const started = performance.now();
    // A heartbeat so a long step (cluster create, image pulls) never looks hung.
    const beat = setInterval(() => log(`  … ${name} (${seconds(performance.now() - started)})`), 15_000);
    beat.unref();
    try {
      const value = await fn();
      this.record({ name, ms: performance.now() - started, ok: true });
      log(`✔ ${name} ${seconds(performance.now() - started)}`);
      return value;
    } catch (e) {
      this.record({ name, ms: performance.now() - started, ok: false });
      log(`✘ ${name} failed after ${seconds(performance.now() - started)}`);
      throw e;
    } finally {
      clearInterval(beat);
    }
  }

  /** Adds a note to the last record of a phase (e.g. "reused", "install skipped"). */
  note(name: string, note: string): void {
    this.#notes.set(name, note);
  }

  /** Records a way this run differs from a laptop run, once. */
  deviate(text: string): void {
    if (!this.deviations.includes(text)) this.deviations.push(text);
  }

  record(r: PhaseRecord): void {
    const note = r.note ?? this.#notes.get(r.name);
    this.#notes.delete(r.name);
    this.records.push({ ...r, ms: Math.round(r.ms), ...(note ? { note } : {}) });
  }

  summary(title = 'Timings'): string {
    const width = Math.max(10, ...this.records.map((r) => r.name.length));
    const lines = this.records.map((r) =>
      `${r.ok ? '✔' : '✘'} ${r.name.padEnd(width)} ${seconds(r.ms).padStart(8)}${r.note ? `  ${r.note}` : ''}`);
    const deviations = this.deviations.length > 0 ? ['', 'Not a laptop run:', ...this.deviations.map((d) => `  - ${d}`)] : [];
    return [title, ...lines, ...deviations].join('\n');
  }

  /** For a CI job summary (GitHub Actions: $GITHUB_STEP_SUMMARY). */
  markdown(title = 'egress-verify timings'): string {
    const rows = this.records.map((r) => `| ${r.ok ? '✅' : '❌'} | ${r.name} | ${seconds(r.ms)} |${r.note ? ` ${r.note}` : ''}`);
    const deviations = this.deviations.length > 0 ? ['', '**Not a laptop run:**', '', ...this.deviations.map((d) => `- ${d}`), ''] : [];
    return [`### ${title}`, '', '| | phase | duration |', '|---|---|---|', ...rows, '', ...deviations].join('\n');
  }

  async write(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify({ phases: this.records, ...(this.deviations.length > 0 ? { deviations: this.deviations } : {}) }, null, 2)}\n`);
  }
}
