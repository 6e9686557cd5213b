/**
 * helpers/run/manifests.ts and the manifests themselves: every manifest the scenarios apply,
 * rendered as at run time and validated against the real Kubernetes and Istio schemas; the facts
 * the chapter depends on, checked in them; and the renderer at its edges: broken YAML, empty
 * documents, missing values, placeholders inside and as whole values.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, test, vi } from 'vitest';
import { MUTATION_RUN } from '../plumbing/mutation-run.ts';
import { describeObject, MissingValueError, placeholders, render, ROOT_DIR, type KubeObject } from '../../helpers/run/manifests.ts';
import { probeScript } from '../../helpers/external/probe.ts';
import { HOST_MINIMUM } from '../../helpers/cluster/host.ts';
import { UnknownFieldsError, unknownFields } from '../../helpers/run/strict-fields.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { allSteps, egressSteps, MESH_NS, renderUse } from '../../scenarios/chapter.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

// The schemas (every Kubernetes and Istio model, about a second to import) load in the tests that
// validate, not with the file: a mutation run re-imports this file for every mutant it covers.
const schemas = () => import('../../helpers/run/schemas.ts');
// That import (a second, more on a loaded machine) is too close to a mutation run's 2 s per test
// (vitest.mutation.config.ts): these tests keep 5 s there.
if (MUTATION_RUN) vi.setConfig({ testTimeout: 5_000 });

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
  test.each(applied.map(({ step, file, o }) => [`${step}: ${file}: ${describeObject(o)}`, o] as const))('%s', async (_name, o) => {
    const { validateManifest } = await schemas();
    expect(() => validateManifest(o)).not.toThrow();
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
  test('placeholders are listed per file', () => {
    expect(placeholders('fixtures/redis-serviceentry.yaml')).toEqual(['REDIS_IP', 'REDIS_PORT']);
    expect(placeholders('fixtures/cartservice.yaml')).toEqual(['CART_IMAGE', 'REDIS_ADDR']);
  });
});

describe('manifest renderer at its edges', () => {
  const dir = tempFolder('manifests');
  const write = async (name: string, text: string) => {
    await writeFile(join(dir.path, name), text);
    return relative(ROOT_DIR, join(dir.path, name));
  };

  test('broken YAML is an error naming the file, not an empty or partial list', async () => {
    const file = await write('broken.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x\n');
    expect(() => render(file, {})).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    const second = await write('second-broken.yaml', 'apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\nkind: [\n');
    expect(() => render(second, {})).toThrow(/second-broken\.yaml: /);
  });

  test('empty documents are skipped; values keep their types when they are whole placeholders', async () => {
    const file = await write('typed.yaml', [
      '---', '# only a comment', '---',
      'apiVersion: v1', 'kind: T', 'metadata: { name: "n-${N}" }',
      'port: ${PORT}', 'portText: "p${PORT}"', 'list:', '  - ${PORT}', '  - "${NAME}"', '  - plain', 'flag: true', 'count: 3', 'none: null', 'lower: ${lower}',
      '---', '',
    ].join('\n'));
    expect(render(file, { N: 1, PORT: 6379, NAME: 'x' })).toEqual([{
      apiVersion: 'v1', kind: 'T', metadata: { name: 'n-1' },
      port: 6379, portText: 'p6379', list: [6379, 'x', 'plain'], flag: true, count: 3, none: null, lower: '${lower}',
    }]);
  });

  test('a missing value: an error naming the file and the placeholder; in the plan it is <NAME>', async () => {
    const file = await write('missing.yaml', 'kind: T\nmetadata: { name: n }\naddr: "${IP}:${PORT}"\nip: ${IP}\n');
    expect(() => render(file, { PORT: 1 })).toThrow(new MissingValueError(`${file}: no value for \${IP}`));
    expect(render(file, { PORT: 1 }, 'plan')[0]).toMatchObject({ addr: '<IP>:1', ip: '<IP>' });
  });

  test('placeholders: in order of first use, once each, commented lines left out', async () => {
    const file = await write('ph.yaml', '# ${COMMENTED}\na: ${B}\nb: "${A}-${B}"\n  # ${ALSO_COMMENTED}\nc: x # ${TRAILING}\n');
    expect(placeholders(file)).toEqual(['B', 'A', 'TRAILING']);
  });

  test('objects are described with their namespace when they have one', () => {
    expect(describeObject({ apiVersion: 'v1', kind: 'ServiceEntry', metadata: { name: 'redis', namespace: MESH_NS } })).toBe(`ServiceEntry ${MESH_NS}/redis`);
    expect(describeObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: MESH_NS } })).toBe(`Namespace ${MESH_NS}`);
  });
});

describe('the mesh fits the host minimum (helpers/cluster/host.ts, HOST_MINIMUM)', () => {
  type Requests = { cpu: string; memory: string };
  type Op = KubeObject & { spec: { components: { pilot: { k8s: { resources: { requests: Requests } } }; egressGateways: { k8s: { resources: { requests: Requests } } }[] } } };
  const op = () => structuredClone(applied.find(({ o }) => o.kind === 'IstioOperator')!.o) as Op;
  const millis = (cpu: string) => (cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000);

  test('istiod and the egress gateway ask less than their charts (500m/2048Mi, 100m/128Mi)', () => {
    const spec = op().spec.components;
    expect(spec.pilot.k8s.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(spec.egressGateways[0]!.k8s.resources.requests).toEqual({ cpu: '50m', memory: '128Mi' });
  });

  // The IstioOperator CRD preserves unknown fields, so the offline schema checks nothing under
  // spec; istioctl decodes the file into these Go types (json tags of istio/istio 1.30
  // operator/pkg/apis/types.go). Each key the file uses must be one of them.
  const KNOWN: Record<string, readonly string[]> = {
    spec: ['profile', 'installPackagePath', 'hub', 'tag', 'namespace', 'revision', 'compatibilityVersion', 'meshConfig', 'components', 'values', 'unvalidatedValues'],
    components: ['base', 'pilot', 'cni', 'ztunnel', 'istiodRemote', 'ingressGateways', 'egressGateways', 'gateway'],
    component: ['enabled', 'namespace', 'hub', 'tag', 'k8s', 'name', 'label'],
    k8s: ['affinity', 'env', 'hpaSpec', 'imagePullPolicy', 'nodeSelector', 'podDisruptionBudget', 'podAnnotations', 'priorityClassName', 'readinessProbe', 'replicaCount', 'resources', 'service', 'strategy', 'tolerations', 'serviceAnnotations', 'securityContext', 'volumes', 'volumeMounts', 'overlays'],
    // corev1.ResourceRequirements
    resources: ['limits', 'requests', 'claims'],
  };
  function unknownKeys(spec: Record<string, unknown>): string[] {
    const out: string[] = [];
    const check = (path: string, o: unknown, known: readonly string[]) => {
      for (const k of Object.keys((o ?? {}) as object)) if (!known.includes(k)) out.push(`${path}.${k}`);
    };
    check('spec', spec, KNOWN.spec!);
    const components = (spec.components ?? {}) as Record<string, unknown>;
    check('spec.components', components, KNOWN.components!);
    for (const [name, c] of Object.entries(components)) {
      for (const [i, one] of (Array.isArray(c) ? c : [c]).entries()) {
        const at = `spec.components.${name}${Array.isArray(c) ? `[${i}]` : ''}`;
        check(at, one, KNOWN.component!);
        const k8s = (one as { k8s?: Record<string, unknown> }).k8s;
        check(`${at}.k8s`, k8s, KNOWN.k8s!);
        check(`${at}.k8s.resources`, k8s?.resources, KNOWN.resources!);
      }
    }
    return out;
  }

  test('the file uses only fields of istioctl\'s IstioOperator types; a misspelt one is caught', () => {
    expect(unknownKeys(op().spec)).toEqual([]);
    const broken = op() as unknown as { spec: { components: { pilot: { k8s: Record<string, unknown> } } } };
    broken.spec.components.pilot.k8s.resource = broken.spec.components.pilot.k8s.resources;
    (broken.spec.components as Record<string, unknown>).egressGateway = [];
    expect(unknownKeys(broken.spec as unknown as Record<string, unknown>)).toEqual(['spec.components.egressGateway', 'spec.components.pilot.k8s.resource']);
  });

  test('every CPU request on the one node fits in HOST_MINIMUM.cpus', () => {
    // kind's control plane: kube-apiserver 250m, controller-manager 200m, scheduler 100m, etcd
    // 100m (kubeadm static pods), CoreDNS 2 x 100m, kindnet 100m. Sidecars: 100m each (the
    // istio-discovery chart's global.proxy.resources), in the cart's pod and the mesh probe's.
    const controlPlane = 950;
    const sidecars = 2 * 100;
    const spec = op().spec.components;
    const cpu = (kind: string, name: string, ns?: string) => millis((find(kind, name, ns) as KubeObject & { spec: { template: { spec: { containers: { resources: { requests: Requests } }[] } } } }).spec.template.spec.containers[0]!.resources.requests.cpu);
    const total = controlPlane + sidecars
      + millis(spec.pilot.k8s.resources.requests.cpu) + millis(spec.egressGateways[0]!.k8s.resources.requests.cpu)
      + cpu('Deployment', 'cartservice') + cpu('Deployment', 'probe', 'egress-verify-mesh') + cpu('Deployment', 'probe', 'egress-verify-outside');
    expect(total).toBeLessThanOrEqual(HOST_MINIMUM.cpus * 1000);
    // With istiod's chart default (500m) it would not fit: the reason the requests are lowered.
    expect(total - millis(spec.pilot.k8s.resources.requests.cpu) + 500).toBeGreaterThan(HOST_MINIMUM.cpus * 1000 - 100);
  });
});

describe('unknown fields are refused offline, as the API server refuses them', () => {
  // Test-only: the manifests are edited as plain JSON trees.
  type Tree = KubeObject & { spec: any };
  const workshopGateway = () => structuredClone(render('fixtures/workshop-gateway.yaml', { REDIS_IP, REDIS_PORT: 6379 }).find((o) => o.kind === 'Gateway')!) as Tree;

  test('the workshop\'s Gateway with servers[].addresses: the @kubernetes-models validator alone lets it through; the suite refuses it, naming the path', async () => {
    const { validateManifest } = await schemas();
    const { Gateway: GatewayModel } = await import('@kubernetes-models/istio/networking.istio.io/v1/Gateway');
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
