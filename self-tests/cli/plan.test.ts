/**
 * cli/plan.ts: `npm run plan` as a maintainer runs it: a subprocess, no cluster, no Docker needed.
 * (`npm run docs`: docs.test.ts.)
 */
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { tempFolder } from '../plumbing/temp-folder.ts';

interface Plan {
  settings: Record<string, unknown>;
  steps: { id: string; title: string; manifests: { file: string; action: string; objects: { kind: string; spec?: unknown }[] }[] }[];
}

async function plan(env: Record<string, string> = {}, args: string[] = ['--json']) {
  return execa('npm', ['run', '-s', 'plan', '--', ...args], { env: { ...env, DOCKER_HOST: 'unix:///nonexistent.sock' }, reject: false });
}

describe('npm run plan', () => {
  test('--json: settings and the ordered steps with their manifests; the Redis IP as a placeholder', async () => {
    const r = await plan();
    expect(r.exitCode).toBe(0);
    const p = JSON.parse(r.stdout) as Plan;
    expect(p.settings).toMatchObject({ ISTIO_VERSION: expect.any(String), REDIS_BACKEND: 'container', CLUSTER: 'kind' });
    expect(p.steps.map((s) => s.id)).toEqual([
      'prerequisites', 'cluster', 'istio', 'redis',
      'egress-workloads', 'control', 'blocked', 'serviceentry', 'allowed', 'removed',
      'gateway-workloads', 'gateway-installed', 'gateway-route', 'gateway-through', 'gateway-authz', 'gateway-bypass',
      'teardown',
    ]);
    for (const s of p.steps) expect(s).toEqual({ id: expect.any(String), title: expect.any(String), manifests: expect.any(Array) });
    const se = p.steps.find((s) => s.id === 'serviceentry')!.manifests[0]!;
    expect(se).toMatchObject({ file: 'fixtures/redis-serviceentry.yaml', action: 'apply' });
    expect(JSON.stringify(se.objects)).toContain('<REDIS_IP>/32');
  });

  test('the text form lists the same steps and says where tools and images come from', async () => {
    const r = await plan({}, []);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Steps\n {3}1\. \[prerequisites\]/);
    expect(r.stdout).toContain('kind create cluster --config kind-config.yaml');
    expect(r.stdout).toMatch(/Images\n .*cartservice:v0\.10\.\d+: kind load if present locally, else pulled by the node/);
  });

  test('invalid settings: exit 2 with the message, nothing printed on stdout', async () => {
    const r = await plan({ REDIS_BACKEND: 'redis-cloud' });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/REDIS_BACKEND="redis-cloud" is not valid; valid values: container, memorystore/);
  });

  test('unknown arguments are refused', async () => {
    const r = await plan({}, ['--yaml']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown argument --yaml; valid: --json/);
  });
});

describe('npm run plan: output that survives npm, durations as written', () => {
  const dir = tempFolder('plan', { each: true });

  test('--output FILE writes the JSON plan there (npm run without -s prints its banner on stdout)', async () => {
    const file = join(dir.path, 'plan.json');
    // Without -s: npm's "> egress-verify@… plan" banner goes to stdout, the plan to the file.
    const r = await execa('npm', ['run', 'plan', '--', '--json', '--output', file], {
      // npm's own default log level: a run started with `npm run -s` passes `silent` down in the environment.
      env: { DOCKER_HOST: 'unix:///nonexistent.sock', npm_config_loglevel: 'notice' }, reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/> egress-verify@[\d.]+ plan/);
    expect(r.stderr).toContain(`plan written to ${file}`);
    const p = JSON.parse(await readFile(file, 'utf8')) as Plan;
    expect(p.steps[0]!.id).toBe('prerequisites');
  });

  test('a relative --output is taken from where npm was run, not the package folder', async () => {
    const r = await execa('npm', ['run', '-s', '--prefix', resolve(import.meta.dirname, '..', '..'), 'plan', '--', '--output', 'plan.txt'], {
      cwd: dir.path, env: { DOCKER_HOST: 'unix:///nonexistent.sock' }, reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(dir.path, 'plan.txt'), 'utf8')).toMatch(/^Settings\n/);
  });

  test('a relative WORKSHOP_REPO follows the same rule as --output: from the folder npm was run in', async () => {
    const root = resolve(import.meta.dirname, '..', '..');
    // From self-tests/, where workshops/clean is a workshop checkout written for the tests.
    const r = await execa('npm', ['run', '-s', 'plan', '--', '--json', '--output', 'plan-from-subfolder.json'], {
      cwd: join(root, 'self-tests'), env: { DOCKER_HOST: 'unix:///nonexistent.sock', WORKSHOP_REPO: 'workshops/clean', ARTIFACTS_DIR: dir.path }, reject: false,
    });
    const written = join(root, 'self-tests', 'plan-from-subfolder.json');
    try {
      expect(r.exitCode, r.stderr).toBe(0);
      const p = JSON.parse(await readFile(written, 'utf8')) as Plan & { settings: Record<string, unknown> };
      expect(p.settings.WORKSHOP_REPO).toBe(join(root, 'self-tests', 'workshops', 'clean'));
    } finally {
      await rm(written, { force: true });
    }
  });

  test('--output without a file name, or to a folder that does not exist, exits 2 naming it', async () => {
    expect((await plan({}, ['--output'])).stderr).toMatch(/--output needs a file name/);
    const r = await plan({}, ['--output', '/nonexistent-dir/plan.json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cannot write --output \/nonexistent-dir\/plan\.json: ENOENT/);
  });

  test('durations are shown as written (20m, not 1200000; 120s, not 2m), in JSON and text', async () => {
    const json = JSON.parse((await plan({ READY_TIMEOUT: '150', PROPAGATION_TIMEOUT: '120s' })).stdout) as Plan;
    expect(json.settings).toMatchObject({ SETUP_TIMEOUT: '20m', READY_TIMEOUT: '150', PROPAGATION_TIMEOUT: '120s' });
    const text = (await plan({}, [])).stdout;
    expect(text).toMatch(/SETUP_TIMEOUT +20m\n/);
    expect(text).not.toMatch(/1200000/);
  });
});

describe('npm run plan: the Docker network, as kind reads KIND_EXPERIMENTAL_DOCKER_NETWORK', () => {
  test('default "kind"; the variable names another, for kind runs and for the stand-in on an existing cluster', async () => {
    const kind = JSON.parse((await plan()).stdout) as { cluster: string[] };
    expect(kind.cluster).toContain('Docker network "kind": kind\'s nodes and the Redis stand-in egress-verify-redis');
    expect(kind.cluster).toContain('Docker engine: at least 2 CPUs and 4 GiB, amd64 (the default CART_IMAGE is amd64-only); checked before anything is created');
    const named = JSON.parse((await plan({ KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab-net' })).stdout) as { cluster: string[] };
    expect(named.cluster).toContain('Docker network "lab-net" (KIND_EXPERIMENTAL_DOCKER_NETWORK): kind\'s nodes and the Redis stand-in egress-verify-redis');
    const existing = JSON.parse((await plan({ CLUSTER: 'existing', KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab-net' })).stdout) as { cluster: string[] };
    expect(existing.cluster).toContain('Redis stand-in egress-verify-redis on the Docker network "lab-net" (KIND_EXPERIMENTAL_DOCKER_NETWORK), which must exist (the kind cluster\'s node network)');
  });
});
