/**
 * The chapter's steps, in its order: the single list that the scenario files run and that
 * `npm run plan` prints. A step names the manifests it applies (or deletes); values known only
 * at run time (the Redis IP) are placeholders in the plan.
 */
import { CART_PORT } from '../helpers/external/cart.ts';
import { render, type KubeObject, type Values } from '../helpers/run/manifests.ts';
import { probeScript } from '../helpers/external/probe.ts';
import { type Address, hostPort, REDIS_PORT } from '../helpers/external/address.ts';
import type { Settings } from '../helpers/run/settings.ts';

export const MESH_NS = 'egress-verify-mesh';
export const OUTSIDE_NS = 'egress-verify-outside';
export const CART = { namespace: MESH_NS, selector: 'app=cartservice', port: CART_PORT } as const;
export const PROBE_SELECTOR = 'app=probe';
/** hosts[0] of fixtures/redis-serviceentry.yaml: names the proxies' cluster for it. */
export const SERVICE_ENTRY_HOST = 'redis.memorystore.internal';

/** hosts[0] of the ServiceEntry in fixtures/workshop-gateway.yaml (the workshop's own). */
export const WORKSHOP_SERVICE_ENTRY_HOST = 'redis.domain';
/** The DestinationRule subset fixtures/egress-gateway.yaml routes the mesh's Redis traffic to. */
export const GATEWAY_SUBSET = 'redis';

