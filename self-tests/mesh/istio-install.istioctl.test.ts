/**
 * Istio's own tools judge the suite's Istio files, offline: istioctl built from istio.io/istio
 * (`npm run tools:build`; the version and commit in helpers/run/pins.ts, `istioBuild`).
 * - `istioctl manifest generate -f fixtures/istio-operator.yaml`: what `istioctl install` would
 *   apply: the mesh config in REGISTRY_ONLY, istiod's and the gateway's lowered requests, the
 *   egress gateway with 443 -> 8443.
 * - `istioctl validate -f` (Istio's validation per kind) over every Istio fixture, rendered.
 * - `istioctl analyze --use-kube=false` over the routing fixtures with the rendered install's
 *   egress gateway (Service, and a Pod made from its Deployment so that selectors match).
 *   (A Gateway selector that matches no pod gave no IST0101 offline with 1.31.0, so the suite's
 *   own check stays the one for that.)
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { beforeAll, describe, expect, test } from 'vitest';
import { ISTIO_OPERATOR_FILE } from '../../helpers/mesh/istio-install.ts';
import { type KubeObject, render } from '../../helpers/run/manifests.ts';
import { istioBinDir } from '../control-plane/local-control-plane.ts';
import { needTools } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const istioctl = join(istioBinDir(), 'istioctl');
const problem = existsSync(istioctl) ? undefined : `${istioctl} is not built: run \`npm run tools:build\``;
const work = tempFolder('istioctl');
const REDIS = { REDIS_IP: '192.0.2.10', REDIS_PORT: 6379, REDIS_ADDR: '192.0.2.10:6379' };

type Doc = KubeObject & { spec?: Record<string, unknown>; data?: Record<string, string> };
let install: Doc[] = [];

beforeAll(async () => {
  if (problem) return;
  const r = await execa(istioctl, ['manifest', 'generate', '-f', ISTIO_OPERATOR_FILE], { env: { HOME: work.path, KUBECONFIG: join(work.path, 'none') } });
  install = parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc | null).filter((d): d is Doc => d !== null);
}, 120_000);

const find = (kind: string, name: string): Doc => {
  const d = install.find((o) => o.kind === kind && o.metadata.name === name);
  if (!d) throw new Error(`istioctl manifest generate rendered no ${kind} ${name}`);
  return d;
};
type Containers = { spec: { template: { spec: { containers: { name: string; resources?: { requests?: Record<string, string> } }[] } } } };

describe('istioctl manifest generate -f fixtures/istio-operator.yaml', () => {
  test('the mesh config blocks what the registry does not declare (REGISTRY_ONLY)', (ctx) => {
    needTools(ctx, problem);
    const mesh = parseYaml(find('ConfigMap', 'istio').data?.mesh ?? '') as { outboundTrafficPolicy?: { mode?: string } };
    expect(mesh.outboundTrafficPolicy?.mode).toBe('REGISTRY_ONLY');
  });

  test('istiod and the egress gateway ask for the lowered requests (a 2-CPU kind node)', (ctx) => {
    needTools(ctx, problem);
    const istiod = (find('Deployment', 'istiod') as unknown as Containers).spec.template.spec.containers.find((c) => c.name === 'discovery');
    expect(istiod?.resources?.requests).toMatchObject({ cpu: '100m', memory: '256Mi' });
    const gateway = (find('Deployment', 'istio-egressgateway') as unknown as Containers).spec.template.spec.containers.find((c) => c.name === 'istio-proxy');
    expect(gateway?.resources?.requests).toMatchObject({ cpu: '50m', memory: '128Mi' });
  });

  test('the egress gateway\'s Service maps 443 to 8443 (the port the Gateway server binds)', (ctx) => {
    needTools(ctx, problem);
    const ports = (find('Service', 'istio-egressgateway').spec as { ports: { port: number; targetPort: number }[] }).ports;
    expect(ports).toContainEqual(expect.objectContaining({ port: 443, targetPort: 8443 }));
  });
});

async function writeDocs(name: string, docs: readonly object[]): Promise<string> {
  const path = join(work.path, name);
  await writeFile(path, docs.map((d) => stringify(d)).join('---\n'));
  return path;
}

const ISTIO_FIXTURES = ['fixtures/redis-serviceentry.yaml', 'fixtures/egress-gateway.yaml', 'fixtures/egress-gateway-authz.yaml', 'fixtures/workshop-gateway.yaml'];

describe('istioctl validate: Istio\'s own validation of each Istio fixture', () => {
  for (const file of ISTIO_FIXTURES) {
    test(`${file} is valid`, async (ctx) => {
      needTools(ctx, problem);
      const path = await writeDocs(file.replace(/\W/g, '_'), render(file, REDIS));
      const r = await execa(istioctl, ['validate', '-f', path], { reject: false, env: { HOME: work.path } });
      expect(r.stderr + r.stdout).not.toMatch(/error|invalid/i);
      expect(r.exitCode).toBe(0);
    });
  }

  test('a ServiceEntry port without a name is refused, naming the field', async (ctx) => {
    needTools(ctx, problem);
    const [se] = structuredClone(render('fixtures/redis-serviceentry.yaml', REDIS)) as unknown as [{ spec: { ports: { name?: string }[] } }];
    delete se.spec.ports[0]!.name;
    const r = await execa(istioctl, ['validate', '-f', await writeDocs('unnamed-port.yaml', [se])], { reject: false, env: { HOME: work.path } });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/port name/i);
  });
});

describe('istioctl analyze --use-kube=false: the routing as the mesh would see it', () => {
  /** The rendered install's egress gateway: its Service and a Pod with its Deployment's labels. */
  function gatewayObjects(): object[] {
    const deployment = find('Deployment', 'istio-egressgateway') as unknown as { spec: { template: { metadata: { labels: Record<string, string> }; spec: object } } };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'istio-egressgateway-0', namespace: 'istio-system', labels: deployment.spec.template.metadata.labels }, spec: deployment.spec.template.spec };
    const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    return [ns('istio-system'), ns('egress-verify-mesh', { 'istio-injection': 'enabled' }), find('Service', 'istio-egressgateway'), pod];
  }

  async function analyze(name: string, docs: readonly object[]): Promise<{ exitCode: number; output: string }> {
    const r = await execa(istioctl, ['analyze', '--use-kube=false', '--all-namespaces', await writeDocs(name, docs)], { reject: false, env: { HOME: work.path } });
    return { exitCode: r.exitCode ?? -1, output: `${r.stdout}\n${r.stderr}` };
  }

  test('the egress gateway routing and its authorization: no findings', async (ctx) => {
    needTools(ctx, problem);
    const r = await analyze('routing.yaml', [...gatewayObjects(), ...render('fixtures/egress-gateway.yaml', REDIS), ...render('fixtures/egress-gateway-authz.yaml', REDIS)]);
    expect(r.output).not.toMatch(/IST\d{4}/);
    expect(r.exitCode).toBe(0);
  });

  test('a VirtualService naming a Gateway that does not exist: IST0101, exit 79', async (ctx) => {
    needTools(ctx, problem);
    const broken = structuredClone(render('fixtures/egress-gateway.yaml', REDIS)) as unknown as { kind: string; spec: { gateways?: string[] } }[];
    const vs = broken.find((o) => o.kind === 'VirtualService')!;
    vs.spec.gateways = ['mesh', 'redis-egres'];
    const r = await analyze('misspelt-gateway.yaml', [...gatewayObjects(), ...broken]);
    expect(r.output).toMatch(/IST0101.*redis-egres/);
    expect(r.exitCode).toBe(79);
  });
});
