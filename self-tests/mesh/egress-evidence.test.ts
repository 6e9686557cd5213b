/**
 * The egress gateway scenario's manifests (consistent with each other and with the cart) and
 * its evidence parsers, on the output formats the proxies print. The clusters-page and access
 * log lines follow Envoy's admin format and Istio's default access log format; they were not
 * captured from a live proxy (none can run here).
 */
import { describe, expect, test, vi } from 'vitest';
import { MUTATION_RUN } from '../plumbing/mutation-run.ts';
import { accessLogLinesTo, clusterNames, parseClusterHostStats, parseClustersPage, parseTextStats, rbacCount, routingNotLanded } from '../../helpers/mesh/envoy-admin.ts';
import { counterIncrease, EGRESS_GATEWAY, type EgressEvidence, egressEvidence, egressVerdict, hostValues, type ProxyReads } from '../../helpers/mesh/egress-evidence.ts';
import { render, type KubeObject } from '../../helpers/run/manifests.ts';
// Imported here so that it loads with the file, as in the other files that test it (a module first
// loaded inside a test would count its import-time code as covered by that test in a mutation run).
import '../../helpers/run/strict-fields.ts';
import {
  GATEWAY_SUBSET, outboundCluster, SERVICE_ENTRY_HOST, serviceEntryCluster, WORKSHOP_SERVICE_ENTRY_HOST,
} from '../../scenarios/chapter.ts';

// The schemas (every Kubernetes and Istio model, about a second to import) load in the test that
// validates, not with the file: a mutation run re-imports this file for every mutant it covers.
const schemas = () => import('../../helpers/run/schemas.ts');
// That import (a second, more on a loaded machine) is too close to a mutation run's 2 s per test
// (vitest.mutation.config.ts): these tests keep 5 s there.
if (MUTATION_RUN) vi.setConfig({ testTimeout: 5_000 });

const values = { REDIS_IP: '172.18.0.5', REDIS_PORT: 6379 };
// Test-only: the manifests are read as plain JSON trees.
type Any = KubeObject & { spec: any };
const routing = render('fixtures/egress-gateway.yaml', values) as Any[];
const authz = render('fixtures/egress-gateway-authz.yaml', values) as Any[];
const workshop = render('fixtures/workshop-gateway.yaml', values) as Any[];
const cart = render('fixtures/cartservice.yaml', { CART_IMAGE: 'x', REDIS_ADDR: 'x' }) as Any[];
const byKind = (list: Any[], kind: string) => list.find((o) => o.kind === kind)!;

describe('egress gateway manifests', () => {
  test.each([...routing, ...authz, ...workshop].map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))('%s matches its schema', async (_n, o) => {
    const { validateManifest } = await schemas();
    expect(() => validateManifest(o)).not.toThrow();
  });

  test('the routing is applied before the ServiceEntry, so that istiod cannot push the ServiceEntry alone (issue 24)', () => {
    expect(routing.map((o) => o.kind)).toEqual(['Gateway', 'DestinationRule', 'VirtualService', 'ServiceEntry']);
  });

  test('the mesh leg sends the Redis IP:port to the gateway subset on 443; the gateway leg sends 443 to Redis', () => {
    const vs = byKind(routing, 'VirtualService');
    const gw = byKind(routing, 'Gateway');
    const dr = byKind(routing, 'DestinationRule');
    expect(vs.spec.gateways).toEqual(['mesh', gw.metadata.name]);
    expect(vs.spec.tcp[0]).toEqual({
      match: [{ gateways: ['mesh'], destinationSubnets: ['172.18.0.5/32'], port: 6379 }],
      route: [{ destination: { host: EGRESS_GATEWAY.host, subset: dr.spec.subsets[0].name, port: { number: 443 } } }],
    });
    expect(vs.spec.tcp[1]).toEqual({
      match: [{ gateways: [gw.metadata.name], port: 443 }],
      route: [{ destination: { host: SERVICE_ENTRY_HOST, port: { number: 6379 } } }],
    });
    expect(gw.spec).toMatchObject({ selector: { istio: 'egressgateway' }, servers: [{ port: { number: 443, protocol: 'TLS' }, hosts: [SERVICE_ENTRY_HOST], tls: { mode: 'ISTIO_MUTUAL' } }] });
    expect(dr.spec.host).toBe(EGRESS_GATEWAY.host);
    expect(dr.spec.subsets[0].trafficPolicy.portLevelSettings[0]).toEqual({ port: { number: 443 }, tls: { mode: 'ISTIO_MUTUAL', sni: SERVICE_ENTRY_HOST } });
  });

  test('the ServiceEntry is visible to the gateway\'s namespace too', () => {
    expect(byKind(routing, 'ServiceEntry').spec.exportTo).toEqual(['.', 'istio-system']);
  });

  test('the AuthorizationPolicy names exactly the cart\'s identity and the gateway\'s container port', () => {
    const ap = byKind(authz, 'AuthorizationPolicy');
    const deployment = byKind(cart, 'Deployment');
    const sa = deployment.spec.template.spec.serviceAccountName;
    expect(ap.metadata.namespace).toBe('istio-system');
    expect(ap.spec).toEqual({
      selector: { matchLabels: { istio: 'egressgateway' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: [`cluster.local/ns/${deployment.metadata.namespace}/sa/${sa}`] } }], to: [{ operation: { ports: ['8443'] } }] }],
    });
  });

  test('the workshop\'s shape has a Gateway and no VirtualService', () => {
    expect(workshop.map((o) => o.kind).sort()).toEqual(['DestinationRule', 'Gateway', 'ServiceEntry']);
  });
});

