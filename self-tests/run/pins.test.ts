/**
 * helpers/run/pins.ts: the pinned versions agree with each other (the node images, the CI matrix,
 * the support table), and Renovate's regex manager (renovate.json) reads this file, where it is,
 * and finds the pins in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compatibleNodeImage, kubernetesMinorOfImage, minorOf } from '../../helpers/run/compat.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pins } from '../../helpers/run/pins.ts';

describe('the pins agree with each other', () => {
  test('the kind node image pins are all Kubernetes versions with digests', () => {
    for (const image of pins.kindNodeImages) {
      expect(image).toMatch(/^kindest\/node:v1\.\d+\.\d+@sha256:[a-f0-9]{64}$/);
      expect(kubernetesMinorOfImage(image)).toBeGreaterThanOrEqual(33);
    }
    expect(pins.kindNodeImages[0]).toBe(pins.kindNodeImage);
  });

  test('every version of the CI matrix runs on a pinned node image', () => {
    for (const v of pins.istioMatrix) expect(compatibleNodeImage(v), v).toBeDefined();
  });

  test('the CI matrix is the newest patch of each minor Istio supports on the day the pins were checked, oldest first, the last the default', () => {
    const { checkedOn, minors } = pins.istioReleases;
    const day = (d: string) => Date.parse(`${d}T00:00:00Z`);
    const supported = Object.entries(minors)
      .filter(([, m]) => m.released !== undefined && day(m.released) <= day(checkedOn) && (m.endOfSupport === undefined || day(checkedOn) < day(m.endOfSupport)))
      .map(([minor]) => minor);
    expect(pins.istioMatrix.map(minorOf)).toEqual(supported);
    expect(pins.istioMatrix.at(-1)).toBe(pins.istio);
    for (const v of pins.istioMatrix) expect(Object.keys(pins.istioKubernetes), v).toContain(minorOf(v));
  });

  test('each end of support is six weeks after the release of the minor two after it (Istio\'s support policy)', () => {
    const { minors } = pins.istioReleases;
    const entries = Object.entries(minors) as [string, { released: string | undefined; endOfSupport: string | undefined }][];
    for (const [minor, m] of entries) {
      const twoAfter = minors[`1.${Number(minor.split('.')[1]) + 2}` as keyof typeof minors] as { released: string | undefined } | undefined;
      if (twoAfter?.released === undefined) {
        expect(m.endOfSupport, `${minor}: no release two minors later, so no end yet`).toBeUndefined();
        continue;
      }
      expect(m.endOfSupport, minor).toBe(new Date(Date.parse(`${twoAfter.released}T00:00:00Z`) + 42 * 86_400_000).toISOString().slice(0, 10));
    }
  });

  test('the workshop commits are whole commit ids', () => {
    expect(pins.workshopCommit).toMatch(/^[a-f0-9]{40}$/);
    expect(pins.workshopLabsCommit).toMatch(/^[a-f0-9]{40}$/);
  });
});

describe('Renovate finds every pin', () => {
  const PINS = 'helpers/run/pins.ts';
  interface Manager { managerFilePatterns: string[]; matchStrings: string[]; fileMatch?: unknown }
  interface Rule { matchDepNames: string[]; matchUpdateTypes?: string[]; enabled?: boolean; groupName?: string }
  const config = JSON.parse(readFileSync(join(ROOT_DIR, 'renovate.json'), 'utf8')) as { customManagers: Manager[]; packageRules: Rule[] };
  const manager = config.customManagers[0]!;
  const source = readFileSync(join(ROOT_DIR, PINS), 'utf8');
  // What the regex manager extracts: every match of every pattern (its default "any" strategy).
  const found = manager.matchStrings.flatMap((m) => [...source.matchAll(new RegExp(m, 'g'))].map((hit) => ({ ...hit.groups })));
  const [nodeTag, nodeDigest] = pins.kindNodeImage.split('@');

  /** managerFilePatterns entries: a regex between slashes, else a glob (here only exact paths). */
  const matchesFile = (pattern: string, path: string) =>
    pattern.startsWith('/') && pattern.endsWith('/') ? new RegExp(pattern.slice(1, -1)).test(path) : pattern === path;

  test('its regex manager reads this file, where it is, through managerFilePatterns (fileMatch is gone)', () => {
    expect(manager.fileMatch).toBeUndefined();
    expect(manager.managerFilePatterns.some((m) => matchesFile(m, PINS))).toBe(true);
    expect(manager.managerFilePatterns.some((m) => matchesFile(m, `x/${PINS}`))).toBe(false);
  });

  test('every pin is read once, with its datasource, name and current value (and digest); the matrix and the node images entry by entry', () => {
    const image = (ref: string) => {
      const [tagged, digest] = ref.split('@');
      return { datasource: 'docker', depName: tagged!.split(':')[0], currentValue: tagged!.split(':')[1], ...(digest ? { currentDigest: digest } : {}) };
    };
    const expected = [
      { datasource: 'github-releases', depName: 'istio/istio', currentValue: pins.istio },
      { datasource: 'github-releases', depName: 'kubernetes-sigs/kind', currentValue: pins.kind },
      image(pins.kindNodeImage),
      ...pins.kindNodeImages.map(image),
      ...pins.istioMatrix.map((v) => ({ datasource: 'github-releases', depName: 'istio/istio', currentValue: v })),
      { datasource: 'github-releases', depName: 'GoogleCloudPlatform/microservices-demo', currentValue: pins.cartservice },
      image(pins.redisImage),
      image(pins.probeImage),
      { datasource: 'git-refs', depName: 'https://github.com/rafik8/istio-workshop', currentValue: 'master', currentDigest: pins.workshopCommit },
      { datasource: 'git-refs', depName: 'https://github.com/rafik8/istio-workshop-labs', currentValue: 'master', currentDigest: pins.workshopLabsCommit },
    ];
    // Groups a pattern does not have come out undefined: drop them before comparing.
    const clean = found.map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)));
    const key = (d: Record<string, unknown>) => JSON.stringify(Object.entries(d).sort());
    expect(clean.map(key).sort()).toEqual(expected.map(key).sort());
    expect(image(pins.kindNodeImage)).toEqual({ datasource: 'docker', depName: 'kindest/node', currentValue: nodeTag!.split(':')[1], currentDigest: nodeDigest });
  });

  test('no current value is an image reference or a digest (Renovate would compare "redis:7.0" as a version)', () => {
    for (const f of found) expect(f.currentValue, JSON.stringify(f)).not.toMatch(/[:@]/);
    expect(found.find((f) => f.depName === 'redis')?.currentValue).toBe('7.0');
    expect(found.find((f) => f.depName === 'node')?.currentValue).toBe('24-alpine');
  });

  test('every `renovate:` comment in the file is read by a pattern (a new pin without a matching shape is caught)', () => {
    expect(found).toHaveLength(source.match(/\/\/ renovate: /g)!.length);
  });

  test('kindest/node gets no digest updates of its own and moves with kind; Istio gets patches only', () => {
    const rule = (dep: string, pred: (r: Rule) => boolean) => config.packageRules.some((r) => r.matchDepNames.includes(dep) && pred(r));
    expect(rule('kindest/node', (r) => r.enabled === false && (r.matchUpdateTypes ?? []).includes('digest'))).toBe(true);
    expect(rule('kindest/node', (r) => r.groupName !== undefined && r.matchDepNames.includes('kubernetes-sigs/kind'))).toBe(true);
    expect(rule('istio/istio', (r) => r.enabled === false && (r.matchUpdateTypes ?? []).includes('minor'))).toBe(true);
  });
});
