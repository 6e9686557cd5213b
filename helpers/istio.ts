/**
 * Istio: install with istioctl, check the live mesh config, read a proxy's stats.
 *
 * Upstream facts used here (istio/istio 1.30):
 * - `istioctl install -y -f FILE --kubeconfig K --context C --readiness-timeout D`
 *   (operator/cmd/mesh/install.go; -c/--kubeconfig and --context are root flags). install
 *   waits for the components to be ready itself, up to --readiness-timeout.
 * - The live mesh config is the `mesh` key of ConfigMap `istio` in `istio-system`;
 *   outboundTrafficPolicy.mode defaults to ALLOW_ANY when absent (mesh/v1alpha1/config.proto).
 * - `pilot-agent request GET stats/prometheus` in container istio-proxy prints Envoy's stats
 *   (pilot/cmd/pilot-agent/app/request.go, admin port 15000).
 * - A TCP connection sent to BlackHoleCluster is counted in istio_tcp_connections_opened_total
 *   and ..._closed_total with destination_service_name="BlackHoleCluster" (istio/proxy
 *   istio_stats.cc; asserted by tests/integration/telemetry/policy/traffic_registry_only_test.go).
 */
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { type MeshDrain, meshDrainDuration } from './drain.ts';
import type { Kube } from './kube.ts';
import { FIXTURES_DIR } from './manifests.ts';
import { log } from './progress.ts';
import { join } from 'node:path';

export const ISTIO_NAMESPACE = 'istio-system';
export const ISTIO_OPERATOR_FILE = join(FIXTURES_DIR, 'istio-operator.yaml');

export interface InstallTarget {
  /** Absent: istioctl's default (KUBECONFIG or ~/.kube/config), for CLUSTER=existing. */
  kubeconfigPath: string | undefined;
  context: string;
  readinessTimeoutMs: number;
}

export function installArgs(t: InstallTarget, operatorFile = ISTIO_OPERATOR_FILE): string[] {
  return [
    'install', '-y',
    '-f', operatorFile,
    ...(t.kubeconfigPath ? ['--kubeconfig', t.kubeconfigPath] : []),
    '--context', t.context,
    '--readiness-timeout', `${Math.ceil(t.readinessTimeoutMs / 1000)}s`,
  ];
}

export async function install(istioctl: string, t: InstallTarget, operatorFile?: string): Promise<void> {
  const child = execa(istioctl, installArgs(t, operatorFile), { all: true });
  child.all?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log(`  istioctl: ${line.trim()}`);
  });
  await child;
}

export type OutboundMode = 'REGISTRY_ONLY' | 'ALLOW_ANY' | 'ALLOW_ANY_DYNAMIC_DNS' | string;

export interface MeshConfigCheck {
  ok: boolean;
  mode: OutboundMode;
  /** Whether the mode was set explicitly or is Istio's default. */
  explicit: boolean;
  message: string;
}

/** Reads outboundTrafficPolicy.mode from the `istio` ConfigMap and says whether it is REGISTRY_ONLY. */
export function checkMeshConfig(cm: V1ConfigMap | undefined): MeshConfigCheck {
  const where = `ConfigMap ${ISTIO_NAMESPACE}/istio`;
  if (!cm) {
    return { ok: false, mode: 'unknown', explicit: false, message: `${where} not found: is Istio installed in this cluster?` };
  }
  const text = cm.data?.mesh;
  if (text === undefined) {
    return { ok: false, mode: 'unknown', explicit: false, message: `${where} has no "mesh" key` };
  }
  let mesh: { outboundTrafficPolicy?: { mode?: string } } | null;
  try {
    mesh = parseYaml(text) as typeof mesh;
  } catch (e) {
    return { ok: false, mode: 'unknown', explicit: false, message: `${where}: the "mesh" key is not YAML (${(e as Error).message})` };
  }
  const set = mesh?.outboundTrafficPolicy?.mode;
  const mode = set ?? 'ALLOW_ANY';
  if (mode === 'REGISTRY_ONLY') {
    return { ok: true, mode, explicit: true, message: `${where}: outboundTrafficPolicy.mode is REGISTRY_ONLY` };
  }
  return {
    ok: false, mode, explicit: set !== undefined,
    message: `${where}: outboundTrafficPolicy.mode is ${mode}${set ? '' : ' (not set: Istio\'s default)'}, but the chapter needs REGISTRY_ONLY; `
      + 'install with --set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY (fixtures/istio-operator.yaml does)',
  };
}

