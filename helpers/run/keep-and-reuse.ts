/**
 * KEEP_CLUSTER and REUSE_CLUSTER for the maintainer who is debugging or iterating.
 *
 * Keep: everything the run set up stays (cluster, Istio, Redis stand-in, test namespaces), and
 * the run ends by saying how to look at it and how to remove it. Reuse: a warm re-run skips what
 * is already there as asked: Istio when the live mesh already runs ISTIO_VERSION in
 * REGISTRY_ONLY with the egress gateway, and a kept Redis stand-in.
 *
 * Upstream facts:
 * - istiod's Deployment is `istiod` in istio-system (no revision); its container `discovery`
 *   runs `<hub>/pilot:<tag>[-<variant>]`, and release charts set the tag to the release
 *   version (istio/istio manifests/charts/istio-control/istio-discovery/templates: the
 *   "istio-image" helper, `.Values.pilot.tag | default .Values.global.tag`, then the variant).
 *   The image tag is used rather than labels: the version labels changed across releases.
 * - the egress gateway of fixtures/istio-operator.yaml is the Deployment `istio-egressgateway`
 *   in istio-system (component name = Deployment name, operator gateway charts).
 * - the live outbound mode is the `mesh` key of ConfigMap istio-system/istio (checkMeshConfig).
 */
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { execa } from 'execa';
import { checkMeshConfig, readMeshConfigMap } from '../mesh/mesh-config.ts';
import { ISTIO_NAMESPACE } from '../mesh/istio-install.ts';
import { type Kube } from '../cluster/kube.ts';
import { isNotFound } from '../cluster/kube-errors.ts';
import { type Address, REDIS_PORT } from '../external/address.ts';
import { isRedisStandIn, ROLE, ROLE_LABEL } from '../external/redis.ts';
import type { Settings } from './settings.ts';

export const ISTIOD = 'istiod';
export const EGRESS_GATEWAY = 'istio-egressgateway';
/** The label RedisStandIn puts on its container: only such a container is ever reused. */
export const REDIS_STAND_IN_LABEL = `${ROLE_LABEL}=${ROLE}`;

/** Keep everything at the end: KEEP_CLUSTER, or REUSE_CLUSTER (a reused cluster is never deleted). */
export function keepsEverything(s: Pick<Settings, 'keepCluster' | 'reuseCluster'>): boolean {
  return s.keepCluster || s.reuseCluster;
}

export function redisContainerName(s: Pick<Settings, 'clusterName'>): string {
  return `${s.clusterName}-redis`;
}

/** The Istio version istiod runs, from its image tag (pilot:1.30.5, pilot:1.30.5-distroless). */
export function istiodVersion(istiod: V1Deployment | undefined): string | undefined {
  const containers = istiod?.spec?.template?.spec?.containers ?? [];
  const image = (containers.find((c) => c.name === 'discovery') ?? containers[0])?.image;
  const m = /\/pilot:(\d+\.\d+\.\d+(?:-(?:alpha|beta|rc)\.\d+)?)(?:-[a-z]+)?$/.exec(image ?? '');
  return m?.[1];
}

export interface LiveMesh {
  istiod: V1Deployment | undefined;
  mesh: V1ConfigMap | undefined;
  egressGateway: V1Deployment | undefined;
}

export interface WarmVerdict {
  /** True: the install can be skipped. */
  skip: boolean;
  /** Why, as one line for the progress log. */
  reason: string;
}

