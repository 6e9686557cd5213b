/** Ctrl-C in the middle of a run: everything started is stopped, in reverse order, exit 130. */
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { needDocker, REDIS_IMAGE } from './support.ts';

test('SIGINT during a run removes the Redis stand-in and its network, then exits 130', async (ctx) => {
  await needDocker(ctx, REDIS_IMAGE);
  const child = execa(process.execPath, ['--experimental-strip-types', '--no-warnings', 'self-tests/programs/interrupted-run.ts'], {
    reject: false, all: true,
  });
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(line);
    });
    child.then((r) => reject(new Error(`the run exited before it was ready:\n${r.all}`)), reject);
  });
  const [, containerId, network] = ready.trim().split(' ');
  expect((await execa('docker', ['inspect', containerId!], { reject: false })).exitCode).toBe(0);

  child.kill('SIGINT');
  const result = await child;
  expect(result.exitCode).toBe(130);
  expect(result.all).toMatch(/SIGINT: cleaning up before exit/);
  expect(result.all!.indexOf('cleaned up: redis stand-in')).toBeLessThan(result.all!.indexOf('cleaned up: network'));
  expect((await execa('docker', ['inspect', containerId!], { reject: false })).exitCode).not.toBe(0);
  expect((await execa('docker', ['network', 'inspect', network!], { reject: false })).exitCode).not.toBe(0);
});
