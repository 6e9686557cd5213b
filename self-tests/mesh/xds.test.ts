/**
 * The chapter's routing as istiod decides it: an xDS client (self-tests/control-plane/xds-client.ts)
 * asks the real istiod (pilot-discovery built from istio.io/istio, against the local API server)
 * for the configuration of the cart's sidecar and of the egress gateway, exactly as those proxies
 * would, and each step of the chapter is read off the listeners and clusters istiod sends.
 *
 * The proxies are the real pods: the cart's Deployment (fixtures/cartservice.yaml) injected by
 * Istio's injector, and the egress gateway's ServiceAccount, Service and Deployment from
 * `istioctl manifest generate -f fixtures/istio-operator.yaml`; kwok makes both Running and Ready
 * with an IP, so istiod finds each workload in its registry by the IP in the node. No Envoy runs:
 * what is asserted is the configuration a sidecar would act on.
 *
 * Each step names the listener, filter chain and cluster it read and how long the push took
 * after the apply; on failure the xDS both clients hold is saved under
 * $ARTIFACTS_DIR/xds/<step>.json. The second block breaks a copy of a fixture and shows that the
 * step's check then fails, after proving that istiod has pushed the broken version.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test, type TestContext } from 'vitest';
import { GATEWAY_SUBSET, outboundCluster, SERVICE_ENTRY_HOST, WORKSHOP_SERVICE_ENTRY_HOST } from '../../scenarios/chapter.ts';
import { Kube } from '../../helpers/cluster/kube.ts';
import { type KubeObject, render, ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pollTimed, pollUntil, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { LocalControlPlane, missingBinaries, type StartedControlPlane, toolsBinDir } from '../control-plane/local-control-plane.ts';
import { ISTIOD_NAMESPACE, istioBinDir, LOCAL_ISTIO_VERSION, LocalIstiod, missingIstioBinaries, type StartedIstiod } from '../control-plane/local-istiod.ts';
import {
  chainLabel, type Cluster, type ClusterLoadAssignment, type Connection, describeListeners, envoyProtoDirs, type FilterChain,
  NETWORK_RBAC_TYPE, type PodIdentity, routeConnection, routerNode, sidecarNode, type TcpRoute, tcpProxyTarget, typedConfigOf,
  UPSTREAM_TLS_TYPE, XdsClient, type XdsType,
} from '../control-plane/xds-client.ts';
import { needTools } from '../plumbing/support.ts';

const MESH_NS = 'egress-verify-mesh';
const REDIS_IP = '192.0.2.10';
const REDIS_PORT = 6379;
const REDIS = { REDIS_IP, REDIS_PORT, REDIS_ADDR: `${REDIS_IP}:${REDIS_PORT}` };
const READY_MS = 60_000;
/** How long istiod may take to push a change (debounce 100 ms, then the push). */
const PUSH_MS = 30_000;

/** What Istio names things (pilot/pkg/networking/core; pilot/pkg/model/listener.go). */
const VIRTUAL_OUTBOUND = 'virtualOutbound';
const CATCH_ALL_CHAIN = 'virtualOutbound-catchall-tcp';
const BLACKHOLE = 'BlackHoleCluster';
const PASSTHROUGH = 'PassthroughCluster';
const SE_LISTENER = `${REDIS_IP}_${REDIS_PORT}`;
const SE_CLUSTER = outboundCluster(REDIS_PORT, SERVICE_ENTRY_HOST);
const WORKSHOP_CLUSTER = outboundCluster(REDIS_PORT, WORKSHOP_SERVICE_ENTRY_HOST);
const GATEWAY_HOST = `istio-egressgateway.${ISTIOD_NAMESPACE}.svc.cluster.local`;
const GATEWAY_CLUSTER = outboundCluster(443, GATEWAY_HOST, GATEWAY_SUBSET);
/** The Gateway's server port 443 is the Service's port; the gateway binds its targetPort, 8443. */
const GATEWAY_LISTENER = '0.0.0.0_8443';
const CART_PRINCIPAL = `cluster.local/ns/${MESH_NS}/sa/cartservice`;

const namespaces = (): KubeObject[] => render('fixtures/namespaces.yaml', {});
const cartObjects = (): KubeObject[] => render('fixtures/cartservice.yaml', { ...REDIS, CART_IMAGE: 'example.invalid/cartservice:v0' });
const serviceEntry = (): KubeObject[] => render('fixtures/redis-serviceentry.yaml', REDIS);
const egressGateway = (): KubeObject[] => render('fixtures/egress-gateway.yaml', REDIS);
const egressAuthz = (): KubeObject[] => render('fixtures/egress-gateway-authz.yaml', REDIS);
const workshopGateway = (): KubeObject[] => render('fixtures/workshop-gateway.yaml', REDIS);

let cp: StartedControlPlane | undefined;
let istiod: StartedIstiod | undefined;
let kube: Kube;
let sidecar: XdsClient | undefined;
let gateway: XdsClient | undefined;
let problem: string | undefined;

