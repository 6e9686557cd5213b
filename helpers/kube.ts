/**
 * The Kubernetes API, through @kubernetes/client-node, bound to one kubeconfig file and one
 * named context. It never reads the user's default kubeconfig and never changes a context:
 * `setCurrentContext` only selects the context in memory (client-node src/config.ts).
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import {
  ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi, Exec, KubeConfig, KubernetesObjectApi, PatchStrategy,
  PortForward, type V1Pod, type V1Status,
} from '@kubernetes/client-node';
import { describeObject, type KubeObject } from './manifests.ts';
import { pollUntil, RetryableError } from './poll.ts';
import { formatDuration } from './progress.ts';

export const FIELD_MANAGER = 'egress-verify';

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

/** Exit code from an exec status (remotecommand: NonZeroExitCode with an ExitCode cause). */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message ? Number(cause.message) : 1;
}

/** True when the pod carries an istio-proxy sidecar, classic or native (init container, restartPolicy Always). */
export function hasIstioSidecar(pod: V1Pod): boolean {
  const spec = pod.spec;
  if (!spec) return false;
  if (spec.containers.some((c) => c.name === 'istio-proxy')) return true;
  // Istio >= 1.27 with kubelets >= 1.33: native sidecar (pkg/kube/inject/webhook.go DetectNativeSidecar).
  return (spec.initContainers ?? []).some((c) => c.name === 'istio-proxy' && c.restartPolicy === 'Always');
}

/** All containers of the pod are ready, sidecar included (native sidecars report in initContainerStatuses). */
export function podReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') return false;
  const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True';
}

export class Kube {
  readonly kubeconfigPath: string;
  readonly context: string;
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly objects: KubernetesObjectApi;

