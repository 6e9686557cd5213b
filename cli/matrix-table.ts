/**
 * The Istio version matrix: the same scenarios once per version, and a table of version by
 * step (pass / fail / skipped, with durations). Built from vitest's JSON report of each run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The part of vitest's JSON reporter output the table reads. */
export interface VitestJsonReport {
  testResults: {
    name: string;
    /** The file's own failure (a hook or an import that failed before its tests), when there is one. */
    message?: string;
    assertionResults: { title: string; status: string; duration?: number | null; failureMessages?: string[] }[];
  }[];
}

export interface MatrixRun {
  version: string;
  exitCode: number;
  durationMs: number;
  /** Absent when the run produced no report (setup failed before any test). */
  report: VitestJsonReport | undefined;
  /** Why no step ran, when known (setupReason): shown under the table for a "FAIL (setup)" run. */
  setupReason?: string | undefined;
}

const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Why a run failed before any step, in one line: the suite's failure block (`✘ headline:` and its
 * `  - problem` lines, helpers/run/user-facing.ts), else a test file's own failure from the JSON
 * report, else the last error line of the output. Undefined when none is found.
 */
export function setupReason(report: VitestJsonReport | undefined, output: string): string | undefined {
  const lines = output.replace(ANSI, '').split('\n');
  let block = -1;
  lines.forEach((l, i) => {
    if (l.trim().startsWith('✘ ')) block = i;
  });
  if (block >= 0) {
    const problems: string[] = [];
    for (let i = block + 1; i < lines.length && /^\s+- /.test(lines[i]!); i++) problems.push(lines[i]!.trim().slice(2));
    const headline = lines[block]!.trim().slice(2).replace(/:$/, '');
    return problems.length ? `${headline}: ${problems.join('; ')}` : headline;
  }
  const fileFailure = report?.testResults.find((f) => f.message?.trim())?.message;
  if (fileFailure) return fileFailure.replace(ANSI, '').trim().split('\n')[0];
  const error = lines.map((l) => l.trim()).reverse().find((l) => /\b\w*Error\b/.test(l));
  return error || undefined;
}

export interface StepName {
  id: string;
  title: string;
}

function cell(status: string | undefined, ms: number | null | undefined): string {
  const d = ms ? ` ${(ms / 1000).toFixed(1)}s` : '';
  switch (status) {
    case 'passed': return `pass${d}`;
    case 'failed': return `FAIL${d}`;
    // Stryker disable next-line StringLiteral: without its case, 'skipped' reaches the default, which prints it as is.
    case 'skipped': case 'pending': case 'todo': return 'skipped';
    case undefined: return '-';
    default: return status;
  }
}

/** A Markdown table: one row per step, one column per version; a last row for the whole run. */
export function matrixTable(runs: readonly MatrixRun[], steps: readonly StepName[]): string {
  // A report without a single test result means setup failed before the steps.
  const ran = (r: MatrixRun) => (r.report?.testResults ?? []).some((f) => f.assertionResults.length > 0);
  const byTitle = new Map(steps.map((s) => [s.title, s.id]));
  const rows = new Map<string, Map<string, string>>();
  for (const run of runs) {
    for (const file of run.report?.testResults ?? []) {
      for (const a of file.assertionResults) {
        const id = byTitle.get(a.title) ?? a.title;
        if (!rows.has(id)) rows.set(id, new Map());
        rows.get(id)!.set(run.version, cell(a.status, a.duration));
      }
    }
  }
  const order = [...steps.map((s) => s.id).filter((id) => rows.has(id)), ...[...rows.keys()].filter((id) => !byTitle.has(id) && !steps.some((s) => s.id === id))];
  const header = `| step | ${runs.map((r) => r.version).join(' | ')} |`;
  const rule = `|---|${runs.map(() => '---').join('|')}|`;
  // Stryker disable next-line OptionalChaining: `order` holds only ids that have a row.
  const body = order.map((id) => `| ${id} | ${runs.map((r) => rows.get(id)?.get(r.version) ?? (ran(r) ? '-' : 'not run')).join(' | ')} |`);
  const total = `| **run** | ${runs.map((r) => `${r.exitCode === 0 ? 'pass' : ran(r) ? 'FAIL' : 'FAIL (setup)'} ${(r.durationMs / 1000).toFixed(0)}s`).join(' | ')} |`;
  // A failed setup's reason under the table: too long for a cell, and the first thing to read.
  const reasons = runs.filter((r) => r.exitCode !== 0 && !ran(r))
    .map((r) => `- **${r.version}** FAIL (setup): ${(r.setupReason ?? 'no step ran and the run gave no reason; see its log').replace(/\n/g, ' ')}`);
  return [header, rule, ...body, total, ...(reasons.length ? ['', ...reasons] : [])].join('\n');
}

/** What `npm run matrix` records of each run beside its reports: ARTIFACTS_DIR/matrix/<version>/run.json. */
export interface RunRecord {
  version: string;
  exitCode: number;
  durationMs: number;
  setupReason?: string | undefined;
}

export const RUN_FILE = 'run.json';
export const RESULTS_FILE = 'results.json';

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Every run.json under `dir` (any depth: CI's downloaded artifacts nest them), with the results.json beside it. */
export function readRuns(dir: string): MatrixRun[] {
  const found: MatrixRun[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name === RUN_FILE) {
        const r = readJson<RunRecord>(path);
        if (r && typeof r.version === 'string') found.push({ ...r, report: readJson<VitestJsonReport>(join(d, RESULTS_FILE)) });
      }
    }
  };
  walk(dir);
  return found;
}

/**
 * The runs in the order of `versions` (the matrix as CI started it); a version without a record
 * is a leg that stopped before the scenarios (checkout, npm ci), shown as a failed setup.
 */
export function runsFor(versions: readonly string[], found: readonly MatrixRun[]): MatrixRun[] {
  const byVersion = new Map(found.map((r) => [r.version, r]));
  const listed = versions.map((v) => byVersion.get(v) ?? {
    version: v, exitCode: 1, durationMs: 0, report: undefined,
    setupReason: 'the leg left no report: it stopped before the scenarios started (see its log)',
  });
  return [...listed, ...found.filter((r) => !versions.includes(r.version))];
}
