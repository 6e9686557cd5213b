/**
 * The Kubernetes API, through @kubernetes/client-node, bound to one kubeconfig file and one
 * named context. It never reads the user's default kubeconfig and never changes a context:
 * `setCurrentContext` only selects the context in memory (client-node src/config.ts).
 */
import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import {
  ApiException, AppsV1Api, CoreV1Api, createConfiguration, CustomObjectsApi, Exec, KubeConfig, KubernetesObjectApi, type Middleware,
  PatchStrategy, PortForward, type RequestContext, ServerConfiguration, type V1Pod,
} from '@kubernetes/client-node';
// Not re-exported by the package index; client-node 2.x has no "exports" map, so the file is reachable.
import { WebSocketHandler, type StreamInterface } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import { deploymentWaiting, exitCodeOf, freshReadyPods, podList, theReadyPod } from './kube-objects.ts';
import { describeObject, type KubeObject } from './manifests.ts';
import { pollUntil, RetryableError } from './poll.ts';
import { formatDuration, log } from './progress.ts';
import { UserFacingError } from './user-facing.ts';

export const FIELD_MANAGER = 'egress-verify';

/**
 * `fieldValidation=Strict` on every request of a client. client-node 2.0.1's
 * KubernetesObjectApi.patch/create take dryRun and fieldManager but no fieldValidation
 * (dist/object.js), and their per-call `options` replace only the server, not the middleware
 * (requestPromise always runs `this.configuration.middleware`), so the parameter is added by a
 * middleware of a client of its own. The API server reads it from the query string
 * (metav1.PatchOptions.FieldValidation; apiserver handlers/patch.go).
 */
export const strictFieldValidation: Middleware = {
  pre: async (ctx: RequestContext) => {
    ctx.setQueryParam('fieldValidation', 'Strict');
    return ctx;
  },
  post: async (rsp) => rsp,
};

/** A KubernetesObjectApi like KubernetesObjectApi.makeApiClient's (config.js makeApiClient), plus strict field validation. */
class StrictObjectApi extends KubernetesObjectApi {
  static forConfig(config: KubeConfig): StrictObjectApi {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const api = new StrictObjectApi(createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: config },
      promiseMiddleware: [strictFieldValidation],
    }));
    api.setDefaultNamespace(config);
    return api;
  }
}

/** The API server refused manifests in a dry run: nothing of them was applied. */
export class ManifestRefusedError extends Error {
  readonly refusals: readonly string[];
  constructor(refusals: readonly string[]) {
    super(`the API server refused ${refusals.length === 1 ? 'a manifest' : `${refusals.length} manifests`} in a server-side dry run `
      + `(dryRun=All, fieldValidation=Strict), so nothing was applied:\n  ${refusals.join('\n  ')}`);
    this.name = 'ManifestRefusedError';
    this.refusals = refusals;
  }
}

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

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

export class Kube {
  readonly kubeconfigPath: string;
  readonly context: string;
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly objects: KubernetesObjectApi;
  /** Same, with fieldValidation=Strict on every request: what applies and dry runs use. */
  readonly strictObjects: KubernetesObjectApi;

  private constructor(kubeconfigPath: string, context: string, config: KubeConfig) {
    this.kubeconfigPath = kubeconfigPath;
    this.context = context;
    this.config = config;
    this.core = config.makeApiClient(CoreV1Api);
    this.apps = config.makeApiClient(AppsV1Api);
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.strictObjects = StrictObjectApi.forConfig(config);
  }

  /**
   * Loads kubectl's default configuration (KUBECONFIG, else ~/.kube/config) and selects exactly
   * this context, for CLUSTER=existing after the context guard allowed it.
   */
  static fromDefault(context: string): Kube {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    if (!kc.getContexts().some((c) => c.name === context)) throw new Error(`context "${context}" is not in your kubeconfig`);
    kc.setCurrentContext(context);
    return new Kube('(kubectl default: KUBECONFIG or ~/.kube/config)', context, kc);
  }