describe('evidence: where the connections went, across reads where clusters vanish and appear', () => {
  // Envoy's admin `clusters` page as it prints it (source/server/admin/clusters_handler.cc):
  // cluster-level lines, then per host its counters and gauges, then its text attributes.
  // Written here from that format; no live proxy can run on this machine.
  interface HostSample { addr: string; cxTotal: number; cxActive: number; rqTotal?: number }
  function clusterBlock(name: string, hosts: HostSample[]): string[] {
    const lines = [
      `${name}::observability_name::${name}`,
      ...['default_priority', 'high_priority'].flatMap((p) => ['max_connections', 'max_pending_requests', 'max_requests', 'max_retries']
        .map((l) => `${name}::${p}::${l}::${p === 'default_priority' ? 4294967295 : 1024}`)),
      `${name}::added_via_api::true`,
      `${name}::eds_service_name::${name}`,
    ];
    for (const h of hosts) {
      lines.push(
        `${name}::${h.addr}::cx_active::${h.cxActive}`,
        `${name}::${h.addr}::cx_connect_fail::0`,
        `${name}::${h.addr}::cx_total::${h.cxTotal}`,
        `${name}::${h.addr}::rq_active::0`,
        `${name}::${h.addr}::rq_error::0`,
        `${name}::${h.addr}::rq_success::0`,
        `${name}::${h.addr}::rq_timeout::0`,
        `${name}::${h.addr}::rq_total::${h.rqTotal ?? 0}`,
        `${name}::${h.addr}::hostname::`,
        `${name}::${h.addr}::health_flags::healthy`,
        `${name}::${h.addr}::weight::1`,
        `${name}::${h.addr}::region::`,
        `${name}::${h.addr}::zone::`,
        `${name}::${h.addr}::sub_zone::`,
        `${name}::${h.addr}::canary::false`,
        `${name}::${h.addr}::priority::0`,
        `${name}::${h.addr}::success_rate::-1`,
        `${name}::${h.addr}::local_origin_success_rate::-1`,
      );
    }
    return lines;
  }
  const page = (...blocks: string[][]) => [...blocks.flat(), ''].join('\n');
  const hosts = (text: string) => parseClusterHostStats(text);

  const redisIp = { host: '172.18.0.5', port: 6379 };
  const redis = '172.18.0.5:6379';
  const gwPod = '10.244.0.9:8443';
  const seCluster = serviceEntryCluster(redisIp); // outbound|6379||redis.memorystore.internal
  const subsetCluster = outboundCluster(443, EGRESS_GATEWAY.host, GATEWAY_SUBSET); // outbound|443|redis|istio-egressgateway...
  const gwServiceCluster = outboundCluster(443, EGRESS_GATEWAY.host); // always there: the gateway is a Service
  const workshopCluster = outboundCluster(6379, WORKSHOP_SERVICE_ENTRY_HOST); // ORIGINAL_DST (resolution NONE)
  // Clusters every sidecar and gateway lists whatever the routing.
  const common = [
    ...clusterBlock('BlackHoleCluster', []),
    ...clusterBlock('PassthroughCluster', []),
    ...clusterBlock('prometheus_stats', [{ addr: '127.0.0.1:15000', cxTotal: 40, cxActive: 1, rqTotal: 80 }]),
    ...clusterBlock('xds-grpc', [{ addr: '10.96.0.20:15012', cxTotal: 1, cxActive: 1, rqTotal: 1 }]),
  ];
  const reads = (client: string, gateway: string): ProxyReads => ({ client: hosts(client), gateway: hosts(gateway) });

  test('the cluster names come from the page itself, also for a cluster without hosts yet', () => {
    const names = clusterNames(page(common, clusterBlock(workshopCluster, []), clusterBlock(seCluster, [{ addr: redis, cxTotal: 2, cxActive: 1 }])));
    expect([...names].sort()).toEqual(['BlackHoleCluster', 'PassthroughCluster', 'outbound|6379||redis.domain', seCluster, 'prometheus_stats', 'xds-grpc'].sort());
    // Host attribute lines (hostname::<empty>, health_flags, ...) are not numbers: only cx_* are read.
    expect([...hostValues(hosts(page(clusterBlock(seCluster, [{ addr: redis, cxTotal: 2, cxActive: 1, rqTotal: 9 }]))), 'cx_total').values()])
      .toEqual([{ cluster: seCluster, host: redis, value: 2 }]);
  });

  test('routing landed: old clusters gone, new ones listed; what is still wrong is named', () => {
    const old = parseClustersPage(page(common, clusterBlock(subsetCluster, [{ addr: gwPod, cxTotal: 3, cxActive: 1 }]), clusterBlock(seCluster, [])));
    const fresh = parseClustersPage(page(common, clusterBlock(gwServiceCluster, [{ addr: gwPod, cxTotal: 0, cxActive: 0 }]), clusterBlock(workshopCluster, [])));
    const want = { gone: [subsetCluster, seCluster], present: [workshopCluster] };
    expect(routingNotLanded(old, want)).toEqual([`still listed: ${subsetCluster}`, `still listed: ${seCluster}`, `not listed yet: ${workshopCluster}`]);
    expect(routingNotLanded(fresh, want)).toEqual([]);
  });

  test('per-key increase: a vanished cluster is left out, an appeared one counts from 0, a restarted one counts from 0', () => {
    const before = hostValues(hosts(page(
      clusterBlock(subsetCluster, [{ addr: gwPod, cxTotal: 7, cxActive: 1 }]),
      clusterBlock(seCluster, [{ addr: redis, cxTotal: 5, cxActive: 0 }]),
    )), 'cx_total');
    const after = hostValues(hosts(page(
      clusterBlock(workshopCluster, [{ addr: redis, cxTotal: 1, cxActive: 1 }]),
      clusterBlock(seCluster, [{ addr: redis, cxTotal: 2, cxActive: 0 }]),
    )), 'cx_total');
    const inc = counterIncrease(before, after);
    expect(Object.fromEntries([...inc].map(([k, v]) => [k, v.value]))).toEqual({
      [`${workshopCluster}::${redis}`]: 1, // appeared: from 0
      [`${seCluster}::${redis}`]: 2, // 5 -> 2: the cluster was re-created, its counter restarted
    });
    for (const v of inc.values()) expect(v.value).toBeGreaterThanOrEqual(0);
  });

  test('bypass: the gateway routing is deleted between the reads (its clusters vanish) and the cart reconnects directly', () => {
    // Before: the cart's old connection through the gateway subset; the gateway's to Redis.
    // After: those clusters are gone (deleted config), the workshop's ORIGINAL_DST cluster
    // lists the Redis endpoint the cart connected to directly.
    const before = reads(
      page(common, clusterBlock(gwServiceCluster, [{ addr: gwPod, cxTotal: 0, cxActive: 0 }]), clusterBlock(subsetCluster, [{ addr: gwPod, cxTotal: 7, cxActive: 1 }])),
      page(common, clusterBlock(seCluster, [{ addr: redis, cxTotal: 7, cxActive: 1 }])),
    );
    const after = reads(
      page(common, clusterBlock(gwServiceCluster, [{ addr: gwPod, cxTotal: 0, cxActive: 0 }]), clusterBlock(workshopCluster, [{ addr: redis, cxTotal: 2, cxActive: 1 }])),
      page(common, clusterBlock(workshopCluster, [])),
    );
    const e = egressEvidence(before, after, redis);
    // Summed per read and subtracted, the vanished clusters gave toGateway = gatewayToRedis = -7.
    // Two direct connections were opened (cx_total, appeared from 0), one is open (cx_active).
    expect(e).toEqual({ opened: { direct: 2, toGateway: 0, gatewayToRedis: 0 }, open: { direct: 1, toGateway: 0, gatewayToRedis: 0 } });
    expect(egressVerdict(e)).toBe('bypassed');
  });

  test('through the gateway: the routing appears between the reads; its clusters count from 0', () => {
    const before = reads(page(common, clusterBlock(gwServiceCluster, [{ addr: gwPod, cxTotal: 0, cxActive: 0 }])), page(common));
    const after = reads(
      page(common, clusterBlock(gwServiceCluster, [{ addr: gwPod, cxTotal: 0, cxActive: 0 }]), clusterBlock(subsetCluster, [{ addr: gwPod, cxTotal: 1, cxActive: 1 }])),
      page(common, clusterBlock(seCluster, [{ addr: redis, cxTotal: 1, cxActive: 1 }])),
    );
    const e = egressEvidence(before, after, redis);
    expect(e).toEqual({ opened: { direct: 0, toGateway: 1, gatewayToRedis: 1 }, open: { direct: 0, toGateway: 1, gatewayToRedis: 1 } });
    expect(egressVerdict(e)).toBe('through-gateway');
  });

  test('through the gateway, judged by the open connection even when it was opened before the first read', () => {
    const both = reads(
      page(common, clusterBlock(subsetCluster, [{ addr: gwPod, cxTotal: 1, cxActive: 1 }])),
      page(common, clusterBlock(seCluster, [{ addr: redis, cxTotal: 3, cxActive: 1 }])),
    );
    const e = egressEvidence(both, both, redis);
    expect(e.opened).toEqual({ direct: 0, toGateway: 0, gatewayToRedis: 0 });
    expect(e.open).toEqual({ direct: 0, toGateway: 1, gatewayToRedis: 1 }); // the gauges, not the 3 connections ever opened
    expect(egressVerdict(e)).toBe('through-gateway');
  });

  test('never a pass when the evidence is mixed or missing', () => {
    const through = { direct: 0, toGateway: 1, gatewayToRedis: 1 };
    const none = { direct: 0, toGateway: 0, gatewayToRedis: 0 };
    const cases: [string, EgressEvidence][] = [
      ['no connection at all', { opened: none, open: none }],
      ['a direct connection opened and closed between the reads', { opened: { ...none, direct: 1 }, open: through }],
      ['a direct connection open besides the gateway\'s', { opened: none, open: { ...through, direct: 1 } }],
      ['to the gateway, but the gateway holds nothing to Redis', { opened: none, open: { ...none, toGateway: 1 } }],
      ['the gateway to Redis, but not from the cart', { opened: none, open: { ...none, gatewayToRedis: 1 } }],
      ['direct, while the gateway still carries a connection to Redis', { opened: { ...none, direct: 1 }, open: { ...none, direct: 1, gatewayToRedis: 1 } }],
      ['direct, and a new connection to the gateway between the reads', { opened: { ...none, direct: 1, toGateway: 1 }, open: { ...none, direct: 1 } }],
    ];
    for (const [what, e] of cases) expect(egressVerdict(e), what).toBe('inconclusive');
  });

  test('the fixtures carry the names the evidence looks for', () => {
    const dr = byKind(routing, 'DestinationRule');
    expect(dr.spec.subsets.map((x: { name: string }) => x.name)).toEqual([GATEWAY_SUBSET]);
    expect(byKind(workshop, 'ServiceEntry').spec.hosts).toEqual([WORKSHOP_SERVICE_ENTRY_HOST]);
    expect(byKind(workshop, 'ServiceEntry').spec.resolution).toBeUndefined(); // NONE: an ORIGINAL_DST cluster
  });
});

