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

  test('the CI matrix is the default Istio and the minor before it, each in the support table', () => {
    const minors = pins.istioMatrix.map((v) => Number(minorOf(v).split('.')[1]));
    expect(pins.istioMatrix.at(-1)).toBe(pins.istio);
    expect(minors).toEqual([minors[1]! - 1, minors[1]]);
    for (const v of pins.istioMatrix) expect(Object.keys(pins.istioKubernetes), v).toContain(minorOf(v));
  });

  test('the workshop commits are whole commit ids', () => {
    expect(pins.workshopCommit).toMatch(/^[a-f0-9]{40}$/);
    expect(pins.workshopLabsCommit).toMatch(/^[a-f0-9]{40}$/);
  });
});

describe('Renovate finds every pin', () => {
  const PINS = 'helpers/run/pins.ts';
  const manager = (JSON.parse(readFileSync(join(ROOT_DIR, 'renovate.json'), 'utf8')) as {
    customManagers: { fileMatch: string[]; matchStrings: string[] }[];
  }).customManagers[0]!;
  const source = readFileSync(join(ROOT_DIR, PINS), 'utf8');

  test('its regex manager reads this file, where it is', () => {
    expect(manager.fileMatch.some((m) => new RegExp(m).test(PINS))).toBe(true);
  });

  test('the single-version pins are read with their datasource, name and current value (and digest)', () => {
    const found = manager.matchStrings.flatMap((m) => [...source.matchAll(new RegExp(m, 'g'))].map((hit) => ({ ...hit.groups })));
    const [image, digest] = pins.kindNodeImage.split('@');
    expect(found).toEqual(expect.arrayContaining([
      { datasource: 'github-releases', depName: 'istio/istio', currentValue: pins.istio },
      { datasource: 'github-releases', depName: 'kubernetes-sigs/kind', currentValue: pins.kind },
      { datasource: 'docker', depName: 'kindest/node', currentValue: image!.split(':')[1], currentDigest: digest },
      { datasource: 'github-releases', depName: 'GoogleCloudPlatform/microservices-demo', currentValue: pins.cartservice },
      { datasource: 'docker', depName: 'redis', currentValue: pins.redisImage.split(':')[1] },
      { datasource: 'docker', depName: 'node', currentValue: pins.probeImage.split(':')[1] },
      { datasource: 'git-refs', depName: 'https://github.com/rafik8/istio-workshop', currentValue: 'master', currentDigest: pins.workshopCommit },
      { datasource: 'git-refs', depName: 'https://github.com/rafik8/istio-workshop-labs', currentValue: 'master', currentDigest: pins.workshopLabsCommit },
    ]));
  });
});
