/**
 * A failed `npm test` ends with one clean block: the progress lines, every problem at once, and
 * what was or was not created; no vitest noise ("No test files found", "Unhandled Error",
 * "Serialized Error"), no stack, nothing printed twice; exit 1. Run as a user runs it: the real
 * `npm test` as a subprocess. kind and istioctl cannot run here, so these are the failures a
 * newcomer meets before any cluster exists. The block itself, in-process: run/user-facing.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { writeKubeconfig } from '../plumbing/kubeconfig.ts';
import { countingListener } from '../plumbing/loopback.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

// Vitest's colours, to compare text.
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

const work = tempFolder('npm-test');
// A loopback "mirror" that counts connections: no run below may try to download anything.
const mirror = countingListener();

const kubeconfig = (name: string) => writeKubeconfig(join(work.path, name), { current: 'shop', contexts: ['shop'], server: 'https://127.0.0.1:9' });

async function npmTest(env: Record<string, string>) {
  const r = await execa('npm', ['test'], {
    env: {
      ARTIFACTS_DIR: join(work.path, 'artifacts'),
      KIND_BIN: join(work.path, 'no-such-kind'),
      ISTIOCTL_BIN: join(work.path, 'no-such-istioctl'),
      DOWNLOAD_MIRROR: `http://127.0.0.1:${mirror.port}`,
      KUBECONFIG: join(work.path, 'no-such-kubeconfig'),
      ...env,
    },
    reject: false, all: true, stripFinalNewline: false, timeout: 90_000,
  });
  return { exitCode: r.exitCode, out: stripAnsi(r.all ?? '') };
}

/** The run's output from the block's first line on. */
function blockOf(out: string, firstLine: string): string {
  const at = out.indexOf(`\n${firstLine}\n`);
  expect(at, `no line "${firstLine}" in:\n${out}`).toBeGreaterThanOrEqual(0);
  return out.slice(at + 1);
}

function expectNoNoise(out: string): void {
  for (const noise of ['No test files found', 'Unhandled Error', 'Serialized Error', 'JUNIT report']) expect(out).not.toContain(noise);
  // Stack frames, as Node prints them and as vitest does.
  expect(out).not.toMatch(/^ {4}at /m);
  expect(out).not.toMatch(/^ *❯ .*:\d+:\d+$/m);
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const twice = lines.filter((l, i) => lines.indexOf(l) !== i);
  expect(twice, out).toEqual([]);
}

