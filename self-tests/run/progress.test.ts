/**
 * helpers/run/progress.ts: the phases of a setup and their timings (the deadline after which no
 * phase starts, notes, the summary, the CI job summary and the JSON file), the log line, and
 * durations written as a person writes them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { formatDuration, log, seconds, Timings } from '../../helpers/run/progress.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

/** What `run` writes to stderr, line by line, without the time stamp. */
async function stderrOf(run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => l.replace(/^\[egress-verify \d\d:\d\d:\d\d\] /, ''));
}

describe('setup deadline', () => {
  test('after the signal is aborted no new phase starts, and the phase under way finishes', async () => {
    const deadline = new AbortController();
    const t = new Timings(deadline.signal);
    const done: string[] = [];
    const first = t.phase('cluster', async () => {
      deadline.abort(new Error('setup did not finish within SETUP_TIMEOUT (1s)'));
      done.push('cluster');
    });
    await first;
    await expect(t.phase('istio', async () => { done.push('istio'); })).rejects.toThrow(/SETUP_TIMEOUT/);
    expect(done).toEqual(['cluster']);
    expect(t.records.map((r) => [r.name, r.ok])).toEqual([['cluster', true]]);
  });

  test('a reason that is no Error is named with the phase it kept from starting', async () => {
    const deadline = new AbortController();
    deadline.abort('too late');
    await expect(new Timings(deadline.signal).phase('istio', async () => 1)).rejects.toThrow(new Error('not started: istio (too late)'));
  });
});

describe('phases and their timings', () => {
  test('a phase returns its value; start and end are logged; a failed phase is recorded, logged and rethrown', async () => {
    const t = new Timings();
    const failure = new Error('istioctl failed');
    let thrown: unknown;
    const lines = await stderrOf(async () => {
      expect(await t.phase('cluster', async () => 'kind-ev')).toBe('kind-ev');
      thrown = await t.phase('istio', async () => { throw failure; }).catch((e: unknown) => e);
    });
    expect(thrown).toBe(failure);
    expect(lines).toEqual([
      '▶ cluster\n', expect.stringMatching(/^✔ cluster \d+\.\ds\n$/),
      '▶ istio\n', expect.stringMatching(/^✘ istio failed after \d+\.\ds\n$/),
    ]);
    expect(t.records.map((r) => [r.name, r.ok, Number.isInteger(r.ms)])).toEqual([['cluster', true, true], ['istio', false, true]]);
  });

  test('a note set during a phase lands on its record and in the summary', async () => {
    const t = new Timings();
    await t.phase('istio 1.30.5', async () => t.note('istio 1.30.5', 'install skipped'));
    await t.phase('redis stand-in', async () => undefined);
    expect(t.records.map((r) => [r.name, r.note])).toEqual([['istio 1.30.5', 'install skipped'], ['redis stand-in', undefined]]);
    expect(t.summary('Setup timings')).toMatch(/^Setup timings\n✔ istio 1\.30\.5 +\d+\.\ds {2}install skipped\n✔ redis stand-in +\d+\.\ds$/);
  });

  test('recorded phases: rounded to the millisecond, a note given with the record wins; the summary, the CI summary and the JSON file', async () => {
    const t = new Timings();
    t.note('cluster', 'unused');
    t.record({ name: 'cluster', ms: 61_234.6, ok: true, note: 'reused' });
    t.record({ name: 'istio', ms: 1500.4, ok: false });
    expect(t.records).toEqual([{ name: 'cluster', ms: 61_235, ok: true, note: 'reused' }, { name: 'istio', ms: 1500, ok: false }]);
    expect(t.summary()).toBe('Timings\n✔ cluster       61.2s  reused\n✘ istio          1.5s');
    expect(t.markdown()).toBe([
      '### egress-verify timings', '', '| | phase | duration |', '|---|---|---|', '| ✅ | cluster | 61.2s | reused', '| ❌ | istio | 1.5s |', '',
    ].join('\n'));
  });

  const dir = tempFolder('timings');
  test('deviations from a laptop run: once each, after the phases in the summary, the CI summary and the JSON file', async () => {
    const t = new Timings();
    t.record({ name: 'cluster', ms: 1000, ok: true });
    t.deviate('upstream Envoy');
    t.deviate('cgroup v1');
    t.deviate('upstream Envoy');
    expect(t.deviations).toEqual(['upstream Envoy', 'cgroup v1']);
    expect(t.summary()).toBe('Timings\n✔ cluster        1.0s\n\nNot a laptop run:\n  - upstream Envoy\n  - cgroup v1');
    expect(t.markdown()).toBe([
      '### egress-verify timings', '', '| | phase | duration |', '|---|---|---|', '| ✅ | cluster | 1.0s |', '',
      '', '**Not a laptop run:**', '', '- upstream Envoy', '- cgroup v1', '',
    ].join('\n'));
    const file = join(dir.path, 'deviations.json');
    await t.write(file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ phases: [{ name: 'cluster', ms: 1000, ok: true }], deviations: ['upstream Envoy', 'cgroup v1'] });
  });


  test('write: the phases as JSON, into a folder made for it', async () => {
    const t = new Timings();
    t.record({ name: 'cluster', ms: 10, ok: true });
    const file = join(dir.path, 'a', 'b', 'timings.json');
    await t.write(file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ phases: [{ name: 'cluster', ms: 10, ok: true }] });
  });
});

describe('log lines and durations', () => {
  test('a log line: the time of day, then the message', async () => {
    const raw = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      log('hello');
      expect(raw.mock.calls).toEqual([[expect.stringMatching(/^\[egress-verify \d\d:\d\d:\d\d\] hello\n$/)]]);
    } finally {
      raw.mockRestore();
    }
  });

  test.each([
    [1_200_000, '20m'], [120_000, '2m'], [150_000, '2m30s'], [3_600_000, '1h'], [5_430_000, '1h30m30s'],
    [500, '500ms'], [45_000, '45s'], [1500, '1.5s'], [0, '0ms'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('seconds: one decimal', () => {
    expect([seconds(0), seconds(1234), seconds(61_250)]).toEqual(['0.0s', '1.2s', '61.3s']);
  });
});
