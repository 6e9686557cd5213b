/**
 * The readers of Istio's and Envoy's output, at their edges: the live mesh config (a missing or
 * broken ConfigMap must never read as REGISTRY_ONLY), the clusters page, Envoy's text stats and
 * Prometheus stats, the RBAC counters and the access log. Malformed and partial lines are
 * included on purpose: a parser that is too lenient would count evidence that is not there.
 * Formats as in cluster-plumbing.test.ts and egress-gateway.test.ts (Envoy admin `clusters`
 * page, `stats` text, Prometheus exposition, Istio's default access log).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, test, vi } from 'vitest';
import { accessLogLinesTo, parseClusterHostStats, parsePrometheus, parseTextStats, proxyAdmin, proxyClusters, proxyStats, rbacCount, sumMetric, tcpConnectionsTo, upstreamConnections } from '../../helpers/mesh/envoy-admin.ts';
import { checkMeshConfig } from '../../helpers/mesh/mesh-config.ts';
import { install, installArgs, ISTIO_OPERATOR_FILE } from '../../helpers/mesh/istio-install.ts';
import type { Kube } from '../../helpers/cluster/kube.ts';

describe('mesh config check: only an explicit REGISTRY_ONLY passes', () => {
  const cm = (data: Record<string, string> | undefined): V1ConfigMap => ({ metadata: { name: 'istio', namespace: 'istio-system' }, ...(data ? { data } : {}) });

  test('no ConfigMap: not ok, mode unknown, with the question what is wrong', () => {
    expect(checkMeshConfig(undefined)).toEqual({
      ok: false, mode: 'unknown', explicit: false,
      message: 'ConfigMap istio-system/istio not found: is Istio installed in this cluster?',
    });
  });

  test('a ConfigMap without any data, or with other keys only: not ok', () => {
    const expected = { ok: false, mode: 'unknown', explicit: false, message: 'ConfigMap istio-system/istio has no "mesh" key' };
    expect(checkMeshConfig(cm(undefined))).toEqual(expected);
    expect(checkMeshConfig(cm({ meshNetworks: 'networks: {}' }))).toEqual(expected);
  });

  test('broken YAML under "mesh": not ok, never a default', () => {
    const r = checkMeshConfig(cm({ mesh: 'outboundTrafficPolicy: [\n  mode: REGISTRY_ONLY' }));
    expect(r).toMatchObject({ ok: false, mode: 'unknown', explicit: false });
    expect(r.message.startsWith('ConfigMap istio-system/istio: the "mesh" key is not YAML (')).toBe(true);
  });

  test('an empty "mesh" (null document) or a policy without a mode: Istio\'s default ALLOW_ANY, not explicit', () => {
    for (const mesh of ['', 'outboundTrafficPolicy: {}\n', 'outboundTrafficPolicy:\n']) {
      const r = checkMeshConfig(cm({ mesh }));
      expect(r, JSON.stringify(mesh)).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: false });
      expect(r.message).toContain('outboundTrafficPolicy.mode is ALLOW_ANY (not set: Istio\'s default), but the chapter needs REGISTRY_ONLY');
    }
  });

  test('explicit REGISTRY_ONLY: ok and explicit; explicit ALLOW_ANY: not ok, no "not set" remark', () => {
    expect(checkMeshConfig(cm({ mesh: 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n' }))).toEqual({
      ok: true, mode: 'REGISTRY_ONLY', explicit: true, message: 'ConfigMap istio-system/istio: outboundTrafficPolicy.mode is REGISTRY_ONLY',
    });
    const any = checkMeshConfig(cm({ mesh: 'outboundTrafficPolicy:\n  mode: ALLOW_ANY\n' }));
    expect(any).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: true });
    expect(any.message).toBe('ConfigMap istio-system/istio: outboundTrafficPolicy.mode is ALLOW_ANY, but the chapter needs REGISTRY_ONLY; '
      + 'install with --set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY (fixtures/istio-operator.yaml does)');
  });

  test('a mode that only looks like REGISTRY_ONLY is not it', () => {
    for (const mode of ['registry_only', 'REGISTRY_ONLY ', '"REGISTRY_ONLY_X"']) {
      expect(checkMeshConfig(cm({ mesh: `outboundTrafficPolicy:\n  mode: '${mode}'\n` })).ok, mode).toBe(false);
    }
  });
});

describe('istioctl install arguments: kubeconfig only when given, timeout rounded up to seconds', () => {
  test('without a kubeconfig (CLUSTER=existing) there is no --kubeconfig flag', () => {
    expect(installArgs({ kubeconfigPath: undefined, context: 'gke_p_r_c', readinessTimeoutMs: 90_500 })).toEqual([
      'install', '-y', '-f', ISTIO_OPERATOR_FILE, '--context', 'gke_p_r_c', '--readiness-timeout', '91s',
    ]);
    expect(installArgs({ kubeconfigPath: '', context: 'c', readinessTimeoutMs: 1000 }, '/x.yaml')).toEqual([
      'install', '-y', '-f', '/x.yaml', '--context', 'c', '--readiness-timeout', '1s',
    ]);
  });
});

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

  test('TCP evidence counts opened and closed separately', () => {
    const samples = parsePrometheus([
      'istio_tcp_connections_opened_total{reporter="source",destination_service_name="BlackHoleCluster"} 3',
      'istio_tcp_connections_closed_total{reporter="source",destination_service_name="BlackHoleCluster"} 2',
    ].join('\n'));
    expect(tcpConnectionsTo(samples, 'BlackHoleCluster')).toEqual({ opened: 3, closed: 2 });
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

describe('istioctl install (a STAND-IN istioctl script that prints progress like istioctl and records its arguments)', () => {
  test('runs with the install arguments; its output lines are logged trimmed, blank ones dropped; a failure is thrown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-istioctl-'));
    try {
      const bin = join(dir, 'istioctl');
      await writeFile(bin, '#!/bin/sh\necho "$*" > "$(dirname "$0")/args"\nprintf \'  ✔ Istio core installed  \\n\\n   \\n✔ Installation complete\\n\'\n[ "$FAIL_INSTALL" = 1 ] && { echo "Error: failed" >&2; exit 1; }\nexit 0\n', { mode: 0o755 });
      const logged: string[] = [];
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { logged.push(String(chunk)); return true; });
      try {
        await install(bin, { kubeconfigPath: '/k', context: 'kind-x', readinessTimeoutMs: 60_000 }, '/op.yaml');
      } finally {
        spy.mockRestore();
      }
      expect(await readFile(join(dir, 'args'), 'utf8')).toBe('install -y -f /op.yaml --kubeconfig /k --context kind-x --readiness-timeout 60s\n');
      expect(logged.map((l) => l.replace(/^\[egress-verify [0-9:]+\] /, '').trimEnd())).toEqual(['  istioctl: ✔ Istio core installed', '  istioctl: ✔ Installation complete']);
      process.env.FAIL_INSTALL = '1';
      try {
        await expect(install(bin, { kubeconfigPath: undefined, context: 'c', readinessTimeoutMs: 1000 })).rejects.toThrow(/Error: failed/);
      } finally {
        delete process.env.FAIL_INSTALL;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