/** The egress gateway of the suite's install, as `istioctl install` would create it. */
async function egressGatewayInstall(dir: string): Promise<KubeObject[]> {
  const r = await execa(join(istioBinDir(), 'istioctl'), ['manifest', 'generate', '-f', join(ROOT_DIR, 'fixtures', 'istio-operator.yaml')], {
    cwd: dir, env: { HOME: dir, KUBECONFIG: join(dir, 'no-kubeconfig') }, extendEnv: false, timeout: 60_000,
  });
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as KubeObject | null).filter((d): d is KubeObject => d !== null);
  const wanted = [['ServiceAccount', 'istio-egressgateway-service-account'], ['Service', 'istio-egressgateway'], ['Deployment', 'istio-egressgateway']];
  return wanted.map(([kind, name]) => {
    const found = docs.find((d) => d.kind === kind && d.metadata.name === name);
    if (!found) throw new Error(`istioctl manifest generate rendered no ${kind} ${name}`);
    return { ...found, metadata: { ...found.metadata, namespace: ISTIOD_NAMESPACE } };
  });
}

function identity(pod: V1Pod): PodIdentity {
  const ip = pod.status?.podIP;
  if (!ip) throw new Error(`pod ${pod.metadata?.namespace}/${pod.metadata?.name} has no IP`);
  return {
    ip,
    name: pod.metadata!.name!,
    namespace: pod.metadata!.namespace!,
    labels: pod.metadata?.labels ?? {},
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
  };
}

beforeAll(async () => {
  problem = missingBinaries(toolsBinDir()) ?? missingIstioBinaries()
    ?? (envoyProtoDirs() ? undefined : 'the Envoy API protos are not installed (devDependency @grpc/grpc-js-xds): run `npm install`');
  if (problem) return;
  cp = await new LocalControlPlane().start();
  await cp.installIstioCrds();
  istiod = await new LocalIstiod(cp).start();
  kube = Kube.fromFile(cp.kubeconfigPath, cp.context);
  await kube.apply(namespaces());
  await kube.apply(cartObjects());
  await kube.apply(await egressGatewayInstall(cp.dir));
  const cart = identity(await kube.readyPod(MESH_NS, 'app=cartservice', true, READY_MS));
  const gw = identity(await kube.readyPod(ISTIOD_NAMESPACE, 'istio=egressgateway', true, READY_MS));
  // The gateway's listener port is the Service's targetPort only once istiod sees the pod behind
  // the Service (its EndpointSlice, from the controller-manager).
  await pollUntil('the egress gateway pod in the EndpointSlice of its Service', READY_MS, async () => {
    const r = await cp!.get(`/apis/discovery.k8s.io/v1/namespaces/${ISTIOD_NAMESPACE}/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=istio-egressgateway')}`);
    const slices = JSON.parse(r.body) as { items?: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] };
    const ready = (slices.items ?? []).flatMap((s) => s.endpoints ?? []).some((e) => e.addresses.includes(gw.ip) && e.conditions?.ready === true);
    if (!ready) throw new RetryableError(`not listed: ${r.body.slice(0, 200)}`);
    return true;
  }, String, { intervalMs: 200 });
  const address = `127.0.0.1:${istiod.ports.grpc}`;
  const options = { istioVersion: LOCAL_ISTIO_VERSION };
  sidecar = new XdsClient(address);
  await sidecar.connect(sidecarNode(cart, options));
  gateway = new XdsClient(address);
  await gateway.connect(routerNode(gw, options));
  process.stdout.write(`${cp.describe()}\n${istiod.describe()}\n`
    + `xDS as the cart's sidecar: ${sidecar.node!.id} (first push in ${formatDuration(sidecar.connectedInMs)}; listeners: ${sidecar.listeners().map((l) => l.name).join(', ')})\n`
    + `xDS as the egress gateway: ${gateway.node!.id} (first push in ${formatDuration(gateway.connectedInMs)}; listeners: ${gateway.listeners().map((l) => l.name).join(', ') || 'none'})\n`);
}, 180_000);

afterAll(async () => {
  await sidecar?.close();
  await gateway?.close();
  await istiod?.stop();
  await cp?.stop();
});

// ---------------------------------------------------------------------------------------------
// Reading a route out of the xDS

/** A route a check could not find in the xDS: the step does not hold (yet). */
class RouteError extends Error {}

interface Reading {
  /** "sidecar 192.0.2.10:6379 -> listener 192.0.2.10_6379 / chain ... -> outbound|6379||..." and what else was checked. */
  lines: string[];
  /** When the newest response it read arrived (performance.now()). */
  at: number;
}

function clients(): { sidecar: XdsClient; gateway: XdsClient } {
  if (!sidecar || !gateway) throw new Error('the xDS clients did not connect (see beforeAll)');
  return { sidecar, gateway };
}

function arrivedAt(client: XdsClient, ...types: XdsType[]): number {
  return Math.max(...types.map((t) => client.lastUpdate(t)?.receivedAt ?? 0));
}

/** The cart connecting to Redis: plain TCP to the Redis address (REDIS_ADDR), redirected to its sidecar. */
const CART_TO_REDIS: Connection = { destinationIp: REDIS_IP, destinationPort: REDIS_PORT, transportProtocol: 'raw_buffer' };

function hop(c: Connection): string {
  return `${c.destinationIp}:${c.destinationPort}${c.serverName ? ` (TLS, SNI ${c.serverName}${c.applicationProtocols?.length ? `, ALPN ${c.applicationProtocols.join(',')}` : ''})` : ''}`;
}

