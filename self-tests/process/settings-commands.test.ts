/**
 * helpers/run/settings.ts through the real commands, as a user runs them (npm as a subprocess;
 * no Docker is needed): an invalid setting is refused by `npm run plan` and `npm test` naming the
 * variable, before anything starts. Process-level, so in the `self` group that CI runs, not in
 * the quick loop (the settings themselves are tested in-process in run/settings.test.ts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { pins } from '../../helpers/run/pins.ts';

describe('settings: the real commands refuse or warn, naming the variable', () => {
  const cwd = resolve(import.meta.dirname, '..', '..');
  const run = (args: string[], env: Record<string, string>) =>
    execa('npm', args, { cwd, env: { ...env, DOCKER_HOST: 'unix:///nonexistent.sock' }, reject: false, timeout: 120_000 });

  test.each([
    [{ SETUP_TIMEOUT: '1000h' }, /SETUP_TIMEOUT="1000h" is not valid \(more than the maximum, 24h\)/],
    [{ ARTIFACTS_DIR: '/proc/egress-verify' }, /ARTIFACTS_DIR=\/proc\/egress-verify is on the kernel's pseudo-filesystem \/proc/],
    [{ ARTIFACTS_DIR: '/etc/hostname/reports' }, /ARTIFACTS_DIR=\/etc\/hostname\/reports cannot be a directory: \/etc\/hostname is a file/],
    [{ KIND_BIN: '/tmp' }, /KIND_BIN=\/tmp is a directory, not an executable file/],
  ])('npm run plan with %o: exit 2, the problem on stderr, nothing on stdout', async (env, message) => {
    const r = await run(['run', '-s', 'plan'], env);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('npm run plan with a typo and an undigested node image: both warned about, the plan still made', async () => {
    const r = await run(['run', '-s', 'plan', '--', '--json'], { ISTIO_VERSON: '1.29.8', KIND_NODE_IMAGE: 'kindest/node:v1.36.1' });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/WARNING: ISTIO_VERSON is not a setting; did you mean ISTIO_VERSION\? \(ISTIO_VERSON is ignored, ISTIO_VERSION keeps its default\)/);
    expect(r.stderr).toMatch(/WARNING: KIND_NODE_IMAGE=kindest\/node:v1\.36\.1 has no @sha256: digest/);
    expect((JSON.parse(r.stdout) as { settings: Record<string, unknown> }).settings).toMatchObject({ ISTIO_VERSION: pins.istio, SETUP_TIMEOUT: '20m' });
  });

  test('npm test failing before anything exists does not claim to clean up what was created', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-npm-test-'));
    try {
      // No Docker engine, no kind or istioctl on PATH or in the (empty) cache, a mirror that refuses.
      const r = await run(['test'], {
        ARTIFACTS_DIR: join(dir, 'artifacts'), TOOLS_CACHE_DIR: join(dir, 'cache'), DOWNLOAD_MIRROR: 'http://127.0.0.1:9',
        PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ISTIO_VERSON: '1.29.8',
      });
      expect(r.exitCode).toBe(1);
      const out = `${r.stdout}${r.stderr}`;
      expect(out).toMatch(/Nothing was created\./);
      // Nor the reports' folder (issue 24: a 0-byte junit.xml and timings.json appeared in it).
      expect(existsSync(join(dir, 'artifacts'))).toBe(false);
      expect(out).not.toMatch(/cleaning up what was created/);
      // The typo is named before the run starts, once.
      expect(out.match(/WARNING: ISTIO_VERSON is not a setting; did you mean ISTIO_VERSION\?/g)).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('npm test with KIND_BIN=/tmp and SETUP_TIMEOUT=1000h: both named at once, no EACCES, nothing started', async () => {
    const r = await run(['test'], { KIND_BIN: '/tmp', SETUP_TIMEOUT: '1000h' });
    expect(r.exitCode).toBe(2);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).toMatch(/SETUP_TIMEOUT="1000h" is not valid \(more than the maximum, 24h\)/);
    expect(out).toMatch(/KIND_BIN=\/tmp is a directory, not an executable file/);
    expect(out).not.toMatch(/EACCES|ExecaError|▶ prerequisites/);
  });

  test('npm run test:self with an unusable ARTIFACTS_DIR: said once, the tests run, no reporter crash', async () => {
    const r = await run(['run', 'test:self', '--', 'self-tests/ci/workflows.test.ts'], { ARTIFACTS_DIR: '/etc/hostname/reports' });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = `${r.stdout}${r.stderr}`;
    expect(out.match(/WARNING: ARTIFACTS_DIR=\/etc\/hostname\/reports cannot be a directory: \/etc\/hostname is a file; .*no JUnit report is written/g)).toHaveLength(1);
    expect(out).not.toMatch(/ENOTDIR|JUNIT report written/);
  });

  test('npm test with ARTIFACTS_DIR under /proc: the settings error, no reporter crash, no hang', async () => {
    const r = await run(['test'], { ARTIFACTS_DIR: '/proc/egress-verify' });
    expect(r.exitCode).toBe(2);
    expect(r.timedOut).toBe(false);
    expect(`${r.stdout}${r.stderr}`).toMatch(/ARTIFACTS_DIR=\/proc\/egress-verify is on the kernel's pseudo-filesystem \/proc/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/ENOTDIR|ENOENT|EACCES|junit/i);
  });
});