describe('evidence: the gateway\'s RBAC counters and access log', () => {
  test('Envoy text stats, allowed and denied, without shadow (dry-run) counters', () => {
    const stats = parseTextStats([
      'tcp.rbac.allowed: 4',
      'tcp.rbac.denied: 3',
      'tcp.rbac.shadow_denied: 9',
      'http.inbound_0.0.0.0_8080.rbac.denied: 1',
      'server.live: 1',
    ].join('\n'));
    expect(rbacCount(stats, 'denied')).toBe(4);
    expect(rbacCount(stats, 'allowed')).toBe(4);
  });
  test('access log lines naming the upstream cluster and host', () => {
    const line = '[2026-11-26T15:04:05.123Z] "- - -" 0 - - - "-" 120 340 5012 - "-" "-" "-" "-" "172.18.0.5:6379" '
      + `outbound|6379||${SERVICE_ENTRY_HOST} 10.244.0.9:41234 10.244.0.9:8443 10.244.0.12:52110 ${SERVICE_ENTRY_HOST} -`;
    const other = '[2026-11-26T15:04:06.000Z] "- - -" 0 UH - - "-" 0 0 0 - "-" "-" "-" "-" "-" BlackHoleCluster - 172.18.0.5:6379 10.244.0.12:52111 - -';
    const log = [line, other, ''].join('\n');
    expect(accessLogLinesTo(log, `outbound|6379||${SERVICE_ENTRY_HOST}`, '172.18.0.5:6379')).toEqual([line]);
    expect(accessLogLinesTo(log, `outbound|6379||${SERVICE_ENTRY_HOST}`, '172.18.0.6:6379')).toEqual([]);
  });
});
