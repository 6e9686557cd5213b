/**
 * helpers/run/compat.ts, the version decisions, at their edges: the ends of each supported
 * Kubernetes range, Istio minors the table does not know (newer pass, older are refused), node
 * images without a version, and the node image an Istio version gets.
 */
import { describe, expect, test } from 'vitest';
import { compatibilityProblem, compatibleNodeImage, istioSupports, kubernetesMinorOfImage, minorOf } from '../../helpers/run/compat.ts';
import { pins } from '../../helpers/run/pins.ts';

const image = (minor: number) => `kindest/node:v1.${minor}.0`;

describe('versions read from strings', () => {
  test('the minor of an Istio version, with or without "v"', () => {
    expect(minorOf('1.30.5')).toBe('1.30');
    expect(minorOf('v1.29.8')).toBe('1.29');
    expect(minorOf('1.31.0-beta.1')).toBe('1.31');
    expect(minorOf('12.345')).toBe('12.345');
    for (const v of ['latest', 'x1.30.5', '1', '.30.5', '']) expect(() => minorOf(v), v).toThrow(`not a version: ${v}`);
  });

  test('the Kubernetes minor of a node image: only a full v1.x.y tag counts', () => {
    expect(kubernetesMinorOfImage(pins.kindNodeImage)).toBe(36);
    expect(kubernetesMinorOfImage('registry.local:5000/kindest/node:v1.9.3')).toBe(9);
    expect(kubernetesMinorOfImage('kindest/node:v1.123.0')).toBe(123);
    for (const i of ['kindest/node:latest', 'kindest/node:v1.36', 'kindest/node:v2.1.0', 'kindest/node:1.36.1', 'kindest/node']) {
      expect(kubernetesMinorOfImage(i), i).toBeUndefined();
    }
  });
});

describe('Istio on Kubernetes: both ends of each supported range', () => {
  test.each(Object.entries(pins.istioKubernetes))('Istio %s', (minor, [low, high]) => {
    const v = `${minor}.0`;
    expect(istioSupports(v, low - 1)).toEqual({ known: true, supported: false, range: [low, high] });
    expect(istioSupports(v, low)).toEqual({ known: true, supported: true, range: [low, high] });
    expect(istioSupports(v, high)).toEqual({ known: true, supported: true, range: [low, high] });
    expect(istioSupports(v, high + 1)).toEqual({ known: true, supported: false, range: [low, high] });
  });

  test('minors the table does not know: newer or older than all it knows', () => {
    const minors = Object.keys(pins.istioKubernetes).map((m) => Number(m.split('.')[1]));
    const newest = Math.max(...minors);
    const oldest = Math.min(...minors);
    expect(istioSupports(`1.${newest + 1}.0`, 36)).toEqual({ known: false, reason: 'newer' });
    expect(istioSupports(`1.${newest + 10}.0`, 36)).toEqual({ known: false, reason: 'newer' });
    expect(istioSupports(`1.${oldest - 1}.0`, 36)).toEqual({ known: false, reason: 'older' });
    expect(istioSupports('1.3.0', 36)).toEqual({ known: false, reason: 'older' });
  });

  test('the node image for an Istio version: the newest pinned one it supports, none for an unknown minor', () => {
    expect(compatibleNodeImage('1.30.0')).toBe(pins.kindNodeImages[0]);
    expect(compatibleNodeImage('1.28.0')).toMatch(/^kindest\/node:v1\.34\.8@/);
    expect(compatibleNodeImage('1.31.0')).toBe(pins.kindNodeImages[0]);
    expect(compatibleNodeImage('1.32.0')).toBeUndefined();
    expect(compatibleNodeImage('1.20.0')).toBeUndefined();
  });
});

describe('compatibility problems, as the run reports them', () => {
  test('supported at both ends of the range: no problem', () => {
    expect(compatibilityProblem('1.29.8', image(31))).toBeUndefined();
    expect(compatibilityProblem('1.29.8', image(35))).toBeUndefined();
  });

  test('just outside the range: the range, the image, and the pinned image that would work', () => {
    const fix = compatibleNodeImage('1.29.8')!;
    expect(compatibilityProblem('1.29.8', image(30))).toBe(
      `ISTIO_VERSION=1.29.8 supports Kubernetes 1.31 to 1.35, but KIND_NODE_IMAGE is Kubernetes 1.30 (${image(30)}). Use KIND_NODE_IMAGE=${fix}, or leave KIND_NODE_IMAGE unset to get it.`,
    );
    expect(compatibilityProblem('1.29.8', image(36))).toMatch(/^ISTIO_VERSION=1\.29\.8 supports Kubernetes 1\.31 to 1\.35, but KIND_NODE_IMAGE is Kubernetes 1\.36 /);
  });

  test('an image without a version cannot be checked: no problem claimed', () => {
    expect(compatibilityProblem('1.29.8', 'my-registry/kind-node:custom')).toBeUndefined();
  });

  test('unknown minors: a newer one passes, an older one is refused naming the known minors', () => {
    expect(compatibilityProblem('1.32.0', image(37))).toBeUndefined();
    expect(compatibilityProblem('1.26.3', image(33))).toBe(
      `ISTIO_VERSION=1.26.3 is older than the Istio minors this suite knows (${Object.keys(pins.istioKubernetes).join(', ')}) and is out of upstream support; it cannot be checked against Kubernetes 1.33`,
    );
  });
});

describe('the pinned support ranges, as the release announcements give them', () => {
  test('support ranges from the release announcements', () => {
    expect(istioSupports('1.31.1', 36)).toEqual({ known: true, supported: true, range: [32, 36] });
    expect(istioSupports('1.31.1', 37)).toMatchObject({ known: true, supported: false });
    expect(istioSupports('1.30.5', 36)).toMatchObject({ known: true, supported: true });
    expect(istioSupports('1.29.8', 36)).toMatchObject({ known: true, supported: false, range: [31, 35] });
    expect(istioSupports('1.32.0', 36)).toEqual({ known: false, reason: 'newer' });
    expect(istioSupports('1.27.4', 33)).toEqual({ known: false, reason: 'older' });
  });
  test('an unset KIND_NODE_IMAGE follows ISTIO_VERSION; the default Istio runs on the default node image', () => {
    expect(compatibleNodeImage(pins.istio)).toBe(pins.kindNodeImage);
    expect(compatibleNodeImage('1.31.1')).toMatch(/v1\.36\.1@/);
    expect(compatibleNodeImage('1.30.5')).toMatch(/v1\.36\.1@/);
    expect(compatibleNodeImage('1.29.8')).toMatch(/v1\.35\.5@/);
    expect(compatibleNodeImage('1.28.10')).toMatch(/v1\.34\.8@/);
  });
});
