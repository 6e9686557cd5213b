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

export const EGRESS_GATEWAY = {
  namespace: ISTIO_NAMESPACE,
  selector: 'istio=egressgateway',
  service: 'istio-egressgateway',
  host: 'istio-egressgateway.istio-system.svc.cluster.local',
} as const;

/** Where a client's Redis connections went, read from the proxies' clusters pages. */
export interface EgressPath {
  /** Cart sidecar -> the Redis endpoint itself. */
  direct: number;
  /** Cart sidecar -> the egress gateway. */
  toGateway: number;
  /** Egress gateway -> the Redis endpoint. */
  gatewayToRedis: number;
}

export type EgressVerdict = 'through-gateway' | 'bypassed' | 'inconclusive';

export function egressPath(client: readonly ClusterHostStat[], gateway: readonly ClusterHostStat[], redisEndpoint: string): EgressPath {
  const cx = (stats: readonly ClusterHostStat[], pick: (s: ClusterHostStat) => boolean) =>
    stats.filter((s) => s.stat === 'cx_total' && pick(s)).reduce((a, s) => a + Number(s.value), 0);
  return {
    direct: cx(client, (s) => s.host === redisEndpoint),
    toGateway: cx(client, (s) => s.cluster.endsWith(`|${EGRESS_GATEWAY.host}`)),
    gatewayToRedis: cx(gateway, (s) => s.host === redisEndpoint),
  };
}

export function pathDelta(before: EgressPath, after: EgressPath): EgressPath {
  return {
    direct: after.direct - before.direct,
    toGateway: after.toGateway - before.toGateway,
    gatewayToRedis: after.gatewayToRedis - before.gatewayToRedis,
  };
}

/**
 * Through the gateway: the client went to the gateway, the gateway to Redis, and the client
 * never straight to Redis. Bypassed: the client went straight to Redis and the gateway did not.
 */
export function egressVerdict(d: EgressPath): EgressVerdict {
  if (d.toGateway > 0 && d.gatewayToRedis > 0 && d.direct === 0) return 'through-gateway';
  if (d.direct > 0 && d.gatewayToRedis === 0) return 'bypassed';
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
