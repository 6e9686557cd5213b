/**
 * The egress gateway scenario's manifests (consistent with each other and with the cart) and
 * its evidence parsers, on the output formats the proxies print. The clusters-page and access
 * log lines follow Envoy's admin format and Istio's default access log format; they were not
 * captured from a live proxy (none can run here).
 */
import { describe, expect, test } from 'vitest';
import {
  accessLogLinesTo, EGRESS_GATEWAY, egressPath, egressVerdict, parseClusterHostStats, parseTextStats, pathDelta, rbacCount,
} from '../helpers/istio.ts';
import { render, type KubeObject } from '../helpers/manifests.ts';
import { validateManifest } from '../helpers/schemas.ts';
import { SERVICE_ENTRY_HOST } from '../scenarios/chapter.ts';

const values = { REDIS_IP: '172.18.0.5', REDIS_PORT: 6379 };
// Test-only: the manifests are read as plain JSON trees.
type Any = KubeObject & { spec: any };
const routing = render('fixtures/egress-gateway.yaml', values) as Any[];
const authz = render('fixtures/egress-gateway-authz.yaml', values) as Any[];
const workshop = render('fixtures/workshop-gateway.yaml', values) as Any[];
const cart = render('fixtures/cartservice.yaml', { CART_IMAGE: 'x', REDIS_ADDR: 'x' }) as Any[];
const byKind = (list: Any[], kind: string) => list.find((o) => o.kind === kind)!;

describe('egress gateway manifests', () => {
  test.each([...routing, ...authz, ...workshop].map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))('%s matches its schema', (_n, o) => {
    expect(() => validateManifest(o)).not.toThrow();
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

describe('evidence: where the connections went', () => {
  const clusters = (lines: string[]) => parseClusterHostStats(lines.join('\n'));
  const redis = '172.18.0.5:6379';
  const gwCluster = `outbound|443|redis|${EGRESS_GATEWAY.host}`;
  test('through the gateway: the client went to the gateway, the gateway to Redis, never the client to Redis', () => {
    const before = egressPath(clusters([`${gwCluster}::10.244.0.9:8443::cx_total::1`]), clusters([`outbound|6379||${SERVICE_ENTRY_HOST}::${redis}::cx_total::1`]), redis);
    const after = egressPath(clusters([`${gwCluster}::10.244.0.9:8443::cx_total::3`]), clusters([`outbound|6379||${SERVICE_ENTRY_HOST}::${redis}::cx_total::3`]), redis);
    const d = pathDelta(before, after);
    expect(d).toEqual({ direct: 0, toGateway: 2, gatewayToRedis: 2 });
    expect(egressVerdict(d)).toBe('through-gateway');
  });
  test('bypassed: the client connected to Redis itself (the workshop\'s ORIGINAL_DST cluster), the gateway did not', () => {
    const d = egressPath(clusters([`outbound|6379||redis.domain::${redis}::cx_total::2`]), clusters([]), redis);
    expect(egressVerdict(d)).toBe('bypassed');
  });
  test('both paths, or none: inconclusive, never a pass', () => {
    expect(egressVerdict({ direct: 1, toGateway: 1, gatewayToRedis: 1 })).toBe('inconclusive');
    expect(egressVerdict({ direct: 0, toGateway: 0, gatewayToRedis: 0 })).toBe('inconclusive');
    expect(egressVerdict({ direct: 0, toGateway: 2, gatewayToRedis: 0 })).toBe('inconclusive');
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
