/**
 * The Kubernetes API, through @kubernetes/client-node, bound to one kubeconfig file and one
 * named context. It never reads the user's default kubeconfig and never changes a context:
 * `setCurrentContext` only selects the context in memory (client-node src/config.ts).
 */
import {
  AppsV1Api, CoreV1Api, createConfiguration, CustomObjectsApi, KubeConfig, KubernetesObjectApi, type Middleware,
  PatchStrategy, type RequestContext, ServerConfiguration, type V1Pod,
} from '@kubernetes/client-node';
import { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
import { deploymentWaiting, freshReadyPods, podList, theReadyPod } from './kube-objects.ts';
import { apiMessage, isManifestRefusal, isNotFound, ManifestRefusedError, refusalMessage } from './kube-errors.ts';
import { execIn, type ExecResult, portForwardTo, type PortForwarding } from './kube-streaming.ts';
import { describeObject, type KubeObject } from '../run/manifests.ts';
import { pollUntil, RetryableError } from '../run/poll.ts';

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

/**
 * A KubernetesObjectApi like KubernetesObjectApi.makeApiClient's (config.js makeApiClient), plus
 * strict field validation, and an apply that sends the object as written.
 */
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

  /**
   * Server-side apply of the object exactly as written. client-node 2.0.1's `patch()` passes
   * built-in kinds through its typed models first (dist/object.js: ObjectSerializer.serialize
   * with the kind's V1 class), which keep only declared fields: a Deployment's `spec.replicaz`
   * would vanish before the server could refuse it, and the object applied would differ from the
   * manifest. Custom kinds were already sent whole; now every kind is.
   */
  async applyAsWritten(spec: KubeObject, dryRun: boolean): Promise<void> {
    const path = await this.specUriPath(spec, 'patch');
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    request.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    if (dryRun) request.setQueryParam('dryRun', 'All');
    request.setQueryParam('fieldManager', FIELD_MANAGER);
    request.setQueryParam('force', 'true');
    request.setBody(JSON.stringify(spec));
    await this.requestPromise(request);
  }
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
  readonly strictObjects: StrictObjectApi;

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
        await this.strictObjects.applyAsWritten(o, false);
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
        await this.strictObjects.applyAsWritten(o, true);
      } catch (e) {
        // Only the server's judgement of the manifest is a refusal; a timeout, a reset
        // connection or a webhook that did not answer is the cluster's failure, not the chapter's.
        if (!isManifestRefusal(e)) throw new Error(`dry run of ${describeObject(o)} failed (not a refusal of the manifest): ${apiMessage(e)}`, { cause: e });
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
  /** Runs a command in a container (kube-streaming.ts, execIn). */
  async exec(namespace: string, pod: string, container: string, command: string[], timeoutMs = 60_000): Promise<ExecResult> {
    return execIn(this.config, namespace, pod, container, command, timeoutMs);
  }

  // Stryker disable all: REST plumbing (a pod's log) that only a real API server can answer; the self-tests have no stand-in for the REST API.
  async logs(namespace: string, pod: string, container: string, tailLines = 2000): Promise<string> {
    return this.core.readNamespacedPodLog({ namespace, name: pod, container, tailLines });
  }

  // Stryker restore all
  /** A local TCP port that forwards to the pod's port (kube-streaming.ts, portForwardTo). */
  async portForward(namespace: string, pod: string | (() => Promise<string>), port: number): Promise<PortForwarding> {
    return portForwardTo(this.config, namespace, pod, port);
  }
}
