/**
 * Every manifest the scenarios apply, rendered as at run time and validated against the real
 * Kubernetes and Istio schemas; and the facts the chapter depends on, checked in them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { describeObject, MissingValueError, placeholders, render, ROOT_DIR, type KubeObject } from '../helpers/manifests.ts';
import { probeScript } from '../helpers/probe.ts';
import { Gateway as GatewayModel } from '@kubernetes-models/istio/networking.istio.io/v1';
import { validateManifest } from '../helpers/schemas.ts';
import { UnknownFieldsError, unknownFields } from '../helpers/strict-fields.ts';
import { loadSettings } from '../helpers/settings.ts';
import { allSteps, egressSteps, renderUse } from '../scenarios/chapter.ts';

const settings = loadSettings({});
const REDIS_IP = '172.18.0.5'; // a typical address on kind's Docker network

const applied = allSteps(settings).flatMap((step) =>
  step.manifests
    .filter((m) => m.action === 'apply' || m.action === 'istioctl install -f')
    .flatMap((m) => renderUse(m, settings, { host: REDIS_IP, port: 6379 }, 'apply').map((o) => ({ step: step.id, file: m.file, o }))));

function find(kind: string, name: string, namespace?: string): KubeObject {
  const hit = applied.find(({ o }) => o.kind === kind && o.metadata.name === name && (!namespace || o.metadata.namespace === namespace));
  if (!hit) throw new Error(`no ${kind} ${name} among the applied manifests`);
  return hit.o;
}

describe('every applied manifest matches its schema', () => {
  test('there are manifests to check', () => {
    expect(applied.length).toBeGreaterThanOrEqual(10);
  });
  test.each(applied.map(({ step, file, o }) => [`${step}: ${file}: ${describeObject(o)}`, o] as const))('%s', (_name, o) => {
    expect(() => validateManifest(o)).not.toThrow();
  });
});

describe('the validation discriminates', () => {
  const se = find('ServiceEntry', 'redis-memorystore');
  test('a ServiceEntry port without a number is rejected', () => {
    const broken = structuredClone(se) as KubeObject & { spec: { ports: Record<string, unknown>[] } };
    delete broken.spec.ports[0]!.number;
    expect(() => validateManifest(broken)).toThrow(/ServiceEntry redis-memorystore does not match/);
  });
  test('an unknown resolution is rejected', () => {
    const broken = structuredClone(se) as KubeObject & { spec: Record<string, unknown> };
    broken.spec.resolution = 'MAGIC';
    expect(() => validateManifest(broken)).toThrow();
  });
  test('a Deployment whose container has no image name type is rejected', () => {
    const d = structuredClone(find('Deployment', 'cartservice')) as KubeObject & { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    d.spec.template.spec.containers[0]!.ports = 'grpc';
    expect(() => validateManifest(d)).toThrow();
  });
});

describe('what the chapter depends on, in the manifests', () => {
  test('ServiceEntry: least access to exactly the Redis IP and port, declared outside the mesh', () => {
    expect(find('ServiceEntry', 'redis-memorystore')).toMatchObject({
      apiVersion: 'networking.istio.io/v1',
      metadata: { namespace: 'egress-verify-mesh' },
      spec: {
        addresses: [`${REDIS_IP}/32`],
        ports: [{ number: 6379, name: 'tcp-redis', protocol: 'TCP' }],
        location: 'MESH_EXTERNAL',
        resolution: 'STATIC',
        endpoints: [{ address: REDIS_IP }],
        exportTo: ['.'],
      },
    });
  });

  test('the cart gets the external Redis as REDIS_ADDR, with upstream\'s image, probes and security context', () => {
    const d = find('Deployment', 'cartservice') as KubeObject & { spec: { template: { spec: { serviceAccountName: string; containers: { name: string; image: string; env: { name: string; value: string }[]; readinessProbe: unknown; securityContext: unknown }[] } } } };
    const c = d.spec.template.spec.containers[0]!;
    expect(c.env).toContainEqual({ name: 'REDIS_ADDR', value: `${REDIS_IP}:6379` });
    expect(c.image).toBe(settings.cartImage);
    expect(c.readinessProbe).toMatchObject({ grpc: { port: 7070 } });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(d.spec.template.spec.serviceAccountName).toBe('cartservice');
    expect(find('Service', 'cartservice')).toMatchObject({ spec: { ports: [{ name: 'grpc', port: 7070 }] } });
  });

  test('injection on in the mesh namespace, off outside', () => {
    expect(find('Namespace', 'egress-verify-mesh').metadata.labels).toMatchObject({ 'istio-injection': 'enabled' });
    expect(find('Namespace', 'egress-verify-outside').metadata.labels).toMatchObject({ 'istio-injection': 'disabled' });
  });

  test('a probe in each namespace, carrying the very probe script', () => {
    for (const ns of ['egress-verify-mesh', 'egress-verify-outside']) {
      const cm = find('ConfigMap', 'reachability-probe', ns) as KubeObject & { data: Record<string, string> };
      expect(cm.data['probe.mjs']).toBe(probeScript());
      expect(find('Deployment', 'probe', ns)).toMatchObject({ spec: { template: { spec: { containers: [{ image: settings.probeImage }] } } } });
    }
  });

  test('Istio is installed REGISTRY_ONLY, with access logs and the egress gateway', () => {
    const op = applied.find(({ o }) => o.kind === 'IstioOperator')!.o as KubeObject & { spec: Record<string, unknown> };
    expect(op.spec).toMatchObject({
      meshConfig: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' }, accessLogFile: '/dev/stdout' },
      components: { egressGateways: [{ name: 'istio-egressgateway', enabled: true }] },
    });
  });

  test('removing the ServiceEntry deletes exactly what was applied', () => {
    const del = egressSteps.removed.manifests[0]!;
    const add = egressSteps.serviceEntry.manifests[0]!;
    expect(del.file).toBe(add.file);
    expect(del.action).toBe('delete');
  });

  test('kind-config.yaml is a minimal v1alpha4 Cluster', () => {
    const cfg = parse(readFileSync(join(ROOT_DIR, 'kind-config.yaml'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', nodes: [{ role: 'control-plane' }] });
    // kind decodes strictly: only fields it knows (pkg/apis/config/v1alpha4/types.go).
    expect(Object.keys(cfg).sort()).toEqual(['apiVersion', 'kind', 'networking', 'nodes']);
  });
});

describe('rendering', () => {
  test('a value known only at run time is a placeholder in the plan, and refused when applying', () => {
    const planned = render('fixtures/redis-serviceentry.yaml', { REDIS_PORT: 6379 }, 'plan');
    expect(planned[0]).toMatchObject({ spec: { addresses: ['<REDIS_IP>/32'], endpoints: [{ address: '<REDIS_IP>' }] } });
    expect(() => render('fixtures/redis-serviceentry.yaml', { REDIS_PORT: 6379 })).toThrow(MissingValueError);
    expect(() => render('fixtures/redis-serviceentry.yaml', { REDIS_PORT: 6379 })).toThrow(/fixtures\/redis-serviceentry\.yaml: no value for \$\{REDIS_IP\}/);
  });
  test('a whole-value placeholder keeps its type', () => {
    const [se] = render('fixtures/redis-serviceentry.yaml', { REDIS_PORT: 6379, REDIS_IP: '10.0.0.3' });
    expect((se as KubeObject & { spec: { ports: { number: unknown }[] } }).spec.ports[0]!.number).toBe(6379);
  });
  test('placeholders are listed per file', () => {
    expect(placeholders('fixtures/redis-serviceentry.yaml')).toEqual(['REDIS_IP', 'REDIS_PORT']);
    expect(placeholders('fixtures/cartservice.yaml')).toEqual(['CART_IMAGE', 'REDIS_ADDR']);
  });
});

describe('unknown fields are refused offline, as the API server refuses them', () => {
  // Test-only: the manifests are edited as plain JSON trees.
  type Tree = KubeObject & { spec: any };
  const workshopGateway = () => structuredClone(render('fixtures/workshop-gateway.yaml', { REDIS_IP, REDIS_PORT: 6379 }).find((o) => o.kind === 'Gateway')!) as Tree;

  test('the workshop\'s Gateway with servers[].addresses: the @kubernetes-models validator alone lets it through; the suite refuses it, naming the path', () => {
    const gw = workshopGateway();
    gw.spec.servers[0].addresses = [REDIS_IP];
    // What the schemas' own validator says (no complaint), the gap this check closes:
    expect(() => new (GatewayModel as unknown as new (d: unknown) => { validate(): void })(gw).validate()).not.toThrow();
    expect(unknownFields(gw)).toEqual(['spec.servers[0].addresses']);
    expect(() => validateManifest(gw)).toThrow(UnknownFieldsError);
    expect(() => validateManifest(gw)).toThrow(/Gateway egress-verify-mesh\/istio-egressgateway \(networking\.istio\.io\/v1\) has a field its schema does not declare: spec\.servers\[0\]\.addresses/);
  });

  test('unknown fields anywhere: top level, nested in lists, in built-in kinds; all named', () => {
    const d = structuredClone(find('Deployment', 'cartservice')) as Tree;
    d.spec.template.spec.containers[0].imagePullPolice = 'Always';
    d.spec.replica = 2;
    d.extra = true;
    expect(unknownFields(d).sort()).toEqual(['extra', 'spec.replica', 'spec.template.spec.containers[0].imagePullPolice']);
    const ap = structuredClone(render('fixtures/egress-gateway-authz.yaml', {})[0]!) as Tree;
    ap.spec.rules[0].from[0].source.principal = ['x'];
    expect(unknownFields(ap)).toEqual(['spec.rules[0].from[0].source.principal']);
    const se = structuredClone(find('ServiceEntry', 'redis-memorystore')) as Tree;
    se.spec.endpoints[0].addres = REDIS_IP;
    expect(unknownFields(se)).toEqual(['spec.endpoints[0].addres']);
    const routing = render('fixtures/egress-gateway.yaml', { REDIS_IP, REDIS_PORT: 6379 });
    const vs = structuredClone(routing.find((o) => o.kind === 'VirtualService')!) as Tree;
    vs.spec.tcp[0].route[0].destination.subsett = 'redis';
    vs.spec.tcp[1].match[0].sourceLabel = { app: 'x' };
    expect(unknownFields(vs)).toEqual(['spec.tcp[0].route[0].destination.subsett', 'spec.tcp[1].match[0].sourceLabel']);
    const dr = structuredClone(routing.find((o) => o.kind === 'DestinationRule')!) as Tree;
    dr.spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.sniff = 'x';
    expect(unknownFields(dr)).toEqual(['spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.sniff']);
  });

  test('maps take any key: labels, annotations, selectors, ConfigMap data', () => {
    const d = structuredClone(find('Deployment', 'cartservice')) as Tree;
    d.metadata.labels = { 'app.kubernetes.io/name': 'cart', anything: 'goes' };
    d.metadata.annotations = { 'sidecar.istio.io/inject': 'true' };
    d.spec.template.metadata.labels['some.example/key'] = 'v';
    expect(unknownFields(d)).toEqual([]);
    const cm = structuredClone(find('ConfigMap', 'reachability-probe', 'egress-verify-mesh')) as Tree;
    (cm as unknown as { data: Record<string, string> }).data['another-file.txt'] = 'x';
    expect(unknownFields(cm)).toEqual([]);
  });

  test('a kind without declarations is an error that says which apiVersions are known', () => {
    expect(() => unknownFields({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } })).toThrow(/no declarations known for example\.com\/v1 Thing; known apiVersions: v1, apps\/v1/);
  });
});
