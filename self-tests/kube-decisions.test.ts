/**
 * The decisions of helpers/kube.ts that need no connection, tested in-process with values:
 * which errors count as "not found", exit codes from a remotecommand Status, the sidecar and
 * readiness predicates, what the suite says for an API error or a refused upgrade (well-formed,
 * partial and malformed bodies), the strict-field-validation middleware, loading a kubeconfig
 * and the context guard. Cheap on purpose: StrykerJS re-runs every test that covers a mutant.
 * (The streaming paths are in kube-streaming.test.ts; the dry run's requests in dry-run.test.ts.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ApiException, HttpMethod, RequestContext, type V1Deployment, type V1Pod, type V1Status } from '@kubernetes/client-node';
import {
  apiMessage, ContextGuardError, deploymentWaiting, exitCodeOf, freshReadyPods, guardExistingContext, hasIstioSidecar, isNotFound, Kube,
  ManifestRefusedError, podReady, refusalMessage, strictFieldValidation, theReadyPod, UpgradeRefusedError,
} from '../helpers/kube.ts';
import { RetryableError } from '../helpers/poll.ts';
import { UserFacingError } from '../helpers/user-facing.ts';

const api = (code: number, body: unknown) => new ApiException<unknown>(code, 'Unsuccessful HTTP Request', body, {});
const statusBody = (fields: Record<string, unknown>) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...fields });

describe('isNotFound: only an ApiException with code 404', () => {
  test('404 from the API is not found; other codes and other errors are not', () => {
    expect(isNotFound(api(404, statusBody({ reason: 'NotFound', code: 404 })))).toBe(true);
    expect(isNotFound(api(403, ''))).toBe(false);
    expect(isNotFound(api(405, ''))).toBe(false);
    expect(isNotFound(Object.assign(new Error('not found'), { code: 404 }))).toBe(false);
    expect(isNotFound({ code: 404 })).toBe(false);
    expect(isNotFound(undefined)).toBe(false);
  });
});

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

describe('apiMessage: what the suite says for an API error', () => {
  test('an ApiException: the code and the Status message', () => {
    expect(apiMessage(api(404, statusBody({ message: 'pods "x" not found', code: 404 })))).toBe('HTTP 404: pods "x" not found');
  });
  test('an ApiException whose body has no usable message: the body itself, trimmed and cut at 300 characters', () => {
    expect(apiMessage(api(500, statusBody({ code: 500 })))).toBe(`HTTP 500: ${statusBody({ code: 500 })}`);
    expect(apiMessage(api(500, '{"message":""}'))).toBe('HTTP 500: {"message":""}');
    expect(apiMessage(api(500, '{"message":42}'))).toBe('HTTP 500: {"message":42}');
    expect(apiMessage(api(502, '  upstream connect error\n'))).toBe('HTTP 502: upstream connect error');
    expect(apiMessage(api(502, 'null'))).toBe('HTTP 502: null');
    expect(apiMessage(api(502, '"just a string"'))).toBe('HTTP 502: "just a string"');
    const long = `${'a'.repeat(299)}bc`;
    expect(apiMessage(api(502, `  ${long}`))).toBe(`HTTP 502: ${'a'.repeat(299)}b`);
    expect(apiMessage(api(502, 'x'.repeat(300)))).toBe(`HTTP 502: ${'x'.repeat(300)}`);
  });
  test('an ApiException with an empty or blank body, or a body that is no text', () => {
    expect(apiMessage(api(503, ''))).toBe('HTTP 503: (empty body)');
    expect(apiMessage(api(503, ' \n'))).toBe('HTTP 503: (empty body)');
    expect(apiMessage(api(500, { message: 'parsed already' }))).toBe('HTTP 500');
    expect(apiMessage(api(500, undefined))).toBe('HTTP 500');
  });
  test('an Error: its message', () => {
    expect(apiMessage(new Error('connect ECONNREFUSED 127.0.0.1:6443'))).toBe('connect ECONNREFUSED 127.0.0.1:6443');
    expect(apiMessage(new UpgradeRefusedError(403, statusBody({ message: 'forbidden' })))).toBe('HTTP 403: forbidden');
  });
  test('the ws ErrorEvent client-node rejects with: the inner error\'s message, else its own', () => {
    expect(apiMessage({ type: 'error', message: 'outer', error: new Error('socket hang up') })).toBe('socket hang up');
    expect(apiMessage({ message: 'Unexpected server response: 400', error: 'not an Error' })).toBe('Unexpected server response: 400');
    expect(apiMessage({ message: 'Unexpected server response: 400', error: undefined })).toBe('Unexpected server response: 400');
  });
  test('an ErrorEvent-like object without a usable message, or any other object: JSON', () => {
    expect(apiMessage({ message: '', error: undefined })).toBe('{"message":""}');
    expect(apiMessage({ message: 7, error: null })).toBe('{"message":7,"error":null}');
    expect(apiMessage({ message: 'no error key' })).toBe('{"message":"no error key"}');
    expect(apiMessage({ error: new Error('no message key') })).toBe('{"error":{}}');
    expect(apiMessage({ code: 'ECONNRESET' })).toBe('{"code":"ECONNRESET"}');
  });
  test('what JSON cannot say, and values that are no object: as a string', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    expect(apiMessage(circular)).toBe('[object Object]');
    expect(apiMessage('plain text')).toBe('plain text');
    expect(apiMessage(undefined)).toBe('undefined');
    expect(apiMessage(null)).toBe('null');
    expect(apiMessage(42)).toBe('42');
  });
});

describe('refusalMessage: apiMessage plus the fields the causes name', () => {
  const refused = (message: string, causes?: unknown) => api(422, statusBody({ message, reason: 'Invalid', code: 422, ...(causes === undefined ? {} : { details: { causes } }) }));
  test('fields the message does not name are added, in order, each with its message', () => {
    expect(refusalMessage(refused('denied', [
      { reason: 'FieldValueInvalid', field: 'spec.a', message: 'bad a' },
      { reason: 'FieldValueRequired', field: 'spec.b', message: 'need b' },
    ]))).toBe('HTTP 422: denied (spec.a: bad a; spec.b: need b)');
  });
  test('a cause without a field, or one the message already names, adds nothing', () => {
    expect(refusalMessage(refused('spec.a: bad a', [{ field: 'spec.a', message: 'bad a' }, { message: 'no field' }, { field: '', message: 'empty field' }]))).toBe('HTTP 422: spec.a: bad a');
    expect(refusalMessage(refused('spec.a is wrong', [{ field: 'spec.a', message: 'x' }, { field: 'spec.c', message: 'y' }]))).toBe('HTTP 422: spec.a is wrong (spec.c: y)');
  });
  test('a cause with a field and no message: the field alone', () => {
    expect(refusalMessage(refused('denied', [{ field: 'spec.c' }]))).toBe('HTTP 422: denied (spec.c:)');
  });
  test('a Status without details or causes, a non-JSON body, a body that is no text: apiMessage unchanged', () => {
    expect(refusalMessage(refused('denied'))).toBe('HTTP 422: denied');
    expect(refusalMessage(api(422, statusBody({ message: 'denied', details: { name: 'x' } })))).toBe('HTTP 422: denied');
    expect(refusalMessage(api(422, statusBody({ message: 'denied', details: { causes: [] } })))).toBe('HTTP 422: denied');
    expect(refusalMessage(api(500, '<html>bad gateway</html>'))).toBe('HTTP 500: <html>bad gateway</html>');
    expect(refusalMessage(api(500, { details: { causes: [{ field: 'spec.a' }] } }))).toBe('HTTP 500');
    expect(refusalMessage(new Error('socket hang up'))).toBe('socket hang up');
    expect(refusalMessage({ details: { causes: [{ field: 'spec.a' }] } })).toBe('{"details":{"causes":[{"field":"spec.a"}]}}');
  });
  test('only an ApiException\'s body is read: another object with a Status body is apiMessage\'s JSON, no causes added', () => {
    const lookalike = { code: 422, body: statusBody({ message: 'denied', details: { causes: [{ field: 'spec.a', message: 'bad a' }] } }) };
    expect(refusalMessage(lookalike)).toBe(JSON.stringify(lookalike));
  });
  test('a JSON body that is no object: apiMessage unchanged', () => {
    expect(refusalMessage(api(500, 'null'))).toBe('HTTP 500: null');
    expect(refusalMessage(api(500, '[1]'))).toBe('HTTP 500: [1]');
  });
});

describe('errors the suite raises', () => {
  test('UpgradeRefusedError keeps the code and the whole body; its message is the Status message, else the body', () => {
    const body = statusBody({ message: 'container nope is not valid for pod cart-0', reason: 'BadRequest', code: 400 });
    const e = new UpgradeRefusedError(400, body);
    expect([e.code, e.body, e.message, e.name]).toEqual([400, body, 'HTTP 400: container nope is not valid for pod cart-0', 'UpgradeRefusedError']);
    expect(new UpgradeRefusedError(502, '').message).toBe('HTTP 502: (empty body)');
    expect(new UpgradeRefusedError(0, 'Bad Gateway').message).toBe('HTTP 0: Bad Gateway');
  });
  test('ManifestRefusedError: every refusal, one per line, counted', () => {
    const one = new ManifestRefusedError(['Gateway ns/gw: HTTP 422: bad']);
    expect([one.name, one.refusals]).toEqual(['ManifestRefusedError', ['Gateway ns/gw: HTTP 422: bad']]);
    expect(one.message).toBe('the API server refused a manifest in a server-side dry run (dryRun=All, fieldValidation=Strict), so nothing was applied:\n  Gateway ns/gw: HTTP 422: bad');
    const two = new ManifestRefusedError(['a: x', 'b: y']);
    expect(two.message).toBe('the API server refused 2 manifests in a server-side dry run (dryRun=All, fieldValidation=Strict), so nothing was applied:\n  a: x\n  b: y');
  });
});

describe('strictFieldValidation middleware', () => {
  test('adds fieldValidation=Strict to the query, keeping what is there, and returns the same context', async () => {
    const ctx = new RequestContext('https://api.example.invalid/apis/networking.istio.io/v1/namespaces/ns/gateways/gw?dryRun=All&fieldManager=egress-verify', HttpMethod.PATCH);
    const out = await strictFieldValidation.pre(ctx);
    expect(out).toBe(ctx);
    const url = new URL(ctx.getUrl());
    expect(Object.fromEntries(url.searchParams)).toEqual({ dryRun: 'All', fieldManager: 'egress-verify', fieldValidation: 'Strict' });
    expect(url.pathname).toBe('/apis/networking.istio.io/v1/namespaces/ns/gateways/gw');
  });
  test('the response passes through untouched', async () => {
    const rsp = { httpStatusCode: 200 } as unknown as Parameters<typeof strictFieldValidation.post>[0];
    expect(await strictFieldValidation.post(rsp)).toBe(rsp);
  });
});

describe('kubeconfig loading and the context guard (a temp kubeconfig; no connection is made)', () => {
  let dir: string;
  const savedKubeconfig = process.env.KUBECONFIG;
  const write = async (name: string, current: string | undefined, contexts: string[]): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, [
      'apiVersion: v1', 'kind: Config', ...(current === undefined ? [] : [`current-context: ${current}`]),
      'clusters:', '- name: c', '  cluster: { server: "https://127.0.0.1:1" }',
      'users:', '- name: u', '  user: { token: not-a-real-token }',
      'contexts:', ...contexts.flatMap((c) => [`- name: ${c}`, '  context: { cluster: c, user: u }']), '',
    ].join('\n'));
    return path;
  };
  let twoContexts: string;
  let noCurrent: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'egress-verify-kube-decisions-'));
    twoContexts = await write('two', 'kind-egress', ['kind-egress', 'gke-prod']);
    noCurrent = await write('none', undefined, ['kind-egress']);
  });
  afterEach(() => {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const guardError = (f: () => unknown): ContextGuardError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ContextGuardError);
      return e as ContextGuardError;
    }
    throw new Error('no ContextGuardError');
  };

  test('the current context named in ALLOW_CONTEXT is allowed, from the file or from KUBECONFIG', () => {
    expect(guardExistingContext('kind-egress', twoContexts)).toBe('kind-egress');
    process.env.KUBECONFIG = twoContexts;
    expect(guardExistingContext('kind-egress')).toBe('kind-egress');
  });
  test('refused: no ALLOW_CONTEXT (unset or empty), another context, or no current context', () => {
    for (const allow of [undefined, '']) {
      const e = guardError(() => guardExistingContext(allow, twoContexts));
      expect(e).toBeInstanceOf(UserFacingError);
      expect([e.name, e.headline]).toEqual(['ContextGuardError', 'Refusing the current kubeconfig context']);
      expect(e.problems).toHaveLength(1);
      expect(e.problems[0]).toBe(e.message);
      expect(e.message).toContain(`ALLOW_CONTEXT=kind-egress`);
      expect(e.message).toContain(twoContexts);
    }
    const other = guardError(() => guardExistingContext('gke-prod', twoContexts));
    expect(other.message).toContain('ALLOW_CONTEXT=gke-prod');
    expect(other.message).toContain('"kind-egress"');
    const none = guardError(() => guardExistingContext('kind-egress', noCurrent));
    expect(none.message).toContain(noCurrent);
    expect(none.message).not.toContain('ALLOW_CONTEXT=kind-egress;');
  });
  test('without a file argument the refusal names KUBECONFIG\'s value', () => {
    process.env.KUBECONFIG = twoContexts;
    expect(guardError(() => guardExistingContext(undefined)).message).toContain(`(${twoContexts})`);
  });

  test('Kube.fromFile selects exactly the named context, in memory; an unknown context is refused', () => {
    const kube = Kube.fromFile(twoContexts, 'gke-prod');
    expect([kube.kubeconfigPath, kube.context, kube.config.getCurrentContext()]).toEqual([twoContexts, 'gke-prod', 'gke-prod']);
    expect(() => Kube.fromFile(twoContexts, 'kind-other')).toThrow(`context "kind-other" is not in ${twoContexts}`);
  });
  test('Kube.fromDefault reads KUBECONFIG and selects exactly the named context; an unknown context is refused', () => {
    process.env.KUBECONFIG = twoContexts;
    const kube = Kube.fromDefault('gke-prod');
    expect([kube.context, kube.config.getCurrentContext()]).toEqual(['gke-prod', 'gke-prod']);
    expect(kube.kubeconfigPath).toBe('(kubectl default: KUBECONFIG or ~/.kube/config)');
    expect(() => Kube.fromDefault('kind-other')).toThrow('context "kind-other" is not in your kubeconfig');
  });
});

// Moved from gcp.test.ts (the guard is kube.ts's): the refusals above, against a kubeconfig whose
// server is a loopback listener that counts connections. A refused context must not cause one.
describe('context guard: no connection is made', () => {
  let server: net.Server;
  let connections = 0;
  let kubeconfig: string;
  let guardDir: string;
  beforeAll(async () => {
    server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    guardDir = await mkdtemp(join(tmpdir(), 'egress-verify-kube-guard-'));
    kubeconfig = join(guardDir, 'config');
    await writeFile(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: gke_prod_europe-west1_shop',
      'clusters:', `- name: prod`, `  cluster: { server: "https://127.0.0.1:${port}" }`,
      'users:', '- name: me', '  user: { token: not-a-real-token }',
      'contexts:', '- name: gke_prod_europe-west1_shop', '  context: { cluster: prod, user: me }',
      '- name: kind-sandbox', '  context: { cluster: prod, user: me }', '',
    ].join('\n'));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(guardDir, { recursive: true, force: true });
  });

  test('without ALLOW_CONTEXT: refused, naming the context and the setting; no connection made', () => {
    expect(() => guardExistingContext(undefined, kubeconfig)).toThrow(ContextGuardError);
    expect(() => guardExistingContext(undefined, kubeconfig)).toThrow(/current context "gke_prod_europe-west1_shop" .* set ALLOW_CONTEXT=gke_prod_europe-west1_shop/);
    expect(connections).toBe(0);
  });
  test('ALLOW_CONTEXT naming another context: refused', () => {
    expect(() => guardExistingContext('kind-sandbox', kubeconfig)).toThrow(/the current context is "gke_prod_europe-west1_shop", but ALLOW_CONTEXT=kind-sandbox; refusing/);
    expect(connections).toBe(0);
  });
  test('ALLOW_CONTEXT naming the current context: allowed', () => {
    expect(guardExistingContext('gke_prod_europe-west1_shop', kubeconfig)).toBe('gke_prod_europe-west1_shop');
    expect(connections).toBe(0);
  });
});
