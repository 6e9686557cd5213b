/**
 * A proxy's Envoy admin pages (stats, clusters, access log), read through pilot-agent in the
 * proxy's container, and their parsers.
 *
 * Upstream facts (istio/istio 1.30, istio/proxy):
 * - `pilot-agent request GET stats/prometheus` in container istio-proxy prints Envoy's stats
 *   (pilot/cmd/pilot-agent/app/request.go, admin port 15000).
 * - A TCP connection sent to BlackHoleCluster is counted in istio_tcp_connections_opened_total
 *   and ..._closed_total with destination_service_name="BlackHoleCluster" (istio/proxy
 *   istio_stats.cc; asserted by tests/integration/telemetry/policy/traffic_registry_only_test.go).
 * - Without Istio's stats plugin (upstream Envoy: IMAGES=local), the same connection is counted
 *   by the tcp_proxy filter of the BlackHoleCluster filter chain, stat prefix "BlackHoleCluster":
 *   `tcp.BlackHoleCluster.downstream_cx_total`, on stats/prometheus
 *   `envoy_tcp_downstream_cx_total{tcp_prefix="BlackHoleCluster"}` (the tag name is Istio's: its
 *   bootstrap template's stats_tags, `tcp_prefix` for `^tcp\.((.*?)\.)\w+?$`; seen on a kind run),
 *   kept only when ProxyConfig's proxyStatsMatcher includes it. The cluster's own
 *   upstream_cx_total does not move: a cluster without hosts counts upstream_cx_none_healthy.
 */
import type { Kube } from '../cluster/kube.ts';

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

/**
 * Connections this sidecar sent into the blackhole, whichever proxy counted them: Istio's stats
 * plugin (connections closed, as the source) plus tcp_proxy's own counter. A proxy has one or the
 * other (upstream Envoy has no plugin; Istio's bootstrap drops the tcp_proxy stat), so the sum is
 * the one that exists; `counted` names it.
 */
export function blackHoleConnections(samples: readonly PromSample[]): { count: number; counted: string[] } {
  const plugin = tcpConnectionsTo(samples, 'BlackHoleCluster').closed;
  const tcpProxy = sumMetric(samples, 'envoy_tcp_downstream_cx_total', { tcp_prefix: 'BlackHoleCluster' });
  const present = (name: string) => samples.some((x) => x.name === name);
  const counted = [
    ...(present('istio_tcp_connections_closed_total') ? ['istio_tcp_connections_closed_total'] : []),
    ...(present('envoy_tcp_downstream_cx_total') ? ['envoy_tcp_downstream_cx_total'] : []),
  ];
  return { count: plugin + tcpProxy, counted };
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
 * (e.g. `outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::2`). An IPv6
 * host is printed bracketed and itself contains `::` (`cluster::[fd00::7]:8443::cx_active::1`),
 * so a line is read as: the cluster before the first `::`, the stat and value as the last two
 * fields, the host as what is between. Per-host counters are printed whatever the stats
 * inclusion settings, so they show where the proxy really connected.
 */
export function parseClusterHostStats(text: string): ClusterHostStat[] {
  const out: ClusterHostStat[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split('::');
    if (parts.length < 4) continue;
    const cluster = parts[0]!;
    const value = parts[parts.length - 1]!;
    const stat = parts[parts.length - 2]!;
    const host = parts.slice(1, -2).join('::');
    if (!/^[^\s:]+:\d+$|^\[[0-9a-f:.]+\]:\d+$/i.test(host)) continue;
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
