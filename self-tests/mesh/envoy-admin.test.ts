/**
 * helpers/mesh/envoy-admin.ts, the readers of Envoy's output at their edges: the clusters page,
 * Envoy's text stats and Prometheus stats, the RBAC counters and the access log, and the admin
 * pages read through pilot-agent. Malformed and partial lines are included on purpose: a parser
 * that is too lenient would count evidence that is not there. Formats as Envoy's admin
 * `clusters` page, `stats` text and Prometheus exposition, and Istio's default access log; the
 * stats lines are assembled from istio/proxy's label order (no live Envoy was available).
 */
import { describe, expect, test } from 'vitest';
import {
  accessLogLinesTo, parseClusterHostStats, parsePrometheus, parseTextStats, proxyAdmin, proxyClusters, proxyStats, rbacCount, sumMetric,
  tcpConnectionsTo, upstreamConnections, blackHoleConnections,
} from '../../helpers/mesh/envoy-admin.ts';
import type { Kube } from '../../helpers/cluster/kube.ts';

describe('clusters page parser: exactly cluster::host:port::stat::value', () => {
  const one = (line: string) => parseClusterHostStats(line);

  test('a well-formed line, also with surrounding whitespace and a CRLF line end', () => {
    const want = [{ cluster: 'outbound|6379||redis.memorystore.internal', host: '172.18.0.5:6379', stat: 'cx_total', value: '12' }];
    expect(one('outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::12')).toEqual(want);
    expect(parseClusterHostStats('  outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::12\r\n')).toEqual(want);
  });

  test('lines with fewer or more than four parts are not host lines', () => {
    expect(one('c::172.18.0.5:6379::cx_total')).toEqual([]);
    expect(one('c::172.18.0.5:6379::cx_total::2::extra')).toEqual([]);
    expect(one('172.18.0.5:6379::cx_total::2')).toEqual([]);
    expect(one('')).toEqual([]);
  });

  test('the host must be a whole host:port: no spaces, no prefix, no suffix, a numeric port', () => {
    for (const host of ['bad host:6379', '172.18.0.5:6379x', '172.18.0.5:', ':6379', '172.18.0.5', '172.18.0.5:port', 'default_priority', 'a b']) {
      expect(one(`c::${host}::cx_total::1`), host).toEqual([]);
    }
    expect(one('c::redis-0.redis.ns.svc.cluster.local:16379::cx_total::1')[0]?.host).toBe('redis-0.redis.ns.svc.cluster.local:16379');
  });

  test('bracketed IPv6 hosts (Envoy prints [addr]:port), upper and lower case; anything around the brackets is refused', () => {
    expect(one('c::[2001:db8:1:2:3:4:5:6]:6379::cx_total::4')[0]?.host).toBe('[2001:db8:1:2:3:4:5:6]:6379');
    expect(one('c::[2001:DB8:A:B:C:D:E:F]:443::cx_total::4')[0]?.host).toBe('[2001:DB8:A:B:C:D:E:F]:443');
    for (const host of ['x[2001:db8:1:2:3:4:5:6]:6379', '[2001:db8:1:2:3:4:5:6]:6379x', '[2001:db8:1:2:3:4:5:6]', '[2001:db8:1:2:3:4:5:zz]:6379']) {
      expect(one(`c::${host}::cx_total::1`), host).toEqual([]);
    }
  });

  test('a compressed IPv6 host, itself holding `::`, keeps its cluster, stat and value (issue 24)', () => {
    expect(one('outbound|8443||istio-egressgateway.istio-system.svc.cluster.local::[fd00::7]:8443::cx_active::1')).toEqual([
      { cluster: 'outbound|8443||istio-egressgateway.istio-system.svc.cluster.local', host: '[fd00::7]:8443', stat: 'cx_active', value: '1' },
    ]);
    expect(one('c::[::1]:6379::cx_total::3')[0]).toEqual({ cluster: 'c', host: '[::1]:6379', stat: 'cx_total', value: '3' });
    expect(one('c::[fd00::7]:8443::cx_total')).toEqual([]); // a stat without its value
  });

  test('a whole page: per-host lines are parsed; the cluster-level lines around them are not hosts', () => {
    // The admin `clusters` format: cluster::host::stat::value, plus per-cluster lines like
    // `cluster::default_priority::max_connections::4294967295` (no host: ignored).
    const page = [
      'outbound|6379||redis.memorystore.internal::observability_name::outbound|6379||redis.memorystore.internal',
      'outbound|6379||redis.memorystore.internal::default_priority::max_connections::4294967295',
      'outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_active::1',
      'outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::2',
      'outbound|6379||redis.memorystore.internal::172.18.0.5:6379::health_flags::healthy',
      'outbound|443||istio-egressgateway.istio-system.svc.cluster.local::10.244.0.9:8443::cx_total::5',
      'BlackHoleCluster::default_priority::max_connections::1024',
    ].join('\n');
    expect(parseClusterHostStats(page).map((s) => `${s.host} ${s.stat}`)).toEqual([
      '172.18.0.5:6379 cx_active', '172.18.0.5:6379 cx_total', '172.18.0.5:6379 health_flags', '10.244.0.9:8443 cx_total',
    ]);
  });
});

