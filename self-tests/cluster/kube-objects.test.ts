/**
 * The decisions of helpers/cluster/kube-objects.ts, tested in-process with values: exit codes from a
 * remotecommand Status, the sidecar and readiness predicates, and the rollout predicates. No
 * @kubernetes/client-node at run time (its types only), so a mutation run pays no half-second
 * import for each of these mutants. (kube.ts's own decisions: kube-decisions.test.ts.)
 */
import { describe, expect, test } from 'vitest';
import type { V1Deployment, V1Pod, V1Status } from '@kubernetes/client-node';
import { deploymentWaiting, exitCodeOf, freshReadyPods, hasIstioSidecar, podReady, theReadyPod } from '../../helpers/cluster/kube-objects.ts';
import { RetryableError } from '../../helpers/run/poll.ts';

describe('exitCodeOf: the remotecommand Status', () => {
  test('Success is 0 whatever else it carries', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(exitCodeOf({ status: 'Success', details: { causes: [{ reason: 'ExitCode', message: '9' }] } })).toBe(0);
  });
  test('the ExitCode cause, wherever it is among the causes', () => {
    const failure = (causes: NonNullable<V1Status['details']>['causes']): V1Status => ({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes } });
    expect(exitCodeOf(failure([{ reason: 'ExitCode', message: '2' }]))).toBe(2);
    expect(exitCodeOf(failure([{ reason: 'Other', message: '7' }, { reason: 'ExitCode', message: '137' }]))).toBe(137);
    // "0" is a message, not a missing one.
    expect(exitCodeOf(failure([{ reason: 'ExitCode', message: '0' }]))).toBe(0);
  });
  test('a Failure without a usable ExitCode cause is 1', () => {
    expect(exitCodeOf({ status: 'Failure', message: 'executable file not found' })).toBe(1);
    expect(exitCodeOf({ status: 'Failure', details: {} })).toBe(1);
    expect(exitCodeOf({ status: 'Failure', details: { causes: [] } })).toBe(1);
    expect(exitCodeOf({ status: 'Failure', details: { causes: [{ reason: 'ExitCode' }] } })).toBe(1);
    expect(exitCodeOf({ status: 'Failure', details: { causes: [{ reason: 'ExitCode', message: '' }] } })).toBe(1);
    expect(exitCodeOf({ status: 'Failure', details: { causes: [{ reason: 'Other', message: '5' }] } })).toBe(1);
    expect(exitCodeOf({})).toBe(1);
  });
});

