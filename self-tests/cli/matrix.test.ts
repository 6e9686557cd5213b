/**
 * cli/matrix.ts (`npm run matrix`) where no cluster can be made: a version's run that fails
 * before its first step records why (run.json beside its reports, for CI's summary job), and the
 * table it prints gives that reason under "FAIL (setup)". The table itself: matrix-table.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import type { RunRecord } from '../../cli/matrix-table.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const temp = tempFolder('cli-matrix');

test('a run that fails in its setup: exit 1, run.json with the reason, and the reason under the table (stdout and job summary)', async () => {
  const summary = join(temp.path, 'summary.md');
  writeFileSync(summary, '## earlier\n');
  // Tools that are not there: the scenarios' setup refuses at once, before anything is created.
  const r = await execa('npm', ['run', '-s', 'matrix', '--', '1.31.1'], {
    env: {
      ARTIFACTS_DIR: temp.path, GITHUB_STEP_SUMMARY: summary, GITHUB_ACTIONS: '',
      KIND_BIN: join(temp.path, 'no-kind'), ISTIOCTL_BIN: join(temp.path, 'no-istioctl'), DOCKER_HOST: 'unix:///nonexistent.sock',
    },
    reject: false,
  });
  expect(r.exitCode, r.stderr).toBe(1);
  const record = JSON.parse(readFileSync(join(temp.path, 'matrix', '1.31.1', 'run.json'), 'utf8')) as RunRecord;
  expect(record).toMatchObject({ version: '1.31.1', exitCode: expect.any(Number) as number });
  expect(record.exitCode).not.toBe(0);
  expect(record.setupReason).toMatch(/^Invalid settings: KIND_BIN=.*no-kind does not exist; valid values: a path to an executable file; ISTIOCTL_BIN=/);
  const reason = `- **1.31.1** FAIL (setup): ${record.setupReason}`;
  expect(r.stdout).toContain(`| **run** | FAIL (setup) `);
  expect(r.stdout).toContain(reason);
  expect(readFileSync(summary, 'utf8')).toMatch(/^## earlier\n## Istio matrix\n\n\| step \| 1\.31\.1 \|/);
  expect(readFileSync(summary, 'utf8')).toContain(reason);
  expect(readFileSync(join(temp.path, 'matrix', 'summary.md'), 'utf8')).toContain(reason);
});