describe('npm test: user-facing failures print one clean block', () => {
  test('KIND_BIN and ISTIOCTL_BIN that do not exist: both named as settings at once, before any progress line, nothing created, exit 2', async () => {
    // The settings check (helpers/run/settings-checks.ts) names a tool path the run uses before the
    // prerequisites phase starts; the prerequisites block itself is in settings.test.ts.
    const { exitCode, out } = await npmTest({});
    expect(exitCode).toBe(2);
    expectNoNoise(out);
    expect(out).not.toContain('▶');
    expect(blockOf(out, '✘ Invalid settings:')).toBe([
      '✘ Invalid settings:',
      `  - KIND_BIN=${join(work.path, 'no-such-kind')} does not exist; valid values: a path to an executable file`,
      `  - ISTIOCTL_BIN=${join(work.path, 'no-such-istioctl')} does not exist; valid values: a path to an executable file`,
      'Nothing was created.', '',
    ].join('\n'));
    expect(out).not.toContain('cleaning up what was created');
    expect(mirror.connections).toBe(0);
  });

  test('invalid settings: every bad setting at once, before any progress line, exit 2 (the usage code)', async () => {
    const { exitCode, out } = await npmTest({ CLUSTER: 'bogus', READY_TIMEOUT: 'soon' });
    expect(exitCode).toBe(2);
    expectNoNoise(out);
    expect(out).not.toContain('▶');
    const block = blockOf(out, '✘ Invalid settings:');
    expect(block).toContain('  - CLUSTER="bogus" is not valid; valid values: kind, existing\n');
    expect(block).toMatch(/ {2}- READY_TIMEOUT="soon" is not valid; valid values: .*\n/);
    expect(block.endsWith('Nothing was created.\n')).toBe(true);
  });

  test('CLUSTER=existing without ALLOW_CONTEXT: refused by the context guard, exit 1', async () => {
    const kc = await kubeconfig('kubeconfig-guard');
    const { exitCode, out } = await npmTest({ CLUSTER: 'existing', KUBECONFIG: kc });
    expect(exitCode).toBe(1);
    expectNoNoise(out);
    expect(blockOf(out, '✘ Refusing the current kubeconfig context:')).toBe([
      '✘ Refusing the current kubeconfig context:',
      `  - CLUSTER=existing would change the cluster of your current context "shop" (${kc}); the suite does that only when told: set ALLOW_CONTEXT=shop`,
      'Nothing was created.', '',
    ].join('\n'));
  });

  test('CLUSTER=existing with KUBECONFIG naming a missing file: one block naming it and what to do; no artifacts folder made, exit 1', async () => {
    const missing = join(work.path, 'no-such-kubeconfig');
    const artifacts = join(work.path, 'artifacts-missing-kubeconfig');
    const { exitCode, out } = await npmTest({ CLUSTER: 'existing', ALLOW_CONTEXT: 'shop', KUBECONFIG: missing, ARTIFACTS_DIR: artifacts });
    expect(exitCode).toBe(1);
    expectNoNoise(out);
    expect(out).not.toContain('ENOENT');
    const block = blockOf(out, '✘ No kubeconfig for CLUSTER=existing:');
    expect(block).toContain(`  - KUBECONFIG=${missing}: no such file; point KUBECONFIG at your cluster's kubeconfig file`);
    expect(block.endsWith('Nothing was created.\n')).toBe(true);
    // "Nothing was created" holds for the reports too: no folder, no 0-byte junit.xml.
    expect(existsSync(artifacts)).toBe(false);
  });

  test('CLUSTER=existing with no kubeconfig at all: the block names ~/.kube/config, no made-up context', async () => {
    const home = join(work.path, 'empty-home');
    await mkdir(home, { recursive: true });
    const { exitCode, out } = await npmTest({ CLUSTER: 'existing', KUBECONFIG: '', HOME: home });
    expect(exitCode).toBe(1);
    expectNoNoise(out);
    expect(out).not.toContain('loaded-context');
    expect(blockOf(out, '✘ No kubeconfig for CLUSTER=existing:')).toContain(`KUBECONFIG is not set and ${join(home, '.kube', 'config')} does not exist`);
  });

  test('a failure before any test, with the artifacts folder there (as CI makes it): a valid JUnit report naming the failure', async () => {
    const artifacts = join(work.path, 'artifacts-ci');
    await mkdir(artifacts, { recursive: true });
    const { exitCode } = await npmTest({ CLUSTER: 'existing', KUBECONFIG: await kubeconfig('kubeconfig-junit'), ARTIFACTS_DIR: artifacts });
    expect(exitCode).toBe(1);
    const xml = await readFile(join(artifacts, 'junit.xml'), 'utf8');
    expect(xml.length).toBeGreaterThan(0);
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8" \?>\n<testsuites [^>]*tests="1" failures="1"/);
    expect(xml).toContain('<testcase classname="setup" name="Refusing the current kubeconfig context"');
    expect(xml).toContain('set ALLOW_CONTEXT=shop</failure>');
    expect(xml.trimEnd().endsWith('</testsuites>')).toBe(true);
  });

  test('REDIS_BACKEND=memorystore without gcloud credentials: the GCP preflight\'s problems, exit 1', async (ctx) => {
    if ((await execa('gcloud', ['--version'], { reject: false })).exitCode !== 0) return ctx.skip('gcloud is not installed on this machine');
    const gcloudConfig = join(work.path, 'gcloud-empty');
    const kc = await kubeconfig('kubeconfig-gcp');
    const { exitCode, out } = await npmTest({
      CLUSTER: 'existing', ALLOW_CONTEXT: 'shop', KUBECONFIG: kc, REDIS_BACKEND: 'memorystore', GCP_PROJECT: '',
      CLOUDSDK_CONFIG: gcloudConfig, CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false', // never probe the metadata server
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true', CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
    });
    expect(exitCode).toBe(1);
    expectNoNoise(out);
    expect(out).toMatch(/\] ▶ memorystore redis-cart\n.*\] ✘ memorystore redis-cart failed after/);
    expect(blockOf(out, '✘ GCP is not ready for REDIS_BACKEND=memorystore:')).toBe([
      '✘ GCP is not ready for REDIS_BACKEND=memorystore:',
      '  - no active gcloud account: run `gcloud auth login` (or activate a service account), then run again',
      '  - no GCP project: set GCP_PROJECT, or `gcloud config set project PROJECT_ID`',
      'Nothing was created.', '',
    ].join('\n'));
  });

  test('an unexpected error (the kubeconfig is a directory) keeps its stack', async () => {
    const { exitCode, out } = await npmTest({ CLUSTER: 'existing', KUBECONFIG: work.path });
    expect(exitCode).toBe(1);
    expect(out).toContain('EISDIR');
    expect(out).toMatch(/^ *❯ guardExistingContext helpers\/cluster\/context-guard\.ts:\d+:\d+$/m);
  });
});
