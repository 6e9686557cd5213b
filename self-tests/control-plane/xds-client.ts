/**
 * An xDS client that asks istiod for a proxy's configuration exactly as the proxy would: one
 * gRPC stream `envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`
 * (state of the world), subscribed to clusters (CDS) and listeners (LDS), and to the endpoints
 * (EDS) of every EDS cluster it is sent, the way Envoy follows CDS with EDS. Every response is
 * decoded with protobufjs from the Envoy API protos and ACKed (NACKed when it cannot be decoded),
 * so istiod keeps pushing as it would to a real proxy.
 *
 *   const xds = new XdsClient(`127.0.0.1:${istiod.ports.grpc}`);
 *   await xds.connect(sidecarNode({ ip, name, namespace, labels, serviceAccount }));
 *   xds.listener('virtualOutbound') ...
 *   await xds.close();
 *
 * What istiod 1.31 needs of a node (pilot/pkg/xds/ads.go initProxyMetadata, and
 * pilot/pkg/model/context.go ParseServiceNodeWithMetadata):
 * - the id `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`, type `sidecar` or
 *   `router`; the IPs come from metadata INSTANCE_IPS when valid, else from the id;
 * - metadata as a google.protobuf.Struct whose JSON is Istio's NodeMetadata (pkg/model/proxy.go):
 *   NAMESPACE (the config namespace), LABELS, ISTIO_VERSION (parsed for feature gates), CLUSTER_ID
 *   (which registry the pod is in), SERVICE_ACCOUNT, NAME, INTERCEPTION_MODE (REDIRECT makes
 *   istiod build the virtualOutbound listener on 15001), ...
 * On the plain-text port istiod authenticates nobody (pkg/security/authentication.go: not TLS,
 * no authentication), so the node's word is taken; istiod then looks the pod up by its IP in
 * its Kubernetes registry (the workload's labels and services come from there).
 *
 * The Envoy protos are the ones @grpc/grpc-js-xds ships under deps/ (envoy-api, xds,
 * googleapis, protoc-gen-validate); google/protobuf/descriptor.proto comes from protobufjs.
 * Resources are given as protobufjs' JSON form: camelCase fields, enums by name, 64-bit
 * integers as strings, fields at their default value left out (an enum's zero value too:
 * RBAC's action ALLOW, a cluster's type STATIC), and every google.protobuf.Any that names a
 * loaded type decoded into `{ "@type": <type URL>, ...fields }` (one of another type stays
 * `{ type_url, value }`, the value in base64).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { pollTimed, RetryableError } from '../../helpers/run/poll.ts';

export const TYPE_URL = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
export type XdsType = keyof typeof TYPE_URL;

export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
export const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** The files loaded: what a listener, a cluster and the filters read here can carry (Any payloads included). */
const PROTO_FILES = [
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
];
const PROTO_DEPS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'];

/** A JSON value, as node metadata holds it (a google.protobuf.Struct). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A resource in protobufjs' JSON form (see the file's comment). */
export interface XdsObject { [field: string]: unknown }

export interface XdsNode {
  id: string;
  /** Envoy's --service-cluster; pilot-agent sends `<app>.<namespace>`. */
  cluster: string;
  metadata: Record<string, JsonValue>;
}

export interface TypedConfig extends XdsObject { '@type'?: string }
export interface NetworkFilter extends XdsObject { name: string; typedConfig?: TypedConfig }
export interface FilterChain extends XdsObject {
  name?: string;
  filterChainMatch?: XdsObject;
  filters?: NetworkFilter[];
  transportSocket?: { name?: string; typedConfig?: TypedConfig };
}
export interface Listener extends XdsObject {
  name: string;
  address?: { socketAddress?: { address?: string; portValue?: number } };
  filterChains?: FilterChain[];
  defaultFilterChain?: FilterChain;
  useOriginalDst?: { value?: boolean };
}
export interface Cluster extends XdsObject {
  name: string;
  type?: string;
  transportSocket?: { name?: string; typedConfig?: TypedConfig };
  transportSocketMatches?: { name?: string; match?: XdsObject; transportSocket?: { name?: string; typedConfig?: TypedConfig } }[];
}
export interface ClusterLoadAssignment extends XdsObject {
  clusterName: string;
  endpoints?: { lbEndpoints?: { endpoint?: { address?: { socketAddress?: { address?: string; portValue?: number } } } }[] }[];
}

