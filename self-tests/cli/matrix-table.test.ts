/**
 * cli/matrix-table.ts: the table `npm run matrix` writes from the vitest JSON reports of one run
 * per Istio version, its cells and its per-run verdict (a run that failed before any step is
 * "FAIL (setup)", one that failed in a step is "FAIL").
 */
import { describe, expect, test } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { matrixTable, readRuns, RESULTS_FILE, RUN_FILE, runsFor, setupReason, type MatrixRun, type VitestJsonReport } from '../../cli/matrix-table.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { allSteps, egressSteps } from '../../scenarios/chapter.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const steps = allSteps(loadSettings({}));
const result = (title: string, status: string, duration: number | null) => ({ title, status, duration });

describe('matrix table (from vitest JSON reports)', () => {
  const runs: MatrixRun[] = [
    {
      version: '1.29.8', exitCode: 1, durationMs: 412_000,
      report: { testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: [
        result(egressSteps.control.title, 'passed', 1200),
        result(egressSteps.blocked.title, 'failed', 31_000),
        result(egressSteps.serviceEntry.title, 'skipped', null),
      ] }] },
    },
    {
      version: '1.30.5', exitCode: 0, durationMs: 398_000,
      report: { testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: [
        result(egressSteps.control.title, 'passed', 900),
        result(egressSteps.blocked.title, 'passed', 8000),
        result(egressSteps.serviceEntry.title, 'passed', 14_300),
      ] }] },
    },
    { version: '1.31.0', exitCode: 1, durationMs: 3000, report: { testResults: [] }, setupReason: 'Missing prerequisites: docker: no Docker engine answers' },
  ];

  test('version by step, in the chapter\'s order, with durations; a setup failure is its own verdict', () => {
    expect(matrixTable(runs, steps)).toBe([
      '| step | 1.29.8 | 1.30.5 | 1.31.0 |',
      '|---|---|---|---|',
      '| control | pass 1.2s | pass 0.9s | not run |',
      '| blocked | FAIL 31.0s | pass 8.0s | not run |',
      '| serviceentry | skipped | pass 14.3s | not run |',
      '| **run** | FAIL 412s | pass 398s | FAIL (setup) 3s |',
      '',
      '- **1.31.0** FAIL (setup): Missing prerequisites: docker: no Docker engine answers',
    ].join('\n'));
  });
});

describe('matrix table: cells and verdicts', () => {
  const steps = [{ id: 'control', title: 'Redis answers' }, { id: 'blocked', title: 'The mesh blocks' }, { id: 'allowed', title: 'The cart works' }];
  const report = (...results: [string, string, number | null | undefined][]): VitestJsonReport => ({
    testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: results.map(([title, status, duration]) => ({ title, status, duration })) }],
  });
  const run = (version: string, exitCode: number, durationMs: number, r: VitestJsonReport | undefined): MatrixRun => ({ version, exitCode, durationMs, report: r });

  test('every status, durations in seconds with one decimal, none when absent or zero', () => {
    const t = matrixTable([run('1.30.5', 1, 61_499, report(
      ['Redis answers', 'passed', 1250], ['The mesh blocks', 'failed', 0], ['The cart works', 'pending', 5000],
    ))], steps);
    expect(t.split('\n')).toEqual([
      '| step | 1.30.5 |',
      '|---|---|',
      '| control | pass 1.3s |',
      '| blocked | FAIL |',
      '| allowed | skipped |',
      '| **run** | FAIL 61s |',
    ]);
  });

  test('skipped, todo and unknown statuses; steps a run never reached are "-"', () => {
    const t = matrixTable([
      run('a', 1, 1000, report(['Redis answers', 'skipped', null], ['The mesh blocks', 'todo', undefined])),
      run('b', 1, 1000, report(['Redis answers', 'weird', 2000])),
    ], steps);
    expect(t.split('\n').slice(2, -1)).toEqual(['| control | skipped | weird |', '| blocked | skipped | - |']);
  });

  test('the run verdict: pass, FAIL (a step failed) and FAIL (setup) (no step ran) are distinct', () => {
    const t = matrixTable([
      run('ok', 0, 100_000, report(['Redis answers', 'passed', null])),
      run('step', 1, 200_000, report(['Redis answers', 'failed', null])),
      run('no-report', 1, 3000, undefined),
      run('empty-files', 1, 4000, { testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: [] }] }),
      run('clean-exit-no-report', 0, 5000, undefined),
    ], steps);
    const rows = t.split('\n');
    expect(rows[0]).toBe('| step | ok | step | no-report | empty-files | clean-exit-no-report |');
    expect(rows[1]).toBe('|---|---|---|---|---|---|');
    expect(rows.slice(-4)).toEqual([
      '| **run** | pass 100s | FAIL 200s | FAIL (setup) 3s | FAIL (setup) 4s | pass 5s |',
      '',
      '- **no-report** FAIL (setup): no step ran and the run gave no reason; see its log',
      '- **empty-files** FAIL (setup): no step ran and the run gave no reason; see its log',
    ]);
    expect(rows).toContain('| control | pass | FAIL | not run | not run | not run |');
  });

  test('tests that are not steps come after the steps, once each; a title equal to a step id is that step\'s row', () => {
    const t = matrixTable([
      run('a', 1, 1000, report(['extra check', 'passed', null], ['The cart works', 'passed', null], ['blocked', 'failed', null])),
      run('b', 1, 1000, report(['extra check', 'failed', null])),
    ], steps);
    expect(t.split('\n').slice(2, -1)).toEqual([
      '| blocked | FAIL | - |',
      '| allowed | pass | - |',
      '| extra check | pass | FAIL |',
    ]);
  });

  test('no runs: just the header and the total row', () => {
    expect(matrixTable([], steps)).toBe('| step |  |\n|---||\n| **run** |  |');
  });
});

