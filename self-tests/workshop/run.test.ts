/**
 * The workshop scenario (scenarios/workshop.spec.ts) as far as this machine allows: its plan of
 * actions from the chapter's blocks, the known defects against the pinned chapter's inventory,
 * and its report as skipped without WORKSHOP_REPO.
 * The cluster calls themselves need kind + Istio and are not run here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { substitute, yamlObjects } from '../../workshop/check.ts';
import { classify } from '../../workshop/classify.ts';
import { readGolden } from '../../workshop/inventory.ts';
import { findChapter, readChapter } from '../../workshop/parse.ts';
import { KNOWN_DEFECTS, meshModeProblem, planScenario } from '../../workshop/run.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');
const VALUES = { REDIS_ENDPOINT: '172.18.0.9', REDIS_ADDR: '172.18.0.9', $WORKSHOP_HOME: '/w' };

function blocksOf(name: string, labs = true) {
  const repo = join(WORKSHOPS, name);
  return classify(readChapter(repo, findChapter(repo)), (p) => {
    if (!labs) return undefined;
    try {
      return yamlObjects(readFileSync(join(repo, 'labs', p), 'utf8'));
    } catch {
      return undefined;
    }
  });
}

describe('the workshop scenario\'s plan: one test per block, in order', () => {
  test('apply (with kube-inject), the shell that places the probe, telnet with its expected outcome, compare, skip, re-probe', () => {
    const plan = planScenario(blocksOf('clean'), (s) => substitute(s, VALUES), {});
    expect(plan.map((p) => [p.id, p.action])).toEqual([
      ['05-leaving-the-mesh#step1.1', { type: 'apply', labsPath: 'client.yaml', inject: true }],
      ['05-leaving-the-mesh#step2.1', { type: 'shell', pod: 'client', namespace: 'default' }],
      ['05-leaving-the-mesh#step2.2', { type: 'probe', host: '172.18.0.9', port: 6379, expected: 'connected' }],
      ['05-leaving-the-mesh#step2.3', { type: 'compare', expected: 'connected', of: '05-leaving-the-mesh#step2.2' }],
      ['05-leaving-the-mesh#step3.1', { type: 'skip', reason: 'shown to the reader; 05-leaving-the-mesh#step3.2 applies istio-workshop-labs/store-entry.yaml, checked equal to it' }],
      ['05-leaving-the-mesh#step3.2', { type: 'apply', labsPath: 'store-entry.yaml', inject: false }],
      ['05-leaving-the-mesh#step3.3', { type: 'reprobe', expected: 'connected', host: '172.18.0.9', port: 6379 }],
    ]);
    expect(plan.every((p) => p.knownDefect === undefined)).toBe(true);
  });

  test('gcloud and Helm installs are skipped with their reason; the mesh-mode step checks the chapter\'s key', () => {
    const blocks = blocksOf('commands', false);
    const plan = planScenario(blocks, (s) => s, {});
    const action = (id: string) => plan.find((p) => p.id === `02-egress#${id}`)!.action;
    expect(action('step1.1')).toEqual({ type: 'skip', reason: expect.stringMatching(/^GCP: on kind the Redis stand-in replaces Memorystore/) });
    expect(action('step3.3')).toEqual({ type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['global.outboundTrafficPolicymode'] });
    const block = (id: string) => blocks.find((b) => b.id === `02-egress#${id}`)!;
    expect(meshModeProblem(block('step3.3'))).toBe('no command of 02-egress#step3.3 sets global.outboundTrafficPolicy.mode or meshConfig.outboundTrafficPolicy.mode to REGISTRY_ONLY (it sets: global.outboundTrafficPolicymode)');
    expect(meshModeProblem(block('step3.4'))).toBeUndefined();
    expect(meshModeProblem(block('step3.5'))).toBeUndefined();
    expect(meshModeProblem(block('step3.6'))).toMatch(/^no command of 02-egress#step3\.6 sets/);
  });

  test('a known defect marks its test (expected to fail, with the reason)', () => {
    const plan = planScenario(blocksOf('commands', false), (s) => s, { '02-egress#step3.3': 'the key does not exist' });
    expect(plan.filter((p) => p.knownDefect).map((p) => [p.id, p.knownDefect])).toEqual([['02-egress#step3.3', 'the key does not exist']]);
  });

  test('the known defects name blocks of the pinned chapter, of the kinds they are about', () => {
    const golden = new Map(readGolden().blocks.map((b) => [b.id, b]));
    expect(Object.keys(KNOWN_DEFECTS).map((id) => [id, golden.get(id)?.kind, golden.get(id)?.policy])).toEqual([
      ['08-egress-gateway#step6.1', 'command', 'intent'],
      ['08-egress-gateway#step9.2', 'command', 'run'],
      ['08-egress-gateway#step10.1', 'output', 'output'],
    ]);
  });
});

describe('scenarios/workshop.spec.ts without WORKSHOP_REPO', () => {
  const folder = tempFolder('spec');

  test('reports its test as skipped, with the reason in its name (no cluster is touched)', async () => {
    const dir = folder.path;
    // The file alone, without the scenarios' global setup (which would create a cluster).
    const config = join(dir, 'vitest.config.mjs');
    writeFileSync(config, `export default { test: { root: ${JSON.stringify(ROOT_DIR)}, include: ['scenarios/workshop.spec.ts'] } };\n`);
    const out = join(dir, 'r.json');
    const r = await execa('npx', ['vitest', 'run', '--config', config, '--root', ROOT_DIR, '--reporter=json', `--outputFile.json=${out}`],
      { cwd: ROOT_DIR, env: { WORKSHOP_REPO: '' }, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { numTotalTests: number; testResults: { assertionResults: { status: string; title: string }[] }[] };
    expect(report.numTotalTests).toBe(1);
    expect(report.testResults[0]!.assertionResults).toEqual([
      expect.objectContaining({ status: 'skipped', title: 'every block of the chapter (skipped: WORKSHOP_REPO is not set)' }),
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
