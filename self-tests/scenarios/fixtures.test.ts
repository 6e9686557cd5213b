/**
 * scenarios/fixtures.ts where no cluster is needed: the file's cleanup, undone at the end of a
 * file that failed and, on Ctrl-C, inside the test worker before it ends (in a real vitest run,
 * where the worker's process.exit is vitest's error); the signal handling itself; what the
 * workshop chapter's diagnostics collect.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { Cleanup } from '../../helpers/run/cleanup.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pollUntil } from '../../helpers/run/poll.ts';
import { undoOnSignals, workshopEvidence } from '../../scenarios/fixtures.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

describe('undoOnSignals: a signal in the worker undoes the file\'s cleanup, then ends the worker', () => {
  test('SIGINT: the undo steps run last first, then the worker ends with that signal; the handlers are gone', async () => {
    const target = new EventEmitter();
    const cleanup = new Cleanup();
    const order: string[] = [];
    cleanup.add('first', async () => { order.push('undo first'); });
    cleanup.add('second', async () => { order.push('undo second'); });
    const ended = new Promise<NodeJS.Signals>((resolve) => undoOnSignals(cleanup, { target, end: resolve }));
    expect([target.listenerCount('SIGINT'), target.listenerCount('SIGTERM')]).toEqual([1, 1]);
    target.emit('SIGINT', 'SIGINT');
    expect(await ended).toBe('SIGINT');
    expect(order).toEqual(['undo second', 'undo first']);
    expect([target.listenerCount('SIGINT'), target.listenerCount('SIGTERM')]).toEqual([0, 0]);
  });

  test('the same keypress delivered again while undoing is ignored: one undo, one end', async () => {
    const target = new EventEmitter();
    const cleanup = new Cleanup();
    let undos = 0;
    let release!: () => void;
    cleanup.add('slow', () => { undos++; return new Promise<void>((r) => { release = r; }); });
    const ends: NodeJS.Signals[] = [];
    undoOnSignals(cleanup, { target, end: (s) => { ends.push(s); } });
    target.emit('SIGTERM', 'SIGTERM');
    target.emit('SIGTERM', 'SIGTERM');
    release();
    await cleanup.run();
    await new Promise((r) => setImmediate(r));
    expect([undos, ends]).toEqual([1, ['SIGTERM']]);
  });

  test('given back: a later signal undoes nothing', async () => {
    const target = new EventEmitter();
    const cleanup = new Cleanup();
    cleanup.add('kept', async () => undefined);
    const giveBack = undoOnSignals(cleanup, { target, end: () => { throw new Error('ended'); } });
    giveBack();
    expect(target.listenerCount('SIGINT')).toBe(0);
    target.emit('SIGINT', 'SIGINT');
    expect(cleanup.pending).toEqual(['kept']);
  });
});

const VITEST = join(ROOT_DIR, 'node_modules', 'vitest', 'vitest.mjs');

describe('the cleanup fixture in a real vitest run', () => {
  const folder = tempFolder('fixtures-cleanup', { each: true });

  /** A throwaway spec that registers an undo step with the `cleanup` fixture, then does `then`. */
  async function spec(dir: string, then: string): Promise<string> {
    const fixtures = join(ROOT_DIR, 'scenarios', 'fixtures.ts');
    await writeFile(join(dir, 'undo.spec.ts'), [
      'import { writeFileSync } from \'node:fs\';',
      `import { test } from ${JSON.stringify(fixtures)};`,
      'test(\'registers an undo step\', async ({ cleanup }) => {',
      `  cleanup.add('the marker', async () => { writeFileSync(${JSON.stringify(join(dir, 'undone'))}, String(process.pid)); });`,
      `  writeFileSync(${JSON.stringify(join(dir, 'registered'))}, String(process.pid));`,
      `  ${then}`,
      '});',
      '',
    ].join('\n'));
    await writeFile(join(dir, 'vitest.config.mjs'), 'export default { test: { include: [\'undo.spec.ts\'], testTimeout: 60_000 } };\n');
    return join(dir, 'vitest.config.mjs');
  }

  test('a failing test: its file\'s undo steps run at the end of the file', async () => {
    const config = await spec(folder.path, 'throw new Error(\'the block failed\');');
    const r = await execa('npx', ['vitest', 'run', '--config', config, '--root', folder.path], { cwd: ROOT_DIR, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stdout + r.stderr).toContain('the block failed');
    expect(r.stderr).toContain('cleaned up: the marker');
    expect(await readFile(join(folder.path, 'undone'), 'utf8')).toBe(await readFile(join(folder.path, 'registered'), 'utf8'));
  });

  test('Ctrl-C reaching the worker mid-test: the undo steps run in the worker before it ends', async () => {
    const config = await spec(folder.path, 'await new Promise(() => {});');
    // vitest itself (not through npx), so that the process this test started is the one it ends if need be.
    const child = execa(process.execPath, [VITEST, 'run', '--config', config, '--root', folder.path], { cwd: ROOT_DIR, reject: false });
    let ended = false;
    void child.then(() => { ended = true; });
    try {
      const worker = Number(await pollUntil('the test to register its undo step', 60_000, async () => (
        existsSync(join(folder.path, 'registered')) ? readFile(join(folder.path, 'registered'), 'utf8') : undefined
      ), undefined, { intervalMs: 100 }));
      expect(worker).not.toBe(child.pid);
      // Without its handler the worker would die of the signal at once, undoing nothing.
      process.kill(worker, 'SIGINT');
      expect(await pollUntil('the undo step to run', 30_000, async () => (
        existsSync(join(folder.path, 'undone')) ? readFile(join(folder.path, 'undone'), 'utf8') : undefined
      ), undefined, { intervalMs: 100 })).toBe(String(worker));
      await pollUntil('the worker to end', 30_000, async () => {
        try {
          process.kill(worker, 0);
          return undefined;
        } catch {
          return true;
        }
      }, undefined, { intervalMs: 100 });
      const r = await child;
      expect(r.stderr).toContain('SIGINT: undoing this file\'s changes before the worker ends (1 items)');
    } finally {
      if (!ended) child.kill('SIGKILL');
    }
  });
});

describe('workshopEvidence: what a failed workshop block\'s diagnostics collect', () => {
  test('before any shell: default and istio-system, the gateway\'s proxy', () => {
    expect(workshopEvidence(undefined)).toEqual({
      namespaces: ['default', 'istio-system'],
      proxies: [['istio-system', 'istio=egressgateway']],
    });
  });

  test('after a shell: its namespace too (once), and the probe placed there', () => {
    expect(workshopEvidence({ namespace: 'labs', pod: 'client', probe: 'probe-1' })).toEqual({
      namespaces: ['default', 'labs', 'istio-system'],
      proxies: [['labs', 'app=probe'], ['istio-system', 'istio=egressgateway']],
    });
    expect(workshopEvidence({ namespace: 'default', pod: 'client', probe: 'probe-1' }).namespaces).toEqual(['default', 'istio-system']);
  });
});
