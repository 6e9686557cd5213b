/**
 * scenarios/workshop.spec.ts as far as this machine allows: the tests it collects (one per block
 * of the chapter, each named by its id once, a known defect's reason in its name) and its report
 * as skipped without WORKSHOP_REPO, from the settings the run injects; and its results in the
 * reports. The blocks' actions: self-tests/workshop/perform.test.ts; the fixtures that run
 * them: fixtures.test.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import type { EnvHandle } from '../../scenarios/environment.ts';
import { KNOWN_DEFECTS } from '../../workshop/plan.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');

/**
 * A vitest config for the spec file alone, without the scenarios' global setup (which would
 * create a cluster): the environment it would provide is given here instead.
 */
async function specConfig(dir: string, env: Record<string, string>): Promise<string> {
  const handle: EnvHandle = {
    settings: { ...loadSettings(env), artifactsDir: join(dir, 'artifacts') },
    kubeconfigPath: join(dir, 'no-kubeconfig'), context: 'no-cluster',
    redis: { host: '172.18.0.9', port: 6379 }, redisFromHost: undefined, timingsFile: join(dir, 'timings.jsonl'),
  };
  const config = join(dir, 'vitest.config.mjs');
  await writeFile(config, `export default { test: { root: ${JSON.stringify(ROOT_DIR)}, include: ['scenarios/workshop.spec.ts'], provide: { env: ${JSON.stringify(handle)} } } };\n`);
  return config;
}

describe('scenarios/workshop.spec.ts: its tests are the chapter\'s blocks', () => {
  const folder = tempFolder('workshop-spec', { each: true });

  test('without WORKSHOP_REPO in the injected settings: one test, skipped, the reason in its name (no cluster is touched)', async () => {
    const config = await specConfig(folder.path, {});
    const out = join(folder.path, 'r.json');
    // WORKSHOP_REPO in this process's environment is not what the spec reads: the injected settings are.
    const r = await execa('npx', ['vitest', 'run', '--config', config, '--root', ROOT_DIR, '--reporter=json', `--outputFile.json=${out}`],
      { cwd: ROOT_DIR, env: { WORKSHOP_REPO: join(WORKSHOPS, 'clean') }, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as { numTotalTests: number; testResults: { assertionResults: { status: string; title: string }[] }[] };
    expect(report.numTotalTests).toBe(1);
    expect(report.testResults[0]!.assertionResults).toEqual([
      expect.objectContaining({ status: 'skipped', title: 'every block of the chapter (skipped: WORKSHOP_REPO is not set)' }),
    ]);
  });

  test('with WORKSHOP_REPO: a test per block, in order, named by its id once; a known defect with its reason', async () => {
    // A page whose ids are those of the pinned chapter's known defect at step 6.
    const repo = join(folder.path, 'workshop');
    await mkdir(join(repo, 'content'), { recursive: true });
    await writeFile(join(repo, 'content', '08-egress-gateway.md'), [
      '---', 'title: "Egress Gateway"', '---', '',
      '6. Block what the mesh does not know:', '', '```', 'helm upgrade --set global.outboundTrafficPolicymode=REGISTRY_ONLY istio istio/istiod', '```', '',
      '7. Try again:', '', '```', 'telnet REDIS_ADDR 6379', '```', '',
    ].join('\n'));
    const config = await specConfig(folder.path, { WORKSHOP_REPO: repo });
    const out = join(folder.path, 'list.json');
    // Collected, not run: the spec file is evaluated (no static parse), its tests listed.
    const r = await execa('npx', ['vitest', 'list', '--config', config, '--root', ROOT_DIR, '--staticParse=false', `--json=${out}`], { cwd: ROOT_DIR, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const listed = JSON.parse(await readFile(out, 'utf8')) as { name: string }[];
    expect(listed.map((t) => t.name)).toEqual([
      `the workshop's own chapter: content/08-egress-gateway.md > 08-egress-gateway#step6.1 (known defect: ${KNOWN_DEFECTS['08-egress-gateway#step6.1']})`,
      'the workshop\'s own chapter: content/08-egress-gateway.md > 08-egress-gateway#step7.1',
    ]);
  });
});

describe('the scenario\'s results in the reports', () => {
  test('the matrix table has a row per block id (known defects keep their reason in the name)', async () => {
    const { matrixTable } = await import('../../cli/matrix-table.ts');
    const table = matrixTable([{
      version: '1.30.5', exitCode: 0, durationMs: 60_000,
      report: { testResults: [{ name: 'scenarios/workshop.spec.ts', assertionResults: [
        { title: '02-egress#step2.2', status: 'passed', duration: 1500 },
        { title: '02-egress#step3.3 (known defect: the key does not exist)', status: 'passed', duration: 200 },
        { title: '02-egress#step1.1', status: 'skipped', duration: null },
      ] }] },
    }], []);
    expect(table.split('\n')).toEqual([
      '| step | 1.30.5 |', '|---|---|',
      '| 02-egress#step2.2 | pass 1.5s |',
      '| 02-egress#step3.3 (known defect: the key does not exist) | pass 0.2s |',
      '| 02-egress#step1.1 | skipped |',
      '| **run** | pass 60s |',
    ]);
  });

  test('the Markdown report shows a block\'s verdict, the manifest as applied and the server\'s answer', async () => {
    const { analyse, toMarkdown } = await import('../../workshop/report.ts');
    const repo = join(WORKSHOPS, 'manifests');
    const a = await analyse({ repo, labs: join(repo, 'labs'), chapter: undefined });
    const md = toMarkdown(a, new Map([
      ['07-egress#step1.2', { verdict: 'expected failure', substituted: '{"kind":"ServiceEntry"}', answer: 'the server said no' }],
    ]));
    expect(md).toContain('| `07-egress#step1.2` (content/mesh/07-egress.md:34) | command | run | expected failure |');
    expect(md).toMatch(/As applied:\n\n```\n\{"kind":"ServiceEntry"\}\n```\n\nAnswer \(expected failure\):\n\n```\nthe server said no\n```/);
  });
});