  /** Loads exactly this file and selects exactly this context (in memory). */
  static fromFile(kubeconfigPath: string, context: string): Kube {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw new Error(`context "${context}" is not in ${kubeconfigPath}`);
    }
    kc.setCurrentContext(context); // must precede makeApiClient
    return new Kube(kubeconfigPath, context, kc);
  }

  /**
   * Server-side apply, forced (the suite owns the fields it sets), with strict field validation,
   * after a server-side dry run of all the objects: a manifest the API server refuses fails
   * the step with the server's words before any object of the list is applied. (Apply is per
   * object; without the dry run, objects before the refused one would already be in place.)
   */
  async apply(objects: readonly KubeObject[], options: { dryRunFirst?: boolean } = {}): Promise<void> {
    if (options.dryRunFirst ?? true) await this.dryRunApply(objects);
    for (const o of objects) {
      try {
        await this.strictObjects.patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      } catch (e) {
        throw new Error(`apply ${describeObject(o)} failed: ${apiMessage(e)}`, { cause: e });
      }
    }
  }

  /**
   * The same server-side apply with `dryRun=All` and `fieldValidation=Strict`: the request runs
   * through decoding, defaulting, admission (istiod's validating webhook included) and
   * validation, and nothing is persisted. For server-side apply the API server checks the
   * object against its schema anyway and refuses unknown fields (KEP-2885 "Apply Patch":
   * converting the patch to a typed value fails on them); Strict also makes duplicate fields
   * fatal (handlers/patch.go, applyPatcher: "error strict decoding patch"). Every object is
   * tried, and all refusals are reported at once. Objects that need another of the same list
   * to exist first (a namespace's contents) must be dry-run after it was applied: the callers
   * apply one manifest file at a time.
   */
  async dryRunApply(objects: readonly KubeObject[]): Promise<void> {
    const refusals: string[] = [];
    for (const o of objects) {
      try {
        await this.strictObjects.patch(o, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      } catch (e) {
        refusals.push(`${describeObject(o)}: ${refusalMessage(e)}`);
      }
    }
    if (refusals.length > 0) throw new ManifestRefusedError(refusals);
  }

  // Stryker disable all: REST plumbing (delete, deleteNamespaces, waitForDeployment, readyPod, restartPods) that only a real API server can answer; the self-tests have no stand-in for the REST API. What these methods decide is mutated in the pure functions they call (isNotFound, deploymentWaiting, theReadyPod, freshReadyPods, podReady).
  /** Deletes, ignoring objects that are already gone; in reverse order of the list. */
  async delete(objects: readonly KubeObject[]): Promise<void> {
    for (const o of [...objects].reverse()) {
      try {
        await this.objects.delete(o, undefined, undefined, undefined, undefined, 'Background');
      } catch (e) {
        if (!isNotFound(e)) throw new Error(`delete ${describeObject(o)} failed: ${apiMessage(e)}`, { cause: e });
      }
    }
  }

  /** Deletes namespaces (and with them everything in them), then waits until they are gone. */
  async deleteNamespaces(namespaces: readonly KubeObject[], timeoutMs: number): Promise<void> {
    await this.delete(namespaces);
    for (const n of namespaces) {
      const name = n.metadata.name;
      await pollUntil(`namespace ${name} deleted`, timeoutMs, async () => {
        try {
          await this.core.readNamespace({ name });
          return undefined;
        } catch (e) {
          if (isNotFound(e)) return true;
          throw e;
        }
      });
    }
  }

  async waitForDeployment(namespace: string, name: string, timeoutMs: number): Promise<void> {
    await pollUntil(`deployment ${namespace}/${name} available`, timeoutMs, async () => {
      const waiting = deploymentWaiting(await this.apps.readNamespacedDeployment({ name, namespace }));
      if (waiting) throw new RetryableError(waiting);
      return true;
    });
  }

  /** The one ready pod behind a label selector; with `sidecar`, it must have (or lack) istio-proxy. */
  async readyPod(namespace: string, labelSelector: string, sidecar: boolean, timeoutMs: number): Promise<V1Pod> {
    return pollUntil(`a ready pod ${labelSelector} in ${namespace} (${sidecar ? 'with' : 'without'} sidecar)`, timeoutMs, async () => {
      const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
      return theReadyPod(namespace, pods.items, sidecar);
    });
  }

  /** Deletes the pods behind a selector and waits for their Deployment to bring ready new ones. */
  async restartPods(namespace: string, labelSelector: string, deployment: string, timeoutMs: number): Promise<void> {
    const old = (await this.core.listNamespacedPod({ namespace, labelSelector })).items.map((p) => p.metadata?.name ?? '');
    for (const name of old) await this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 5 });
    await pollUntil(`new pods for ${namespace}/${deployment}`, timeoutMs, async () => {
      const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
      const fresh = freshReadyPods(pods.items, old);
      if (fresh.length === 0) throw new RetryableError(`pods: ${podList(pods.items)}`);
      return true;
    });
    await this.waitForDeployment(namespace, deployment, timeoutMs);
  }

  // Stryker restore all
  /**
   * Runs a command in a container and waits for its exit status. `container` is any container
   * name of the pod, an init container included (the API server accepts every container of the
   * pod: pkg/registry/core/pod/strategy.go podHasContainerWithName), so a native-sidecar
   * istio-proxy works like a classic one.
   */
  async exec(namespace: string, pod: string, container: string, command: string[], timeoutMs = 60_000): Promise<ExecResult> {
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
    const { handler, refusal } = streamingHandler(this.config, { stdin: new PassThrough(), stdout: out, stderr: err });
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
      new Exec(this.config, handler)
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

  // Stryker disable all: REST plumbing (a pod's log) that only a real API server can answer; the self-tests have no stand-in for the REST API.
  async logs(namespace: string, pod: string, container: string, tailLines = 2000): Promise<string> {
    return this.core.readNamespacedPodLog({ namespace, name: pod, container, tailLines });
  }

  // Stryker restore all
  /**
   * A local TCP port that forwards each connection to the pod's port (one WebSocket per
   * connection). `pod` may be a function: it is asked for the pod at each new connection, so
   * the forwarding follows a Deployment's pod across restarts.
   */
  async portForward(namespace: string, pod: string | (() => Promise<string>), port: number): Promise<PortForwarding> {
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
          const { handler, refusal } = streamingHandler(this.config, inertStreams());
          try {
            return await new PortForward(this.config, true, handler).portForward(namespace, name, [port], socket, errors, socket);
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
}

/** A WebSocket upgrade the server answered with an HTTP status instead of 101 Switching Protocols. */
export class UpgradeRefusedError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(code: number, body: string) {
    super(`HTTP ${code}: ${statusText(body)}`);
    this.name = 'UpgradeRefusedError';
    this.code = code;
    this.body = body;
  }
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

/** The message of a Status body (JSON), else the body itself, shortened. */
function statusText(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string' && status.message) return status.message;
  } catch {
    /* not JSON */
  }
  return body.trim().slice(0, 300) || '(empty body)';
}

/**
 * The API server's message from an ApiException (its body is raw text, usually a V1Status), a
 * refused WebSocket upgrade, or the `ws` ErrorEvent client-node rejects a failed WebSocket with
 * (an object with `message` and `error`, not an Error).
 */
export function apiMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body;
    if (typeof body === 'string') return `HTTP ${e.code}: ${statusText(body)}`;
    return `HTTP ${e.code}`;
  }
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e && 'error' in e) {
    const inner: unknown = e.error;
    if (inner instanceof Error) return inner.message;
    if (typeof e.message === 'string' && e.message) return e.message;
  }
  if (typeof e === 'object' && e !== null) {
    try {
      return JSON.stringify(e);
    } catch {
      /* circular */
    }
  }
  return String(e);
}