function routeLine(who: string, c: Connection, r: TcpRoute): string {
  return `${who} ${hop(c)} -> listener ${r.listener.name} / chain ${chainLabel(r.listener, r.chain)} -> ${r.target}`;
}

/** Where a proxy sends a connection; throws when no listener takes it or the chain is not a TCP proxy. */
function route(client: XdsClient, who: string, c: Connection): TcpRoute {
  const r = routeConnection(client.listeners(), c);
  if (!r) throw new RouteError(`${who}: no listener takes ${hop(c)}; istiod sent: ${client.listeners().map((x) => x.name).join(', ') || 'no listeners'}`);
  if (!r.target) throw new RouteError(`${who}: ${hop(c)} -> listener ${r.listener.name} / chain ${chainLabel(r.listener, r.chain)} ends in ${(r.chain.filters ?? []).map((f) => f.name).join(', ')}, no TCP proxy`);
  return r;
}

/** Fails unless the route is through this listener (and chain) to this cluster. */
function expectRoute(who: string, c: Connection, r: TcpRoute, want: { listener: string; chain?: string; target: string; why?: string }): void {
  if (r.listener.name !== want.listener || (want.chain !== undefined && r.chain.name !== want.chain) || r.target !== want.target) {
    throw new RouteError(`${routeLine(who, c, r)}, not listener ${want.listener}${want.chain ? ` / chain ${want.chain}` : ''} -> ${want.target}${want.why ? ` (${want.why})` : ''}`);
  }
}

function clusterOf(client: XdsClient, who: string, name: string): Cluster {
  const c = client.cluster(name);
  if (!c) throw new RouteError(`${who}: no cluster ${name} in CDS (${client.clusters().length} clusters; about Redis or the gateway: ${client.clusters().map((x) => x.name).filter((n) => n.includes('redis') || n.includes('egress')).join(', ') || 'none'})`);
  return c;
}

/** The addresses a cluster's endpoints name: from EDS, or from its own load assignment. */
function endpointsOf(client: XdsClient, c: Cluster): string[] {
  const assignment = c.type === 'EDS' ? client.endpoint(c.name) : (c.loadAssignment as ClusterLoadAssignment | undefined);
  return (assignment?.endpoints ?? []).flatMap((e) => e.lbEndpoints ?? [])
    .map((e) => e.endpoint?.address?.socketAddress)
    .map((a) => `${a?.address}:${a?.portValue}`);
}

function expectEndpoints(client: XdsClient, who: string, c: Cluster, want: string[]): string {
  const got = endpointsOf(client, c);
  if (got.join() !== want.join()) throw new RouteError(`${who}: cluster ${c.name} (${c.type ?? 'STATIC'}) has endpoints [${got.join(', ')}], not [${want.join(', ')}]`);
  return `${who} cluster ${c.name}: ${c.type ?? 'STATIC'}, endpoints ${got.join(', ')}`;
}

// The steps' checks: each returns what it read, or throws a RouteError naming what it found.

function checkBlocked(): Reading {
  const { sidecar: s } = clients();
  const r = route(s, 'sidecar', CART_TO_REDIS);
  // Of virtualOutbound's two chains, virtualOutbound-blackhole only takes connections addressed
  // to 15001 itself; the catch-all TCP chain (no match) takes everything no other listener does.
  expectRoute('sidecar', CART_TO_REDIS, r, { listener: VIRTUAL_OUTBOUND, chain: CATCH_ALL_CHAIN, target: BLACKHOLE, why: 'REGISTRY_ONLY' });
  const a = r.listener.address?.socketAddress;
  if (a?.address !== '0.0.0.0' || a.portValue !== 15001) throw new RouteError(`sidecar: ${VIRTUAL_OUTBOUND} listens on ${a?.address}:${a?.portValue}, not 0.0.0.0:15001`);
  const both = [BLACKHOLE, PASSTHROUGH].filter((n) => s.cluster(n));
  return { lines: [routeLine('sidecar', CART_TO_REDIS, r), `(0.0.0.0:15001; CDS has ${both.join(' and ')} either way)`], at: arrivedAt(s, 'listener') };
}

function checkServiceEntry(): Reading {
  const { sidecar: s } = clients();
  const r = route(s, 'sidecar', CART_TO_REDIS);
  expectRoute('sidecar', CART_TO_REDIS, r, { listener: SE_LISTENER, target: SE_CLUSTER });
  const endpoints = expectEndpoints(s, 'sidecar', clusterOf(s, 'sidecar', SE_CLUSTER), [REDIS.REDIS_ADDR]);
  return { lines: [routeLine('sidecar', CART_TO_REDIS, r), endpoints], at: arrivedAt(s, 'listener', 'cluster', 'endpoint') };
}

function checkRemoved(): Reading {
  const { sidecar: s } = clients();
  const left = s.listener(SE_LISTENER);
  if (left) throw new RouteError(`sidecar: listener ${SE_LISTENER} is still there: ${describeListeners([left])}`);
  if (s.cluster(SE_CLUSTER)) throw new RouteError(`sidecar: cluster ${SE_CLUSTER} is still there`);
  const blocked = checkBlocked();
  return { lines: [`sidecar: no listener ${SE_LISTENER}, no cluster ${SE_CLUSTER}`, ...blocked.lines], at: arrivedAt(s, 'listener', 'cluster') };
}

