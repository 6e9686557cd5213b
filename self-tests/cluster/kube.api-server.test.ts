/**
 * The suite's cluster layer against a real Kubernetes API server (kube-apiserver, etcd,
 * controller-manager, scheduler and kwok built from their Go modules; self-tests/control-plane/),
 * with the Istio CRDs of the built Istio installed: server-side apply and the strict dry run,
 * deletes, namespace deletion, the Deployment and pod waits, the context guard with a real
 * kubeconfig, the mesh ConfigMap, and the REUSE decision. Exec and port-forward are not here:
 * kwok has no kubelet, so they stay on the streaming stand-in (kube-streaming.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { guardExistingContext } from '../../helpers/cluster/context-guard.ts';
import { Kube } from '../../helpers/cluster/kube.ts';
import { ManifestRefusedError } from '../../helpers/cluster/kube-errors.ts';
import { checkMeshConfig, readMeshConfigMap, setOutboundMode } from '../../helpers/mesh/mesh-config.ts';
import { readLiveMesh, warmMeshVerdict } from '../../helpers/run/keep-and-reuse.ts';
import { type KubeObject, render } from '../../helpers/run/manifests.ts';
import { controlPlaneSuite } from '../control-plane/control-plane-suite.ts';
import { freePort, type StartedControlPlane } from '../control-plane/local-control-plane.ts';

let cp: StartedControlPlane | undefined;
let kube: Kube;
const suite = controlPlaneSuite({}, (started, k) => {
  cp = started;
  kube = k;
});

const REDIS = { REDIS_IP: '192.0.2.10', REDIS_PORT: 6379, REDIS_ADDR: '192.0.2.10:6379' };
const cartObjects = (): KubeObject[] => render('fixtures/cartservice.yaml', { ...REDIS, CART_IMAGE: 'example.invalid/cartservice:v0' });
const namespaces = (): KubeObject[] => render('fixtures/namespaces.yaml', {});

function withEdit(objects: KubeObject[], kind: string, edit: (o: Record<string, unknown>) => void): KubeObject[] {
  const copy = structuredClone(objects);
  const target = copy.find((o) => o.kind === kind);
  if (!target) throw new Error(`no ${kind} in the manifest`);
  edit(target as unknown as Record<string, unknown>);
  return copy;
}

async function refusalOf(objects: readonly KubeObject[]): Promise<ManifestRefusedError> {
  const e: unknown = await kube.dryRunApply(objects).then(() => undefined, (err: unknown) => err);
  if (!(e instanceof ManifestRefusedError)) throw new Error(`expected a refusal, got ${e === undefined ? 'acceptance' : String(e)}`);
  return e;
}

describe('apply and the strict dry run, against the real API server', () => {
  test('the fixtures apply: namespaces, then the cart (built-in kinds) and the Istio objects (custom kinds)', async (ctx) => {
    suite.need(ctx);
    await kube.apply(namespaces());
    await kube.apply(cartObjects());
    await kube.apply(render('fixtures/redis-serviceentry.yaml', REDIS));
    const d = await kube.apps.readNamespacedDeployment({ name: 'cartservice', namespace: 'egress-verify-mesh' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe('example.invalid/cartservice:v0');
    const se = await kube.custom.getNamespacedCustomObject({ group: 'networking.istio.io', version: 'v1', namespace: 'egress-verify-mesh', plural: 'serviceentries', name: 'redis-memorystore' }) as { spec: { addresses: string[] } };
    expect(se.spec.addresses).toEqual(['192.0.2.10/32']);
  });

  test('a typo in a Deployment\'s spec is refused by the server, not dropped on the way (client-node\'s typed models)', async (ctx) => {
    suite.need(ctx);
    const typo = withEdit(cartObjects(), 'Deployment', (o) => {
      (o.spec as Record<string, unknown>).replicaz = 2;
    });
    const e = await refusalOf(typo);
    expect(e.refusals).toHaveLength(1);
    expect(e.refusals[0]).toMatch(/^Deployment egress-verify-mesh\/cartservice: .*replicaz/);
  });

  test('a typo inside a container (imagePullPolicyy) is refused with the server\'s field path', async (ctx) => {
    suite.need(ctx);
    const typo = withEdit(cartObjects(), 'Deployment', (o) => {
      const containers = ((o.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers);
      containers[0]!.imagePullPolicyy = 'Always';
    });
    const e = await refusalOf(typo);
    expect(e.message).toContain('imagePullPolicyy');
  });

  test('the workshop Gateway\'s servers[].addresses is refused with the server\'s own words', async (ctx) => {
    suite.need(ctx);
    const gateway = withEdit(render('fixtures/workshop-gateway.yaml', REDIS), 'Gateway', (o) => {
      const servers = (o.spec as { servers: Record<string, unknown>[] }).servers;
      servers[0]!.addresses = ['192.0.2.10'];
    });
    const e = await refusalOf(gateway);
    const gw = e.refusals.find((r) => r.startsWith('Gateway '));
    expect(gw).toBeDefined();
    // kubernetes/kubernetes#139253: HTTP 500 "failed to create typed patch object ... field not
    // declared in schema"; worded by its content, and counted as a refusal despite the code.
    expect(gw).toMatch(/\.spec\.servers\[0\]\.addresses: field not declared in schema|unknown field "spec\.servers\[0\]\.addresses"/);
  });

  test('a kind the server does not serve is a refusal of the manifest', async (ctx) => {
    suite.need(ctx);
    const e = await refusalOf([{ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntri', metadata: { name: 'x', namespace: 'default' } }]);
    expect(e.refusals[0]).toContain('Unrecognized API version and kind');
  });

  test('an apiVersion the server no longer serves is a refusal naming it, not a 404 of the cluster', async (ctx) => {
    suite.need(ctx);
    const e = await refusalOf([{ apiVersion: 'rbac.authorization.k8s.io/v1beta1', kind: 'ClusterRoleBinding', metadata: { name: 'x' } }]);
    expect(e.refusals[0]).toBe('ClusterRoleBinding x: rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding is not served by this API server (HTTP 404 from its discovery)');
  });

  test('a webhook that does not answer is the cluster\'s failure, not a refusal of the chapter', async (ctx) => {
    suite.need(ctx);
    const closed = await freePort();
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'egress-verify-unanswered' },
      webhooks: [{
        name: 'unanswered.egress-verify.test', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 2,
        clientConfig: { url: `https://127.0.0.1:${closed}/validate`, caBundle: Buffer.from(readFileSync(cp!.certificates.caCert)).toString('base64') },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }],
        namespaceSelector: { matchLabels: { 'egress-verify-webhook': 'on' } },
      }],
    } as unknown as KubeObject;
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'egress-verify-webhook', labels: { 'egress-verify-webhook': 'on' } } } as KubeObject;
    await kube.apply([ns, webhook], { dryRunFirst: false });
    try {
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'egress-verify-webhook' }, data: { a: 'b' } } as KubeObject;
      const e: unknown = await kube.dryRunApply([cm]).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(ManifestRefusedError);
      expect((e as Error).message).toMatch(/^dry run of ConfigMap egress-verify-webhook\/x failed \(not a refusal of the manifest\): HTTP 500: .*failed calling webhook/);
    } finally {
      await kube.delete([webhook, ns]);
    }
  });
});

describe('waits and deletes, with kwok making pods Running and Ready', () => {
  test('waitForDeployment, readyPod and restartPods follow the cart\'s Deployment', async (ctx) => {
    suite.need(ctx);
    await kube.apply(namespaces());
    await kube.apply(cartObjects());
    await kube.waitForDeployment('egress-verify-mesh', 'cartservice', 60_000);
    const pod = await kube.readyPod('egress-verify-mesh', 'app=cartservice', false, 30_000);
    expect(pod.status?.podIP).toMatch(/^10\.244\./);
    // No injector runs here: a ready pod without the sidecar it must have is named at once, not waited for.
    await expect(kube.readyPod('egress-verify-mesh', 'app=cartservice', true, 30_000)).rejects.toThrow(/^pod egress-verify-mesh\/cartservice-[a-z0-9-]+ has no istio-proxy sidecar/);
    await kube.restartPods('egress-verify-mesh', 'app=cartservice', 'cartservice', 60_000);
    const fresh = await kube.readyPod('egress-verify-mesh', 'app=cartservice', false, 30_000);
    expect(fresh.metadata?.name).not.toBe(pod.metadata?.name);
  });

  test('delete ignores what is gone; deleteNamespaces waits until the namespaces are gone', async (ctx) => {
    suite.need(ctx);
    await kube.apply(namespaces());
    const se = render('fixtures/redis-serviceentry.yaml', REDIS);
    await kube.apply(se);
    await kube.delete(se);
    await kube.delete(se); // already gone: no error
    await kube.deleteNamespaces(namespaces(), 60_000);
    const names = (await kube.core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).not.toContain('egress-verify-mesh');
    expect(names).not.toContain('egress-verify-outside');
  });
});

describe('the context guard, the mesh config and REUSE against a real kubeconfig and server', () => {
  test('the guard accepts the named context of a real kubeconfig and refuses another', (ctx) => {
    suite.need(ctx);
    expect(guardExistingContext(cp!.context, cp!.kubeconfigPath)).toBe(cp!.context);
    expect(() => guardExistingContext('prod', cp!.kubeconfigPath)).toThrow(/current context is "egress-verify-local", but ALLOW_CONTEXT=prod/);
  });

  test('the mesh ConfigMap: absent, then REGISTRY_ONLY, then ALLOW_ANY through setOutboundMode', async (ctx) => {
    suite.need(ctx);
    expect(checkMeshConfig(await readMeshConfigMap(kube)).message).toMatch(/not found: is Istio installed/);
    await kube.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } } as KubeObject]);
    await kube.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n' } } as unknown as KubeObject]);
    expect(checkMeshConfig(await readMeshConfigMap(kube))).toMatchObject({ ok: true, mode: 'REGISTRY_ONLY' });
    expect(await setOutboundMode(kube, 'ALLOW_ANY')).toBe('REGISTRY_ONLY');
    expect(checkMeshConfig(await readMeshConfigMap(kube))).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: true });
    await setOutboundMode(kube, 'REGISTRY_ONLY');
  });

  test('REUSE: an istiod of the wanted version, Available under kwok, with REGISTRY_ONLY and the egress gateway, skips the install', async (ctx) => {
    suite.need(ctx);
    const deployment = (name: string, image: string, labels: Record<string, string>): KubeObject => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'istio-system' },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: name === 'istiod' ? 'discovery' : 'istio-proxy', image }] } } },
    } as unknown as KubeObject);
    expect(warmMeshVerdict(await readLiveMesh(kube), '1.30.5').reason).toMatch(/no istiod Deployment/);
    await kube.apply([deployment('istiod', 'docker.io/istio/pilot:1.30.5', { app: 'istiod' })]);
    await kube.apply([deployment('istio-egressgateway', 'docker.io/istio/proxyv2:1.30.5', { istio: 'egressgateway' })]);
    await kube.waitForDeployment('istio-system', 'istiod', 60_000);
    await kube.waitForDeployment('istio-system', 'istio-egressgateway', 60_000);
    const live = await readLiveMesh(kube);
    expect(warmMeshVerdict(live, '1.30.5')).toMatchObject({ skip: true });
    expect(warmMeshVerdict(live, '1.31.0').reason).toMatch(/istiod runs 1\.30\.5, ISTIO_VERSION is 1\.31\.0/);
  });
});
