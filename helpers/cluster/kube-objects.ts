/**
 * What the suite decides from objects the API server returned: an exec's exit code from its
 * Status, whether a pod carries the Istio sidecar and is ready, whether a Deployment is rolled
 * out, and which pod to use. Plain functions of the objects, kept apart from helpers/cluster/kube.ts
 * (the client that reads the objects) so that their tests need not load kube.ts and, with it,
 * @kubernetes/client-node: half a second per import, paid again for every mutant of these
 * functions in a mutation run.
 */
import type { V1Deployment, V1Pod, V1Status } from '@kubernetes/client-node';
import { RetryableError } from '../run/poll.ts';

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
  // Stryker disable next-line ArrayDeclaration: a non-empty array of strings has no container named istio-proxy either (same false).
  return (spec.initContainers ?? []).some((c) => c.name === 'istio-proxy' && c.restartPolicy === 'Always');
}

/** All containers of the pod are ready, sidecar included (native sidecars report in initContainerStatuses). */
export function podReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') return false;
  const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True';
}

/**
 * Why a Deployment is not rolled out yet, or undefined when it is: the controller has seen its
 * latest spec, and exactly the wanted number of replicas exist, all updated and available.
 */
export function deploymentWaiting(d: V1Deployment): string | undefined {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  const ok = (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
    && (s?.updatedReplicas ?? 0) >= want && (s?.availableReplicas ?? 0) >= want && (s?.replicas ?? 0) === want;
  if (ok) return undefined;
  return `want ${want} replicas; status ${JSON.stringify({ replicas: s?.replicas, updated: s?.updatedReplicas, available: s?.availableReplicas, conditions: s?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason ?? ''}`) })}`;
}

/**
 * The one ready pod among those listed. A ready pod with (or, with `sidecar` false, without) an
 * istio-proxy it should not have is an Error at once (waiting does not change injection); no or
 * several ready pods is a RetryableError (a rollout under way).
 */
export function theReadyPod(namespace: string, pods: readonly V1Pod[], sidecar: boolean): V1Pod {
  const ready = pods.filter(podReady);
  const wrong = ready.find((p) => hasIstioSidecar(p) !== sidecar);
  if (wrong) {
    throw new Error(`pod ${namespace}/${wrong.metadata?.name} ${sidecar ? 'has no' : 'has an'} istio-proxy sidecar; check the namespace's istio-injection label and the injection webhook`);
  }
  if (ready.length !== 1) throw new RetryableError(`${pods.length} pods, ${ready.length} ready: ${podList(pods)}`);
  return ready[0]!;
}

/** The pods as a waiting message names them: "name phase", comma-separated. */
export function podList(pods: readonly V1Pod[]): string {
  return pods.map((p) => `${p.metadata?.name} ${p.status?.phase}`).join(', ');
}

/** The ready pods whose names are not among the old ones. */
export function freshReadyPods(pods: readonly V1Pod[], old: readonly string[]): V1Pod[] {
  return pods.filter((p) => !old.includes(p.metadata?.name ?? '') && podReady(p));
}
