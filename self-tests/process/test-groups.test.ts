/**
 * The self-test groups: `npm run test:self` (project self-quick) is the quick loop and leaves the
 * slow files out; `npm run test:self:all` (project self) runs every self-test file, and is what CI
 * runs, so no test is in no group CI runs. Read from vitest itself (`vitest list`), as it will run them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

async function filesOf(project: string): Promise<string[]> {
  const r = await execa('npx', ['vitest', 'list', '--project', project, '--filesOnly', '--json'], { cwd: ROOT, reject: false, timeout: 120_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { file: string }[]).map((f) => relative(ROOT, f.file)).sort();
}

async function testFilesOnDisk(): Promise<string[]> {
  const entries = await readdir(join(ROOT, 'self-tests'), { recursive: true });
  return entries.filter((e) => e.endsWith('.test.ts')).map((e) => join('self-tests', e)).sort();
}

describe('self-test groups', () => {
  test('test:self:all runs every self-test file; test:self is a strict subset without the slow ones', async () => {
    const [all, quick, onDisk] = await Promise.all([filesOf('self'), filesOf('self-quick'), testFilesOnDisk()]);
    expect(all).toEqual(onDisk);
    expect(quick.every((f) => all.includes(f))).toBe(true);
    const slow = all.filter((f) => !quick.includes(f));
    // The kinds of slow file the quick loop leaves out: whole commands, real components, subprocess runs.
    for (const f of ['self-tests/process/interrupt-self-tests.test.ts', 'self-tests/mesh/xds.test.ts', 'self-tests/mesh/istiod.test.ts',
      'self-tests/cluster/kube.api-server.test.ts', 'self-tests/cli/plan.test.ts']) expect(slow).toContain(f);
    // The quick loop keeps the in-process tests of the modules, the Docker-backed stand-ins included.
    for (const f of ['self-tests/run/settings.test.ts', 'self-tests/external/redis.test.ts', 'self-tests/scenarios/chapter.test.ts']) expect(quick).toContain(f);
  });

  test('CI runs test:self:all, and the README says which command runs which group', async () => {
    const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['test:self']).toMatch(/--project self-quick$/);
    expect(scripts['test:self:all']).toMatch(/--project self$/);
    expect(await readFile(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm run test:self:all /m);
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/`npm run test:self` is the quick loop/);
    expect(readme).toMatch(/`npm run test:self:all`[^\n]*(CI|every)/);
  });
});
