/**
 * helpers/run/run-labels.ts: the labels whoever started the run asks for (EGRESS_VERIFY_LABELS,
 * comma-separated key=value pairs), read and written back.
 */
import { describe, expect, test } from 'vitest';
import { formatRunLabels, parseRunLabels, RUN_LABELS_ENV, runLabels } from '../../helpers/run/run-labels.ts';

describe('parseRunLabels', () => {
  test('key=value pairs separated by commas; a key alone is key=true', () => {
    expect(parseRunLabels('ci.job=42,team=mesh,sweep')).toEqual({ 'ci.job': '42', team: 'mesh', sweep: 'true' });
  });

  test('unset, empty, blank parts and spaces around pairs are nothing', () => {
    expect(parseRunLabels(undefined)).toEqual({});
    expect(parseRunLabels('')).toEqual({});
    expect(parseRunLabels(' , ,, ')).toEqual({});
    expect(parseRunLabels(' a=1 , b=2 ,')).toEqual({ a: '1', b: '2' });
  });

  test('a value is everything after the first "=", and may be empty; a later pair with the same key wins', () => {
    expect(parseRunLabels('url=a=b,empty=,k=1,k=2')).toEqual({ url: 'a=b', empty: '', k: '2' });
  });

  test('a pair without a key is refused, naming the variable and the pair', () => {
    expect(() => parseRunLabels('a=1,=orphan')).toThrow(new Error('EGRESS_VERIFY_LABELS: "=orphan" has no key; write key=value pairs separated by commas'));
  });
});

describe('formatRunLabels and runLabels', () => {
  test('written back as parseRunLabels reads them, in order', () => {
    const labels = { 'egress-verify-selftest-run': 'abc123', 'egress-verify-selftest-run.within.outer': 'true' };
    expect(formatRunLabels(labels)).toBe('egress-verify-selftest-run=abc123,egress-verify-selftest-run.within.outer=true');
    expect(parseRunLabels(formatRunLabels(labels))).toEqual(labels);
    expect(formatRunLabels({})).toBe('');
  });

  test('runLabels reads EGRESS_VERIFY_LABELS of the env given, process.env by default', () => {
    expect(RUN_LABELS_ENV).toBe('EGRESS_VERIFY_LABELS');
    expect(runLabels({ EGRESS_VERIFY_LABELS: 'a=1', OTHER: 'b=2' })).toEqual({ a: '1' });
    expect(runLabels({})).toEqual({});
    const saved = process.env.EGRESS_VERIFY_LABELS;
    try {
      process.env.EGRESS_VERIFY_LABELS = 'from=process';
      expect(runLabels()).toEqual({ from: 'process' });
    } finally {
      if (saved === undefined) delete process.env.EGRESS_VERIFY_LABELS;
      else process.env.EGRESS_VERIFY_LABELS = saved;
    }
  });
});