interface TlsContext {
  '@type'?: string;
  sni?: string;
  requireClientCertificate?: { value?: boolean };
  commonTlsContext?: {
    alpnProtocols?: string[];
    tlsCertificateSdsSecretConfigs?: { name?: string }[];
    combinedValidationContext?: { defaultValidationContext?: { matchSubjectAltNames?: { exact?: string }[] }; validationContextSdsSecretConfig?: { name?: string } };
  };
}
interface TlsSocket { name?: string; typedConfig?: TlsContext }

/** Istio mutual TLS to an upstream (what ISTIO_MUTUAL renders): SNI, and the proxy's certificate and root from SDS ("default", "ROOTCA"). */
function istioMutual(c: Cluster, sni: string): { tls: TlsContext; line: string } {
  const socket = c.transportSocket as TlsSocket | undefined;
  const tls = socket?.name === 'envoy.transport_sockets.tls' && socket.typedConfig?.['@type'] === UPSTREAM_TLS_TYPE ? socket.typedConfig : undefined;
  if (!tls) throw new RouteError(`sidecar: cluster ${c.name} has no TLS transport socket of its own (ISTIO_MUTUAL from the DestinationRule): ${JSON.stringify({ transportSocket: c.transportSocket, transportSocketMatches: c.transportSocketMatches?.map((m) => m.name) })}`);
  const cert = tls.commonTlsContext?.tlsCertificateSdsSecretConfigs?.map((x) => x.name).join();
  const root = tls.commonTlsContext?.combinedValidationContext?.validationContextSdsSecretConfig?.name;
  if (tls.sni !== sni || cert !== 'default' || root !== 'ROOTCA') {
    throw new RouteError(`sidecar: cluster ${c.name}: TLS with SNI ${tls.sni}, certificate from SDS "${cert}", root from SDS "${root}"; ISTIO_MUTUAL to ${sni} is SNI ${sni}, "default", "ROOTCA"`);
  }
  const sans = tls.commonTlsContext?.combinedValidationContext?.defaultValidationContext?.matchSubjectAltNames?.map((m) => m.exact) ?? [];
  return { tls, line: `sidecar cluster ${c.name}: TLS, SNI ${tls.sni}, ALPN ${tls.commonTlsContext?.alpnProtocols?.join(',')}, SDS certificate "default" and root "ROOTCA" (ISTIO_MUTUAL), peer SAN ${sans.join(', ') || 'any'}` };
}

interface GatewayHop { sidecarRoute: TcpRoute; toGateway: Connection; gatewayRoute: TcpRoute; lines: string[] }

/**
 * The cart's connection to Redis through the sidecar to the gateway: the sidecar's route must be
 * the gateway's cluster with Istio mutual TLS; the gateway then sees a TLS connection on the
 * endpoint's port with the cluster's SNI and ALPN, routed by its own listeners.
 */
function gatewayHop(): GatewayHop {
  const { sidecar: s, gateway: g } = clients();
  const sidecarRoute = route(s, 'sidecar', CART_TO_REDIS);
  expectRoute('sidecar', CART_TO_REDIS, sidecarRoute, { listener: SE_LISTENER, target: GATEWAY_CLUSTER, why: 'the egress gateway' });
  const cluster = clusterOf(s, 'sidecar', GATEWAY_CLUSTER);
  const { tls, line } = istioMutual(cluster, SERVICE_ENTRY_HOST);
  const endpoints = endpointsOf(s, cluster);
  if (endpoints.length !== 1) throw new RouteError(`sidecar: cluster ${GATEWAY_CLUSTER} has endpoints [${endpoints.join(', ')}], not the one gateway pod`);
  const [ip, port] = endpoints[0]!.split(':');
  const toGateway: Connection = {
    destinationIp: ip!, destinationPort: Number(port), transportProtocol: 'tls',
    serverName: tls.sni!, applicationProtocols: tls.commonTlsContext?.alpnProtocols ?? [],
  };
  const gatewayRoute = route(g, 'gateway', toGateway);
  const others = [...(sidecarRoute.listener.filterChains ?? []), ...(sidecarRoute.listener.defaultFilterChain ? [sidecarRoute.listener.defaultFilterChain] : [])]
    .filter((c) => c !== sidecarRoute.chain)
    .map((c) => `${chainLabel(sidecarRoute.listener, c)} -> ${tcpProxyTarget(c)}`);
  return {
    sidecarRoute, toGateway, gatewayRoute,
    lines: [
      `${routeLine('sidecar', CART_TO_REDIS, sidecarRoute)}${others.length ? ` (the listener's other chains, not taken: ${others.join('; ')})` : ''}`,
      line,
      `sidecar cluster ${GATEWAY_CLUSTER}: endpoint ${endpoints[0]} (the gateway pod, the Service's 443 -> targetPort)`,
      routeLine('gateway', toGateway, gatewayRoute),
    ],
  };
}

function checkGatewayRoute(): Reading {
  const { sidecar: s, gateway: g } = clients();
  const h = gatewayHop();
  expectRoute('gateway', h.toGateway, h.gatewayRoute, { listener: GATEWAY_LISTENER, target: SE_CLUSTER });
  const downstream = h.gatewayRoute.chain.transportSocket?.typedConfig as TlsContext | undefined;
  if (downstream?.requireClientCertificate?.value !== true) throw new RouteError(`gateway: chain ${chainLabel(h.gatewayRoute.listener, h.gatewayRoute.chain)} of ${GATEWAY_LISTENER} does not require a client certificate (ISTIO_MUTUAL): ${JSON.stringify(h.gatewayRoute.chain.transportSocket)}`);
  const endpoints = expectEndpoints(g, 'gateway', clusterOf(g, 'gateway', SE_CLUSTER), [REDIS.REDIS_ADDR]);
  return {
    lines: [...h.lines, `gateway chain: TLS terminated, client certificate required (ISTIO_MUTUAL)`, endpoints],
    at: Math.max(arrivedAt(s, 'listener', 'cluster', 'endpoint'), arrivedAt(g, 'listener', 'cluster', 'endpoint')),
  };
}

/** Every string a principal matcher compares with, anywhere under `node`. */
function principalStrings(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const n of node) principalStrings(n, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (['exact', 'prefix', 'suffix', 'contains'].includes(k) && typeof v === 'string') out.push(v);
      else if (k === 'any' && v === true) out.push('(any)');
      else principalStrings(v, out);
    }
  }
  return out;
}