describe('hasIstioSidecar and podReady', () => {
  const pod = (spec: Partial<NonNullable<V1Pod['spec']>>): V1Pod => ({ spec: { containers: [{ name: 'server' }], ...spec } });
  test('a pod without a spec has no sidecar', () => {
    expect(hasIstioSidecar({})).toBe(false);
    expect(hasIstioSidecar({ metadata: { name: 'x' }, status: { phase: 'Running' } })).toBe(false);
  });
  test('classic: an istio-proxy container, whatever the init containers', () => {
    expect(hasIstioSidecar(pod({ containers: [{ name: 'istio-proxy' }] }))).toBe(true);
    expect(hasIstioSidecar(pod({ containers: [{ name: 'server' }, { name: 'istio-proxy' }], initContainers: [{ name: 'istio-init' }] }))).toBe(true);
    expect(hasIstioSidecar(pod({ containers: [{ name: 'istio-proxy-x' }, { name: 'server' }] }))).toBe(false);
  });
  test('native: only an istio-proxy init container with restartPolicy Always', () => {
    expect(hasIstioSidecar(pod({ initContainers: [{ name: 'istio-proxy', restartPolicy: 'Always' }] }))).toBe(true);
    expect(hasIstioSidecar(pod({ initContainers: [{ name: 'istio-init' }, { name: 'istio-proxy', restartPolicy: 'Always' }] }))).toBe(true);
    expect(hasIstioSidecar(pod({ initContainers: [{ name: 'istio-proxy', restartPolicy: 'OnFailure' }] }))).toBe(false);
    expect(hasIstioSidecar(pod({ initContainers: [{ name: 'istio-proxy' }] }))).toBe(false);
    expect(hasIstioSidecar(pod({ initContainers: [{ name: 'istio-init', restartPolicy: 'Always' }] }))).toBe(false);
    expect(hasIstioSidecar(pod({ initContainers: [] }))).toBe(false);
  });

  const running = (conditions: { type: string; status: string }[] | undefined, extra: Partial<V1Pod> = {}): V1Pod => ({
    status: { phase: 'Running', ...(conditions ? { conditions } : {}) }, ...extra,
  });
  test('ready: Running and the Ready condition True', () => {
    expect(podReady(running([{ type: 'Ready', status: 'True' }]))).toBe(true);
    expect(podReady(running([{ type: 'ContainersReady', status: 'False' }, { type: 'Ready', status: 'True' }]))).toBe(true);
  });
  test('not ready: terminating, another phase, no status, no or a false Ready condition', () => {
    const deleting = { metadata: { name: 'p', deletionTimestamp: new Date('2026-11-27T00:00:00Z') } };
    expect(podReady(running([{ type: 'Ready', status: 'True' }], deleting))).toBe(false);
    expect(podReady({ status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(false);
    expect(podReady({ status: { phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(false);
    expect(podReady({})).toBe(false);
    expect(podReady({ metadata: { name: 'p' } })).toBe(false);
    expect(podReady(running(undefined))).toBe(false);
    expect(podReady(running([]))).toBe(false);
    expect(podReady(running([{ type: 'Ready', status: 'False' }]))).toBe(false);
    expect(podReady(running([{ type: 'Ready', status: 'Unknown' }]))).toBe(false);
    expect(podReady(running([{ type: 'ContainersReady', status: 'True' }]))).toBe(false);
  });
});

describe('rollout predicates: deploymentWaiting, theReadyPod, freshReadyPods', () => {
  const deployment = (replicas: number | undefined, status: V1Deployment['status'], generation = 2): V1Deployment => ({
    metadata: { name: 'probe', generation }, spec: { selector: {}, template: {}, ...(replicas === undefined ? {} : { replicas }) }, status,
  });
  const rolledOut = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
  test('rolled out: the latest generation seen, exactly the wanted replicas, all updated and available', () => {
    expect(deploymentWaiting(deployment(2, rolledOut))).toBeUndefined();
    expect(deploymentWaiting(deployment(2, { ...rolledOut, observedGeneration: 3 }))).toBeUndefined();
    // No spec.replicas: the API server's default, 1.
    expect(deploymentWaiting(deployment(undefined, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toBeUndefined();
    // Scaled to zero, never observed, no status at all: nothing to wait for.
    expect(deploymentWaiting({ spec: { replicas: 0, selector: {}, template: {} } })).toBeUndefined();
  });
  test('waiting, one shortfall at a time, each at its boundary', () => {
    expect(deploymentWaiting(deployment(2, { ...rolledOut, observedGeneration: 1 }))).toBeDefined();
    expect(deploymentWaiting(deployment(2, { ...rolledOut, updatedReplicas: 1 }))).toBeDefined();
    expect(deploymentWaiting(deployment(2, { ...rolledOut, availableReplicas: 1 }))).toBeDefined();
    expect(deploymentWaiting(deployment(2, { ...rolledOut, replicas: 3 }))).toBeDefined();
    expect(deploymentWaiting(deployment(2, { ...rolledOut, replicas: 1 }))).toBeDefined();
    expect(deploymentWaiting(deployment(2, {}))).toBeDefined();
    expect(deploymentWaiting(deployment(2, undefined))).toBeDefined();
    expect(deploymentWaiting(deployment(undefined, { observedGeneration: 2 }))).toBeDefined();
  });
  test('waiting says what is wanted and what the status shows, conditions included', () => {
    const text = deploymentWaiting(deployment(3, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1,
      conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }, { type: 'Progressing', status: 'True' }] }));
    expect(text).toBe('want 3 replicas; status {"replicas":3,"updated":3,"available":1,"conditions":["Available=False MinimumReplicasUnavailable","Progressing=True "]}');
    expect(deploymentWaiting(deployment(undefined, undefined))).toBe('want 1 replicas; status {}');
  });

  const pod = (name: string, ready: boolean, sidecar: boolean, phase = 'Running'): V1Pod => ({
    metadata: { name },
    spec: { containers: [{ name: 'server' }, ...(sidecar ? [{ name: 'istio-proxy' }] : [])] },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const thrown = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    throw new Error('nothing thrown');
  };
  test('theReadyPod: the one ready pod, with the sidecar as asked, among pods that are not ready', () => {
    const a = pod('cart-a', true, true);
    expect(theReadyPod('ns', [pod('cart-old', false, true), a, pod('cart-new', false, false, 'Pending')], true)).toBe(a);
    const plain = pod('probe-a', true, false);
    expect(theReadyPod('ns', [plain], false)).toBe(plain);
  });
  test('theReadyPod: no or several ready pods is worth waiting for; the listing is named', () => {
    const none = thrown(() => theReadyPod('ns', [pod('cart-a', false, true, 'Pending')], true));
    expect(none).toBeInstanceOf(RetryableError);
    expect((none as Error).message).toBe('1 pods, 0 ready: cart-a Pending');
    const empty = thrown(() => theReadyPod('ns', [], true));
    expect(empty).toBeInstanceOf(RetryableError);
    expect((empty as Error).message).toBe('0 pods, 0 ready: ');
    const two = thrown(() => theReadyPod('ns', [pod('cart-a', true, true), pod('cart-b', true, true)], true));
    expect(two).toBeInstanceOf(RetryableError);
    expect((two as Error).message).toBe('2 pods, 2 ready: cart-a Running, cart-b Running');
  });
  test('theReadyPod: a ready pod with the wrong sidecar fails at once, naming it, whatever the others', () => {
    const missing = thrown(() => theReadyPod('mesh', [pod('cart-a', true, true), pod('cart-b', true, false)], true));
    expect(missing).toBeInstanceOf(Error);
    expect(missing).not.toBeInstanceOf(RetryableError);
    expect((missing as Error).message).toMatch(/^pod mesh\/cart-b has no istio-proxy sidecar/);
    const extra = thrown(() => theReadyPod('outside', [pod('probe-a', true, true)], false));
    expect(extra).not.toBeInstanceOf(RetryableError);
    expect((extra as Error).message).toMatch(/^pod outside\/probe-a has an istio-proxy sidecar/);
    // A pod that is not ready is not judged by its sidecar.
    const fine = pod('probe-b', true, false);
    expect(theReadyPod('outside', [pod('probe-a', false, true), fine], false)).toBe(fine);
  });
  test('freshReadyPods: ready and not among the old names', () => {
    const pods = [pod('a', true, true), pod('b', true, true), pod('c', false, true), { status: pod('x', true, true).status } as V1Pod];
    expect(freshReadyPods(pods, ['a']).map((p) => p.metadata?.name ?? '(unnamed)')).toEqual(['b', '(unnamed)']);
    expect(freshReadyPods(pods, ['a', 'b', '']).map((p) => p.metadata?.name)).toEqual([]);
    expect(freshReadyPods(pods, [])).toHaveLength(3);
  });
});
