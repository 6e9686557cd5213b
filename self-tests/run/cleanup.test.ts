/**
 * helpers/run/cleanup.ts in-process: the order of the undo stack, failures, running once, work
 * still under way, and taking the signals over and giving them back. A real Ctrl-C through npm,
 * with containers to remove: process/interrupt.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { Cleanup } from '../../helpers/run/cleanup.ts';

describe('cleanup', () => {
  test('undoes in reverse order, continues past failures, runs once', async () => {
    const done: string[] = [];
    const c = new Cleanup();
    c.add('cluster', async () => { done.push('cluster'); });
    c.add('redis', async () => { throw new Error('already gone'); });
    c.add('namespaces', async () => { done.push('namespaces'); });
    const problems = await c.run();
    expect(done).toEqual(['namespaces', 'cluster']);
    expect(problems).toEqual(['redis: already gone']);
    expect(await c.run()).toEqual(problems);
    expect(done).toEqual(['namespaces', 'cluster']);
  });

  test('what is pending before, and what was removed or failed after', async () => {
    const c = new Cleanup();
    expect([c.pending, c.outcome]).toEqual([[], { removed: [], failed: [] }]);
    c.add('network', async () => undefined);
    c.add('kind cluster', async () => { throw 'docker is gone'; });
    c.add('redis stand-in', async () => undefined);
    expect(c.pending).toEqual(['network', 'kind cluster', 'redis stand-in']);
    expect(await c.run()).toEqual(['kind cluster: docker is gone']);
    expect(c.pending).toEqual([]);
    expect(c.outcome).toEqual({ removed: ['redis stand-in', 'network'], failed: ['kind cluster'] });
    expect(c.interrupted).toBe(false);
  });
});

describe('work under way when a signal comes', () => {
  test('nothing tracked: nothing to wait for', async () => {
    expect(await new Cleanup().settleInFlight(10_000)).toEqual([]);
  });

  test('tracked work is awaited; what has not settled by the deadline is named; settled work is forgotten', async () => {
    const c = new Cleanup();
    let finish!: () => void;
    const start = c.track('redis stand-in start', new Promise<void>((r) => { finish = r; }));
    const failing = c.track('network create', Promise.reject(new Error('refused')));
    await expect(failing).rejects.toThrow('refused');
    expect(await c.settleInFlight(20)).toEqual(['redis stand-in start']);
    const settled = c.settleInFlight(10_000);
    finish();
    expect(await settled).toEqual([]);
    await start;
    expect(await c.settleInFlight(10_000)).toEqual([]);
  });
});

describe('signals', () => {
  test('onSignals takes SIGINT and SIGTERM over from the listeners before it, and gives them back', () => {
    const before = process.listeners('SIGTERM');
    const mine = () => undefined;
    process.on('SIGTERM', mine);
    try {
      const restore = new Cleanup().onSignals();
      try {
        expect(process.listeners('SIGTERM')).toHaveLength(1);
        expect(process.listeners('SIGTERM')).not.toContain(mine);
        expect(process.listeners('SIGINT')).toHaveLength(1);
        expect(process.listeners('SIGINT')[0]).toBe(process.listeners('SIGTERM')[0]);
      } finally {
        restore();
      }
      expect(process.listeners('SIGTERM')).toEqual([...before, mine]);
    } finally {
      process.off('SIGTERM', mine);
    }
  });
});
