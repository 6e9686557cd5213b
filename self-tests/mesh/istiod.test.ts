/**
 * Istio's real control plane against a real API server: istiod (pilot-discovery, built from
 * istio.io/istio) as a local process (self-tests/control-plane/local-istiod.ts) beside the local
 * control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok). The cart's pod is
 * injected by Istio's own sidecar injector, the suite's sidecar checks read that pod, Istio's
 * own validation webhook judges the ServiceEntry, and istiod's registry shows what it made of it.
 * kwok runs no containers: the injected pod is Running and Ready on paper, its proxy never starts.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kube } from '../../helpers/cluster/kube.ts';
import { ManifestRefusedError } from '../../helpers/cluster/kube-errors.ts';
import { hasIstioSidecar } from '../../helpers/cluster/kube-objects.ts';
import { probeScript } from '../../helpers/external/probe.ts';
import { type KubeObject, render } from '../../helpers/run/manifests.ts';
import { pollUntil, RetryableError } from '../../helpers/run/poll.ts';
import { LocalControlPlane, missingBinaries, type StartedControlPlane, toolsBinDir } from '../control-plane/local-control-plane.ts';
import { LOCAL_ISTIO_VERSION, LocalIstiod, missingIstioBinaries, type StartedIstiod } from '../control-plane/local-istiod.ts';
import { needTools, PROBE_IMAGE } from '../plumbing/support.ts';

const MESH_NS = 'egress-verify-mesh';
const OUTSIDE_NS = 'egress-verify-outside';
const REDIS = { REDIS_IP: '192.0.2.10', REDIS_PORT: 6379, REDIS_ADDR: '192.0.2.10:6379' };
const READY_MS = 60_000;

const namespaces = (): KubeObject[] => render('fixtures/namespaces.yaml', {});
const cartObjects = (): KubeObject[] => render('fixtures/cartservice.yaml', { ...REDIS, CART_IMAGE: 'example.invalid/cartservice:v0' });
const probeIn = (namespace: string): KubeObject[] => render('fixtures/probe.yaml', { NAMESPACE: namespace, PROBE_IMAGE, PROBE_SCRIPT: probeScript() });
const serviceEntry = (): KubeObject[] => render('fixtures/redis-serviceentry.yaml', REDIS);

let cp: StartedControlPlane | undefined;
let istiod: StartedIstiod | undefined;
let kube: Kube;
let problem: string | undefined;

beforeAll(async () => {
  problem = missingBinaries(toolsBinDir()) ?? missingIstioBinaries();
  if (problem) return;
  cp = await new LocalControlPlane().start();
  const count = await cp.installIstioCrds();
  istiod = await new LocalIstiod(cp).start();
  process.stdout.write(`${cp.describe()}; ${count} Istio CRDs installed\n${istiod.describe()}\n`);
  kube = Kube.fromFile(cp.kubeconfigPath, cp.context);
  await kube.apply(namespaces());
}, 180_000);

afterAll(async () => {
  await istiod?.stop();
  await cp?.stop();
});

/** istiod's debug endpoint as JSON (it answers plain HTTP on its http port). */
async function debug<T>(path: string): Promise<T> {
  const r = await istiod!.get(path);
  if (r.status !== 200) throw new Error(`istiod ${path}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as T;
}

/** The injector's record on the pod: which containers it added (pkg/kube/inject: SidecarInjectionStatus). */
function injectionStatus(pod: V1Pod): { containers: string[]; initContainers: string[] } | undefined {
  const text = pod.metadata?.annotations?.['sidecar.istio.io/status'];
  return text ? JSON.parse(text) as { containers: string[]; initContainers: string[] } : undefined;
}

describe('istiod as a local process', () => {
  test('it serves the mesh config of the suite\'s install, read from ConfigMap istio-system/istio: REGISTRY_ONLY', async (ctx) => {
    needTools(ctx, problem);
    const mesh = await debug<{ accessLogFile?: string; outboundTrafficPolicy?: { mode?: string } }>('/debug/mesh');
    // Set only by fixtures/istio-operator.yaml (Istio's default is none): istiod read the ConfigMap.
    expect(mesh.accessLogFile).toBe('/dev/stdout');
    // protojson leaves out an enum's zero value, and REGISTRY_ONLY is 0 (mesh/v1alpha1/config.proto);
    // Istio's default mesh has ALLOW_ANY, which would be written out.
    expect(mesh.outboundTrafficPolicy).toBeDefined();
    expect(mesh.outboundTrafficPolicy?.mode ?? 'REGISTRY_ONLY').toBe('REGISTRY_ONLY');
  });
});

describe('sidecar injection by Istio\'s injector', () => {
  test('the cart\'s pod in egress-verify-mesh is injected, and readyPod finds it with its sidecar', async (ctx) => {
    needTools(ctx, problem);
    await kube.apply(cartObjects());
    await kube.waitForDeployment(MESH_NS, 'cartservice', READY_MS);
    const pod = await kube.readyPod(MESH_NS, 'app=cartservice', true, READY_MS);
    expect(hasIstioSidecar(pod)).toBe(true);
    expect(pod.status?.podIP).toMatch(/^10\.244\./);
    expect(injectionStatus(pod)?.containers).toContain('istio-proxy');
    expect(pod.metadata?.labels?.['security.istio.io/tlsMode']).toBe('istio');
    expect(pod.metadata?.labels?.['service.istio.io/canonical-name']).toBe('cartservice');
    const proxy = [...pod.spec!.containers, ...(pod.spec!.initContainers ?? [])].find((c) => c.name === 'istio-proxy');
    expect(proxy?.image).toMatch(new RegExp(`/proxyv2:${LOCAL_ISTIO_VERSION.replaceAll('.', '\\.')}$`));
    // The cart's own container is kept as written.
    expect(pod.spec!.containers.find((c) => c.name === 'server')?.image).toBe('example.invalid/cartservice:v0');
    const native = (pod.spec!.initContainers ?? []).some((c) => c.name === 'istio-proxy');
    process.stdout.write(`injected ${pod.metadata?.name}: ${native ? 'native sidecar (init container istio-proxy, restartPolicy Always)' : 'classic sidecar (container istio-proxy)'}; `
      + `init containers ${(pod.spec!.initContainers ?? []).map((c) => c.name).join(', ')}; containers ${pod.spec!.containers.map((c) => c.name).join(', ')}\n`);
  });

  test('the same probe Deployment gets a sidecar in egress-verify-mesh and none in egress-verify-outside', async (ctx) => {
    needTools(ctx, problem);
    await kube.apply(probeIn(MESH_NS));
    await kube.apply(probeIn(OUTSIDE_NS));
    const inside = await kube.readyPod(MESH_NS, 'app=probe', true, READY_MS);
    const outside = await kube.readyPod(OUTSIDE_NS, 'app=probe', false, READY_MS);
    expect(hasIstioSidecar(inside)).toBe(true);
    expect(hasIstioSidecar(outside)).toBe(false);
    expect(injectionStatus(outside)).toBeUndefined();
    expect(outside.spec?.containers.map((c) => c.name)).toEqual(['probe']);
    expect(outside.spec?.initContainers ?? []).toEqual([]);
    // readyPod names a pod whose sidecar is not what it waits for, at once.
    await expect(kube.readyPod(OUTSIDE_NS, 'app=probe', true, READY_MS)).rejects.toThrow(/^pod egress-verify-outside\/probe-[a-z0-9-]+ has no istio-proxy sidecar/);
  });
});

describe('Istio\'s validation webhook', () => {
  const badServiceEntry = (edit: (spec: Record<string, unknown>) => void, labels?: Record<string, string>): KubeObject[] => {
    const objects = structuredClone(serviceEntry());
    const se = objects.find((o) => o.kind === 'ServiceEntry')!;
    se.metadata.name = 'redis-bad';
    if (labels) se.metadata.labels = labels;
    edit(se.spec as Record<string, unknown>);
    return objects;
  };

  async function refusalOf(objects: readonly KubeObject[]): Promise<ManifestRefusedError> {
    const e: unknown = await kube.dryRunApply(objects).then(() => undefined, (err: unknown) => err);
    if (!(e instanceof ManifestRefusedError)) throw new Error(`expected a refusal, got ${e === undefined ? 'acceptance' : String(e)}`);
    return e;
  }

  test('a ServiceEntry with an address that is not an IP is refused by istiod, in its words', async (ctx) => {
    needTools(ctx, problem);
    const e = await refusalOf(badServiceEntry((spec) => {
      spec.addresses = ['not-an-ip'];
    }));
    expect(e.refusals).toHaveLength(1);
    expect(e.refusals[0]).toMatch(/^ServiceEntry egress-verify-mesh\/redis-bad: HTTP 400: admission webhook "validation\.istio\.io" denied the request: configuration is invalid: .*not-an-ip is not a valid IP/);
  });

  test('the refusal is the webhook\'s: the CRD\'s schema alone takes the same object when no Istio webhook selects it', async (ctx) => {
    needTools(ctx, problem);
    // istio.io/rev=canary: neither the default validator (istio.io/rev DoesNotExist) nor the
    // default revision's (istio.io/rev In [default]) sees it.
    await expect(kube.dryRunApply(badServiceEntry((spec) => {
      spec.addresses = ['not-an-ip'];
    }, { 'istio.io/rev': 'canary' }))).resolves.toBeUndefined();
  });

  test('the chapter\'s ServiceEntry (fixtures/redis-serviceentry.yaml) passes the webhook', async (ctx) => {
    needTools(ctx, problem);
    await expect(kube.dryRunApply(serviceEntry())).resolves.toBeUndefined();
  });
});

describe('istiod\'s registry', () => {
  interface RegistryEntry { hostname: string; MeshExternal?: boolean; ports?: { name: string; port: number; protocol: string }[]; Attributes?: { Namespace?: string } }
  const redisIn = (services: RegistryEntry[]) => services.find((s) => s.hostname === 'redis.memorystore.internal');

  test('/debug/registryz lists the ServiceEntry\'s host once it is applied', async (ctx) => {
    needTools(ctx, problem);
    expect(redisIn(await debug<RegistryEntry[]>('/debug/registryz'))).toBeUndefined();
    await kube.apply(serviceEntry());
    const redis = await pollUntil('redis.memorystore.internal in istiod\'s /debug/registryz', 30_000, async () => {
      const found = redisIn(await debug<RegistryEntry[]>('/debug/registryz'));
      if (!found) throw new RetryableError('not listed yet');
      return found;
    }, String, { intervalMs: 200 });
    expect(redis).toMatchObject({ MeshExternal: true, Attributes: { Namespace: MESH_NS } });
    expect(redis.ports).toEqual([{ name: 'tcp-redis', port: 6379, protocol: 'TCP' }]);
    const configs = await debug<{ kind: string; metadata: { name: string; namespace: string } }[]>('/debug/configz');
    expect(configs.filter((c) => c.kind === 'ServiceEntry').map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual([`${MESH_NS}/redis-memorystore`]);
  });
});
