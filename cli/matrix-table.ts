/**
 * The Istio version matrix: the same scenarios once per version, and a table of version by
 * step (pass / fail / skipped, with durations). Built from vitest's JSON report of each run.
 */

/** The part of vitest's JSON reporter output the table reads. */
export interface VitestJsonReport {
  testResults: {
    name: string;
    assertionResults: { title: string; status: string; duration?: number | null; failureMessages?: string[] }[];
  }[];
}

export interface MatrixRun {
  version: string;
  exitCode: number;
  durationMs: number;
  /** Absent when the run produced no report (setup failed before any test). */
  report: VitestJsonReport | undefined;
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
  return [header, rule, ...body, total].join('\n');
}