describe('why a run failed before its first step', () => {
  test('the suite\'s failure block: the headline and each problem, colours removed', () => {
    const out = [
      'RUN v5.1.1', '\u001b[31m✘ Missing prerequisites:\u001b[39m', '  - kind v0.32.0: no such release (HTTP 404)', '  - docker: no Docker engine answers',
      'Nothing was created.', 'Error: exit 1',
    ].join('\n');
    expect(setupReason(undefined, out)).toBe('Missing prerequisites: kind v0.32.0: no such release (HTTP 404); docker: no Docker engine answers');
    expect(setupReason(undefined, '✘ Interrupted\nNothing was created.')).toBe('Interrupted');
    // The last block counts, not an earlier one.
    expect(setupReason(undefined, '✘ First:\n  - a\n✘ Second:\n  - b\n')).toBe('Second: b');
  });

  test('else a test file\'s own failure from the JSON report, else the last error line, else nothing', () => {
    const report: VitestJsonReport = { testResults: [
      { name: 'a.spec.ts', message: '', assertionResults: [] },
      { name: 'b.spec.ts', message: 'Error: Hook timed out in 1800000ms\n    at hooks', assertionResults: [] },
    ] };
    expect(setupReason(report, 'TypeError: not this one')).toBe('Error: Hook timed out in 1800000ms');
    expect(setupReason({ testResults: [] }, 'starting\nSettingsError: ISTIO_VERSION="x" is not valid\nlater line\n')).toBe('SettingsError: ISTIO_VERSION="x" is not valid');
    expect(setupReason(undefined, 'all quiet\n')).toBeUndefined();
  });
});

describe('run records: read from downloaded artifacts, in the order of the matrix', () => {
  const temp = tempFolder('matrix-runs');

  test('every run.json at any depth, with the results.json beside it; a version without one is a failed setup', () => {
    const leg = join(temp.path, 'scenarios-istio-1.30.5', 'matrix', '1.30.5');
    mkdirSync(leg, { recursive: true });
    writeFileSync(join(leg, RUN_FILE), JSON.stringify({ version: '1.30.5', exitCode: 0, durationMs: 1000 }));
    const report: VitestJsonReport = { testResults: [{ name: 'x', assertionResults: [{ title: 'Redis answers', status: 'passed' }] }] };
    writeFileSync(join(leg, RESULTS_FILE), JSON.stringify(report));
    const other = join(temp.path, 'x', 'matrix', '1.29.8');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, RUN_FILE), JSON.stringify({ version: '1.29.8', exitCode: 1, durationMs: 5, setupReason: 'why' }));
    writeFileSync(join(temp.path, RUN_FILE), 'not json');
    const found = readRuns(temp.path);
    expect(found.sort((a, b) => a.version.localeCompare(b.version))).toEqual([
      { version: '1.29.8', exitCode: 1, durationMs: 5, setupReason: 'why', report: undefined },
      { version: '1.30.5', exitCode: 0, durationMs: 1000, report },
    ]);
    expect(runsFor(['1.30.5', '1.31.1'], found).map((r) => [r.version, r.exitCode, r.setupReason])).toEqual([
      ['1.30.5', 0, undefined],
      ['1.31.1', 1, 'the leg left no report: it stopped before the scenarios started (see its log)'],
      ['1.29.8', 1, 'why'],
    ]);
  });
});