describe('connections through a cluster to a host: cx_total of exactly that cluster and host', () => {
  const stats = parseClusterHostStats([
    'outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::2',
    'outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_active::40',
    'outbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_connect_fail::300',
    'outbound|6379||redis.memorystore.internal-2::172.18.0.5:6379::cx_total::5000',
    'xoutbound|6379||redis.memorystore.internal::172.18.0.5:6379::cx_total::60000',
    'PassthroughCluster::172.18.0.5:6379::cx_total::700000',
    'outbound|6379||redis.memorystore.internal::172.18.0.6:6379::cx_total::8000000',
  ].join('\n'));

  test('a cluster name is matched exactly, not as a part', () => {
    expect(upstreamConnections(stats, 'outbound|6379||redis.memorystore.internal', '172.18.0.5:6379')).toBe(2);
    expect(upstreamConnections(stats, 'PassthroughCluster', '172.18.0.5:6379')).toBe(700_000);
    expect(upstreamConnections(stats, 'outbound|6379||redis', '172.18.0.5:6379')).toBe(0);
  });

  test('a pattern matches every cluster it fits; values are summed as numbers', () => {
    expect(upstreamConnections(stats, /\|redis\.memorystore\.internal/, '172.18.0.5:6379')).toBe(2 + 5000 + 60_000);
    expect(upstreamConnections(stats, /^outbound\|/, '172.18.0.6:6379')).toBe(8_000_000);
    expect(upstreamConnections(stats, /nothing/, '172.18.0.5:6379')).toBe(0);
  });

  test('no stats, no connections', () => {
    expect(upstreamConnections([], 'outbound|6379||redis.memorystore.internal', '172.18.0.5:6379')).toBe(0);
  });
});

describe('Envoy text stats: whole `name: value` lines only', () => {
  test('names and multi-digit values, whitespace around the line and after the colon', () => {
    const stats = parseTextStats(['tcp.rbac.allowed: 1234', '  tcp.rbac.denied:   56  ', 'cluster.x.cx_total:\t7\r', ''].join('\n'));
    expect([...stats]).toEqual([['tcp.rbac.allowed', 1234], ['tcp.rbac.denied', 56], ['cluster.x.cx_total', 7]]);
  });

  test('malformed lines are skipped, not read in part', () => {
    const stats = parseTextStats([
      'tcp rbac.denied: 3', // a space in the name
      'tcp.rbac.denied: 3 extra',
      'tcp.rbac.denied: -3',
      'tcp.rbac.denied:3', // no space after the colon
      'tcp.rbac.denied: ',
      'a:b: 3',
      'histogram: P0(nan,1) P25(nan,2)',
    ].join('\n'));
    expect([...stats]).toEqual([]);
  });
});

describe('RBAC counters: enforced decisions only', () => {
  // Envoy's RBAC filters count under <stat_prefix>rbac.: allowed/denied, and for shadow (dry-run)
  // rules <shadow_rules_stat_prefix>shadow_allowed/shadow_denied (Istio: istio_dry_run_allow_...).
  const stats = parseTextStats([
    'tcp.rbac.allowed: 4',
    'tcp.rbac.denied: 30',
    'tcp.rbac.shadow_denied: 500',
    'tcp.rbac.istio_dry_run_allow_shadow_denied: 6000',
    'tcp.rbac.istio_dry_run_allow_shadow_allowed: 70000',
    'http.inbound_0.0.0.0_8080.rbac.denied: 100',
    'tcp.rbac.denied_total_bogus: 900000',
    'rbac.deniedx: 8000000',
  ].join('\n'));

  test('sums every filter\'s enforced counter for the decision', () => {
    expect(rbacCount(stats, 'denied')).toBe(130);
    expect(rbacCount(stats, 'allowed')).toBe(4);
  });

  test('a shadow counter that ends like an enforced one is still not counted', () => {
    expect(rbacCount(new Map([['tcp.shadow.rbac.denied', 9], ['tcp.rbac.denied', 1]]), 'denied')).toBe(1);
    expect(rbacCount(new Map(), 'allowed')).toBe(0);
  });
});

