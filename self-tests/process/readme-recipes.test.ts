/**
 * The README's no-registry recipe, followed as written, as subprocesses: `npm run test:self` with
 * REDIS_IMAGE and nothing else works (testcontainers' reaper is turned off when its image is not
 * here: helpers/run/ryuk.ts, tested in-process in run/ryuk.test.ts), and without the Redis image
 * the tests that need it are skipped with the reason (with REQUIRE_DOCKER=1 they fail with it).
 */
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { getReaperImage } from 'testcontainers/build/reaper/reaper.js';
import { describe, expect, test } from 'vitest';
import { imagePresent } from '../../helpers/run/docker.ts';
import { labelArgs } from '../plumbing/run-resources.ts';
import { needDocker, REDIS_IMAGE } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { assertionResults: { status: string; title: string; failureMessages: string[] }[] }[];
}

const artifacts = tempFolder('recipe');

/** The environment a newcomer has: none of the suite's variables, none of testcontainers'. */
function freshEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(TESTCONTAINERS_|RYUK_|REDIS_IMAGE$|REQUIRE_DOCKER$|VITEST|ARTIFACTS_DIR$)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ARTIFACTS_DIR: artifacts.path, ...extra };
}

async function selfTests(extra: Record<string, string>, file: string) {
  const out = join(artifacts.path, `report-${Date.now()}.json`);
  const r = await execa('npm', ['run', '-s', 'test:self', '--', file, '--reporter=verbose', '--reporter=json', `--outputFile.json=${out}`], {
    cwd: ROOT, env: freshEnv(extra), extendEnv: false, reject: false, all: true, timeout: 180_000,
  });
  const { readFile } = await import('node:fs/promises');
  const report = JSON.parse(await readFile(out, 'utf8')) as JsonReport;
  return { ...r, report, results: report.testResults.flatMap((t) => t.assertionResults) };
}

describe('testcontainers reaper (Ryuk) without a registry', () => {
  test('the README recipe as written (REDIS_IMAGE only) runs the Docker tests', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    if (await imagePresent(getReaperImage())) ctx.skip(`the reaper image ${getReaperImage()} is present here, so this machine does not show the no-registry case`);
    const r = await selfTests({ REDIS_IMAGE }, 'self-tests/external/redis.test.ts');
    expect(r.exitCode, r.all).toBe(0);
    expect(r.report.numFailedTests).toBe(0);
    expect(r.report.numPassedTests).toBe(9);
    expect(r.all!.match(/running without it \(TESTCONTAINERS_RYUK_DISABLED=true\)/g)).toHaveLength(1);
  });
});

describe('without the Redis image, the tests that need it are skipped with the reason', () => {
  const missing = 'egress-verify/redis:never-built';

  test('skipped, each with the reason and what to do; the rest still run', async (ctx) => {
    await needDocker(ctx);
    const r = await selfTests({ REDIS_IMAGE: missing }, 'self-tests/external/redis.test.ts');
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).not.toMatch(/pull access denied|no such image|\(HTTP code \d+\)/i);
    expect(r.results.filter((t) => t.status === 'skipped' || t.status === 'pending')).toHaveLength(8);
    expect(r.results.filter((t) => t.status === 'passed').map((t) => t.title)).toEqual(['refuses to start without a network: pods could not reach it']);
    // vitest's verbose reporter prints a skipped test's reason beside it.
    expect(r.all).toContain(`REDIS_IMAGE=${missing} is not present locally; where no registry is reachable: \`npm run images:build\`, then REDIS_IMAGE=egress-verify/redis:local`);
  });

  test('with REQUIRE_DOCKER=1 they fail, with the same reason', async (ctx) => {
    await needDocker(ctx);
    const r = await selfTests({ REDIS_IMAGE: missing, REQUIRE_DOCKER: '1', TESTCONTAINERS_RYUK_DISABLED: 'true' }, 'self-tests/external/redis.test.ts');
    expect(r.exitCode).toBe(1);
    expect(r.report.numFailedTests).toBe(8);
    for (const t of r.results.filter((x) => x.status === 'failed')) {
      expect(t.failureMessages.join('\n')).toContain(`REQUIRE_DOCKER=1 but REDIS_IMAGE=${missing} is not present locally`);
    }
  });
});

describe('npm run images:build (zx)', () => {
  const leftovers = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('egress-verify-images-'));

  test('a missing host binary: exit 1 naming it and how to get it, nothing built, nothing left', async () => {
    const before = await leftovers();
    // PATH with node, npm, sh and docker, but no redis-server.
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-recipe-path-'));
    try {
      for (const tool of ['docker', 'npm', 'sh']) {
        await symlink((await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim(), join(dir, tool));
      }
      const r = await execa('npm', ['run', '-s', 'images:build'], {
        cwd: ROOT, env: { PATH: `${dirname(process.execPath)}:${dir}` }, extendEnv: false, reject: false,
      });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe("build-local-images: 'redis-server' not found; install Redis (Debian: apt-get install redis-server redis-tools)");
      expect(r.stdout).not.toMatch(/built/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await leftovers()).toEqual(before);
  });

  test('builds both images from this host\'s binaries, and removes its staging folder', async (ctx) => {
    await needDocker(ctx);
    const missing = (await Promise.all(['redis-server', 'redis-cli'].map(async (b) => ((await execa('sh', ['-c', `command -v ${b}`], { reject: false })).exitCode === 0 ? undefined : b)))).filter(Boolean);
    if (missing.length > 0) ctx.skip(`${missing.join(', ')} not installed on this host (Debian: apt-get install redis-server redis-tools)`);
    const before = await leftovers();
    const r = await execa('npm', ['run', '-s', 'images:build'], { cwd: ROOT, reject: false, timeout: 600_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^built egress-verify\/redis:local in \d+s \(\d+ MB\)\nbuilt egress-verify\/probe:local in \d+s \(\d+ MB\)$/);
    expect(await leftovers()).toEqual(before);
    // What it built works: the Redis image answers PING through its own redis-cli.
    const name = `egress-verify-images-check-${process.pid}`;
    try {
      await execa('docker', ['run', '-d', ...labelArgs(), '--name', name, 'egress-verify/redis:local']);
      let reply = '';
      const deadline = Date.now() + 20_000;
      while (reply !== 'PONG' && Date.now() < deadline) {
        reply = (await execa('docker', ['exec', name, 'redis-cli', 'PING'], { reject: false })).stdout.trim();
      }
      expect(reply).toBe('PONG');
    } finally {
      await execa('docker', ['rm', '-f', name], { reject: false });
    }
  });
});

describe('the README\'s clone recipes leave the project\'s git status clean', () => {
  test('every folder a `git clone` in the README makes in the project folder is ignored by .gitignore', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    // `git clone URL [FOLDER]`, as written in the README's shell blocks.
    const clones = [...readme.matchAll(/git clone (?:--\S+ )*(\S+?)(?:\.git)?(?: (?!&&)([^\s&;]+))?(?=\s|$)/g)]
      .map(([, url, folder]) => folder ?? url!.split('/').pop()!);
    expect(clones.length, 'the README clones the workshop\'s checkouts').toBeGreaterThan(0);
    for (const folder of clones) {
      const r = await execa('git', ['check-ignore', '-q', `${folder}/README.md`], { cwd: ROOT, reject: false });
      expect(r.exitCode, `${folder}/ is not ignored by .gitignore`).toBe(0);
    }
  });
});
