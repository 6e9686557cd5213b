/** The mutation-score gate (cli/mutation-report.ts) on small reports in Stryker's JSON schema. */
import { describe, expect, test } from 'vitest';
import { belowBreak, scoreOf, scores, scoreTable, type MutationReport } from '../../cli/mutation-report.ts';

const file = (...statuses: string[]) => ({ mutants: statuses.map((status) => ({ status })) });

describe('mutation scores', () => {
  test('detected are Killed and Timeout; undetected Survived and NoCoverage; the rest does not count', () => {
    expect(scoreOf('f', ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'Ignored', 'CompileError', 'RuntimeError'])).toEqual({ name: 'f', detected: 2, undetected: 2, score: 50 });
    expect(scoreOf('f', ['Ignored']).score).toBeUndefined();
  });

  test('per file, the decision group and all files; below a break score is named', () => {
    const report: MutationReport = { files: { 'b.ts': file('Killed', 'Survived'), 'a.ts': file('Killed', 'Killed', 'Killed', 'NoCoverage') } };
    const r = scores(report, ['a.ts']);
    expect(r.files.map((s) => [s.name, s.score])).toEqual([['a.ts', 75], ['b.ts', 50]]);
    expect(r.decision.score).toBe(75);
    expect(r.all.score).toBeCloseTo(66.67, 2);
    expect(belowBreak(r, { decision: 75, all: 66 })).toBeUndefined();
    expect(belowBreak(r, { decision: 76, all: 66 })).toBe('decision modules: mutation score 75.00% is below its break score 76%');
    expect(belowBreak(r, { decision: 80, all: 70 })).toMatch(/^decision modules: .*; all mutated files: mutation score 66\.67% is below its break score 70%$/);
    expect(scoreTable(r).split('\n')).toEqual([
      '| file | score | detected | undetected |', '|---|---:|---:|---:|',
      '| a.ts | 75.00% | 3 | 1 |', '| b.ts | 50.00% | 1 | 1 |',
      '| **decision modules** | 75.00% | 3 | 1 |', '| **all mutated files** | 66.67% | 4 | 2 |',
    ]);
  });

  test('a group without any counted mutant fails the gate (nothing was measured)', () => {
    expect(belowBreak(scores({ files: { 'a.ts': file('Ignored') } }, []), { decision: 0, all: 0 })).toMatch(/n\/a is below/);
  });
});
