/**
 * The API server's streaming calls (exec and port-forward), over WebSockets through
 * @kubernetes/client-node, with the server's words kept when it refuses an upgrade.
 */
import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { Exec, type KubeConfig, PortForward } from '@kubernetes/client-node';
// Not re-exported by the package index; client-node 2.x has no "exports" map, so the file is reachable.
import { WebSocketHandler, type StreamInterface } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import { exitCodeOf } from './kube-objects.ts';
import { apiMessage, UpgradeRefusedError } from './kube-errors.ts';
import { formatDuration, log } from '../run/progress.ts';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface PortForwarding {
  /** Local address that forwards to the pod's port. */
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Runs a command in a container and waits for its exit status. `container` is any container
 * name of the pod, an init container included (the API server accepts every container of the
 * pod: pkg/registry/core/pod/strategy.go podHasContainerWithName), so a native-sidecar
 * istio-proxy works like a classic one.
 */
export async function execIn(config: KubeConfig, namespace: string, pod: string, container: string, command: string[], timeoutMs = 60_000): Promise<ExecResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => new Writable({
    write(chunk: Buffer, _enc, cb) {
      append(chunk.toString('utf8'));
      cb();
    },
  });
  const out = sink((s) => (stdout += s));
  const err = sink((s) => (stderr += s));
  const { handler, refusal } = streamingHandler(config, { stdin: new PassThrough(), stdout: out, stderr: err });
  return new Promise<ExecResult>((resolve, reject) => {
    let socket: { close(): void } | undefined;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.close();
      reject(e);
    };
    const where = `exec in ${namespace}/${pod}/${container}`;
    const timer = setTimeout(() => fail(new Error(`${where} timed out after ${formatDuration(timeoutMs)}: ${command.join(' ')}`)), timeoutMs);
    // The promise resolves when the WebSocket opens; the command's end is the status callback.
    new Exec(config, handler)
      .exec(namespace, pod, container, command, out, err, null, false, (status) => {
        if (settled) return;
        // A Failure without an ExitCode cause: the command did not run (e.g. InternalError
        // "executable file not found"); say the server's words, not "exit 1".
        if (status.status !== 'Success' && !status.details?.causes?.some((c) => c.reason === 'ExitCode')) {
          fail(new Error(`${where}: ${command.join(' ')} did not run: ${status.message ?? JSON.stringify(status)}`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        // Let the last stream chunks land before resolving.
        setImmediate(() => resolve({ exitCode: exitCodeOf(status), stdout, stderr }));
      })
      .then((ws) => {
        socket = ws;
        ws.on('error', (e: Error) => fail(new Error(`${where}: ${e.message}`)));
        // Closed without a status frame: the command's fate is unknown; say so now, not at the timeout.
        const closedEarly = () => setImmediate(() => fail(new Error(`${where}: the connection closed without an exit status (stderr: ${stderr.trim().slice(0, 200)})`)));
        ws.on('close', closedEarly);
        if (ws.readyState === ws.CLOSED) closedEarly(); // closed before this listener existed
      }, (e: unknown) => {
        const why = refusal() ?? e;
        fail(new Error(`${where} failed: ${apiMessage(why)}`, { cause: why }));
      });
  });
}

/**
 * A local TCP port that forwards each connection to the pod's port (one WebSocket per
 * connection). `pod` may be a function: it is asked for the pod at each new connection, so
 * the forwarding follows a Deployment's pod across restarts.
 */
export async function portForwardTo(config: KubeConfig, namespace: string, pod: string | (() => Promise<string>), port: number): Promise<PortForwarding> {
  const sockets = new Set<net.Socket>();
  const socketToWs = new Map<net.Socket, { close(): void }>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // Named only in the resolver's failure; every other message comes after `target = name`.
    let target = '(pod not resolved yet)';
    const where = () => `port-forward to ${namespace}/${target}:${port}`;
    // A reset from the client must not become an unhandled 'error' in the test worker.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      socketToWs.get(socket)?.close();
      socketToWs.delete(socket);
    });
    // The kubelet writes the 2-byte port number first on the data AND on the error channel
    // (k8s.io/kubelet pkg/cri/streaming/portforward/websocket.go, handleWebSocketStreams);
    // client-node strips those 2 bytes and writes the rest, an empty buffer, to this stream
    // (client-node 2.0.1 dist/portforward.js). Only a non-empty frame is an error: the
    // kubelet's text ("error forwarding port ..."), after which it closes the connection.
    const errors = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (chunk.length > 0) {
          log(`${where()}: the kubelet reported: ${chunk.toString('utf8').trim()}`);
          socket.destroy();
        }
        cb();
      },
    });
    const resolved = typeof pod === 'string' ? Promise.resolve(pod) : pod();
    resolved
      .then(async (name) => {
        target = name;
        const { handler, refusal } = streamingHandler(config, inertStreams());
        try {
          return await new PortForward(config, true, handler).portForward(namespace, name, [port], socket, errors, socket);
        } catch (e) {
          throw refusal() ?? e;
        }
      })
      .then((ws) => {
        // Only with retries (retryCount > 0), which are not used: this narrows the type.
        // Stryker disable next-line ConditionalExpression,StringLiteral: retryCount is never passed, so ws is always a WebSocket.
        if (typeof ws === 'function') return;
        socketToWs.set(socket, ws);
        // client-node pipes both ways but ties no lifetimes together: when the pod goes away
        // and the WebSocket closes, end the local socket too, so the gRPC client reconnects
        // (and, through the resolver, reaches the new pod) instead of writing into the void.
        ws.on('close', (code: number) => {
          if (code === 1006 && !socket.destroyed) log(`${where()}: the connection to the pod broke off (WebSocket close 1006); the next connection asks for the pod again`);
          socket.destroy();
        });
        ws.on('error', (e: Error) => {
          log(`${where()}: ${e.message}`);
          socket.destroy();
        });
        // Either side may have ended before these listeners existed.
        if (socket.destroyed) ws.close();
        else if (ws.readyState === ws.CLOSED) socket.destroy();
      })
      .catch((e: unknown) => {
        log(`${where()} failed: ${apiMessage(e)}`);
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const REFUSAL_BODY_LIMIT = 64 * 1024;

/**
 * client-node's WebSocketHandler with a socket factory that keeps what a refused upgrade said.
 * Left alone, `ws` turns a refusal into "Unexpected server response: 400" and drops the body
 * (ws lib/websocket.js, when no 'unexpected-response' listener exists), and client-node rejects
 * with the ws ErrorEvent, not an Error (client-node 2.0.1 dist/web-socket-handler.js connect).
 * The API server's body is a Status, e.g. "container x is not valid for pod y".
 */
function streamingHandler(config: KubeConfig, streams: StreamInterface): { handler: WebSocketHandler; refusal: () => UpgradeRefusedError | undefined } {
  let refusal: UpgradeRefusedError | undefined;
  const handler = new WebSocketHandler(config, (uri, protocols, opts) => {
    const ws = new WebSocket(uri, protocols, opts);
    // With a listener, the refused request is ours to end (ws: 'unexpected-response').
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        // A second call ('close' after 'end') would store the same refusal and terminate a terminated socket.
        // Stryker disable next-line ConditionalExpression: see above.
        if (done) return;
        // Stryker disable next-line BooleanLiteral: see above.
        done = true;
        refusal = new UpgradeRefusedError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
        // Aborts the handshake: ws emits 'error' and 'close', and client-node rejects.
        ws.terminate();
      };
      res.on('data', (c: Buffer) => {
        if (size < REFUSAL_BODY_LIMIT) chunks.push(c);
        size += c.length;
      });
      res.once('end', finish);
      res.once('close', finish);
      res.once('error', finish);
    });
    return ws;
  }, streams);
  return { handler, refusal: () => refusal };
}

/**
 * Streams for client-node's v5 close signal (channel 255), which it applies to the handler's
 * streams, by default this process's stdin/stdout/stderr (dist/web-socket-handler.js closeStream).
 */
function inertStreams(): StreamInterface {
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
}
