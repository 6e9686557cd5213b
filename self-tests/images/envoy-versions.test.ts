import { describe, expect, test } from 'vitest';
import { envoyForIstio, envoyVersionProblem, type EnvoyVersions } from '../../images/envoy/envoy-versions.ts';
import versions from '../../images/envoy/versions.json' with { type: 'json' };

const table = versions as EnvoyVersions;

describe('envoyForIstio', () => {
  test('each Istio line gets the wheel of its Envoy minor', () => {
    expect(envoyForIstio('1.31.0', table)).toBe('1.39.3');
    expect(envoyForIstio('1.30.5', table)).toBe('1.38.3');
    expect(envoyForIstio('1.28.1', table)).toBe('1.36.4');
  });

  test('an unknown Istio line names the known ones', () => {
    expect(() => envoyForIstio('1.20.0', table)).toThrow(/no upstream Envoy is recorded for Istio 1\.20 .*known Istio lines: 1\.28, 1\.29, 1\.30, 1\.31/);
  });

  test('a version that is not a release is refused', () => {
    expect(() => envoyForIstio('master', table)).toThrow(/not an Istio release version/);
  });
});

describe('envoyVersionProblem', () => {
  test('a served version passes, another is named with the served ones', () => {
    expect(envoyVersionProblem('1.39.3', table)).toBeUndefined();
    expect(envoyVersionProblem('1.39.2', table)).toMatch(/1\.39\.2 is not among .*1\.39\.3/);
  });
});
