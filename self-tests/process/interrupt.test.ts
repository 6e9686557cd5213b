/** Ctrl-C in the middle of a run: everything started is stopped, in reverse order, exit 130. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { childRunEnv, removeAllOfRun, resourcesOf } from '../plumbing/run-resources.ts';
import { needDocker, PROBE_IMAGE, REDIS_IMAGE } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

/** The interrupted run's `READY <container> <network>` line, as [container, network]; rejects with its output if it exits first. */
async function readyOf(child: PromiseLike<{ all: string }> & { stdout: Readable | null }): Promise<(string | undefined)[]> {
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(line);
    });
    child.then((r) => reject(new Error(`the run exited before it was ready:\n${r.all}`)), reject);
  });
  return ready.trim().split(' ').slice(1);
}

test('SIGINT during a run removes the Redis stand-in and its network, then exits 130', async (ctx) => {
  await needDocker(ctx, REDIS_IMAGE);
  const child = execa(process.execPath, ['--experimental-strip-types', '--no-warnings', 'self-tests/programs/interrupted-run.ts'], {
    reject: false, all: true,
  });
  const [containerId, network] = await readyOf(child);
  expect((await execa('docker', ['inspect', containerId!], { reject: false })).exitCode).toBe(0);

  child.kill('SIGINT');
  const result = await child;
  expect(result.exitCode).toBe(130);
  expect(result.all).toMatch(/SIGINT: cleaning up before exit/);
  expect(result.all!.indexOf('cleaned up: redis stand-in')).toBeLessThan(result.all!.indexOf('cleaned up: network'));
  expect((await execa('docker', ['inspect', containerId!], { reject: false })).exitCode).not.toBe(0);
  expect((await execa('docker', ['network', 'inspect', network!], { reject: false })).exitCode).not.toBe(0);
});

describe('one Ctrl-C through npm is one interrupt', () => {
  // npm passes its SIGINT on to the script's process, and a terminal's Ctrl-C reaches the whole
  // foreground process group: when the script's command is npm's direct child (`exec`, or bash
  // running a lone command), it gets both. Reproduced here with the interrupted run behind an npm
  // script run by bash, signalled as a terminal does: SIGINT to the whole process group.
  const work = tempFolder('npm-sigint');
  beforeAll(async () => {
    const root = process.cwd();
    await writeFile(join(work.path, 'package.json'), JSON.stringify({
      name: 'interrupted-run', private: true,
      // The same shape as the suite's own `test` script.
      scripts: { run: `node ${root}/cli/require-node.mjs && exec node --experimental-strip-types --no-warnings ${root}/self-tests/programs/interrupted-run.ts` },
    }));
  });

  test('npm run --script-shell=/bin/bash, SIGINT to the process group: cleaned up once, exit 130', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const child = execa('npm', ['run', '--script-shell=/bin/bash', '--prefix', work.path, 'run'], {
      reject: false, all: true, detached: true, cwd: work.path,
    });
    const [containerId, network] = await readyOf(child);
    process.kill(-child.pid!, 'SIGINT');
    const result = await child;
    expect(result.all).not.toMatch(/again: exiting now/);
    expect(result.all!.match(/SIGINT: cleaning up before exit/g)).toHaveLength(1);
    expect(result.all).toMatch(/cleaned up: redis stand-in/);
    expect(result.all).toMatch(/cleaned up: network/);
    expect(result.exitCode).toBe(130);
    expect((await execa('docker', ['inspect', containerId!], { reject: false })).exitCode).not.toBe(0);
    expect((await execa('docker', ['network', 'inspect', network!], { reject: false })).exitCode).not.toBe(0);
  });
});

describe('a failed start of the interrupted run', () => {
  test('undoes what exists (its network) and exits 1, with no signal at all', async (ctx) => {
    await needDocker(ctx, PROBE_IMAGE);
    const id = `failedstart${Date.now().toString(36)}`;
    // The probe image has no redis-server: the stand-in's container cannot start (nothing to pull).
    const result = await execa(process.execPath, ['--experimental-strip-types', '--no-warnings', 'self-tests/programs/interrupted-run.ts'], {
      env: { REDIS_IMAGE: PROBE_IMAGE, ...childRunEnv(id) }, reject: false, all: true, timeout: 60_000,
    });
    const left = await resourcesOf(id);
    await removeAllOfRun(id);
    expect(result.exitCode).toBe(1);
    expect(result.all).toMatch(/start failed: /);
    expect(result.all).toMatch(/cleaned up: network/);
    expect(left).toEqual({ containers: [], networks: [] });
  });
});

describe('Ctrl-C while the Redis stand-in is starting', () => {
  test('the start is waited for, then undone with the rest: nothing left, exit 130', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const id = `duringstart${Date.now().toString(36)}`;
    const child = execa(process.execPath, ['--experimental-strip-types', '--no-warnings', 'self-tests/programs/interrupted-run.ts'], {
      env: { INTERRUPT_DURING_START: '1', ...childRunEnv(id) }, reject: false, all: true, timeout: 120_000,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('STARTING\n')) resolve();
        });
        child.then((r) => reject(new Error(`the run exited before its start:\n${r.all}`)), reject);
      });
      child.kill('SIGINT');
      const result = await child;
      const left = await resourcesOf(id);
      expect(result.exitCode).toBe(130);
      expect(result.all).toMatch(/waiting for redis stand-in start to finish, so that it can be undone/);
      expect(result.all).toMatch(/cleaned up: redis stand-in/);
      expect(left).toEqual({ containers: [], networks: [] });
    } finally {
      await removeAllOfRun(id);
    }
  });
});
