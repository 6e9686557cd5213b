/**
 * The workshop scenario's plan (workshop/plan.ts): one planned action per block of the chapter,
 * in order, from the classified blocks alone; the known defects against the pinned chapter's
 * inventory. The actions themselves: perform.test.ts; the spec file: self-tests/scenarios/workshop.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { substitute, yamlObjects } from '../../workshop/check.ts';
import { classify } from '../../workshop/classify.ts';
import { readGolden } from '../../workshop/inventory.ts';
import { findChapter, readChapter } from '../../workshop/parse.ts';
import { DEFECTS, KNOWN_DEFECTS, meshModeProblem, planScenario, readScenarioChapter } from '../../workshop/plan.ts';
import { chapter } from './support.ts';

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

  test('an istioctl install that sets the outbound policy is the mesh-mode step, judged by IstioOperator paths', () => {
    const blocks = classify(chapter(
      [1, 'istioctl install --set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY -y\n'],
      [5, '$ istioctl install -y --set=spec.meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY\n'],
      [9, 'istioctl upgrade -s meshConfig.outboundTrafficPolicy.mode=ALLOW_ANY\n'],
      [13, 'istioctl install --set global.outboundTrafficPolicy.mode=REGISTRY_ONLY\n'],
      [17, 'istioctl install --set meshConfig.outboundTrafficPolicymode=REGISTRY_ONLY\n'],
      [21, 'istioctl install --set meshConfig.outboundTrafficPolicy.mode\n'],
    ));
    expect(blocks.map((b) => b.policy)).toEqual(['intent', 'intent', 'intent', 'intent', 'intent', 'intent']);
    expect(planScenario(blocks, (s) => s, {}).map((p) => p.action)).toEqual([
      { type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['meshConfig.outboundTrafficPolicy.mode'] },
      { type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['spec.meshConfig.outboundTrafficPolicy.mode'] },
      { type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['meshConfig.outboundTrafficPolicy.mode'] },
      { type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['global.outboundTrafficPolicy.mode'] },
      { type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['meshConfig.outboundTrafficPolicymode'] },
      { type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys: ['meshConfig.outboundTrafficPolicy.mode'] },
    ]);
    expect(blocks.map((b) => meshModeProblem(b))).toEqual([
      undefined,
      undefined,
      // ALLOW_ANY; a Helm 2 value name, which istioctl refuses; a misspelt field; no value at all.
      'no command of p#b3 sets global.outboundTrafficPolicy.mode or meshConfig.outboundTrafficPolicy.mode to REGISTRY_ONLY (it sets: meshConfig.outboundTrafficPolicy.mode)',
      'no command of p#b4 sets global.outboundTrafficPolicy.mode or meshConfig.outboundTrafficPolicy.mode to REGISTRY_ONLY (it sets: global.outboundTrafficPolicy.mode)',
      'no command of p#b5 sets global.outboundTrafficPolicy.mode or meshConfig.outboundTrafficPolicy.mode to REGISTRY_ONLY (it sets: meshConfig.outboundTrafficPolicymode)',
      'no command of p#b6 sets global.outboundTrafficPolicy.mode or meshConfig.outboundTrafficPolicy.mode to REGISTRY_ONLY (it sets: meshConfig.outboundTrafficPolicy.mode)',
    ]);
    // Helm keeps its own names: the Helm 2 one counts there; an istioctl command that does not install does not count.
    const other = classify(chapter([1, 'helm upgrade istio x --set global.outboundTrafficPolicy.mode=REGISTRY_ONLY\n'], [5, 'istioctl analyze --set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY\n']));
    expect(meshModeProblem(other[0]!)).toBeUndefined();
    expect(meshModeProblem({ ...other[1]!, policy: 'intent' })).toMatch(/^no command of p#b2 sets/);
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

describe('one list of known defects for both checks', () => {
  test('every defect names blocks of the pinned chapter; the kind run\'s expected failures are exactly the defects with a scenario block', () => {
    const golden = new Map(readGolden().blocks.map((b) => [b.id, b]));
    for (const d of DEFECTS) {
      for (const f of d.findings) expect(golden.has(f.block), `${d.id}: ${f.block}`).toBe(true);
      if (d.scenario) expect(golden.has(d.scenario), `${d.id}: ${d.scenario}`).toBe(true);
    }
    expect(KNOWN_DEFECTS).toEqual(Object.fromEntries(DEFECTS.filter((d) => d.scenario).map((d) => [d.scenario, d.reason])));
    expect(new Set(DEFECTS.map((d) => d.id)).size).toBe(DEFECTS.length);
  });
});

describe('the chapter the scenario runs, read from the checkouts', () => {
  test('found by its title, its blocks classified with the labs files they apply', () => {
    const repo = join(WORKSHOPS, 'clean');
    const chapter = readScenarioChapter({ repo, labs: join(repo, 'labs'), chapter: undefined });
    expect(chapter.file).toBe('content/labs-chapters/05-leaving-the-mesh.md');
    expect(chapter.blocks.map((b) => b.id)).toEqual(blocksOf('clean').map((b) => b.id));
    // With the labs folder the YAML block is known as the one the next block applies.
    expect(chapter.blocks.find((b) => b.id === '05-leaving-the-mesh#step3.1')?.shownFor).toBe('05-leaving-the-mesh#step3.2');
    expect(chapter.labs('client.yaml')).toBe(readFileSync(join(repo, 'labs', 'client.yaml'), 'utf8'));
  });

  test('WORKSHOP_CHAPTER names the page; without WORKSHOP_LABS no labs file is read', () => {
    const repo = join(WORKSHOPS, 'clean');
    const chapter = readScenarioChapter({ repo, labs: undefined, chapter: 'content/labs-chapters/05-leaving-the-mesh.md' });
    expect(chapter.file).toBe('content/labs-chapters/05-leaving-the-mesh.md');
    expect(chapter.labs('client.yaml')).toBeUndefined();
    expect(chapter.blocks.find((b) => b.id === '05-leaving-the-mesh#step3.1')?.shownFor).toBeUndefined();
  });
});
