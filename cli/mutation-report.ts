/**
 * Mutation scores from StrykerJS's JSON report (the mutation-testing-elements schema): per
 * file, for the code that decides, and for the whole mutated set. `npm run test:mutation` runs
 * this after Stryker: Stryker's own `thresholds.break` guards the whole set; this guards the
 * decision modules, which must score higher.
 *
 * Score as Stryker computes it: detected (Killed, Timeout) over detected plus undetected
 * (Survived, NoCoverage); Ignored, CompileError and RuntimeError mutants do not count.
 */
import { readFileSync } from 'node:fs';

/** The part of the report this reads. */
export interface MutationReport {
  files: Record<string, { mutants: { status: string }[] }>;
}

export interface Score {
  name: string;
  detected: number;
  undetected: number;
  /** Percent, or undefined when no mutant counts (nothing to score). */
  score: number | undefined;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

export function scoreOf(name: string, statuses: readonly string[]): Score {
  const detected = statuses.filter((s) => DETECTED.has(s)).length;
  const undetected = statuses.filter((s) => UNDETECTED.has(s)).length;
  const total = detected + undetected;
  return { name, detected, undetected, score: total === 0 ? undefined : (100 * detected) / total };
}

/** One score per file, then the group of `decision` files, then all files. */
export function scores(report: MutationReport, decision: readonly string[]): { files: Score[]; decision: Score; all: Score } {
  const entries = Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b));
  const files = entries.map(([name, f]) => scoreOf(name, f.mutants.map((m) => m.status)));
  const statusesOf = (pick: (name: string) => boolean) => entries.filter(([n]) => pick(n)).flatMap(([, f]) => f.mutants.map((m) => m.status));
  return {
    files,
    decision: scoreOf('decision modules', statusesOf((n) => decision.includes(n))),
    all: scoreOf('all mutated files', statusesOf(() => true)),
  };
}

const pct = (s: Score) => (s.score === undefined ? 'n/a' : `${s.score.toFixed(2)}%`);

/** A Markdown table of the scores (for the terminal and the GitHub job summary). */
export function scoreTable(r: ReturnType<typeof scores>): string {
  const row = (s: Score, bold = false) => {
    const name = bold ? `**${s.name}**` : s.name;
    return `| ${name} | ${pct(s)} | ${s.detected} | ${s.undetected} |`;
  };
  return ['| file | score | detected | undetected |', '|---|---:|---:|---:|', ...r.files.map((s) => row(s)), row(r.decision, true), row(r.all, true)].join('\n');
}

/** undefined when both groups reach their break scores; otherwise what fell short. */
export function belowBreak(r: ReturnType<typeof scores>, breaks: { decision: number; all: number }): string | undefined {
  const short = [
    [r.decision, breaks.decision] as const,
    [r.all, breaks.all] as const,
  ].filter(([s, min]) => s.score === undefined || s.score < min);
  if (short.length === 0) return undefined;
  return short.map(([s, min]) => `${s.name}: mutation score ${pct(s)} is below its break score ${min}%`).join('; ');
}

export function readReport(path: string): MutationReport {
  return JSON.parse(readFileSync(path, 'utf8')) as MutationReport;
}