/** Envoy's name for an outbound cluster Istio makes: outbound|<port>|<subset>|<host>. */
export function outboundCluster(port: number, host: string, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** The Envoy cluster Istio makes for the ServiceEntry: outbound|<port>||<host>. */
export function serviceEntryCluster(redis: Address): string {
  return outboundCluster(redis.port, SERVICE_ENTRY_HOST);
}

export interface ManifestUse {
  /** Path from the repository root. */
  file: string;
  action: 'apply' | 'delete' | 'kind create cluster --config' | 'istioctl install -f';
  /** Values beyond the common ones (e.g. the namespace of a probe). */
  values?: Values;
}

export interface Step {
  id: string;
  title: string;
  manifests: ManifestUse[];
}

/** Values every fixture may use; REDIS_IP only once the stand-in (or Memorystore) is known. */
export function commonValues(s: Settings, redis: Address | undefined, mode: 'apply' | 'plan'): Values {
  return {
    CART_IMAGE: s.cartImage,
    PROBE_IMAGE: s.probeImage,
    REDIS_PORT: redis?.port ?? REDIS_PORT,
    REDIS_IP: redis?.host,
    REDIS_ADDR: redis === undefined ? undefined : hostPort(redis),
    PROBE_SCRIPT: mode === 'plan' ? '<the contents of helpers/external/probe.mjs>' : probeScript(),
  };
}

const probeIn = (namespace: string): ManifestUse => ({ file: 'fixtures/probe.yaml', action: 'apply', values: { NAMESPACE: namespace } });

export function setupSteps(s: Settings): Step[] {
  const steps: Step[] = [
    { id: 'prerequisites', title: `Check the prerequisites: Docker engine, ${s.cluster === 'kind' ? 'kind, ' : ''}istioctl ${s.istioVersion}${s.redisBackend === 'memorystore' ? ', gcloud' : ''}`, manifests: [] },
  ];
  if (s.cluster === 'kind') {
    steps.push({
      id: 'cluster',
      title: s.reuseCluster
        ? `Reuse the kind cluster "${s.clusterName}" if present, else create it (${s.kindNodeImage})`
        : `Create the kind cluster "${s.clusterName}" (${s.kindNodeImage})`,
      manifests: [{ file: 'kind-config.yaml', action: 'kind create cluster --config' }],
    });
    steps.push({
      id: 'istio',
      title: s.reuseCluster
        ? `Install Istio ${s.istioVersion} with outboundTrafficPolicy REGISTRY_ONLY, and check the live mesh config; on a reused cluster, skip the install if it matches (istiod runs ${s.istioVersion}, REGISTRY_ONLY, istio-egressgateway present)`
        : `Install Istio ${s.istioVersion} with outboundTrafficPolicy REGISTRY_ONLY, and check the live mesh config`,
      manifests: [{ file: 'fixtures/istio-operator.yaml', action: 'istioctl install -f' }],
    });
  } else {
    steps.push({ id: 'istio', title: 'Check that the existing cluster\'s mesh runs REGISTRY_ONLY', manifests: [] });
  }
  steps.push(s.redisBackend === 'container'
    ? {
      id: 'redis',
      title: s.reuseCluster
        ? `Reuse the kept Redis stand-in ${s.clusterName}-redis if it runs, else start one (${s.redisImage}) on the kind network`
        : `Start the Redis stand-in for Memorystore (${s.redisImage}) on the kind network`,
      manifests: [],
    }
    : { id: 'redis', title: `Find the Memorystore instance ${s.redisInstance} in ${s.gcpRegion}${s.memorystoreCreate ? ' (create it if missing)' : ''}`, manifests: [] });
  return steps;
}

/**
 * Run at the start of each scenario file (fresh namespaces), torn down at its end. Each file's
 * step has an id of its own (`egress-workloads`, `gateway-workloads`): step ids name the
 * diagnostics folder and the timings, so two files deploying under one id would mix them.
 */
export function workloadSteps(scenario: ScenarioName): Step[] {
  return [{
    id: `${scenario}-workloads`,
    title: 'Deploy the Cart Service (REDIS_ADDR = the external Redis) and the probes, inside and outside the mesh',
    manifests: [
      { file: 'fixtures/namespaces.yaml', action: 'apply' },
      probeIn(OUTSIDE_NS),
      probeIn(MESH_NS),
      { file: 'fixtures/cartservice.yaml', action: 'apply' },
    ],
  }];
}

/** The egress chapter itself: blocked, declared, allowed, revoked. */
export const egressSteps = {
  control: { id: 'control', title: 'Redis answers from outside the mesh (the stand-in is up and reachable)', manifests: [] },
  blocked: { id: 'blocked', title: 'With REGISTRY_ONLY the mesh blocks Redis: the sidecar closes the connection and the cart fails', manifests: [] },
  serviceEntry: { id: 'serviceentry', title: 'Declare the external Redis with a ServiceEntry and wait for the sidecars to allow it', manifests: [{ file: 'fixtures/redis-serviceentry.yaml', action: 'apply' }] },
  allowed: { id: 'allowed', title: 'The cart works: the item comes back and the cart is in Redis', manifests: [] },
  removed: { id: 'removed', title: 'Remove the ServiceEntry: Redis is blocked again', manifests: [{ file: 'fixtures/redis-serviceentry.yaml', action: 'delete' }] },
} as const satisfies Record<string, Step>;

/** The chapter's title: the egress gateway, with least-privilege authorization. */
export const gatewaySteps = {
  installed: { id: 'gateway-installed', title: 'The egress gateway is installed: istio-egressgateway runs and its Service exposes 443 -> 8443', manifests: [] },
  route: { id: 'gateway-route', title: 'Route Redis traffic from the mesh through the egress gateway (ServiceEntry, Gateway, VirtualService, DestinationRule)', manifests: [{ file: 'fixtures/egress-gateway.yaml', action: 'apply' }] },
  through: { id: 'gateway-through', title: 'The cart works, and the gateway made the connection to Redis (not the cart\'s sidecar)', manifests: [] },
  authz: { id: 'gateway-authz', title: 'Only the cart\'s service account may use the gateway: another workload is denied, the cart still works', manifests: [{ file: 'fixtures/egress-gateway-authz.yaml', action: 'apply' }] },
  bypass: {
    id: 'gateway-bypass',
    title: 'The workshop\'s original step (a Gateway and no VirtualService) is caught: traffic bypasses the gateway',
    manifests: [
      { file: 'fixtures/egress-gateway-authz.yaml', action: 'delete' },
      { file: 'fixtures/egress-gateway.yaml', action: 'delete' },
      { file: 'fixtures/workshop-gateway.yaml', action: 'apply' },
    ],
  },
} as const satisfies Record<string, Step>;

export function teardownSteps(s: Settings): Step[] {
  if (s.keepCluster || s.reuseCluster) {
    return [{
      id: 'teardown',
      title: `Keep everything for inspection (${s.keepCluster ? 'KEEP_CLUSTER' : 'REUSE_CLUSTER'}): ${s.cluster === 'kind' ? 'kind cluster, Istio, ' : ''}${s.redisBackend === 'container' ? 'Redis stand-in, ' : ''}test namespaces (each scenario file replaces them at its start); print how to look at them and how to remove them`,
      manifests: [],
    }];
  }
  return [{
    id: 'teardown',
    title: `Clean up in reverse order: namespaces, Redis stand-in${s.cluster === 'kind' ? `, kind cluster (${s.keepCluster || s.reuseCluster ? 'kept' : 'deleted'})` : ''}`,
    manifests: [],
  }];
}

/**
 * The scenario files, in the chapter's order, with the steps each runs after deploying its
 * workloads. The plan (`allSteps`) and the run order (scenarios/sequencer.ts, the vitest
 * sequencer of the `scenarios` project) are both read from this one list.
 */
export const scenarioFiles = [
  { name: 'egress', file: 'scenarios/egress.spec.ts', steps: egressSteps },
  { name: 'gateway', file: 'scenarios/egress-gateway.spec.ts', steps: gatewaySteps },
] as const satisfies readonly { name: string; file: string; steps: Record<string, Step> }[];

/** The scenario files that deploy workloads, by the name their step ids start with. */
export type ScenarioName = (typeof scenarioFiles)[number]['name'];

/** The scenario of a test file (an absolute path, as vitest gives it), or undefined for another file. */
export function scenarioOf(testPath: string): ScenarioName | undefined {
  const normal = testPath.replaceAll('\\', '/');
  return scenarioFiles.find((f) => normal.endsWith(`/${f.file}`) || normal === f.file)?.name;
}

/**
 * The workshop's own chapter (scenarios/workshop.spec.ts) runs last: its steps are the chapter's
 * blocks, read at run time from WORKSHOP_REPO (`npm run plan` lists them after the steps above),
 * and without WORKSHOP_REPO its tests are reported as skipped.
 */
export const WORKSHOP_SCENARIO_FILE = 'scenarios/workshop.spec.ts';

/** Paths from the repository root of the scenario files, in the order they must run. */
export const SCENARIO_ORDER: readonly string[] = [...scenarioFiles.map((f) => f.file), WORKSHOP_SCENARIO_FILE];

export function allSteps(s: Settings): Step[] {
  return [
    ...setupSteps(s),
    ...scenarioFiles.flatMap((f) => [...workloadSteps(f.name), ...Object.values(f.steps)]),
    ...teardownSteps(s),
  ];
}

/** The objects a manifest use stands for, rendered with what is known. */
export function renderUse(use: ManifestUse, s: Settings, redis: Address | undefined, mode: 'apply' | 'plan'): KubeObject[] {
  return render(use.file, { ...commonValues(s, redis, mode), ...use.values }, mode);
}