/** One response istiod sent on the stream. */
export interface XdsUpdate {
  type: XdsType;
  versionInfo: string;
  nonce: string;
  /** performance.now() when it arrived. */
  receivedAt: number;
  /** The resources' names, in the order sent. */
  names: string[];
  /** Set when it could not be decoded (then NACKed). */
  error?: string;
}

/** What a proxy's sidecar node is made of (read from its pod). */
export interface PodIdentity {
  ip: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  nodeName?: string;
}

export interface NodeOptions {
  istioVersion: string;
  /** CLUSTER_ID: the registry istiod knows the pod from ("Kubernetes" for its own cluster). */
  clusterId?: string;
  domain?: string;
}

function baseMetadata(pod: PodIdentity, o: NodeOptions): Record<string, JsonValue> {
  const workload = pod.labels['service.istio.io/canonical-name'] ?? pod.labels.app ?? pod.name;
  return {
    NAMESPACE: pod.namespace,
    NAME: pod.name,
    LABELS: pod.labels,
    ISTIO_VERSION: o.istioVersion,
    CLUSTER_ID: o.clusterId ?? 'Kubernetes',
    SERVICE_ACCOUNT: pod.serviceAccount,
    INSTANCE_IPS: pod.ip,
    WORKLOAD_NAME: workload,
    MESH_ID: o.domain ?? 'cluster.local',
    ...(pod.nodeName ? { NODE_NAME: pod.nodeName } : {}),
  };
}

function nodeId(type: 'sidecar' | 'router', pod: PodIdentity, domain: string): string {
  return `${type}~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.${domain}`;
}

/** The node a pod's injected sidecar (pilot-agent) presents: iptables REDIRECT interception. */
export function sidecarNode(pod: PodIdentity, o: NodeOptions): XdsNode {
  const domain = o.domain ?? 'cluster.local';
  return {
    id: nodeId('sidecar', pod, domain),
    cluster: `${pod.labels.app ?? pod.name}.${pod.namespace}`,
    metadata: { ...baseMetadata(pod, o), INTERCEPTION_MODE: 'REDIRECT' },
  };
}

/** The node a gateway's proxy (pilot-agent in router mode) presents. */
export function routerNode(pod: PodIdentity, o: NodeOptions): XdsNode {
  const domain = o.domain ?? 'cluster.local';
  return {
    id: nodeId('router', pod, domain),
    cluster: `${pod.labels.app ?? pod.name}.${pod.namespace}`,
    metadata: baseMetadata(pod, o),
  };
}

let loadedRoot: protobuf.Root | undefined;

/** Where @grpc/grpc-js-xds keeps the Envoy API protos, or undefined when it is not installed. */
export function envoyProtoDirs(): string[] | undefined {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json');
  } catch {
    return undefined;
  }
  const dirs = PROTO_DEPS.map((d) => join(dirname(pkg), 'deps', d));
  return dirs.every((d) => existsSync(d)) ? dirs : undefined;
}

/** The Envoy protos, loaded once (about 0.2 s). */
export function envoyProtos(): protobuf.Root {
  if (loadedRoot) return loadedRoot;
  const dirs = envoyProtoDirs();
  if (!dirs) throw new Error('the Envoy API protos are not installed: `npm install` (devDependency @grpc/grpc-js-xds ships them under deps/)');
  // validate/validate.proto and udpa's annotations extend google.protobuf.FieldOptions.
  const require = createRequire(import.meta.url);
  const descriptor = require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } } };
  protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target;
  root.loadSync(PROTO_FILES, { keepCase: false });
  root.resolveAll();
  loadedRoot = root;
  return root;
}

const toJsonOptions: protobuf.IConversionOptions = { json: true, longs: String, enums: String, bytes: String, defaults: false, arrays: false };

/** A google.protobuf.Value for a JSON value. */
function structValue(v: JsonValue): XdsObject {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(structValue) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structValue(x)])) } };
}

