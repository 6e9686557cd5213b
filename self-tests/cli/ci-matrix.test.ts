/**
 * cli/ci-matrix.ts: the Istio versions CI's first job hands to the scenario jobs, from
 * helpers/run/pins.ts (the one place they are written) or a caller's JSON list.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pins } from '../../helpers/run/pins.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const temp = tempFolder('ci-matrix', { each: true });
const run = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', join(ROOT_DIR, 'cli', 'ci-matrix.ts'), ...args], { env, reject: false });

test('no list (or an empty one): the pinned matrix, printed and written as the step output `istio`', async () => {
  const output = join(temp.path, 'output');
  writeFileSync(output, 'other=1\n');
  for (const args of [[], ['  ']]) {
    const r = await run(args, { GITHUB_OUTPUT: output });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([...pins.istioMatrix]);
  }
  expect(readFileSync(output, 'utf8')).toBe(`other=1\nistio=${JSON.stringify(pins.istioMatrix)}\nistio=${JSON.stringify(pins.istioMatrix)}\n`);
});

test('a caller\'s list is passed on; a bad one is refused with exit 2 naming the input and the valid values', async () => {
  const ok = await run(['["1.31.1"]']);
  expect(ok.exitCode).toBe(0);
  expect(ok.stdout).toBe('["1.31.1"]');
  for (const [given, why] of [['1.31.1', 'not JSON'], ['[]', 'not a non-empty JSON list'], ['["1.31", 5]', 'not Istio versions: "1.31", 5']]) {
    const r = await run([given!]);
    expect(r.exitCode, given).toBe(2);
    expect(r.stderr).toBe(`ci-matrix: istio-versions=${given} is ${why}; valid values: a JSON list of Istio release versions, e.g. ${JSON.stringify(pins.istioMatrix)}, or empty for that pinned list`);
  }
});
