/**
 * self-tests/plumbing/process-tree.ts, which the self-tests' signal handler uses to stop its test processes
 * before sweeping Docker: a tree that keeps starting processes is frozen, killed and gone.
 */
import { spawn } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { pollUntil } from '../../helpers/run/poll.ts';
import { descendants, killDescendants } from './process-tree.ts';

describe('killDescendants', () => {
  test('a shell that keeps starting children: all of it stopped, none left running, and nothing new after', async () => {
    expect(await descendants()).toEqual([]);
    // A loop forking a short-lived child every 10 ms, plus a long-lived grandchild tree.
    const shell = spawn('sh', ['-c', '(sleep 300 & sleep 300 & wait) & while :; do sleep 0.01; done'], { stdio: 'ignore' });
    await pollUntil('the tree to exist', 10_000, async () => ((await descendants()).length >= 4 ? true : undefined), undefined, { intervalMs: 20 });
    const before = await descendants();
    expect(before).toContain(shell.pid);
    const killed = await killDescendants();
    // The shell, its subshell and the two long sleeps at least (a 10 ms child may end by itself).
    expect(killed).toContain(shell.pid);
    expect(killed.length).toBeGreaterThanOrEqual(4);
    // None is left running (descendants() leaves zombies out: they run nothing), and none of them
    // started anything after the kill.
    expect(await descendants()).toEqual([]);
    await pollUntil('the shell to be reaped', 5_000, async () => (shell.signalCode !== null ? true : undefined), undefined, { intervalMs: 20 });
    expect(shell.signalCode).toBe('SIGKILL');
  });

  test('nothing below this process: nothing killed, at once', async () => {
    const started = performance.now();
    expect(await killDescendants()).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
