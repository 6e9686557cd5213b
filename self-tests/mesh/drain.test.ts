/** The drain waits' deadline (issue 10, section 3): the mesh's drainDuration, parsed, plus the cart's reconnect. */
import { describe, expect, test } from 'vitest';
import {
  CART_CONNECT_TIMEOUT_MS, CART_RECONNECT_BACKOFF_MS, cartDrainDeadlineMs, DEFAULT_DRAIN_DURATION_MS, DRAIN_MARGIN_MS, drainDeadlineMs,
  meshDrainDuration, parseDuration,
} from '../../helpers/mesh/drain.ts';

describe('durations as the mesh config holds them', () => {
  test.each([
    ['45s', 45_000], ['1m30s', 90_000], ['1.5s', 1500], ['0.5s', 500], ['500ms', 500], ['2h', 7_200_000],
    ['1h1m1s', 3_661_000], ['0', 0], ['0s', 0], [' 10s ', 10_000], ['1500us', 1.5], ['.5s', 500],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 6);
  });
  test.each(['45', 's', '1m30', '-5s', '', '45 s', '5d', '1s2', 'abc'])('%j is refused, with the syntax named', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration; expected e\.g\. 45s, 1m30s/);
  });
});

describe('the mesh\'s drainDuration', () => {
  test('read from defaultConfig in the mesh key', () => {
    const mesh = 'accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  drainDuration: 1m30s\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n';
    expect(meshDrainDuration(mesh)).toEqual({ ms: 90_000, source: 'ConfigMap istio-system/istio, key mesh, defaultConfig.drainDuration = 1m30s' });
  });
  test('Istio\'s default, 45 s, when not set (or set outside defaultConfig, where it is no mesh field)', () => {
    expect(DEFAULT_DRAIN_DURATION_MS).toBe(45_000);
    for (const mesh of [undefined, '', 'defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n', 'drainDuration: 5s\n']) {
      const d = meshDrainDuration(mesh);
      expect(d.ms).toBe(45_000);
      expect(d.source).toMatch(/^Istio's default/);
    }
  });
  test('a value that is not a duration fails, naming where it was read', () => {
    expect(() => meshDrainDuration('defaultConfig:\n  drainDuration: 45\n')).toThrow(/defaultConfig\.drainDuration is 45; expected a duration/);
    expect(() => meshDrainDuration('defaultConfig:\n  drainDuration: soon\n')).toThrow(/defaultConfig\.drainDuration: "soon" is not a duration/);
    expect(() => meshDrainDuration('defaultConfig: [\n')).toThrow(/the mesh key is not YAML/);
  });
});

describe('the drain deadline', () => {
  test('the drain, the cart\'s reconnect, one cart call and a margin, added up', () => {
    expect(drainDeadlineMs({ drainMs: 45_000, reconnectMs: 15_000, callMs: 30_000, marginMs: 30_000 })).toBe(120_000);
    expect(cartDrainDeadlineMs(45_000, 30_000)).toBe(45_000 + CART_RECONNECT_BACKOFF_MS + CART_CONNECT_TIMEOUT_MS + 30_000 + DRAIN_MARGIN_MS);
    // It follows the mesh: a longer drain, a longer deadline.
    expect(cartDrainDeadlineMs(90_000, 30_000) - cartDrainDeadlineMs(45_000, 30_000)).toBe(45_000);
  });
  test('a negative or non-numeric part is refused, by name', () => {
    expect(() => drainDeadlineMs({ drainMs: -1, reconnectMs: 0, callMs: 0, marginMs: 0 })).toThrow(/drainMs must be a duration >= 0 ms, got -1/);
    expect(() => drainDeadlineMs({ drainMs: 0, reconnectMs: Number.NaN, callMs: 0, marginMs: 0 })).toThrow(/reconnectMs/);
  });
});
