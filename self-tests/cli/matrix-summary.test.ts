/**
 * cli/matrix-summary.ts, as CI's summary job runs it: the legs' artifacts downloaded into one
 * folder (each leg's ARTIFACTS_DIR: matrix/<version>/run.json and results.json), combined into
 * one version-by-step table in the order of the matrix, into the job summary.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import type { RunRecord, VitestJsonReport } from '../../cli/matrix-table.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { egressSteps } from '../../scenarios/chapter.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const temp = tempFolder('matrix-summary', { each: true });
const summaryCli = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', join(ROOT_DIR, 'cli', 'matrix-summary.ts'), ...args], { env, reject: false });

/** One leg's artifact as actions/download-artifact puts it: <dir>/<artifact name>/matrix/<version>/. */
function leg(dir: string, record: RunRecord, report?: VitestJsonReport): void {
  const d = join(dir, `scenarios-istio-${record.version}`, 'matrix', record.version);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'run.json'), JSON.stringify(record));
  if (report) writeFileSync(join(d, 'results.json'), JSON.stringify(report));
}

describe('the summary job\'s table from two legs\' reports', () => {
  test('both legs in the matrix\'s order, steps by row, a setup failure with its reason; appended to the job summary', async () => {
    loadSettings({});
    leg(temp.path, { version: '1.31.1', exitCode: 1, durationMs: 4000, setupReason: 'Missing prerequisites: docker: no Docker engine answers' });
    leg(temp.path, { version: '1.30.5', exitCode: 0, durationMs: 398_000 }, { testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: [
      { title: egressSteps.control.title, status: 'passed', duration: 900 },
      { title: egressSteps.blocked.title, status: 'passed', duration: 8000 },
    ] }] });
    const summary = join(temp.path, 'summary.md');
    writeFileSync(summary, '## before\n');
    const r = await summaryCli([temp.path, '1.30.5', '1.31.1'], { GITHUB_STEP_SUMMARY: summary });
    expect(r.exitCode, r.stderr).toBe(0);
    const table = [
      '| step | 1.30.5 | 1.31.1 |',
      '|---|---|---|',
      '| control | pass 0.9s | not run |',
      '| blocked | pass 8.0s | not run |',
      '| **run** | pass 398s | FAIL (setup) 4s |',
      '',
      '- **1.31.1** FAIL (setup): Missing prerequisites: docker: no Docker engine answers',
    ].join('\n');
    expect(r.stdout).toBe(table);
    expect(readFileSync(summary, 'utf8')).toBe(`## before\n## Istio matrix\n\n${table}\n`);
  });

  test('a leg that left nothing is a failed setup, named as such', async () => {
    leg(temp.path, { version: '1.30.5', exitCode: 0, durationMs: 1000 }, { testResults: [] });
    const r = await summaryCli([temp.path, '1.30.5', '1.31.1']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('- **1.31.1** FAIL (setup): the leg left no report: it stopped before the scenarios started (see its log)');
  });

  test('no run and no version: exit 1; a missing folder or a bad version: exit 2 naming what is valid', async () => {
    expect((await summaryCli([temp.path])).exitCode).toBe(1);
    const missing = await summaryCli([join(temp.path, 'nope')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/nope is not a folder; valid: the folder holding the legs' artifacts/);
    const bad = await summaryCli([temp.path, '1.31']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('not an Istio version: 1.31; valid: release versions x.y.z');
  });
});
