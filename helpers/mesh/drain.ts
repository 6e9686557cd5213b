/**
 * How long a wait that depends on Envoy's listener drain may take.
 *
 * When a config change removes or replaces the listener an open connection came through, the
 * sidecar drains that listener for the mesh's drainDuration before it closes the connection
 * (ProxyConfig.drainDuration, passed to Envoy as its drain time; default 45 s in istio/istio
 * pkg/config/mesh/mesh.go DefaultProxyConfig). Only then does the cart's Redis client notice,
 * and it reconnects on its own back-off: StackExchange.Redis's default ReconnectRetryPolicy
 * is ExponentialRetry(ConnectTimeout / 2), whose delay is capped at 10 s (ExponentialRetry.cs;
 * ConnectTimeout defaults to 5 s). Such waits get a deadline of their own, derived from these,
 * not PROPAGATION_TIMEOUT (which bounds istiod pushing config).
 */
import { parse as parseYaml } from 'yaml';

/** istio/istio pkg/config/mesh/mesh.go: DefaultProxyConfig().DrainDuration. */
export const DEFAULT_DRAIN_DURATION_MS = 45_000;
/** StackExchange.Redis ExponentialRetry: the longest delay between reconnect attempts. */
export const CART_RECONNECT_BACKOFF_MS = 10_000;
/** StackExchange.Redis ConfigurationOptions.ConnectTimeout default: one reconnect attempt. */
export const CART_CONNECT_TIMEOUT_MS = 5_000;
/** Slack for the poll interval, a slow exec into the proxy and the cart call's own round trip. */
export const DRAIN_MARGIN_MS = 30_000;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as the mesh config holds it, in milliseconds: Go's time.Duration syntax ("45s",
 * "1m30s", "1.5s", "500ms", "2h"), which also covers protobuf's JSON form of a Duration
 * ("45s", "0.5s"). Throws, naming the value and the syntax, on anything else.
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  const bad = () => new Error(`"${text}" is not a duration; expected e.g. 45s, 1m30s, 1.5s, 500ms (units ns, us, ms, s, m, h)`);
  if (t === '0') return 0;
  if (!/^(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.test(t)) throw bad();
  let ms = 0;
  let rest = t;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m) throw bad();
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return ms;
}

export interface MeshDrain {
  ms: number;
  /** Where the value came from, for the log: the mesh config, or Istio's default. */
  source: string;
}

/**
 * The drain duration from the `mesh` key of the `istio` ConfigMap: `defaultConfig.drainDuration`
 * (the mesh-wide ProxyConfig; mesh.go merges `defaultConfig` over DefaultProxyConfig), else
 * Istio's default. (A pod's `proxy.istio.io/config` annotation could override it; the suite's
 * workloads set none.)
 */
export function meshDrainDuration(meshYaml: string | undefined): MeshDrain {
  const where = 'ConfigMap istio-system/istio, key mesh, defaultConfig.drainDuration';
  const fallback = { ms: DEFAULT_DRAIN_DURATION_MS, source: `Istio's default (${where} not set)` };
  if (meshYaml === undefined) return fallback;
  let mesh: unknown;
  try {
    mesh = parseYaml(meshYaml);
  } catch (e) {
    throw new Error(`${where}: the mesh key is not YAML (${(e as Error).message})`);
  }
  const set = (mesh as { defaultConfig?: { drainDuration?: unknown } } | null)?.defaultConfig?.drainDuration;
  if (set === undefined || set === null) return fallback;
  if (typeof set !== 'string') throw new Error(`${where} is ${JSON.stringify(set)}; expected a duration such as 45s`);
  try {
    return { ms: parseDuration(set), source: `${where} = ${set}` };
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

export interface DrainDeadline {
  drainMs: number;
  /** The cart's reconnect back-off and one connect attempt. */
  reconnectMs: number;
  /** One cart call that may hang until its own deadline. */
  callMs: number;
  marginMs: number;
}

/**
 * The deadline for "the cart's open connection was drained and the cart moved on": the drain,
 * then the cart's reconnect (its back-off and one connect), one cart call, and a margin.
 */
export function drainDeadlineMs(d: DrainDeadline): number {
  for (const [k, v] of Object.entries(d)) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`drain deadline: ${k} must be a duration >= 0 ms, got ${v}`);
  }
  return d.drainMs + d.reconnectMs + d.callMs + d.marginMs;
}

/** The deadline for a drain wait, with the cart's defaults. */
export function cartDrainDeadlineMs(drainMs: number, cartCallMs: number): number {
  return drainDeadlineMs({ drainMs, reconnectMs: CART_RECONNECT_BACKOFF_MS + CART_CONNECT_TIMEOUT_MS, callMs: cartCallMs, marginMs: DRAIN_MARGIN_MS });
}