interface NetworkRbac { '@type': string; statPrefix?: string; rules?: { action?: string; policies?: Record<string, { permissions?: unknown[]; principals?: unknown[] }> }; shadowRules?: unknown }

function rbacFilters(chain: FilterChain): NetworkRbac[] {
  return (chain.filters ?? []).map((f) => typedConfigOf(f, NETWORK_RBAC_TYPE) as NetworkRbac | undefined).filter((r): r is NetworkRbac => r?.rules !== undefined);
}

function checkGatewayAuthz(): Reading {
  const { gateway: g } = clients();
  const h = gatewayHop();
  expectRoute('gateway', h.toGateway, h.gatewayRoute, { listener: GATEWAY_LISTENER, target: SE_CLUSTER });
  const { listener, chain } = h.gatewayRoute;
  const where = `gateway listener ${listener.name} / chain ${chainLabel(listener, chain)}`;
  const rbacs = rbacFilters(chain);
  if (rbacs.length !== 1) throw new RouteError(`${where}: ${rbacs.length} network RBAC filters with rules (filters: ${(chain.filters ?? []).map((f) => f.name).join(', ')})`);
  const names = (chain.filters ?? []).map((f) => f.name);
  if (names.indexOf('envoy.filters.network.rbac') > names.indexOf('envoy.filters.network.tcp_proxy')) throw new RouteError(`${where}: the RBAC filter comes after the TCP proxy (${names.join(', ')})`);
  const rules = rbacs[0]!.rules!;
  // ALLOW is the enum's zero value: left out of the JSON form.
  const action = rules.action ?? 'ALLOW';
  const policies = Object.entries(rules.policies ?? {});
  const principals = [...new Set(policies.flatMap(([, p]) => principalStrings(p.principals)))];
  const allowed = [CART_PRINCIPAL, `spiffe://${CART_PRINCIPAL}`];
  if (action !== 'ALLOW' || policies.length !== 1 || principals.length !== 1 || !allowed.includes(principals[0]!)) {
    throw new RouteError(`${where}: RBAC ${action}, policies [${policies.map(([n]) => n).join(', ')}], principals [${principals.join(', ')}]; expected ALLOW for exactly ${CART_PRINCIPAL}`);
  }
  return {
    lines: [...h.lines, `${where}: filters ${names.join(' -> ')}; RBAC ${action} policy ${policies[0]![0]} for principal ${principals[0]} only`],
    at: arrivedAt(g, 'listener'),
  };
}

function checkBypass(): Reading {
  const { sidecar: s } = clients();
  const r = route(s, 'sidecar', CART_TO_REDIS);
  expectRoute('sidecar', CART_TO_REDIS, r, { listener: SE_LISTENER, target: WORKSHOP_CLUSTER, why: 'straight to the workshop\'s ServiceEntry' });
  return { lines: [`${routeLine('sidecar', CART_TO_REDIS, r)}: straight to Redis; ${GATEWAY_CLUSTER} is not on the way`], at: arrivedAt(s, 'listener') };
}

// ---------------------------------------------------------------------------------------------
// Waiting, reporting, saving

/** Polls a check until it holds (RouteError: not yet); fails at once when a stream has ended. */
async function until(what: string, check: () => Reading): Promise<Reading> {
  const polled = await pollTimed(what, PUSH_MS, async () => {
    const { sidecar: s, gateway: g } = clients();
    s.checkAlive();
    g.checkAlive();
    try {
      return check();
    } catch (e) {
      if (e instanceof RouteError) throw new RetryableError(e.message);
      throw e;
    }
  }, String, { intervalMs: 50 });
  return polled.value;
}

/**
 * Expects the check to fail with a message that matches, once the proxies have their config: a
 * failure with another message (e.g. EDS not yet arrived) is retried until PUSH_MS, a pass fails
 * the test at once.
 */
async function expectFails(check: () => Reading, message: RegExp): Promise<string> {
  let matched = '';
  await until(`the check to fail with ${message}`, () => {
    matched = expectFailsOrRetry(check, message);
    return { lines: [], at: 0 };
  });
  return matched;
}

