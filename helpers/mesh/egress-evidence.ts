/**
 * Where a client's Redis connections went (straight to Redis, or through the egress gateway),
 * judged from two reads of the per-host counters of the client's sidecar and the gateway.
 */
import { ISTIO_NAMESPACE } from './istio-install.ts';
import type { ClusterHostStat } from './envoy-admin.ts';

export const EGRESS_GATEWAY = {
  namespace: ISTIO_NAMESPACE,
  selector: 'istio=egressgateway',
  service: 'istio-egressgateway',
  host: 'istio-egressgateway.istio-system.svc.cluster.local',
} as const;

/** A per-host stat's value for each (cluster, host) of one read; the key is `cluster::host`. */
export type HostValues = Map<string, { cluster: string; host: string; value: number }>;

/** The per-host values of one numeric stat (e.g. cx_total, cx_active) from one read. */
export function hostValues(stats: readonly ClusterHostStat[], stat: 'cx_total' | 'cx_active'): HostValues {
  const out: HostValues = new Map();
  for (const s of stats) {
    if (s.stat !== stat) continue;
    const value = Number(s.value);
    if (!Number.isFinite(value)) continue;
    out.set(`${s.cluster}::${s.host}`, { cluster: s.cluster, host: s.host, value });
  }
  return out;
}

/**
 * How much a per-host counter (cx_total) grew between two reads, per (cluster, host) key.
 * Clusters come and go with the config (a deleted VirtualService, DestinationRule or
 * ServiceEntry removes theirs; an ORIGINAL_DST cluster lists a host only once connected), so:
 * - a key only in `before` went away between the reads: it is left out. (Summing per cluster
 *   and subtracting, as before, made a vanished cluster a negative count that passed `!== 0`.)
 * - a key only in `after` appeared between the reads: it counts from 0.
 * - a value lower than before means the cluster was removed and added again under the same
 *   name (its counters restart at 0): everything it shows now is new, so it counts from 0.
 * A cluster re-added with a value that already passed the old one cannot be told apart, which
 * is why the scenarios wait for a routing change to land (routingNotLanded) before the first read.
 */
export function counterIncrease(before: HostValues, after: HostValues): HostValues {
  const out: HostValues = new Map();
  for (const [key, now] of after) {
    const was = before.get(key)?.value ?? 0;
    out.set(key, { ...now, value: now.value >= was ? now.value - was : now.value });
  }
  return out;
}

/** Where a client's Redis connections went, summed over the (cluster, host) values given. */
export interface EgressPath {
  /** Cart sidecar -> the Redis endpoint itself (any cluster: STATIC, ORIGINAL_DST, passthrough). */
  direct: number;
  /** Cart sidecar -> the egress gateway (any cluster of its Service, with or without subset). */
  toGateway: number;
  /** Egress gateway -> the Redis endpoint. */
  gatewayToRedis: number;
}

export function egressPath(client: HostValues, gateway: HostValues, redisEndpoint: string): EgressPath {
  const sum = (values: HostValues, pick: (v: { cluster: string; host: string }) => boolean) =>
    [...values.values()].filter(pick).reduce((a, v) => a + v.value, 0);
  return {
    direct: sum(client, (v) => v.host === redisEndpoint),
    toGateway: sum(client, (v) => v.cluster.endsWith(`|${EGRESS_GATEWAY.host}`)),
    gatewayToRedis: sum(gateway, (v) => v.host === redisEndpoint),
  };
}

/** Two reads of the cart's sidecar and the gateway: before and after the calls judged. */
export interface ProxyReads {
  client: readonly ClusterHostStat[];
  gateway: readonly ClusterHostStat[];
}

/**
 * The evidence a verdict is taken from:
 * - `opened`: connections opened between the reads (cx_total increase per key, see
 *   counterIncrease): catches a connection that was opened and closed in between;
 * - `open`: connections open at the second read (the per-host cx_active gauges): where the
 *   cart's Redis connection is now, whenever it was opened. The cart's Redis client keeps its
 *   connection open, so a connection opened before the first read (e.g. a reconnect right
 *   after the routing changed) is still judged; counters alone would see nothing new.
 * A gauge of a cluster that was removed is not listed any more: a connection still draining on
 * a removed cluster is invisible, and so does not count for either path.
 */
export interface EgressEvidence {
  opened: EgressPath;
  open: EgressPath;
}

export function egressEvidence(before: ProxyReads, after: ProxyReads, redisEndpoint: string): EgressEvidence {
  return {
    opened: egressPath(
      counterIncrease(hostValues(before.client, 'cx_total'), hostValues(after.client, 'cx_total')),
      counterIncrease(hostValues(before.gateway, 'cx_total'), hostValues(after.gateway, 'cx_total')),
      redisEndpoint,
    ),
    open: egressPath(hostValues(after.client, 'cx_active'), hostValues(after.gateway, 'cx_active'), redisEndpoint),
  };
}

export type EgressVerdict = 'through-gateway' | 'bypassed' | 'inconclusive';

/**
 * Through the gateway: the cart's sidecar holds a connection to the gateway, the gateway one
 * to Redis, and the sidecar neither holds nor opened one straight to Redis.
 * Bypassed: the sidecar connected straight to Redis (open now, or opened between the reads),
 * and the gateway carried nothing for it: no connection to the gateway or from the gateway to
 * Redis opened between the reads or open now.
 * Anything else (both paths, or no connection at all) is inconclusive: never a pass.
 */
export function egressVerdict(e: EgressEvidence): EgressVerdict {
  const { opened, open } = e;
  if (open.toGateway > 0 && open.gatewayToRedis > 0 && open.direct === 0 && opened.direct === 0) return 'through-gateway';
  const gatewayUnused = open.toGateway === 0 && opened.toGateway === 0 && open.gatewayToRedis === 0 && opened.gatewayToRedis === 0;
  if ((open.direct > 0 || opened.direct > 0) && gatewayUnused) return 'bypassed';
  return 'inconclusive';
}