/** protobufjs keeps google.protobuf.Any's field names as written (type_url), for its JSON wrapper. */
interface RawResponse { versionInfo?: string; nonce?: string; typeUrl?: string; resources?: { type_url?: string; value?: Uint8Array }[] }

interface TypeState {
  versionInfo: string;
  nonce: string;
  resources: Map<string, XdsObject>;
  /** The names subscribed to (empty: wildcard, for CDS and LDS). */
  subscribed: string[];
  requested: boolean;
}

export interface XdsClientOptions {
  /** How long connect() waits for the channel and for the first clusters and listeners. */
  connectTimeoutMs?: number;
}

export class XdsClient {
  readonly address: string;
  /** Every response, in order of arrival. */
  readonly updates: XdsUpdate[] = [];
  node: XdsNode | undefined;
  /** From connect() to the first clusters and listeners decoded. */
  connectedInMs = 0;
  readonly #connectTimeoutMs: number;
  readonly #root = envoyProtos();
  readonly #request = this.#root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
  readonly #response = this.#root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  #client: grpc.Client | undefined;
  #stream: grpc.ClientDuplexStream<Uint8Array, RawResponse> | undefined;
  /** Settles when the stream has its final status. */
  #streamDone: Promise<void> = Promise.resolve();
  /** Why the stream ended, when it ended other than by close(). */
  #ended: string | undefined;
  #closing = false;
  readonly #state = new Map<XdsType, TypeState>();

  constructor(address: string, options: XdsClientOptions = {}) {
    this.address = address;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  }