/**
 * Like expectFails, for a check that must fail with `message` once the proxies have their config:
 * a failure with another message is retried (RouteError), a pass fails the test at once.
 */
function expectFailsOrRetry(check: () => Reading, message: RegExp): string {
  try {
    check();
  } catch (e) {
    if (!(e instanceof RouteError)) throw e;
    if (message.test(e.message)) return e.message;
    throw e;
  }
  throw new Error('the check passed, but it should have failed');
}

function report(step: string, r: Reading, since?: { appliedAt: number; what: string }): void {
  const timing = since ? `; pushed ${formatDuration(r.at - since.appliedAt)} after ${since.what} was sent to the API server` : '';
  process.stdout.write(`[${step}] ${r.lines.join('\n    ')}${timing}\n`);
}

/** On failure: saves both clients' xDS under $ARTIFACTS_DIR/xds/<step>.json and says where. */
function saveOnFailure(ctx: TestContext, step: string): void {
  ctx.onTestFailed(async () => {
    const dir = join(loadSettings({ ARTIFACTS_DIR: process.env.ARTIFACTS_DIR }).artifactsDir, 'xds');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${step}.json`);
    await writeFile(file, JSON.stringify({ sidecar: sidecar?.dump(), gateway: gateway?.dump() }, null, 2));
    process.stdout.write(`[${step}] FAILED; the xDS received is in ${file}\n--- sidecar listeners:\n${describeListeners(sidecar?.listeners() ?? [])}\n--- gateway listeners:\n${describeListeners(gateway?.listeners() ?? [])}\n`);
  });
}

async function applied(objects: readonly KubeObject[]): Promise<number> {
  const at = performance.now();
  await kube.apply(objects);
  return at;
}

async function deleted(objects: readonly KubeObject[]): Promise<number> {
  const at = performance.now();
  await kube.delete(objects);
  return at;
}

interface ConfigzEntry { kind: string; metadata: { name: string; namespace: string }; spec?: unknown }

/** Whether `actual` has every field of `expected` with the same value (istiod writes its own key order, and defaults). */
function holds(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => holds(actual[i], e));
  if (expected && typeof expected === 'object') {
    return !!actual && typeof actual === 'object' && Object.entries(expected).every(([k, v]) => holds((actual as Record<string, unknown>)[k], v));
  }
  return actual === expected;
}

/** Waits until istiod's config store holds (or no longer holds) exactly these Istio objects' specs. */
async function inIstiod(objects: readonly KubeObject[], present: boolean): Promise<void> {
  const istio = objects.filter((o) => o.apiVersion.includes('istio.io'));
  await pollUntil(`istiod's /debug/configz ${present ? 'holding' : 'without'} ${istio.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')}`, PUSH_MS, async () => {
    const r = await istiod!.get('/debug/configz');
    const configs = JSON.parse(r.body) as ConfigzEntry[];
    for (const o of istio) {
      const c = configs.find((x) => x.kind === o.kind && x.metadata.name === o.metadata.name && x.metadata.namespace === o.metadata.namespace);
      const same = c !== undefined && holds(c.spec, o.spec);
      if (present ? !same : c !== undefined) throw new RetryableError(`${o.kind} ${o.metadata.name}: ${c ? JSON.stringify(c.spec).slice(0, 200) : 'absent'}`);
    }
    return true;
  }, String, { intervalMs: 100 });
}

/** Removes every routing fixture (chapter's and workshop's) and waits until the sidecar has no Redis listener. */
async function clearRouting(): Promise<void> {
  const all = [...egressAuthz(), ...egressGateway(), ...workshopGateway(), ...serviceEntry()];
  await kube.delete(all);
  await inIstiod(all, false);
  await until(`no listener ${SE_LISTENER} on the sidecar`, checkRemoved);
}

/** Edits the first object of a kind in a copy of a rendered fixture. */
function broken(objects: readonly KubeObject[], kind: string, edit: (spec: Record<string, unknown>) => void): KubeObject[] {
  const copy = structuredClone(objects) as KubeObject[];
  const o = copy.find((x) => x.kind === kind);
  if (!o) throw new Error(`no ${kind} in the fixture`);
  edit(o.spec as Record<string, unknown>);
  return copy;
}

// ---------------------------------------------------------------------------------------------

describe('the chapter\'s routing as istiod pushes it, step by step', () => {
  test('blocked: the sidecar\'s virtualOutbound catch-all chain goes to BlackHoleCluster (REGISTRY_ONLY)', (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'blocked');
    const r = checkBlocked();
    report('blocked', r);
  });

  test('serviceentry: fixtures/redis-serviceentry.yaml gives the sidecar a listener 192.0.2.10_6379 to the ServiceEntry\'s cluster, endpoint the Redis address', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'serviceentry');
    const appliedAt = await applied(serviceEntry());
    const r = await until(`${SE_LISTENER} -> ${SE_CLUSTER} with endpoint ${REDIS.REDIS_ADDR}`, checkServiceEntry);
    report('serviceentry', r, { appliedAt, what: 'the ServiceEntry' });
  });

  test('removed: deleting the ServiceEntry takes the listener and the cluster away; the catch-all goes to the black hole again', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'removed');
    const deletedAt = await deleted(serviceEntry());
    const r = await until(`no ${SE_LISTENER} on the sidecar`, checkRemoved);
    report('removed', r, { appliedAt: deletedAt, what: 'the delete' });
  });

  test('gateway-route: fixtures/egress-gateway.yaml sends the sidecar\'s 6379 to the egress gateway with ISTIO_MUTUAL, and the gateway\'s 8443 to Redis', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'gateway-route');
    const appliedAt = await applied(egressGateway());
    const r = await until('the sidecar -> egress gateway -> Redis route', checkGatewayRoute);
    report('gateway-route', r, { appliedAt, what: 'fixtures/egress-gateway.yaml' });
  });

  test('gateway-authz: fixtures/egress-gateway-authz.yaml puts an RBAC filter on the gateway\'s 8443 chain allowing only the cart\'s service account', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'gateway-authz');
    const appliedAt = await applied(egressAuthz());
    const r = await until('the gateway\'s RBAC filter for the cart only', checkGatewayAuthz);
    report('gateway-authz', r, { appliedAt, what: 'the AuthorizationPolicy' });
  });

  test('gateway-bypass: the workshop\'s Gateway without a VirtualService (fixtures/workshop-gateway.yaml) lets the sidecar go straight to Redis', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'gateway-bypass');
    // The chapter's step: the gateway routing and its authorization go, the workshop's original comes.
    await kube.delete(egressAuthz());
    await kube.delete(egressGateway());
    await until(`no listener ${SE_LISTENER} on the sidecar`, checkRemoved);
    const appliedAt = await applied(workshopGateway());
    const r = await until(`${SE_LISTENER} -> ${WORKSHOP_CLUSTER}`, checkBypass);
    report('gateway-bypass', r, { appliedAt, what: 'fixtures/workshop-gateway.yaml' });
  });
});

describe('each step\'s check fails when its fixture is broken (a copy, edited)', () => {
  /** Waits until the sidecar has a listener (a positive sign that istiod pushed a change). */
  const listenerPushed = (name: string) => until(`listener ${name} on the sidecar`, () => {
    const { sidecar: s } = clients();
    if (!s.listener(name)) throw new RouteError(`listeners: ${s.listeners().map((l) => l.name).join(', ')}`);
    return { lines: [], at: arrivedAt(s, 'listener') };
  });

  /** The blocked route: what the cart's connection to Redis meets once the ServiceEntry does not declare it. */
  const STILL_BLOCKED = /^sidecar 192\.0\.2\.10:6379 -> listener virtualOutbound \/ chain virtualOutbound-catchall-tcp -> BlackHoleCluster, not listener 192\.0\.2\.10_6379 -> outbound\|6379\|\|redis\.memorystore\.internal$/;

  test('serviceentry, with the ServiceEntry\'s port changed to 6380: istiod pushes 192.0.2.10_6380, and the cart\'s 6379 still goes to the black hole', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'broken-serviceentry-port');
    await clearRouting();
    ctx.onTestFinished(() => clearRouting());
    await kube.apply(broken(serviceEntry(), 'ServiceEntry', (spec) => {
      (spec.ports as { number: number }[])[0]!.number = 6380;
    }));
    await listenerPushed(`${REDIS_IP}_6380`);
    const message = await expectFails(checkServiceEntry, STILL_BLOCKED);
    process.stdout.write(`[broken-serviceentry-port] pushed ${REDIS_IP}_6380; the serviceentry check fails: ${message}\n`);
  });

  test('serviceentry, with the ServiceEntry\'s address changed to 192.0.2.11/32: istiod pushes 192.0.2.11_6379, and the cart\'s 192.0.2.10 still goes to the black hole', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'broken-serviceentry-address');
    await clearRouting();
    ctx.onTestFinished(() => clearRouting());
    await kube.apply(broken(serviceEntry(), 'ServiceEntry', (spec) => {
      spec.addresses = ['192.0.2.11/32'];
    }));
    await listenerPushed('192.0.2.11_6379');
    const message = await expectFails(checkServiceEntry, STILL_BLOCKED);
    process.stdout.write(`[broken-serviceentry-address] pushed 192.0.2.11_6379; the serviceentry check fails: ${message}\n`);
  });

  /**
   * Applies a routing fixture with its ServiceEntry last and apart: the rest first, until
   * istiod's config store holds it, then the ServiceEntry. Every push that has the ServiceEntry's
   * listener or cluster was computed with the (broken) routing, so reading it proves the break.
   * Returns when the ServiceEntry was sent.
   */
  async function routingThenServiceEntry(objects: readonly KubeObject[]): Promise<number> {
    const routing = objects.filter((o) => o.kind !== 'ServiceEntry');
    await kube.apply(routing);
    await inIstiod(routing, true);
    return applied(objects.filter((o) => o.kind === 'ServiceEntry'));
  }

  test('gateway-route, with "mesh" misspelt in the VirtualService: the sidecar goes straight to Redis and the step fails', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'broken-gateway-route-mesh');
    await clearRouting();
    ctx.onTestFinished(() => clearRouting());
    await routingThenServiceEntry(broken(egressGateway(), 'VirtualService', (spec) => {
      spec.gateways = ['mseh', 'redis-egress'];
      (spec.tcp as { match: { gateways: string[] }[] }[])[0]!.match[0]!.gateways = ['mseh'];
    }));
    await listenerPushed(SE_LISTENER);
    const message = await expectFails(checkGatewayRoute, /^sidecar 192\.0\.2\.10:6379 -> listener 192\.0\.2\.10_6379 \/ chain .* -> outbound\|6379\|\|redis\.memorystore\.internal, not listener 192\.0\.2\.10_6379 -> outbound\|443\|redis\|istio-egressgateway\.istio-system\.svc\.cluster\.local \(the egress gateway\)$/);
    process.stdout.write(`[broken-gateway-route-mesh] the gateway-route check fails: ${message}\n`);
  });

  test('gateway-route, with the Gateway\'s name misspelt in the VirtualService: the sidecar sends to the gateway, whose 8443 does not send to Redis, and the step fails', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'broken-gateway-route-gateway');
    await clearRouting();
    ctx.onTestFinished(() => clearRouting());
    const { gateway: g } = clients();
    const serviceEntryAt = await routingThenServiceEntry(broken(egressGateway(), 'VirtualService', (spec) => {
      spec.gateways = ['mesh', 'redis-egres'];
      (spec.tcp as { match: { gateways: string[] }[] }[])[1]!.match[0]!.gateways = ['redis-egres'];
    }));
    // The ServiceEntry's cluster on the gateway, and a listener push after it: computed with the broken VirtualService.
    await until(`${SE_CLUSTER} on the gateway, and listeners pushed after it`, () => {
      const cds = g.updates.find((u) => u.type === 'cluster' && u.receivedAt >= serviceEntryAt && u.names.includes(SE_CLUSTER));
      const lds = cds && g.updates.find((u) => u.type === 'listener' && u.receivedAt >= cds.receivedAt);
      if (!lds) throw new RouteError(cds ? 'no listener push since the ServiceEntry\'s cluster arrived' : `no ${SE_CLUSTER} pushed yet`);
      return { lines: [], at: lds.receivedAt };
    });
    // The mesh leg is intact: the sidecar sends Redis traffic to the gateway ...
    const sidecarLeg = await until(`${SE_LISTENER} -> ${GATEWAY_CLUSTER} on the sidecar`, () => {
      const r = route(clients().sidecar, 'sidecar', CART_TO_REDIS);
      expectRoute('sidecar', CART_TO_REDIS, r, { listener: SE_LISTENER, target: GATEWAY_CLUSTER });
      return { lines: [routeLine('sidecar', CART_TO_REDIS, r)], at: arrivedAt(clients().sidecar, 'listener') };
    });
    // ... where nothing sends it on to Redis. The sidecar's side of the check can still be waiting
    // for the gateway cluster's endpoints (EDS comes after CDS): wait until the check fails at
    // the gateway, and never let it pass.
    const message = await expectFails(checkGatewayRoute, /^gateway[: ]/);
    process.stdout.write(`[broken-gateway-route-gateway] ${sidecarLeg.lines.join()}; the gateway-route check fails: ${message}\n`);
  });

  test('gateway-authz, with the principal of another service account: the gateway\'s RBAC names it, and the step fails', async (ctx) => {
    needTools(ctx, problem);
    saveOnFailure(ctx, 'broken-gateway-authz');
    await clearRouting();
    ctx.onTestFinished(() => clearRouting());
    await kube.apply(egressGateway());
    await until('the sidecar -> egress gateway -> Redis route', checkGatewayRoute);
    const other = `cluster.local/ns/${MESH_NS}/sa/default`;
    await kube.apply(broken(egressAuthz(), 'AuthorizationPolicy', (spec) => {
      (spec.rules as { from: { source: { principals: string[] } }[] }[])[0]!.from[0]!.source.principals = [other];
    }));
    await until(`an RBAC filter naming ${other} on the gateway's chain`, () => {
      const { gatewayRoute } = gatewayHop();
      const named = rbacFilters(gatewayRoute.chain).some((r) => principalStrings(r.rules).some((p) => p.endsWith(other)));
      if (!named) throw new RouteError(`filters: ${(gatewayRoute.chain.filters ?? []).map((f) => f.name).join(', ')}`);
      return { lines: [], at: 0 };
    });
    const message = await expectFails(checkGatewayAuthz, /principals \[(spiffe:\/\/)?cluster\.local\/ns\/egress-verify-mesh\/sa\/default\]; expected ALLOW for exactly cluster\.local\/ns\/egress-verify-mesh\/sa\/cartservice$/);
    process.stdout.write(`[broken-gateway-authz] the gateway-authz check fails: ${message}\n`);
  });
});

describe('the xDS client', () => {
  test('a node istiod cannot parse ends the stream with istiod\'s own words, and nothing is left open', async (ctx) => {
    needTools(ctx, problem);
    const client = new XdsClient(`127.0.0.1:${istiod!.ports.grpc}`, { connectTimeoutMs: 10_000 });
    const node = { ...clients().sidecar.node!, id: 'sidecar~10.244.0.1' };
    await expect(client.connect(node)).rejects.toThrow(/^istiod ended the stream: INVALID_ARGUMENT: missing parts in the service node "sidecar~10\.244\.0\.1"/);
    // connect() closed it: a second close is a no-op, and the client refuses to wait on it.
    await client.close();
    expect(() => client.checkAlive()).toThrow();
  });
});
