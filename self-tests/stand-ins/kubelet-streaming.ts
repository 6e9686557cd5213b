/**
 * STAND-IN, for self-tests only (never used by `npm test`): a peer that speaks the Kubernetes API
 * server's WebSocket streaming subprotocols for `pods/portforward` and `pods/exec`, the way the
 * kubelet and the API server do, so the real @kubernetes/client-node can be driven through the
 * suite's own `Kube` (helpers/cluster/kube.ts) without a cluster. It serves nothing else: no REST API,
 * no pod lookup; tests hand pod names to `Kube.portForward` through its resolver function.
 *
 * Written from these upstream sources (kubernetes/kubernetes v1.35.0; the staging repositories
 * kubernetes/kubelet, kubernetes/apiserver and kubernetes/apimachinery at tag v0.35.0):
 * - Port-forward, kubelet `pkg/cri/streaming/portforward/websocket.go` (staging/src/k8s.io/kubelet/...):
 *   subprotocols "", `v4.channel.k8s.io`, `v4.base64.channel.k8s.io`; per port a data channel 2*i
 *   and an error channel 2*i+1; in `handleWebSocketStreams` the port as 2 bytes little endian is
 *   written on the data AND the error channel before anything is relayed; in `portForward` a
 *   forwarder error is written as text ("error forwarding port P to pod NAME, uid UID: ERR") on
 *   the error channel, then the streams and the connection close. The API server passes a
 *   `v4.channel.k8s.io` request through to the kubelet; only `SPDY/3.1+portforward.k8s.io` would be
 *   tunnelled by the API server itself (kubernetes/kubernetes `pkg/registry/core/pod/rest/subresources.go`
 *   PortForwardREST.Connect; apiserver `pkg/util/proxy/streamtunnel.go`).
 * - Channel framing, apimachinery `pkg/util/httpstream/wsstream/conn.go`: each binary message is
 *   one channel byte then the payload; the first subprotocol the client offers that the server
 *   supports is chosen (`handshake`); channel 255 from the client is the v5 half-close signal
 *   (not implemented here: the suite sends no stdin).
 * - Exec: client-node offers `v5.channel.k8s.io` first, and the API server answers a v5 request
 *   itself (`ExecREST.Connect` wraps the proxy in `NewStreamTranslatorHandler` when the request
 *   offers v5); apiserver `pkg/util/proxy/websocket.go` `createWebSocketStreams`: channels stdin 0,
 *   stdout 1, stderr 2, error 3, resize 4, an empty frame on the lowest writable channel once
 *   open, the final metav1.Status as JSON on channel 3; `pkg/util/proxy/streamtranslator.go`:
 *   Success, or Failure with reason NonZeroExitCode and a cause {reason: ExitCode, message: "N"}
 *   (`codeExitToStatusError`; the kubelet's `pkg/cri/streaming/remotecommand/exec.go` writes the
 *   same for v4). Without v5 the request goes to the kubelet, which speaks v4 the same way
 *   (`pkg/cri/streaming/remotecommand/websocket.go`).
 * - A refused exec: before any upgrade the API server validates the container against all the
 *   pod's containers, init containers included, and answers HTTP 400 with a Status body
 *   "container C is not valid for pod P" (kubernetes/kubernetes `pkg/registry/core/pod/strategy.go`,
 *   `podHasContainerWithName`); an unknown pod is 404 `pods "P" not found`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export const V4 = 'v4.channel.k8s.io';
export const V5 = 'v5.channel.k8s.io';
export const STAND_IN_CONTEXT = 'kubelet-streaming-stand-in';

export interface StandInPod {
  /** spec.containers names. */
  containers: string[];
  /** spec.initContainers names (a native sidecar such as istio-proxy is one). */
  initContainers?: string[];
  /** Pod port -> a TCP port on 127.0.0.1 that plays the pod's listener. */
  ports?: Record<number, number>;
  /**
   * Port-forward frames sent right after the two port headers: for tests of input the kubelet
   * does not send (an empty error frame, a frame on a channel no port was asked for).
   */
  framesAfterHeader?: { channel: number; payload?: string }[];
}

export interface ExecCall {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  protocol: string;
  /** The `tty` query parameter (a TTY would merge stderr into stdout). */
  tty: boolean;
}

export interface ExecReply {
  /** Sent as one stdout frame, or as one frame per element. */
  stdout?: string | string[];
  stderr?: string;
  exitCode?: number;
  /** Close the connection after the output, without a status frame. */
  closeWithoutStatus?: boolean;
  /** The command could not run: an InternalError Status (apierrors.NewInternalError) instead of an exit code. */
  internalError?: string;
  /** This final Status instead of the one built from exitCode/internalError (tests of partial Status objects). */
  status?: Record<string, unknown>;
  /** Neither a status nor a close: the command keeps running. */
  hang?: boolean;
}