describe('Prometheus text: names, labels and values at the edges', () => {
  test('a line must start with a metric name; comments and blank lines are no samples', () => {
    expect(parsePrometheus(['1bad 5', ' leading_space 5', '# HELP x 1', '#x 1', '', '{a="b"} 1'].join('\n'))).toEqual([]);
  });

  test('names with colons and digits, values after several spaces, timestamps ignored', () => {
    expect(parsePrometheus(['envoy:cluster_cx_total2{cluster_name="a"}   42 1700000000', 'up 1 #', 'no_value'].join('\n'))).toEqual([
      { name: 'envoy:cluster_cx_total2', labels: { cluster_name: 'a' }, value: 42 },
      { name: 'up', labels: {}, value: 1 },
    ]);
  });

  test('label values with escaped quotes and backslashes; label names with digits', () => {
    const [s] = parsePrometheus('m{le2="x\\"y",path="C:\\\\tmp",empty=""} 3.5');
    expect(s).toEqual({ name: 'm', labels: { le2: 'x"y', path: 'C:\\tmp', empty: '' }, value: 3.5 });
  });

  test('sums match every given label, not just one of them', () => {
    const samples = parsePrometheus([
      'c{reporter="source",destination_service_name="BlackHoleCluster"} 1',
      'c{reporter="destination",destination_service_name="BlackHoleCluster"} 20',
      'c{reporter="source",destination_service_name="other"} 300',
      'd{reporter="source",destination_service_name="BlackHoleCluster"} 4000',
    ].join('\n'));
    expect(sumMetric(samples, 'c', { reporter: 'source', destination_service_name: 'BlackHoleCluster' })).toBe(1);
    expect(sumMetric(samples, 'c')).toBe(321);
    expect(sumMetric(samples, 'missing')).toBe(0);
  });
});

describe('Prometheus text as istio/proxy writes it: the TCP evidence', () => {
  // Label order from istio/proxy istio_stats.cc (TCP: no response_code).
  const labels = (dest: string, reporter = 'source') =>
    `reporter="${reporter}",source_workload="cartservice",source_canonical_service="cartservice",source_canonical_revision="latest",source_workload_namespace="egress-verify-mesh",source_principal="unknown",source_app="cartservice",source_version="unknown",source_cluster="Kubernetes",destination_workload="unknown",destination_workload_namespace="unknown",destination_principal="unknown",destination_app="unknown",destination_version="unknown",destination_service="unknown",destination_canonical_service="unknown",destination_canonical_revision="latest",destination_service_name="${dest}",destination_service_namespace="unknown",destination_cluster="unknown",request_protocol="tcp",response_flags="UH",connection_security_policy="unknown"`;
  const stats = [
    '# TYPE istio_tcp_connections_opened_total counter',
    `istio_tcp_connections_opened_total{${labels('BlackHoleCluster')}} 7`,
    `istio_tcp_connections_opened_total{${labels('redis.memorystore.internal')}} 2`,
    '# TYPE istio_tcp_connections_closed_total counter',
    `istio_tcp_connections_closed_total{${labels('BlackHoleCluster')}} 7`,
    `istio_tcp_connections_closed_total{${labels('BlackHoleCluster', 'destination')}} 100`,
    '# TYPE envoy_cluster_upstream_cx_total counter',
    'envoy_cluster_upstream_cx_total{cluster_name="xds-grpc"} 1',
    'envoy_server_live 1',
  ].join('\n');

  test('every sample is read, with and without labels', () => {
    const samples = parsePrometheus(stats);
    expect(samples).toHaveLength(6);
    expect(samples[5]).toEqual({ name: 'envoy_server_live', labels: {}, value: 1 });
    expect(sumMetric(samples, 'envoy_cluster_upstream_cx_total', { cluster_name: 'xds-grpc' })).toBe(1);
  });

  test('opened and closed are counted apart, on the client side only (reporter="source"), per destination service name', () => {
    const samples = parsePrometheus(stats);
    expect(tcpConnectionsTo(samples, 'BlackHoleCluster')).toEqual({ opened: 7, closed: 7 });
    expect(tcpConnectionsTo(samples, 'redis.memorystore.internal')).toEqual({ opened: 2, closed: 0 });
    expect(tcpConnectionsTo(samples, 'PassthroughCluster')).toEqual({ opened: 0, closed: 0 });
  });
});

