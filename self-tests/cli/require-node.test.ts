/**
 * The Node floor: every npm script first runs cli/require-node.mjs, which refuses an older Node in
 * one line (found, needed, how to get it) before a dependency crashes on it.
 *
 * The old Node is the machine's own (/usr/bin/node is Node 20 here and in CI), or OLD_NODE.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { tempFolder } from '../plumbing/temp-folder.ts';

const OLD_NODE = process.env.OLD_NODE ?? '/usr/bin/node';

async function oldNodeVersion(): Promise<string | undefined> {
  if (!existsSync(OLD_NODE)) return undefined;
  const r = await execa(OLD_NODE, ['-p', 'process.versions.node'], { reject: false });
  const major = Number(r.stdout.split('.')[0]);
  return r.exitCode === 0 && major < 22 ? r.stdout.trim() : undefined;
}

describe('Node floor', () => {
  test('engines.node is the intersection of what undici, testcontainers and vitest declare', async () => {
    const engines = async (p: string) => (JSON.parse(await readFile(`node_modules/${p}/package.json`, 'utf8')) as { engines: { node: string } }).engines.node;
    expect(await engines('undici')).toBe('>=22.19.0');
    expect(await engines('testcontainers')).toBe('>= 22.22');
    expect(await engines('vitest')).toBe('^22.12.0 || ^24.0.0 || >=26.0.0');
    const own = (JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
    expect(own).toBe('^22.22.0 || ^24.0.0 || >=26.0.0');
    expect((await readFile('README.md', 'utf8'))).toContain('Node.js 22.22 or later');
    expect((await readFile('.nvmrc', 'utf8')).trim()).toBe('24');
  });

  test('every npm script runs the check first', async () => {
    const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    for (const [name, line] of Object.entries(scripts)) expect(`${name}: ${line}`).toMatch(new RegExp(`^${name}: node cli/require-node\\.mjs && `));
  });

  test('this Node passes the check silently', async () => {
    const r = await execa(process.execPath, ['cli/require-node.mjs'], { reject: false, all: true });
    expect(r.exitCode).toBe(0);
    expect(r.all).toBe('');
  });

  for (const script of ['test', 'test:self', 'plan']) {
    test(`npm run ${script} on an old Node: one line (found, needed, how to get it), exit 1`, async (ctx) => {
      const version = await oldNodeVersion();
      if (!version) return ctx.skip(`no Node older than 22 at ${OLD_NODE} (set OLD_NODE to one)`);
      // The old Node first on PATH, as for a user whose default Node is too old; npm too runs on it.
      const r = await execa('npm', ['run', '-s', script], {
        env: { PATH: `${dirname(OLD_NODE)}:${process.env.PATH}`, ARTIFACTS_DIR: '/nonexistent/artifacts' },
        reject: false, all: true, timeout: 60_000,
      });
      expect(r.exitCode).toBe(1);
      const lines = r.all!.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`needs Node ^22.22.0 || ^24.0.0 || >=26.0.0 (package.json engines); found Node ${version} at ${OLD_NODE}`);
      expect(lines[0]).toContain('nvm install && nvm use` (reads .nvmrc: 24)');
      expect(lines[0]).toContain('npm install --prefix .tools/node24 node@24');
      expect(r.all).not.toMatch(/No test files found|TypeError|bad option|Unhandled/);
    });
  }
});

describe('vitest started directly (npx vitest), as a vitest user does first', () => {
  test('on an old Node: the same one line as the npm scripts, not a crash while loading the config (TEXT_ENCODINGS.union)', async (ctx) => {
    const version = await oldNodeVersion();
    if (!version) return ctx.skip(`no Node older than 22 at ${OLD_NODE} (set OLD_NODE to one)`);
    const r = await execa(OLD_NODE, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'self-quick', 'self-tests/run/poll.test.ts'], {
      env: { ARTIFACTS_DIR: '/nonexistent/artifacts' }, reject: false, all: true, timeout: 60_000,
    });
    expect(r.exitCode).toBe(1);
    const lines = r.all!.split('\n').filter(Boolean);
    expect(lines, r.all).toHaveLength(1);
    expect(lines[0]).toContain(`found Node ${version}`);
  });

  for (const args of [[], ['run'], ['run', 'self-tests/run/poll.test.ts']]) {
    test(`npx vitest ${args.join(' ')} without --project: one line saying what to run, exit 2, nothing run or watched`, async () => {
      const r = await execa('npx', ['vitest', ...args], { reject: false, all: true, timeout: 60_000, env: { ARTIFACTS_DIR: '/nonexistent/artifacts' } });
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(2);
      const lines = r.all!.split('\n').filter(Boolean);
      expect(lines, r.all).toHaveLength(1);
      expect(lines[0]).toContain('run `npm test`');
      expect(lines[0]).toContain('npm run test:self');
      expect(lines[0]).toContain('--project');
    });
  }
});

describe('dependencies not installed (a fresh clone, or Ctrl-C during npm ci)', () => {
  const folder = tempFolder('no-node-modules');

  test('every npm script answers with one line: run npm ci (not "vitest: not found" or a module stack)', async () => {
    // The project's own files, without node_modules.
    await mkdir(join(folder.path, 'cli'), { recursive: true });
    for (const f of ['package.json', '.nvmrc', 'cli/require-node.mjs']) await copyFile(f, join(folder.path, f));
    for (const script of ['test', 'test:self', 'plan']) {
      const r = await execa('npm', ['run', '-s', script], { cwd: folder.path, reject: false, all: true, timeout: 60_000 });
      expect(r.exitCode, r.all).toBe(1);
      const lines = r.all!.split('\n').filter(Boolean);
      expect(lines, r.all).toHaveLength(1);
      expect(lines[0]).toMatch(/^egress-verify: its dependencies are not installed \(missing from node_modules: .* more\): run npm ci$/);
    }
  });
});