function available(d: V1Deployment | undefined): boolean {
  return (d?.status?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True');
}

/** Whether the live mesh already is what `istioctl install -f fixtures/istio-operator.yaml` makes. */
export function warmMeshVerdict(live: LiveMesh, istioVersion: string): WarmVerdict {
  if (!live.istiod) return { skip: false, reason: `no ${ISTIOD} Deployment in ${ISTIO_NAMESPACE}: installing` };
  const running = istiodVersion(live.istiod);
  if (running !== istioVersion) {
    return { skip: false, reason: `istiod runs ${running ?? 'an unrecognised image'}, ISTIO_VERSION is ${istioVersion}: installing` };
  }
  if (!available(live.istiod)) return { skip: false, reason: `istiod ${running} is not Available: installing` };
  const mesh = checkMeshConfig(live.mesh);
  if (!mesh.ok || mesh.mode !== 'REGISTRY_ONLY') return { skip: false, reason: `outbound mode is ${mesh.mode}, not REGISTRY_ONLY: installing` };
  if (!live.egressGateway) return { skip: false, reason: `no ${EGRESS_GATEWAY} Deployment: installing` };
  if (!available(live.egressGateway)) return { skip: false, reason: `${EGRESS_GATEWAY} is not Available: installing` };
  return { skip: true, reason: `Istio ${running} already runs with REGISTRY_ONLY and ${EGRESS_GATEWAY}: install skipped (REUSE_CLUSTER)` };
}

async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function readLiveMesh(kube: Kube): Promise<LiveMesh> {
  const [istiod, mesh, egressGateway] = await Promise.all([
    readOrUndefined(() => kube.apps.readNamespacedDeployment({ name: ISTIOD, namespace: ISTIO_NAMESPACE })),
    readMeshConfigMap(kube),
    readOrUndefined(() => kube.apps.readNamespacedDeployment({ name: EGRESS_GATEWAY, namespace: ISTIO_NAMESPACE })),
  ]);
  return { istiod, mesh, egressGateway };
}

export interface KeptRedis {
  containerId: string;
  name: string;
  networkAddress: Address;
  hostAddress: Address;
}

interface DockerInspect {
  Id: string;
  Name: string;
  State?: { Running?: boolean };
  Config?: { Labels?: Record<string, string> | null };
  NetworkSettings?: {
    Networks?: Record<string, { IPAddress?: string }> | null;
    Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
  };
}

/**
 * Reads `docker inspect` of a container as a kept Redis stand-in: ours (labelled), running, on
 * `network`, with 6379 published. undefined with the reason otherwise.
 */
export function keptRedisFrom(inspect: DockerInspect, network: string): KeptRedis | string {
  if (!isRedisStandIn(inspect.Config?.Labels)) return `container ${inspect.Name.replace(/^\//, '')} is not labelled ${REDIS_STAND_IN_LABEL}: not ours, left alone`;
  if (!inspect.State?.Running) return 'it is not running';
  const ip = inspect.NetworkSettings?.Networks?.[network]?.IPAddress;
  if (!ip) return `it is not on the ${network} network`;
  const published = (inspect.NetworkSettings?.Ports?.[`${REDIS_PORT}/tcp`] ?? []).find((p) => p.HostPort);
  if (!published) return `its port ${REDIS_PORT} is not published`;
  const host = published.HostIp === '' || published.HostIp === '0.0.0.0' || published.HostIp === '::' ? '127.0.0.1' : published.HostIp;
  return {
    containerId: inspect.Id,
    name: inspect.Name.replace(/^\//, ''),
    networkAddress: { host: ip, port: REDIS_PORT },
    hostAddress: { host, port: Number(published.HostPort) },
  };
}

/** The kept stand-in named `name`, if it can be reused; `reason` says why not otherwise. */
export async function findKeptRedis(name: string, network: string): Promise<{ kept?: KeptRedis; reason: string }> {
  const r = await execa('docker', ['container', 'inspect', name], { reject: false });
  if (r.exitCode !== 0) return { reason: `no container ${name}` };
  const [inspect] = JSON.parse(r.stdout) as DockerInspect[];
  const found = inspect ? keptRedisFrom(inspect, network) : `no container ${name}`;
  return typeof found === 'string' ? { reason: found } : { kept: found, reason: `reusing the kept Redis stand-in ${name}` };
}

export interface KeptEnvironment {
  clusterName: string;
  /** undefined: CLUSTER=existing (kubectl's default kubeconfig). */
  kubeconfigPath: string | undefined;
  context: string;
  redis: Address;
  redisFromHost: Address | undefined;
  /** The stand-in's container name; undefined for Memorystore. */
  redisContainer: string | undefined;
  /** The kind cluster is the suite's to delete (false for CLUSTER=existing). */
  kind: boolean;
}

/** What to print at the end of a kept run: how to look at it, and how to remove it. */
export function keptNotice(k: KeptEnvironment): string[] {
  const kc = k.kubeconfigPath ? `--kubeconfig ${k.kubeconfigPath} ` : '';
  const kubectl = `kubectl ${kc}--context ${k.context}`;
  const lines = [
    'Kept for inspection (KEEP_CLUSTER/REUSE_CLUSTER): cluster, Istio, Redis stand-in and the test namespaces.',
    `  kubeconfig:     ${k.kubeconfigPath ?? '(your own; context below)'}`,
    `  the cart:       ${kubectl} -n egress-verify-mesh get pods,serviceentries,gateways,virtualservices,destinationrules`,
    `  cart sidecar:   ${kubectl} -n egress-verify-mesh logs deploy/cartservice -c istio-proxy`,
    `  egress gateway: ${kubectl} -n istio-system logs deploy/${EGRESS_GATEWAY}`,
    `  Redis:          ${k.redis.host}:${k.redis.port} from the cluster${k.redisFromHost ? `, ${k.redisFromHost.host}:${k.redisFromHost.port} from this machine (redis-cli -h ${k.redisFromHost.host} -p ${k.redisFromHost.port})` : ''}`,
    `  re-run warm:    REUSE_CLUSTER=true KEEP_CLUSTER=true npm test`,
    'Remove it afterwards:',
  ];
  if (k.kind) lines.push(`  kind delete cluster --name ${k.clusterName}`);
  else lines.push(`  ${kubectl} delete namespace egress-verify-mesh egress-verify-outside`);
  if (k.redisContainer) lines.push(`  docker rm -f ${k.redisContainer}`);
  return lines;
}