/** The live mesh's drain duration (helpers/drain.ts), read from the `istio` ConfigMap. */
export async function readMeshDrain(kube: Kube): Promise<MeshDrain> {
  const cm = await kube.core.readNamespacedConfigMap({ name: 'istio', namespace: ISTIO_NAMESPACE });
  return meshDrainDuration(cm.data?.mesh);
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Prometheus text exposition format, as Envoy's stats/prometheus prints it. */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    // A blank or "#" line cannot match SAMPLE (it must start with a metric name): this check only saves a regex run.
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent (see above)
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2]?.matchAll(LABEL) ?? []) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric over the samples whose labels include all of `where`. */
export function sumMetric(samples: readonly PromSample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

export interface TcpEvidence {
  opened: number;
  closed: number;
}

/** TCP connections this (client) sidecar sent to a destination service name, e.g. BlackHoleCluster. */
export function tcpConnectionsTo(samples: readonly PromSample[], destinationServiceName: string): TcpEvidence {
  const where = { reporter: 'source', destination_service_name: destinationServiceName };
  return {
    opened: sumMetric(samples, 'istio_tcp_connections_opened_total', where),
    closed: sumMetric(samples, 'istio_tcp_connections_closed_total', where),
  };
}

/** The pilot-agent command that prints a proxy's Envoy admin endpoint. */
export function proxyAdminCommand(path: string): string[] {
  return ['pilot-agent', 'request', 'GET', path];
}

/** One Envoy admin page of a pod's proxy (a sidecar, or a gateway's `istio-proxy` container), as text. */
export async function proxyAdmin(kube: Kube, namespace: string, pod: string, path: string, container = 'istio-proxy'): Promise<string> {
  const r = await kube.exec(namespace, pod, container, proxyAdminCommand(path));
  if (r.exitCode !== 0) throw new Error(`reading ${path} of ${namespace}/${pod} ${container} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The stats of a pod's proxy, parsed. */
export async function proxyStats(kube: Kube, namespace: string, pod: string): Promise<PromSample[]> {
  return parsePrometheus(await proxyAdmin(kube, namespace, pod, 'stats/prometheus'));
}

export interface ClusterHostStat {
  cluster: string;
  host: string;
  stat: string;
  value: string;
}

/**
 * Envoy's `clusters` admin page: one line per cluster/host/stat, `cluster::host:port::stat::value`
 * (e.g. `outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::2`). Per-host
 * counters are printed whatever the stats inclusion settings, so they show where the proxy
 * really connected.
 */
export function parseClusterHostStats(text: string): ClusterHostStat[] {
  const out: ClusterHostStat[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split('::');
    if (parts.length !== 4) continue;
    const [cluster, host, stat, value] = parts as [string, string, string, string];
    if (!/^[^\s:]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i.test(host)) continue;
    out.push({ cluster, host, stat, value });
  }
  return out;
}

/** Total connections a proxy opened to `host` through the clusters whose name matches. */
export function upstreamConnections(stats: readonly ClusterHostStat[], cluster: RegExp | string, host: string): number {
  return stats
    .filter((s) => (typeof cluster === 'string' ? s.cluster === cluster : cluster.test(s.cluster)) && s.host === host && s.stat === 'cx_total')
    .reduce((a, s) => a + Number(s.value), 0);
}

/** The `clusters` page of a pod's proxy (sidecar or gateway), parsed. */
export async function proxyClusters(kube: Kube, namespace: string, pod: string): Promise<ClusterHostStat[]> {
  return parseClusterHostStats(await proxyAdmin(kube, namespace, pod, 'clusters'));
}

/**
 * The names of the clusters a `clusters` page lists. Every cluster prints cluster-level lines
 * (`NAME::added_via_api::true`, `NAME::default_priority::...`), also one without hosts (an
 * ORIGINAL_DST cluster before its first connection), so a name's absence means the proxy no
 * longer has that cluster.
 */
export function clusterNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('::');
    if (i > 0) out.add(line.slice(0, i).trim());
  }
  return out;
}

/** One read of a proxy's `clusters` page: the clusters it lists and their per-host stats. */
export interface ClustersPage {
  clusters: Set<string>;
  hosts: ClusterHostStat[];
}

export function parseClustersPage(text: string): ClustersPage {
  return { clusters: clusterNames(text), hosts: parseClusterHostStats(text) };
}

export async function proxyClustersPage(kube: Kube, namespace: string, pod: string): Promise<ClustersPage> {
  return parseClustersPage(await proxyAdmin(kube, namespace, pod, 'clusters'));
}

/**
 * What is still wrong with a proxy's clusters for a routing change to have landed: names that
 * must be gone but are listed, and names that must be listed but are not. Empty: landed.
 */
export function routingNotLanded(page: Pick<ClustersPage, 'clusters'>, want: { gone?: readonly string[]; present?: readonly string[] }): string[] {
  return [
    ...(want.gone ?? []).filter((c) => page.clusters.has(c)).map((c) => `still listed: ${c}`),
    ...(want.present ?? []).filter((c) => !page.clusters.has(c)).map((c) => `not listed yet: ${c}`),
  ];
}

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

/** Envoy's text stats (`stats?filter=...`): `name: value` lines. */
export function parseTextStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^\s:]+):\s+(\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * Connections the proxy's network RBAC filters allowed or denied (stat prefix "tcp.", e.g.
 * tcp.rbac.denied; pilot/pkg/security/authz/model RBACTCPFilterStatPrefix). Shadow (dry-run)
 * counters are not counted.
 */
export function rbacCount(stats: Map<string, number>, decision: 'allowed' | 'denied'): number {
  let sum = 0;
  for (const [name, v] of stats) if (name.endsWith(`rbac.${decision}`) && !name.includes('shadow')) sum += v;
  return sum;
}

/**
 * Lines of a proxy's access log (Istio's default text format) that record a connection
 * through `cluster` to `upstreamHost`, e.g. `... "172.18.0.5:6379" outbound|6379||redis... ...`.
 */
export function accessLogLinesTo(log: string, cluster: string, upstreamHost: string): string[] {
  return log.split('\n').filter((line) => {
    // Only an empty line has no fields, and a placeholder field cannot equal both the cluster and the host.
    // Stryker disable next-line ArrayDeclaration: equivalent (see above)
    const fields = line.match(/"[^"]*"|\S+/g) ?? [];
    const bare = fields.map((f) => f.replace(/^"|"$/g, ''));
    return bare.includes(cluster) && bare.includes(upstreamHost);
  });
}
