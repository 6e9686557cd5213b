import { describe, expect, test } from 'vitest';
import { matrixTable, type MatrixRun } from '../../cli/matrix-table.ts';
import { compatibilityProblem, compatibleNodeImage, istioSupports, kubernetesMinorOfImage } from '../../helpers/run/compat.ts';
import { pins } from '../../helpers/run/pins.ts';
import { loadSettings, SettingsError } from '../../helpers/run/settings.ts';
import { allSteps, egressSteps } from '../../scenarios/chapter.ts';

const steps = allSteps(loadSettings({}));
const result = (title: string, status: string, duration: number | null) => ({ title, status, duration });

describe('matrix table (from vitest JSON reports)', () => {
  const runs: MatrixRun[] = [
    {
      version: '1.29.8', exitCode: 1, durationMs: 412_000,
      report: { testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: [
        result(egressSteps.control.title, 'passed', 1200),
        result(egressSteps.blocked.title, 'failed', 31_000),
        result(egressSteps.serviceEntry.title, 'skipped', null),
      ] }] },
    },
    {
      version: '1.30.5', exitCode: 0, durationMs: 398_000,
      report: { testResults: [{ name: 'scenarios/egress.spec.ts', assertionResults: [
        result(egressSteps.control.title, 'passed', 900),
        result(egressSteps.blocked.title, 'passed', 8000),
        result(egressSteps.serviceEntry.title, 'passed', 14_300),
      ] }] },
    },
    { version: '1.31.0', exitCode: 1, durationMs: 3000, report: { testResults: [] } },
  ];

  test('version by step, in the chapter\'s order, with durations; a setup failure is its own verdict', () => {
    expect(matrixTable(runs, steps)).toBe([
      '| step | 1.29.8 | 1.30.5 | 1.31.0 |',
      '|---|---|---|---|',
      '| control | pass 1.2s | pass 0.9s | not run |',
      '| blocked | FAIL 31.0s | pass 8.0s | not run |',
      '| serviceentry | skipped | pass 14.3s | not run |',
      '| **run** | FAIL 412s | pass 398s | FAIL (setup) 3s |',
    ].join('\n'));
  });
});

describe('Istio / Kubernetes compatibility (checked before any cluster work)', () => {
  test('the kind node image pins are all Kubernetes versions with digests', () => {
    for (const image of pins.kindNodeImages) {
      expect(image).toMatch(/^kindest\/node:v1\.\d+\.\d+@sha256:[a-f0-9]{64}$/);
      expect(kubernetesMinorOfImage(image)).toBeGreaterThanOrEqual(33);
    }
    expect(pins.kindNodeImages[0]).toBe(pins.kindNodeImage);
  });
  test('support ranges from the release announcements', () => {
    expect(istioSupports('1.30.5', 36)).toMatchObject({ known: true, supported: true });
    expect(istioSupports('1.29.8', 36)).toMatchObject({ known: true, supported: false, range: [31, 35] });
    expect(istioSupports('1.31.0', 36)).toEqual({ known: false, reason: 'newer' });
    expect(istioSupports('1.27.4', 33)).toEqual({ known: false, reason: 'older' });
  });
  test('an unset KIND_NODE_IMAGE follows ISTIO_VERSION', () => {
    expect(compatibleNodeImage('1.30.5')).toMatch(/v1\.36\.1@/);
    expect(compatibleNodeImage('1.29.8')).toMatch(/v1\.35\.5@/);
    expect(compatibleNodeImage('1.28.10')).toMatch(/v1\.34\.8@/);
    expect(loadSettings({ ISTIO_VERSION: '1.29.8' }).kindNodeImage).toMatch(/v1\.35\.5@/);
  });
  test('an explicit image the Istio version does not support: a clear error with the fix', () => {
    const e = (() => {
      try {
        loadSettings({ ISTIO_VERSION: '1.28.10', KIND_NODE_IMAGE: pins.kindNodeImage });
      } catch (x) {
        return x as SettingsError;
      }
      throw new Error('accepted');
    })();
    expect(e.message).toMatch(/ISTIO_VERSION=1\.28\.10 supports Kubernetes 1\.29 to 1\.34, but KIND_NODE_IMAGE is Kubernetes 1\.36 .* Use KIND_NODE_IMAGE=kindest\/node:v1\.34\.8@sha256:/);
  });
  test('an Istio older than the table is refused; a newer one passes (the table follows the pins)', () => {
    expect(compatibilityProblem('1.26.0', pins.kindNodeImage)).toMatch(/older than the Istio minors this suite knows/);
    expect(compatibilityProblem('1.31.1', pins.kindNodeImage)).toBeUndefined();
  });
  test('every version of the CI matrix runs on a pinned node image', () => {
    for (const v of pins.istioMatrix) expect(compatibleNodeImage(v), v).toBeDefined();
  });
});
