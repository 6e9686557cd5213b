/**
 * scenarios/chapter.ts: the step plan for each kind of run (kind or an existing cluster,
 * container or Memorystore, kept/reused or deleted) and the values every manifest gets.
 */
import { describe, expect, test } from 'vitest';
import { MissingValueError, render } from '../../helpers/run/manifests.ts';
import { probeScript } from '../../helpers/external/probe.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import {
  allSteps, commonValues, egressSteps, gatewaySteps, MESH_NS, OUTSIDE_NS, renderUse, SERVICE_ENTRY_HOST, serviceEntryCluster, setupSteps,
  scenarioOf, teardownSteps, workloadSteps,
} from '../../scenarios/chapter.ts';

const kind = (extra: Record<string, string> = {}) => loadSettings({ ISTIO_VERSION: '1.30.5', ...extra });
const existing = (extra: Record<string, string> = {}) => loadSettings({ CLUSTER: 'existing', ISTIO_VERSION: '1.30.5', ...extra });

describe('setup steps by kind of run', () => {
  test('kind + container: prerequisites, cluster, Istio install, Redis stand-in', () => {
    const s = kind({ CLUSTER_NAME: 'ci-7', REDIS_IMAGE: 'egress-verify/redis:local' });
    const steps = setupSteps(s);
    expect(steps.map((x) => x.id)).toEqual(['prerequisites', 'cluster', 'istio', 'redis']);
    expect(steps[0]).toEqual({ id: 'prerequisites', title: 'Check the prerequisites: Docker engine, kind, istioctl 1.30.5', manifests: [] });
    expect(steps[1]).toEqual({ id: 'cluster', title: `Create the kind cluster "ci-7" (${s.kindNodeImage})`, manifests: [{ file: 'kind-config.yaml', action: 'kind create cluster --config' }] });
    expect(steps[2]!.manifests).toEqual([{ file: 'fixtures/istio-operator.yaml', action: 'istioctl install -f' }]);
    expect(steps[2]!.title).toMatch(/^Install Istio 1\.30\.5 with outboundTrafficPolicy REGISTRY_ONLY/);
    expect(steps[3]).toEqual({ id: 'redis', title: 'Start the Redis stand-in for Memorystore (egress-verify/redis:local) on the kind network', manifests: [] });
  });

  test('kind with REUSE_CLUSTER says so', () => {
    expect(setupSteps(kind({ REUSE_CLUSTER: '1' }))[1]!.title).toMatch(/^Reuse the kind cluster "egress-verify" if present, else create it \(kindest\/node:v/);
  });

  test('existing + Memorystore: no kind, no cluster step, the mesh checked not installed, gcloud needed', () => {
    const steps = setupSteps(existing({ REDIS_BACKEND: 'memorystore', GCP_REGION: 'europe-west1', REDIS_INSTANCE: 'cart-ci' }));
    expect(steps.map((x) => x.id)).toEqual(['prerequisites', 'istio', 'redis']);
    expect(steps[0]!.title).toBe('Check the prerequisites: Docker engine, istioctl 1.30.5, gcloud');
    expect(steps[1]).toEqual({ id: 'istio', title: 'Check that the existing cluster\'s mesh runs REGISTRY_ONLY', manifests: [] });
    expect(steps[2]).toEqual({ id: 'redis', title: 'Find the Memorystore instance cart-ci in europe-west1', manifests: [] });
  });

  test('Memorystore with MEMORYSTORE_CREATE says it may create; existing + container has no gcloud', () => {
    expect(setupSteps(existing({ REDIS_BACKEND: 'memorystore', MEMORYSTORE_CREATE: '1' }))[2]!.title).toBe('Find the Memorystore instance redis-cart in us-central1 (create it if missing)');
    const container = setupSteps(existing());
    expect(container[0]!.title).toBe('Check the prerequisites: Docker engine, istioctl 1.30.5');
    expect(container[2]!.title).toMatch(/^Start the Redis stand-in/);
  });
});

describe('teardown and the whole plan', () => {
  test('the kind cluster is deleted unless kept or reused; an existing cluster is never mentioned', () => {
    expect(teardownSteps(kind())[0]!.title).toBe('Clean up in reverse order: namespaces, Redis stand-in, kind cluster (deleted)');
    expect(teardownSteps(kind({ KEEP_CLUSTER: '1' }))[0]!.title).toBe('Keep everything for inspection (KEEP_CLUSTER): kind cluster, Istio, Redis stand-in, test namespaces (each scenario file replaces them at its start); print how to look at them and how to remove them');
    expect(teardownSteps(kind({ REUSE_CLUSTER: '1' }))[0]!.title).toBe('Keep everything for inspection (REUSE_CLUSTER): kind cluster, Istio, Redis stand-in, test namespaces (each scenario file replaces them at its start); print how to look at them and how to remove them');
    expect(teardownSteps(existing())).toEqual([{ id: 'teardown', title: 'Clean up in reverse order: namespaces, Redis stand-in', manifests: [] }]);
  });

  test('the order: setup, workloads, the chapter, fresh workloads, the gateway, teardown', () => {
    expect(allSteps(kind()).map((s) => s.id)).toEqual([
      'prerequisites', 'cluster', 'istio', 'redis',
      'egress-workloads', 'control', 'blocked', 'serviceentry', 'allowed', 'removed',
      'gateway-workloads', 'gateway-installed', 'gateway-route', 'gateway-through', 'gateway-authz', 'gateway-bypass',
      'teardown',
    ]);
    expect(allSteps(existing()).map((s) => s.id).slice(0, 3)).toEqual(['prerequisites', 'istio', 'redis']);
  });

  test('every step id is unique (it names the step\'s diagnostics folder and its timing)', () => {
    for (const s of [kind(), kind({ KEEP_CLUSTER: '1' }), existing(), existing({ REDIS_BACKEND: 'memorystore' })]) {
      const ids = allSteps(s).map((step) => step.id);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i), 'ids that appear more than once').toEqual([]);
    }
  });

  test('a scenario file is known by its path, as vitest gives it; another file is not', () => {
    expect(scenarioOf('/home/u/egress-verify/scenarios/egress.spec.ts')).toBe('egress');
    expect(scenarioOf('/home/u/egress-verify/scenarios/egress-gateway.spec.ts')).toBe('gateway');
    expect(scenarioOf('C:\\u\\egress-verify\\scenarios\\egress.spec.ts')).toBe('egress');
    expect(scenarioOf('/home/u/egress-verify/scenarios/workshop.spec.ts')).toBeUndefined();
    expect(scenarioOf('/home/u/x-scenarios/egress.spec.ts')).toBeUndefined();
    expect(workloadSteps('gateway')[0]!.id).toBe('gateway-workloads');
  });

  test('workloads: namespaces first, a probe outside and inside the mesh, then the cart', () => {
    expect(workloadSteps('egress')[0]!.title).toBe('Deploy the Cart Service (REDIS_ADDR = the external Redis) and the probes, inside and outside the mesh');
    expect(workloadSteps('egress')[0]!.manifests).toEqual([
      { file: 'fixtures/namespaces.yaml', action: 'apply' },
      { file: 'fixtures/probe.yaml', action: 'apply', values: { NAMESPACE: OUTSIDE_NS } },
      { file: 'fixtures/probe.yaml', action: 'apply', values: { NAMESPACE: MESH_NS } },
      { file: 'fixtures/cartservice.yaml', action: 'apply' },
    ]);
    expect(egressSteps.removed.manifests).toEqual([{ file: 'fixtures/redis-serviceentry.yaml', action: 'delete' }]);
    expect(gatewaySteps.bypass.manifests.map((m) => `${m.action} ${m.file}`)).toEqual([
      'delete fixtures/egress-gateway-authz.yaml', 'delete fixtures/egress-gateway.yaml', 'apply fixtures/workshop-gateway.yaml',
    ]);
  });
});