export interface PortForwardCall {
  namespace: string;
  pod: string;
  port: number;
  protocol: string;
}

interface Live {
  key: string;
  ws: WebSocket;
  upstream?: net.Socket;
}

const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;

function frame(channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from([channel]), data]);
}

function status(code: number, reason: string, message: string): string {
  // The body the API server writes for an error before the upgrade (metav1.Status).
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function refuse(socket: Duplex, code: number, reason: string, message: string): void {
  const body = status(code, reason, message);
  const text = http.STATUS_CODES[code] ?? 'Error';
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export class KubeletStreamingStandIn {
  readonly execCalls: ExecCall[] = [];
  readonly portForwardCalls: PortForwardCall[] = [];
  readonly #pods = new Map<string, StandInPod & { uid: string }>();
  readonly #live = new Set<Live>();
  readonly #server: http.Server;
  // The subprotocol chosen for each request (the first one the client offers that the endpoint speaks).
  readonly #chosen = new WeakMap<http.IncomingMessage, string>();
  readonly #wss = new WebSocketServer({ noServer: true, handleProtocols: (_offered, req) => this.#chosen.get(req) ?? false });
  #exec: (call: ExecCall) => ExecReply;
  #dir: string | undefined;

  private constructor(server: http.Server, exec: (call: ExecCall) => ExecReply) {
    this.#server = server;
    this.#exec = exec;
  }

  static async start(exec: (call: ExecCall) => ExecReply = () => ({ exitCode: 0 })): Promise<KubeletStreamingStandIn> {
    const server = http.createServer((_req, res) => {
      // Plain requests (the REST API) are not served: this is no API server.
      res.writeHead(501, { 'content-type': 'text/plain' }).end('stand-in: only WebSocket portforward and exec');
    });
    const standIn = new KubeletStreamingStandIn(server, exec);
    server.on('upgrade', (req, socket, head) => standIn.#upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  set exec(fn: (call: ExecCall) => ExecReply) {
    this.#exec = fn;
  }

  addPod(namespace: string, name: string, pod: StandInPod): void {
    this.#pods.set(`${namespace}/${name}`, { ...pod, uid: randomUUID() });
  }

  /** The pod is gone: its open connections break off (TCP reset), new requests get 404. */
  removePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.#pods.delete(key);
    for (const l of this.#live) {
      if (l.key !== key) continue;
      l.upstream?.destroy();
      l.ws.terminate();
    }
  }

  /** Open WebSockets to a pod. */
  liveConnections(namespace: string, name: string): number {
    return [...this.#live].filter((l) => l.key === `${namespace}/${name}` && l.ws.readyState === l.ws.OPEN).length;
  }

  /** A kubeconfig for client-node: plain http needs insecure-skip-tls-verify (client-node src/config.ts createAgent). */
  async writeKubeconfig(): Promise<string> {
    this.#dir ??= await mkdtemp(join(tmpdir(), 'kubelet-stand-in-'));
    const path = join(this.#dir, 'kubeconfig');
    await writeFile(path, [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${STAND_IN_CONTEXT}`,
      '  cluster:',
      `    server: ${this.url}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      `- name: ${STAND_IN_CONTEXT}`,
      '  user:',
      '    token: stand-in-token',
      'contexts:',
      `- name: ${STAND_IN_CONTEXT}`,
      '  context:',
      `    cluster: ${STAND_IN_CONTEXT}`,
      `    user: ${STAND_IN_CONTEXT}`,
      `current-context: ${STAND_IN_CONTEXT}`,
      '',
    ].join('\n'));
    return path;
  }

  async close(): Promise<void> {
    for (const l of this.#live) {
      l.upstream?.destroy();
      l.ws.terminate();
    }
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(portforward|exec)$/.exec(url.pathname);
    if (!m) return refuse(socket, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const [, namespace = '', name = '', sub] = m;
    const pod = this.#pods.get(`${namespace}/${name}`);
    if (!pod) return refuse(socket, 404, 'NotFound', `pods "${name}" not found`);
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    if (sub === 'portforward') {
      const ports = url.searchParams.getAll('ports').flatMap((p) => p.split(',')).map(Number);
      if (ports.length !== 1 || !Number.isInteger(ports[0]) || ports[0]! < 1 || ports[0]! > 65535) {
        return refuse(socket, 400, 'BadRequest', `query parameter "ports" must be one port, got ${JSON.stringify(url.searchParams.getAll('ports'))}`);
      }
      // The kubelet's port-forward speaks only v4 (and the unversioned binary protocol).
      const protocol = offered.find((p) => p === V4);
      if (!protocol) return refuse(socket, 400, 'BadRequest', `requested protocol(s) are not supported: ${offered.join(', ')}; supports ${V4}`);
      this.#chosen.set(req, protocol);
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#portForward(ws, { namespace, pod: name, port: ports[0]!, protocol }, pod));
      return;
    }
    const container = url.searchParams.get('container') ?? '';
    const known = [...pod.containers, ...(pod.initContainers ?? [])];
    if (!known.includes(container)) return refuse(socket, 400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    // v5 is answered by the API server's translator; otherwise the kubelet's v4.
    const protocol = offered.find((p) => p === V5 || p === V4);
    if (!protocol) return refuse(socket, 400, 'BadRequest', `requested protocol(s) are not supported: ${offered.join(', ')}; supports ${V5}, ${V4}`);
    const call: ExecCall = { namespace, pod: name, container, command: url.searchParams.getAll('command'), protocol, tty: url.searchParams.get('tty') === 'true' };
    const wantStdout = url.searchParams.get('stdout') === 'true' || url.searchParams.get('stdout') === '1';
    const wantStderr = url.searchParams.get('stderr') === 'true' || url.searchParams.get('stderr') === '1';
    this.#chosen.set(req, protocol);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#execSession(ws, call, wantStdout, wantStderr));
  }

  #track(ws: WebSocket, key: string): Live {
    const live: Live = { key, ws };
    this.#live.add(live);
    ws.on('close', () => this.#live.delete(live));
    ws.on('error', () => ws.terminate());
    return live;
  }

  #protocolOf(ws: WebSocket, wanted: string): void {
    if (ws.protocol !== wanted) throw new Error(`stand-in: negotiated ${ws.protocol}, expected ${wanted}`);
  }

  #portForward(ws: WebSocket, call: PortForwardCall, pod: StandInPod & { uid: string }): void {
    this.#protocolOf(ws, call.protocol);
    this.portForwardCalls.push(call);
    const live = this.#track(ws, `${call.namespace}/${call.pod}`);
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(call.port, 0);
    // Data channel 0 and error channel 1 for the one port, each opened with the port number.
    ws.send(frame(0, portBytes));
    ws.send(frame(1, portBytes));
    for (const f of pod.framesAfterHeader ?? []) ws.send(frame(f.channel, f.payload));
    const fail = (err: string) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(frame(1, `error forwarding port ${call.port} to pod ${call.pod}, uid ${pod.uid}: ${err}`));
      ws.close();
    };
    const local = pod.ports?.[call.port];
    if (local === undefined) return fail(`failed to connect to localhost:${call.port} inside namespace of the pod: connection refused`);
    const upstream = net.connect(local, '127.0.0.1');
    live.upstream = upstream;
    upstream.on('data', (chunk: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(frame(0, chunk));
    });
    upstream.on('error', (e) => fail(e.message));
    // The pod's side ended: the forwarder returns, streams and connection close.
    upstream.on('end', () => ws.close());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      // Only the data channel carries input; anything else is ignored, as wsstream does.
      if (data[0] === 0) upstream.write(data.subarray(1));
    });
    ws.on('close', () => upstream.destroy());
  }

  #execSession(ws: WebSocket, call: ExecCall, wantStdout: boolean, wantStderr: boolean): void {
    this.#protocolOf(ws, call.protocol);
    this.execCalls.push(call);
    this.#track(ws, `${call.namespace}/${call.pod}`);
    // "Send an empty message to the lowest writable channel" once the connection is open.
    ws.send(frame(wantStdout ? STDOUT : wantStderr ? STDERR : ERROR));
    const reply = this.#exec(call);
    if (reply.stdout && wantStdout) for (const chunk of [reply.stdout].flat()) ws.send(frame(STDOUT, chunk));
    if (reply.stderr && wantStderr) ws.send(frame(STDERR, reply.stderr));
    if (reply.closeWithoutStatus) {
      ws.close();
      return;
    }
    if (reply.hang) return;
    if (reply.status) {
      ws.send(frame(ERROR, JSON.stringify(reply.status)));
      ws.close();
      return;
    }
    const code = reply.exitCode ?? 0;
    // streamtranslator.go: an error that is no exit code becomes apierrors.NewInternalError(err).
    const final = reply.internalError !== undefined
      ? {
          metadata: {}, status: 'Failure', reason: 'InternalError', code: 500,
          message: `Internal error occurred: ${reply.internalError}`,
          details: { causes: [{ message: reply.internalError }] },
        }
      : code === 0
      ? { metadata: {}, status: 'Success' }
      : {
          metadata: {}, status: 'Failure', reason: 'NonZeroExitCode',
          message: `command terminated with non-zero exit code: command terminated with exit code ${code}`,
          details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
        };
    ws.send(frame(ERROR, JSON.stringify(final)));
    ws.close();
  }
}