  /**
   * Opens the stream as `node`, subscribes to clusters and listeners and waits until both have
   * arrived. Throws with istiod's status when it ends the stream (e.g. INVALID_ARGUMENT for a node
   * id it cannot parse).
   */
  async connect(node: XdsNode): Promise<void> {
    if (this.#client) throw new Error('connect() was already called');
    const started = performance.now();
    this.node = node;
    const client = new grpc.Client(this.address, grpc.credentials.createInsecure(), {
      // A push of a whole mesh can be large.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    this.#client = client;
    try {
      await new Promise<void>((ok, fail) => {
        client.waitForReady(Date.now() + this.#connectTimeoutMs, (e) => (e ? fail(new Error(`no gRPC channel to istiod at ${this.address}: ${e.message}`)) : ok()));
      });
      const stream = client.makeBidiStreamRequest<Uint8Array, RawResponse>(
        ADS_METHOD,
        (m) => Buffer.from(m),
        (b) => this.#response.toObject(this.#response.decode(b), { longs: String, defaults: false }) as RawResponse,
      );
      this.#stream = stream;
      this.#streamDone = new Promise<void>((ok) => {
        stream.once('status', () => ok());
        stream.once('close', () => ok());
      });
      stream.on('data', (r: RawResponse) => this.#onResponse(r));
      stream.on('error', (e: grpc.ServiceError) => {
        if (!this.#closing) this.#ended = `istiod ended the stream: ${grpc.status[e.code] ?? e.code}: ${e.details}`;
      });
      stream.on('end', () => {
        if (!this.#closing) this.#ended ??= 'istiod ended the stream';
      });
      for (const type of ['cluster', 'listener'] as const) {
        this.#state.set(type, { versionInfo: '', nonce: '', resources: new Map(), subscribed: [], requested: false });
        this.#send(type, { node: true });
      }
      await pollTimed(`clusters and listeners from istiod (${this.address}) for ${node.id}`, this.#connectTimeoutMs, async () => {
        this.#alive();
        const missing = (['cluster', 'listener'] as const).filter((t) => !this.updates.some((u) => u.type === t));
        if (missing.length > 0) throw new RetryableError(`no ${missing.join(' and ')} response yet`);
        return true;
      }, String, { intervalMs: 25 });
      this.connectedInMs = performance.now() - started;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Throws when the stream has ended (a wait on this client can then never succeed). */
  #alive(): void {
    if (this.#ended) throw new Error(this.#ended);
    if (this.#closing) throw new Error('the xDS client is closed');
  }

  /** Throws the reason when the stream has ended; for a caller's poll. */
  checkAlive(): void {
    this.#alive();
  }

  #send(type: XdsType, o: { node?: boolean; error?: string } = {}): void {
    const s = this.#state.get(type)!;
    s.requested = true;
    const node = o.node && this.node
      ? {
          id: this.node.id,
          cluster: this.node.cluster,
          userAgentName: 'egress-verify-xds-client',
          metadata: { fields: Object.fromEntries(Object.entries(this.node.metadata).map(([k, v]) => [k, structValue(v)])) },
        }
      : undefined;
    const message = this.#request.fromObject({
      ...(node ? { node } : {}),
      typeUrl: TYPE_URL[type],
      versionInfo: s.versionInfo,
      responseNonce: s.nonce,
      resourceNames: s.subscribed,
      ...(o.error ? { errorDetail: { code: grpc.status.INVALID_ARGUMENT, message: o.error } } : {}),
    });
    this.#stream?.write(this.#request.encode(message).finish());
  }

  #onResponse(r: RawResponse): void {
    const type = (Object.keys(TYPE_URL) as XdsType[]).find((t) => TYPE_URL[t] === r.typeUrl);
    if (!type) return; // nothing else was asked for
    const s = this.#state.get(type)!;
    const update: XdsUpdate = { type, versionInfo: r.versionInfo ?? '', nonce: r.nonce ?? '', receivedAt: performance.now(), names: [] };
    const resources = new Map<string, XdsObject>();
    try {
      for (const any of r.resources ?? []) {
        const url = any.type_url ?? '';
        if (url !== TYPE_URL[type]) throw new Error(`a resource of type ${url} in a ${type} response`);
        const t = this.#root.lookupType(url.slice(url.lastIndexOf('/') + 1));
        const decoded = t.toObject(t.decode(any.value ?? new Uint8Array()), toJsonOptions) as XdsObject;
        const key = String(decoded.name ?? decoded.clusterName ?? '');
        resources.set(key, decoded);
        update.names.push(key);
      }
    } catch (e) {
      update.error = (e as Error).message;
    }
    this.updates.push(update);
    if (update.error) {
      // NACK: keep the last good version, name the nonce.
      s.nonce = update.nonce;
      this.#send(type, { error: update.error });
      return;
    }
    s.versionInfo = update.versionInfo;
    s.nonce = update.nonce;
    s.resources = resources;
    this.#send(type);
    if (type === 'cluster') this.#followEndpoints();
  }

  /** As Envoy does: after clusters, (re)subscribe to the endpoints of every EDS cluster. */
  #followEndpoints(): void {
    const names = [...this.#state.get('cluster')!.resources.values()]
      .filter((c) => c.type === 'EDS')
      .map((c) => String(c.name))
      .sort();
    let s = this.#state.get('endpoint');
    if (!s) {
      if (names.length === 0) return;
      s = { versionInfo: '', nonce: '', resources: new Map(), subscribed: names, requested: false };
      this.#state.set('endpoint', s);
      this.#send('endpoint');
      return;
    }
    if (names.join('\n') === s.subscribed.join('\n')) return;
    s.subscribed = names;
    for (const k of [...s.resources.keys()]) if (!names.includes(k)) s.resources.delete(k);
    this.#send('endpoint');
  }

  #resources<T extends XdsObject>(type: XdsType): T[] {
    return [...(this.#state.get(type)?.resources.values() ?? [])] as T[];
  }

  /** The listeners of the latest LDS response. */
  listeners(): Listener[] {
    return this.#resources<Listener>('listener');
  }

  /** The clusters of the latest CDS response. */
  clusters(): Cluster[] {
    return this.#resources<Cluster>('cluster');
  }

  /** The endpoints of the EDS clusters, as last sent. */
  endpoints(): ClusterLoadAssignment[] {
    return this.#resources<ClusterLoadAssignment>('endpoint');
  }

  listener(name: string): Listener | undefined {
    return this.listeners().find((l) => l.name === name);
  }

  cluster(name: string): Cluster | undefined {
    return this.clusters().find((c) => c.name === name);
  }

  endpoint(clusterName: string): ClusterLoadAssignment | undefined {
    return this.endpoints().find((e) => e.clusterName === clusterName);
  }

  /** The last response of a type (when the current state arrived). */
  lastUpdate(type: XdsType): XdsUpdate | undefined {
    return this.updates.findLast((u) => u.type === type);
  }

  /** Everything this client holds, for a failure's attachment. */
  dump(): { address: string; node: XdsNode | undefined; ended: string | undefined; updates: XdsUpdate[]; listeners: Listener[]; clusters: Cluster[]; endpoints: ClusterLoadAssignment[] } {
    return { address: this.address, node: this.node, ended: this.#ended, updates: this.updates, listeners: this.listeners(), clusters: this.clusters(), endpoints: this.endpoints() };
  }

  /** Ends the stream and the channel. Safe to call twice, and after a failed connect(). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const stream = this.#stream;
    if (stream) {
      stream.on('error', () => undefined);
      stream.cancel();
      // The status follows a cancel at once (or came already, when istiod ended the stream).
      await Promise.race([this.#streamDone, new Promise<void>((ok) => {
        const t = setTimeout(ok, 2_000);
        t.unref();
      })]);
    }
    this.#client?.close();
  }
}

/** A network filter's decoded typed_config, when it has the given type. */
export function typedConfigOf(filter: NetworkFilter | undefined, typeUrl: string): TypedConfig | undefined {
  return filter?.typedConfig?.['@type'] === typeUrl ? filter.typedConfig : undefined;
}

/** A chain's TCP proxy target: its single cluster, or its weighted clusters joined by ",". */
export function tcpProxyTarget(chain: FilterChain): string | undefined {
  for (const f of chain.filters ?? []) {
    const tcp = typedConfigOf(f, TCP_PROXY_TYPE) as { cluster?: string; weightedClusters?: { clusters?: { name: string }[] } } | undefined;
    if (!tcp) continue;
    if (tcp.cluster) return tcp.cluster;
    return (tcp.weightedClusters?.clusters ?? []).map((c) => c.name).join(',');
  }
  return undefined;
}

/**
 * A connection as a proxy's listeners see it: where it was going (the original destination, for
 * a sidecar's iptables-redirected traffic) and what its first bytes tell Envoy's listener filters.
 */
export interface Connection {
  destinationIp: string;
  destinationPort: number;
  /** "raw_buffer" (plain TCP) or "tls" (the TLS inspector saw a ClientHello). */
  transportProtocol: 'raw_buffer' | 'tls';
  /** The TLS SNI, when there is one. */
  serverName?: string;
  /** The TLS ALPN offered, when there is one. */
  applicationProtocols?: string[];
}

export interface TcpRoute {
  listener: Listener;
  chain: FilterChain;
  /** The chain's TCP proxy cluster; undefined when the chain ends in another filter (HTTP). */
  target: string | undefined;
}

function ipv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function inPrefix(ip: string, prefix: string, len: number): boolean {
  const a = ipv4(ip);
  const b = ipv4(prefix);
  if (a === undefined || b === undefined) return ip === prefix;
  if (len === 0) return true;
  const size = 2 ** (32 - len);
  return Math.floor(a / size) === Math.floor(b / size);
}

interface ChainMatch {
  destinationPort?: { value?: number };
  prefixRanges?: { addressPrefix?: string; prefixLen?: { value?: number } }[];
  serverNames?: string[];
  transportProtocol?: string;
  applicationProtocols?: string[];
  directSourcePrefixRanges?: unknown[];
  sourceType?: string;
  sourcePrefixRanges?: unknown[];
  sourcePorts?: unknown[];
}

/**
 * How specific a chain's criterion is for the connection: undefined when it excludes it, 0 when
 * the chain does not set it, more for a closer match (Envoy prefers the most specific).
 */
const CRITERIA: { name: string; score: (m: ChainMatch, c: Connection) => number | undefined }[] = [
  { name: 'destination_port', score: (m, c) => (m.destinationPort?.value === undefined ? 0 : m.destinationPort.value === c.destinationPort ? 1 : undefined) },
  {
    name: 'prefix_ranges',
    score: (m, c) => {
      if (!m.prefixRanges?.length) return 0;
      const lens = m.prefixRanges.filter((r) => inPrefix(c.destinationIp, r.addressPrefix ?? '', r.prefixLen?.value ?? 0)).map((r) => r.prefixLen?.value ?? 0);
      return lens.length ? 1 + Math.max(...lens) : undefined;
    },
  },
  {
    name: 'server_names',
    score: (m, c) => {
      if (!m.serverNames?.length) return 0;
      const sni = c.serverName;
      if (!sni) return undefined;
      if (m.serverNames.includes(sni)) return 1000;
      const wild = m.serverNames.filter((n) => n.startsWith('*.') && sni.endsWith(n.slice(1))).map((n) => n.length);
      return wild.length ? Math.max(...wild) : undefined;
    },
  },
  { name: 'transport_protocol', score: (m, c) => (!m.transportProtocol ? 0 : m.transportProtocol === c.transportProtocol ? 1 : undefined) },
  { name: 'application_protocols', score: (m, c) => (!m.applicationProtocols?.length ? 0 : m.applicationProtocols.some((p) => (c.applicationProtocols ?? []).includes(p)) ? 1 : undefined) },
];

/**
 * The filter chain Envoy picks for a connection (envoy/config/listener/v3/listener_components.proto,
 * FilterChainMatch: criteria in order, the most specific match winning at each, the default
 * chain when none matches). Source-side criteria are not modelled: a chain that sets one throws.
 */
export function pickChain(listener: Listener, c: Connection): FilterChain | undefined {
  let candidates = listener.filterChains ?? [];
  for (const chain of candidates) {
    const m = (chain.filterChainMatch ?? {}) as ChainMatch;
    if (m.directSourcePrefixRanges?.length || m.sourcePrefixRanges?.length || m.sourcePorts?.length || (m.sourceType && m.sourceType !== 'ANY')) {
      throw new Error(`listener ${listener.name}: chain ${chainLabel(listener, chain)} matches on the source, which pickChain does not model`);
    }
  }
  for (const { score } of CRITERIA) {
    const scored = candidates.map((chain) => ({ chain, s: score((chain.filterChainMatch ?? {}) as ChainMatch, c) })).filter((x) => x.s !== undefined);
    if (scored.length === 0) return listener.defaultFilterChain;
    const best = Math.max(...scored.map((x) => x.s!));
    candidates = scored.filter((x) => x.s === best).map((x) => x.chain);
  }
  if (candidates.length > 1) throw new Error(`listener ${listener.name}: ${candidates.length} chains match ${JSON.stringify(c)} equally`);
  return candidates[0] ?? listener.defaultFilterChain;
}

/**
 * Where a proxy sends a connection: the listener for its destination (for a sidecar, Envoy hands
 * a connection redirected to virtualOutbound over to the listener bound to its original
 * destination ip:port, else to the one on 0.0.0.0:port, else keeps it), the chain it picks, and
 * that chain's TCP proxy cluster. undefined when no listener takes it.
 */
export function routeConnection(listeners: readonly Listener[], c: Connection): TcpRoute | undefined {
  const on = (ip: string) => listeners.find((l) => l.address?.socketAddress?.address === ip && l.address.socketAddress.portValue === c.destinationPort);
  const listener = on(c.destinationIp) ?? on('0.0.0.0') ?? listeners.find((l) => l.useOriginalDst?.value === true);
  if (!listener) return undefined;
  const chain = pickChain(listener, c);
  if (!chain) return undefined;
  return { listener, chain, target: tcpProxyTarget(chain) };
}

/** A chain's name for a report: its name, else "(unnamed chain #i)". */
export function chainLabel(listener: Listener, chain: FilterChain): string {
  if (chain.name) return chain.name;
  if (chain === listener.defaultFilterChain) return '(default filter chain)';
  return `(unnamed chain #${(listener.filterChains ?? []).indexOf(chain)})`;
}

/** One line per listener: name, address, and each chain's match and TCP target. */
export function describeListeners(listeners: readonly Listener[]): string {
  return listeners.map((l) => {
    const chains = [...(l.filterChains ?? []), ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
    const parts = chains.map((c) => `${chainLabel(l, c)}${c.filterChainMatch ? ` ${JSON.stringify(c.filterChainMatch)}` : ''} -> ${tcpProxyTarget(c) ?? (c.filters ?? []).map((f) => f.name).join('+')}`);
    const a = l.address?.socketAddress;
    return `${l.name} (${a?.address ?? '?'}:${a?.portValue ?? 0}): ${parts.join('; ') || 'no chains'}`;
  }).join('\n');
}
