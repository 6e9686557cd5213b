/**
 * One exit-code convention for every command, as the README writes it: 0 all passed (nothing
 * found), 1 a failure or a finding, 2 the command was called wrongly (an unknown argument, an
 * invalid setting), 130 interrupted by Ctrl-C (143 by SIGTERM). Each command is run as a user
 * runs it (npm as a subprocess) in each case it can meet without a cluster; `npm test`'s
 * failures and interrupts are in npm-test-failures.test.ts and interrupt-*.test.ts, the
 * workshop's findings (1) in workshop/inventory.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { tempFolder } from '../plumbing/temp-folder.ts';

const work = tempFolder('exit-codes');

async function npm(args: string[], env: Record<string, string> = {}) {
  return execa('npm', ['run', '-s', ...args], {
    env: { ARTIFACTS_DIR: join(work.path, 'artifacts'), DOCKER_HOST: 'unix:///nonexistent.sock', ...env }, reject: false, all: true, timeout: 120_000,
  });
}

describe('exit codes: 0 help, 2 usage, for every command', () => {
  for (const command of ['plan', 'workshop', 'matrix', 'docs']) {
    test(`${command} -- --help: its usage, exit 0`, async () => {
      const r = await npm([command, '--', '--help']);
      expect(r.exitCode, r.all).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: npm run ${command}\\b`));
    });
  }

  test.each([
    ['plan', ['--bogus'], {}],
    ['plan', [], { READY_TIMEOUT: 'soon' }],
    ['workshop', ['--bogus'], {}],
    ['workshop', [], { READY_TIMEOUT: 'soon' }],
    ['workshop', [], { WORKSHOP_REPO: '' }],
    ['matrix', ['9.9'], {}],
    ['docs', ['--bogus'], {}],
  ] as const)('%s %o with %o: one message, exit 2', async (command, args, env) => {
    const r = await npm([command, '--', ...args], env);
    expect(r.exitCode, r.all).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('npm test with an invalid setting: exit 2, like the commands', async () => {
    const r = await execa('npm', ['test'], { env: { READY_TIMEOUT: 'soon', ARTIFACTS_DIR: join(work.path, 'artifacts') }, reject: false, all: true, timeout: 120_000 });
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain('READY_TIMEOUT="soon" is not valid');
  });

  test('the README states the convention', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toMatch(/`0` .*`1` .*`2` .*`130`/s);
    expect(readme).toContain('Exit codes');
  });
});
