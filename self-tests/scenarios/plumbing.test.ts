/**
 * The pieces of the end-to-end path that can be checked without a cluster: the kind and
 * istioctl command lines built from settings, the mesh-config check on sample ConfigMaps,
 * the proxy-stats evidence on Envoy's Prometheus format, the probe's output, polling and cleanup
 * order (sidecar detection and exec status decoding: kube-decisions.test.ts). The samples follow upstream formats; the
 * stats lines are assembled from istio/proxy's label order (no live Envoy was available).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { Cleanup } from '../../helpers/run/cleanup.ts';
import { checkMeshConfig } from '../../helpers/mesh/mesh-config.ts';
import { installArgs } from '../../helpers/mesh/istio-install.ts';
import { parseClusterHostStats, parsePrometheus, proxyAdminCommand, sumMetric, tcpConnectionsTo, upstreamConnections } from '../../helpers/mesh/envoy-admin.ts';
import { createClusterArgs, deleteClusterArgs } from '../../helpers/cluster/kind.ts';
import { render, ROOT_DIR } from '../../helpers/run/manifests.ts';
import { SERVICE_ENTRY_HOST, serviceEntryCluster } from '../../scenarios/chapter.ts';
import { kubeconfigPathFor } from '../../cli/plan-extras.ts';
import { pollTimed, PollTimeoutError, RetryableError } from '../../helpers/run/poll.ts';
import { Timings } from '../../helpers/run/progress.ts';
import { parseProbeOutput } from '../../helpers/external/probe.ts';
import { withTable } from '../../cli/docs.ts';
import { loadSettings } from '../../helpers/run/settings.ts';

describe('kind command lines', () => {
  const s = loadSettings({ CLUSTER_NAME: 'ci-7', ARTIFACTS_DIR: '/tmp/run' });
  const o = {
    name: s.clusterName, configPath: '/repo/kind-config.yaml', nodeImage: s.kindNodeImage,
    kubeconfigPath: kubeconfigPathFor(s), wait: '180s', reuse: false, keep: false,
  };
  test('create: its own kubeconfig file, pinned image, kind waits for the control plane', () => {
    expect(createClusterArgs(o)).toEqual([
      'create', 'cluster', '--name', 'ci-7', '--config', '/repo/kind-config.yaml',
      '--image', s.kindNodeImage, '--wait', '180s', '--kubeconfig', '/tmp/run/kubeconfig',
    ]);
  });
  test('delete: the same name and kubeconfig file, nothing else', () => {
    expect(deleteClusterArgs(o)).toEqual(['delete', 'cluster', '--name', 'ci-7', '--kubeconfig', '/tmp/run/kubeconfig']);
  });
});

describe('istioctl command line', () => {
  test('install from the IstioOperator file, into our kubeconfig and context only', () => {
    const args = installArgs({ kubeconfigPath: '/tmp/run/kubeconfig', context: 'kind-ci-7', readinessTimeoutMs: 300_000 });
    expect(args).toEqual([
      'install', '-y', '-f', join(ROOT_DIR, 'fixtures/istio-operator.yaml'),
      '--kubeconfig', '/tmp/run/kubeconfig', '--context', 'kind-ci-7', '--readiness-timeout', '300s',
    ]);
  });
  test('proxy admin through pilot-agent', () => {
    expect(proxyAdminCommand('stats/prometheus')).toEqual(['pilot-agent', 'request', 'GET', 'stats/prometheus']);
  });
});

describe('mesh config check (ConfigMap istio-system/istio, key "mesh")', () => {
  const cm = (mesh: string | undefined): V1ConfigMap => ({ metadata: { name: 'istio', namespace: 'istio-system' }, data: mesh === undefined ? {} : { mesh } });
  test('REGISTRY_ONLY passes', () => {
    const r = checkMeshConfig(cm('accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n'));
    expect(r).toMatchObject({ ok: true, mode: 'REGISTRY_ONLY' });
  });
  test('ALLOW_ANY is refused with how to fix it', () => {
    const r = checkMeshConfig(cm('outboundTrafficPolicy:\n  mode: ALLOW_ANY\n'));
    expect(r).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: true });
    expect(r.message).toMatch(/outboundTrafficPolicy\.mode is ALLOW_ANY, but the chapter needs REGISTRY_ONLY; install with --set meshConfig\.outboundTrafficPolicy\.mode=REGISTRY_ONLY/);
  });
  test('unset means Istio\'s default, ALLOW_ANY', () => {
    expect(checkMeshConfig(cm('accessLogFile: ""\n'))).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: false });
  });
  test('missing ConfigMap, missing key, broken YAML', () => {
    expect(checkMeshConfig(undefined).message).toMatch(/not found: is Istio installed/);
    expect(checkMeshConfig(cm(undefined)).message).toMatch(/has no "mesh" key/);
    expect(checkMeshConfig(cm('outboundTrafficPolicy: [')).message).toMatch(/is not YAML/);
  });
});

describe('proxy stats evidence', () => {
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

  test('parses Envoy\'s Prometheus text', () => {
    const samples = parsePrometheus(stats);
    expect(samples).toHaveLength(6);
    expect(samples[5]).toEqual({ name: 'envoy_server_live', labels: {}, value: 1 });
    expect(sumMetric(samples, 'envoy_cluster_upstream_cx_total', { cluster_name: 'xds-grpc' })).toBe(1);
  });
  test('counts only the client side (reporter="source") per destination service name', () => {
    const samples = parsePrometheus(stats);
    expect(tcpConnectionsTo(samples, 'BlackHoleCluster')).toEqual({ opened: 7, closed: 7 });
    expect(tcpConnectionsTo(samples, 'redis.memorystore.internal')).toEqual({ opened: 2, closed: 0 });
    expect(tcpConnectionsTo(samples, 'PassthroughCluster')).toEqual({ opened: 0, closed: 0 });
  });
  test('escaped quotes in label values', () => {
    expect(parsePrometheus('m{a="x\\"y"} 3')[0]).toEqual({ name: 'm', labels: { a: 'x"y' }, value: 3 });
  });
});

describe('Envoy clusters page (per-host counters)', () => {
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
  test('per-host lines are parsed; cluster-level lines are not hosts', () => {
    const stats = parseClusterHostStats(page);
    expect(stats.map((s) => `${s.host} ${s.stat}`)).toEqual([
      '172.18.0.5:6379 cx_active', '172.18.0.5:6379 cx_total', '172.18.0.5:6379 health_flags', '10.244.0.9:8443 cx_total',
    ]);
  });
  test('connections through a named cluster to one endpoint', () => {
    const stats = parseClusterHostStats(page);
    expect(upstreamConnections(stats, 'outbound|6379||redis.memorystore.internal', '172.18.0.5:6379')).toBe(2);
    expect(upstreamConnections(stats, /egressgateway/, '10.244.0.9:8443')).toBe(5);
    expect(upstreamConnections(stats, 'outbound|6379||redis.memorystore.internal', '172.18.0.6:6379')).toBe(0);
  });
  test('the cluster name the scenario expects comes from the ServiceEntry fixture', () => {
    const se = render('fixtures/redis-serviceentry.yaml', { REDIS_IP: '1.2.3.4', REDIS_PORT: 6379 })[0] as unknown as { spec: { hosts: string[] } };
    expect(se.spec.hosts).toEqual([SERVICE_ENTRY_HOST]);
    expect(serviceEntryCluster({ host: '1.2.3.4', port: 6379 })).toBe('outbound|6379||redis.memorystore.internal');
  });
});

// The sidecar and readiness predicates and exit codes of an exec Status are kube.ts's, tested in
// kube-decisions.test.ts (this file does not load kube.ts: @kubernetes/client-node takes half a second to import).
describe('probe output', () => {
  test('the probe\'s JSON line is read; anything else is quoted in the error', () => {
    expect(parseProbeOutput('{"outcome":"closed","host":"10.0.0.1","port":6379,"phase":"reply","elapsedMs":3}\n').outcome).toBe('closed');
    expect(() => parseProbeOutput('sh: node: not found', '')).toThrow(/the probe printed no result: stdout="sh: node: not found"/);
  });
});

describe('polling', () => {
  test('returns with how long it took and how many attempts', async () => {
    let n = 0;
    const r = await pollTimed('n to reach 3', 5000, async () => (++n >= 3 ? n : undefined), undefined, { intervalMs: 10 });
    expect(r.value).toBe(3);
    expect(r.attempts).toBe(3);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(15);
  });
  test('consecutive successes: a flap restarts the count', async () => {
    const seq = [true, false, true, true, true];
    let i = 0;
    const r = await pollTimed('3 in a row', 5000, async () => (seq[i++] ? i : undefined), undefined, { intervalMs: 5, consecutive: 3 });
    expect(r.value).toBe(5);
  });
  test('times out naming what it waited for and the last observation', async () => {
    const err = await pollTimed('Redis to answer', 50, async () => {
      throw new RetryableError('closed');
    }, undefined, { intervalMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PollTimeoutError);
    expect((err as Error).message).toMatch(/^timed out after 50ms waiting for Redis to answer; last seen: closed$/);
  });
  test('a hard error stops the wait at once', async () => {
    await expect(pollTimed('x', 5000, async () => {
      throw new Error('namespace is terminating');
    })).rejects.toThrow('namespace is terminating');
  });
});

describe('cleanup', () => {
  test('undoes in reverse order, continues past failures, runs once', async () => {
    const done: string[] = [];
    const c = new Cleanup();
    c.add('cluster', async () => { done.push('cluster'); });
    c.add('redis', async () => { throw new Error('already gone'); });
    c.add('namespaces', async () => { done.push('namespaces'); });
    const problems = await c.run();
    expect(done).toEqual(['namespaces', 'cluster']);
    expect(problems).toEqual(['redis: already gone']);
    expect(await c.run()).toEqual(problems);
    expect(done).toEqual(['namespaces', 'cluster']);
  });
});

describe('README', () => {
  test('the settings table is the one the code generates (npm run docs)', () => {
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    expect(withTable(readme)).toBe(readme);
  });
  test('gives the two commands for a fresh machine', () => {
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('npm run test:self');
  });
});

describe('setup deadline', () => {
  test('after the signal is aborted no new phase starts, and the phase under way finishes', async () => {
    const deadline = new AbortController();
    const t = new Timings(deadline.signal);
    const done: string[] = [];
    const first = t.phase('cluster', async () => {
      deadline.abort(new Error('setup did not finish within SETUP_TIMEOUT (1s)'));
      done.push('cluster');
    });
    await first;
    await expect(t.phase('istio', async () => { done.push('istio'); })).rejects.toThrow(/SETUP_TIMEOUT/);
    expect(done).toEqual(['cluster']);
    expect(t.records.map((r) => [r.name, r.ok])).toEqual([['cluster', true]]);
  });
});