  private constructor(kubeconfigPath: string, context: string, config: KubeConfig) {
    this.kubeconfigPath = kubeconfigPath;
    this.context = context;
    this.config = config;
    this.core = config.makeApiClient(CoreV1Api);
    this.apps = config.makeApiClient(AppsV1Api);
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(config);
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

  /** Server-side apply, forced: the suite owns the fields it sets. */
  async apply(objects: readonly KubeObject[]): Promise<void> {
    for (const o of objects) {
      try {
        await this.objects.patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      } catch (e) {
        throw new Error(`apply ${describeObject(o)} failed: ${apiMessage(e)}`, { cause: e });
      }
    }
  }

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
      const d = await this.apps.readNamespacedDeployment({ name, namespace });
      const want = d.spec?.replicas ?? 1;
      const s = d.status;
      const ok = (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
        && (s?.updatedReplicas ?? 0) >= want && (s?.availableReplicas ?? 0) >= want && (s?.replicas ?? 0) === want;
      if (!ok) throw new RetryableError(`want ${want} replicas; status ${JSON.stringify({ replicas: s?.replicas, updated: s?.updatedReplicas, available: s?.availableReplicas, conditions: s?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''}`) })}`);
      return true;
    });
  }

  /** The one ready pod behind a label selector; with `sidecar`, it must have (or lack) istio-proxy. */
  async readyPod(namespace: string, labelSelector: string, sidecar: boolean, timeoutMs: number): Promise<V1Pod> {
    return pollUntil(`a ready pod ${labelSelector} in ${namespace} (${sidecar ? 'with' : 'without'} sidecar)`, timeoutMs, async () => {
      const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
      const ready = pods.items.filter(podReady);
      const wrong = ready.find((p) => hasIstioSidecar(p) !== sidecar);
      if (wrong) {
        throw new Error(`pod ${namespace}/${wrong.metadata?.name} ${sidecar ? 'has no' : 'has an'} istio-proxy sidecar; check the namespace's istio-injection label and the injection webhook`);
      }
      if (ready.length !== 1) throw new RetryableError(`${pods.items.length} pods, ${ready.length} ready: ${pods.items.map((p) => `${p.metadata?.name} ${p.status?.phase}`).join(', ')}`);
      return ready[0];
    });
  }

  /** Deletes the pods behind a selector and waits for their Deployment to bring ready new ones. */
  async restartPods(namespace: string, labelSelector: string, deployment: string, timeoutMs: number): Promise<void> {
    const old = (await this.core.listNamespacedPod({ namespace, labelSelector })).items.map((p) => p.metadata?.name ?? '');
    for (const name of old) await this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 5 });
    await pollUntil(`new pods for ${namespace}/${deployment}`, timeoutMs, async () => {
      const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
      const fresh = pods.items.filter((p) => !old.includes(p.metadata?.name ?? '') && podReady(p));
      if (fresh.length === 0) throw new RetryableError(`pods: ${pods.items.map((p) => `${p.metadata?.name} ${p.status?.phase}`).join(', ')}`);
      return true;
    });
    await this.waitForDeployment(namespace, deployment, timeoutMs);
  }

  async exec(namespace: string, pod: string, container: string, command: string[], timeoutMs = 60_000): Promise<ExecResult> {
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) => new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString('utf8'));
        cb();
      },
    });
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
      new Exec(this.config)
        .exec(namespace, pod, container, command, sink((s) => (stdout += s)), sink((s) => (stderr += s)), null, false, (status) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // Let the last stream chunks land before resolving.
          setImmediate(() => resolve({ exitCode: exitCodeOf(status), stdout, stderr }));
        })
        .then((ws) => {
          socket = ws;
          ws.on('error', (e: Error) => fail(new Error(`${where}: ${e.message}`)));
          // Closed without a status frame: the command's fate is unknown; say so now, not at the timeout.
          ws.on('close', () => setImmediate(() => fail(new Error(`${where}: the connection closed without an exit status (stderr: ${stderr.trim().slice(0, 200)})`))));
        }, (e: unknown) => fail(new Error(`${where} failed: ${apiMessage(e)}`, { cause: e })));
    });
  }

  async logs(namespace: string, pod: string, container: string, tailLines = 2000): Promise<string> {
    return this.core.readNamespacedPodLog({ namespace, name: pod, container, tailLines });
  }

  /**
   * A local TCP port that forwards each connection to the pod's port (one WebSocket per
   * connection). `pod` may be a function: it is asked for the pod at each new connection, so
   * the forwarding follows a Deployment's pod across restarts.
   */
  async portForward(namespace: string, pod: string | (() => Promise<string>), port: number): Promise<PortForwarding> {
    const forward = new PortForward(this.config);
    const sockets = new Set<net.Socket>();
    const socketToWs = new Map<net.Socket, { close(): void }>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      // A reset from the client must not become an unhandled 'error' in the test worker.
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        socketToWs.get(socket)?.close();
        socketToWs.delete(socket);
      });
      // client-node pipes both ways but ties no lifetimes together: when the pod goes away
      // and the WebSocket closes, end the local socket too, so the gRPC client reconnects
      // (and, through the resolver, reaches the new pod) instead of writing into the void.
      const errors = new Writable({
        write(_chunk: Buffer, _enc, cb) {
          socket.destroy();
          cb();
        },
      });
      const target = typeof pod === 'string' ? Promise.resolve(pod) : pod();
      target
        .then((name) => forward.portForward(namespace, name, [port], socket, errors, socket))
        .then((ws) => {
          if (typeof ws === 'function') return; // only with retries, which are not used
          socketToWs.set(socket, ws);
          ws.on('close', () => socket.destroy());
          ws.on('error', () => socket.destroy());
          if (socket.destroyed) ws.close();
        })
        .catch(() => socket.destroy());
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

/** The API server's message from an ApiException (its body is raw text, usually a V1Status). */
export function apiMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: string };
        if (status.message) return `HTTP ${e.code}: ${status.message}`;
      } catch {
        /* not JSON */
      }
      return `HTTP ${e.code}: ${body.slice(0, 300)}`;
    }
    return `HTTP ${e.code}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export class ContextGuardError extends Error {
  constructor(message: string) {
    super(message);
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
