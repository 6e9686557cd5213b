/**
 * helpers/cluster/kube-errors.ts in-process, with values: which errors count as "not found", and
 * what the suite says for an API error, a refused manifest or a refused upgrade (well-formed,
 * partial and malformed bodies). Cheap on purpose: StrykerJS re-runs every test that covers a
 * mutant. (The strict-field-validation middleware and the dry run's requests:
 * kube.dry-run.test.ts; loading a kubeconfig: kube.kubeconfig.test.ts; the context guard:
 * context-guard.test.ts.)
 */
import { describe, expect, test } from 'vitest';
import { ApiException } from '@kubernetes/client-node';
import { apiMessage, isManifestRefusal, isNotFound, ManifestRefusedError, refusalMessage, UpgradeRefusedError } from '../../helpers/cluster/kube-errors.ts';

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

describe('isManifestRefusal: the server\'s judgement of the manifest, not a failure to get one', () => {
  const status = (code: number, message: string) => new ApiException(code, 'Unsuccessful HTTP Request', JSON.stringify({ kind: 'Status', status: 'Failure', message, code }), {});
  // client-node's discovery rethrows the 404 of an unserved group version with this message (dist/object.js).
  const unserved = (apiVersionKind: string) => {
    const e = status(404, 'the server could not find the requested resource');
    e.message = `Failed to fetch resource metadata for ${apiVersionKind}: ${e.message}`;
    return e;
  };

  test('400 (strict decoding, a webhook\'s denial) and 422 (validation) are refusals', () => {
    expect(isManifestRefusal(status(400, 'admission webhook "validation.istio.io" denied the request'))).toBe(true);
    expect(isManifestRefusal(status(422, 'Deployment.apps "x" is invalid'))).toBe(true);
  });

  test('the 500 of kubernetes#139253 (an undeclared field in an apply patch) is a refusal; other 500s are not', () => {
    expect(isManifestRefusal(status(500, 'failed to create typed patch object (/v1, Kind=Gateway): .spec.servers[0].addresses: field not declared in schema'))).toBe(true);
    expect(isManifestRefusal(status(500, '.spec.x: field not declared in schema'))).toBe(true);
    expect(isManifestRefusal(status(500, 'Internal error occurred: failed calling webhook "x": context deadline exceeded'))).toBe(false);
    expect(isManifestRefusal(new ApiException(500, 'Unsuccessful HTTP Request', undefined, {}))).toBe(false);
  });

  test('an unserved apiVersion (discovery\'s 404) is a refusal; a 404 of anything else is not', () => {
    expect(isManifestRefusal(unserved('rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding'))).toBe(true);
    expect(isManifestRefusal(status(404, 'namespaces "x" not found'))).toBe(false);
  });

  test('an unserved kind of a served group version is a refusal; other errors are not', () => {
    expect(isManifestRefusal(new Error('Unrecognized API version and kind: networking.istio.io/v1 ServiceEntri'))).toBe(true);
    expect(isManifestRefusal(new Error('connect ECONNREFUSED 127.0.0.1:6443'))).toBe(false);
    expect(isManifestRefusal(new Error('x Unrecognized API version and kind'))).toBe(false);
    expect(isManifestRefusal('Unrecognized API version and kind')).toBe(false);
    for (const code of [401, 403, 409, 429, 503]) expect(isManifestRefusal(status(code, 'field not declared in schema')), String(code)).toBe(false);
  });

  test('refusalMessage names an unserved apiVersion instead of the bare 404', () => {
    expect(refusalMessage(unserved('rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding'))).toBe('rbac.authorization.k8s.io/v1beta1/ClusterRoleBinding is not served by this API server (HTTP 404 from its discovery)');
    expect(refusalMessage(status(404, 'namespaces "x" not found'))).toBe('HTTP 404: namespaces "x" not found');
  });
});