describe('values every manifest gets', () => {
  const s = kind({ CART_IMAGE: 'reg.local/cart:1', PROBE_IMAGE: 'reg.local/node:24' });

  test('for the plan: Redis unknown, the probe script named, the default port', () => {
    expect(commonValues(s, undefined, 'plan')).toEqual({
      CART_IMAGE: 'reg.local/cart:1', PROBE_IMAGE: 'reg.local/node:24', REDIS_PORT: 6379, REDIS_IP: undefined, REDIS_ADDR: undefined,
      PROBE_SCRIPT: '<the contents of helpers/external/probe.mjs>',
    });
  });

  test('for a cluster: the Redis address as found, and the script itself', () => {
    expect(commonValues(s, { host: '10.121.0.3', port: 6380 }, 'apply')).toEqual({
      CART_IMAGE: 'reg.local/cart:1', PROBE_IMAGE: 'reg.local/node:24', REDIS_PORT: 6380, REDIS_IP: '10.121.0.3', REDIS_ADDR: '10.121.0.3:6380',
      PROBE_SCRIPT: probeScript(),
    });
    expect(serviceEntryCluster({ host: '10.121.0.3', port: 6380 })).toBe('outbound|6380||redis.memorystore.internal');
  });

  test('the cluster name the scenario expects comes from the ServiceEntry fixture', () => {
    const se = render('fixtures/redis-serviceentry.yaml', { REDIS_IP: '1.2.3.4', REDIS_PORT: 6379 })[0] as unknown as { spec: { hosts: string[] } };
    expect(se.spec.hosts).toEqual([SERVICE_ENTRY_HOST]);
    expect(serviceEntryCluster({ host: '1.2.3.4', port: 6379 })).toBe('outbound|6379||redis.memorystore.internal');
  });

  test('a step\'s own values win; the plan shows unknown values as placeholders; a cluster refuses them', () => {
    const probe = renderUse({ file: 'fixtures/probe.yaml', action: 'apply', values: { NAMESPACE: MESH_NS } }, s, undefined, 'plan');
    expect(new Set(probe.map((o) => o.metadata.namespace))).toEqual(new Set([MESH_NS]));
    const se = renderUse(egressSteps.serviceEntry.manifests[0]!, s, undefined, 'plan')[0] as unknown as { spec: { addresses: string[] } };
    expect(se.spec.addresses).toEqual(['<REDIS_IP>/32']);
    expect(() => renderUse(egressSteps.serviceEntry.manifests[0]!, s, undefined, 'apply')).toThrow(MissingValueError);
    const applied = renderUse(egressSteps.serviceEntry.manifests[0]!, s, { host: '10.0.0.9', port: 6379 }, 'apply')[0] as unknown as { spec: { addresses: string[] } };
    expect(applied.spec.addresses).toEqual(['10.0.0.9/32']);
  });
});