describe('BlackHoleCluster connections: the stats plugin\'s count or tcp_proxy\'s, whichever the proxy has', () => {
  const plugin = (closed: number, reporter = 'source') => `istio_tcp_connections_closed_total{reporter="${reporter}",destination_service_name="BlackHoleCluster"} ${closed}`;
  const tcpProxy = (prefix: string, n: number) => `envoy_tcp_downstream_cx_total{tcp_prefix="${prefix}"} ${n}`;

  test('Istio\'s proxy: connections closed as the source, named by the plugin', () => {
    expect(blackHoleConnections(parsePrometheus([plugin(4), plugin(50, 'destination')].join('\n'))))
      .toEqual({ count: 4, counted: ['istio_tcp_connections_closed_total'] });
  });

  test('upstream Envoy: tcp_proxy\'s counter of the BlackHoleCluster chain only', () => {
    expect(blackHoleConnections(parsePrometheus([tcpProxy('BlackHoleCluster', 3), tcpProxy('PassthroughCluster', 9), tcpProxy('outbound|6379||redis', 2)].join('\n'))))
      .toEqual({ count: 3, counted: ['envoy_tcp_downstream_cx_total'] });
  });

  test('the tag name is Istio\'s (tcp_prefix), not Envoy\'s default (envoy_tcp_prefix)', () => {
    expect(blackHoleConnections(parsePrometheus('envoy_tcp_downstream_cx_total{envoy_tcp_prefix="BlackHoleCluster"} 5')).count).toBe(0);
  });

  test('neither stat: zero, and nothing named as counted', () => {
    expect(blackHoleConnections(parsePrometheus('envoy_server_live 1'))).toEqual({ count: 0, counted: [] });
  });
});

describe('access log lines: whole fields, quoted or not', () => {
  const cluster = 'outbound|6379||redis.memorystore.internal';
  const host = '172.18.0.5:6379';

  test('the cluster and the host must both be whole fields of the same line', () => {
    const both = `[t] "- - -" 0 - - - "-" 1 2 3 - "-" "-" "-" "-" "${host}" ${cluster} 10.244.0.9:41234 - -`;
    const clusterOnly = `[t] "- - -" 0 - - - "-" 1 2 3 - "-" "-" "-" "-" "10.0.0.1:6379" ${cluster} - - -`;
    const hostOnly = `[t] "- - -" 0 UH - - "-" 0 0 0 - "-" "-" "-" "-" "${host}" BlackHoleCluster - - -`;
    expect(accessLogLinesTo([both, clusterOnly, hostOnly].join('\n'), cluster, host)).toEqual([both]);
  });

  test('a host inside a longer quoted field, or behind other text, is not the host', () => {
    const inside = `[t] "CONNECT ${host} HTTP/1.1" ${cluster} -`;
    const prefixed = `[t] x"${host} ${cluster} -`;
    const partial = `[t] "${host}0" ${cluster}-2 -`;
    const innerQuote = `[t] 172.18.0.5:"6379 ${cluster} -`;
    expect(accessLogLinesTo([inside, prefixed, partial, innerQuote].join('\n'), cluster, host)).toEqual([]);
  });

  test('an unquoted host field counts too; an empty log has no lines', () => {
    const bare = `[t] ${host} ${cluster}`;
    expect(accessLogLinesTo(bare, cluster, host)).toEqual([bare]);
    expect(accessLogLinesTo('', cluster, host)).toEqual([]);
  });
});

describe('reading a proxy\'s admin pages (through a recording Kube double: only its exec is used)', () => {
  type Exec = (ns: string, pod: string, container: string, cmd: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
  const kubeWith = (exec: Exec) => ({ exec }) as unknown as Kube;

  test('the page is read with pilot-agent in istio-proxy (or the container given) and parsed', async () => {
    const calls: unknown[][] = [];
    const kube = kubeWith(async (...args) => {
      calls.push(args);
      return { exitCode: 0, stdout: args[3][3] === 'clusters' ? 'c::10.0.0.1:6379::cx_total::3\n' : 'm{a="b"} 2\n', stderr: '' };
    });
    expect(await proxyClusters(kube, 'ns', 'pod-1')).toEqual([{ cluster: 'c', host: '10.0.0.1:6379', stat: 'cx_total', value: '3' }]);
    expect(await proxyStats(kube, 'ns', 'pod-1')).toEqual([{ name: 'm', labels: { a: 'b' }, value: 2 }]);
    expect(await proxyAdmin(kube, 'istio-system', 'gw-1', 'stats?filter=rbac', 'istio-proxy-2')).toBe('m{a="b"} 2\n');
    expect(calls).toEqual([
      ['ns', 'pod-1', 'istio-proxy', ['pilot-agent', 'request', 'GET', 'clusters']],
      ['ns', 'pod-1', 'istio-proxy', ['pilot-agent', 'request', 'GET', 'stats/prometheus']],
      ['istio-system', 'gw-1', 'istio-proxy-2', ['pilot-agent', 'request', 'GET', 'stats?filter=rbac']],
    ]);
  });

  test('a failed read is an error naming the page, the pod, the container, the exit code and stderr', async () => {
    const kube = kubeWith(async () => ({ exitCode: 7, stdout: 'partial', stderr: '  connection refused\n' }));
    await expect(proxyAdmin(kube, 'ns', 'pod-1', 'clusters')).rejects.toThrow(new Error('reading clusters of ns/pod-1 istio-proxy failed (exit 7): connection refused'));
  });
});