/**
 * apiMessage, plus the fields a Status names in details.causes when its message does not
 * (e.g. a 422 Invalid lists each field with its own message).
 */
export function refusalMessage(e: unknown): string {
  const base = apiMessage(e);
  if (!(e instanceof ApiException) || typeof e.body !== 'string') return base;
  let causes: { field?: string; message?: string }[] = [];
  try {
    causes = (JSON.parse(e.body) as { details?: { causes?: { field?: string; message?: string }[] } }).details?.causes ?? [];
  } catch {
    return base;
  }
  const extra = causes.filter((c) => c.field && !base.includes(c.field)).map((c) => `${c.field}: ${c.message ?? ''}`.trim());
  return extra.length > 0 ? `${base} (${extra.join('; ')})` : base;
}

export class ContextGuardError extends UserFacingError {
  constructor(message: string) {
    super('Refusing the current kubeconfig context', [message], message);
    this.name = 'ContextGuardError';
  }
}

/**
 * The suite changes only a cluster it created, or the one context named in ALLOW_CONTEXT.
 * Reads the kubeconfig (no connection is made) and refuses any other current context.
 */
export function guardExistingContext(allowContext: string | undefined, kubeconfig?: string): string {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const current = kc.getCurrentContext();
  const where = kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
  if (!current) throw new ContextGuardError(`CLUSTER=existing: ${where} has no current context; select one with kubectl config use-context NAME and set ALLOW_CONTEXT=NAME`);
  if (!allowContext) {
    throw new ContextGuardError(`CLUSTER=existing would change the cluster of your current context "${current}" (${where}); the suite does that only when told: set ALLOW_CONTEXT=${current}`);
  }
  if (current !== allowContext) {
    throw new ContextGuardError(`the current context is "${current}", but ALLOW_CONTEXT=${allowContext}; refusing to touch "${current}". Switch with kubectl config use-context ${allowContext}, or set ALLOW_CONTEXT=${current}`);
  }
  return current;
}
