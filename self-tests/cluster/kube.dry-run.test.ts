/**
 * The server-side dry run before every apply (issue 10, section 5): the exact requests the real
 * client-node sends through the suite's Kube, the middleware that makes them strict, and how a
 * refusal is reported.
 *
 * The peer here is a loopback HTTP server that RECORDS requests. It is not a stand-in for the
 * Kubernetes REST API's behaviour: it answers only so that client-node can finish its calls
 * (a discovery list so the client can build the resource path, the sent object echoed back, or
 * a Status written here in the apimachinery Status shape). Whether the API server refuses a
 * given manifest is not tested here; what the client asks of it is.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ApiException, HttpMethod, RequestContext } from '@kubernetes/client-node';
import { FIELD_MANAGER, Kube, strictFieldValidation } from '../../helpers/cluster/kube.ts';
import { ManifestRefusedError, refusalMessage } from '../../helpers/cluster/kube-errors.ts';
import type { KubeObject } from '../../helpers/run/manifests.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
}

const gateway: KubeObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: { name: 'istio-egressgateway', namespace: 'egress-verify-mesh' },
  spec: { selector: { istio: 'egressgateway' }, servers: [{ port: { number: 6379, name: 'tcp-redis', protocol: 'TCP' }, hosts: ['redis.domain'], addresses: ['10.0.0.3'] }] },
};
const serviceEntry: KubeObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  metadata: { name: 'redis-memorystore', namespace: 'egress-verify-mesh' },
  spec: { hosts: ['redis.domain'], addresses: ['10.0.0.3/32'], ports: [{ number: 6379, name: 'tcp-redis', protocol: 'TCP' }], location: 'MESH_EXTERNAL' },
};

/** A Status as the API server writes one for an invalid object (apimachinery metav1.Status). */
function invalidStatus(o: KubeObject, field: string, message: string) {
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: `${o.kind}.networking.istio.io "${o.metadata.name}" is invalid: ${field}: ${message}`,
    reason: 'Invalid',
    details: { name: o.metadata.name, group: 'networking.istio.io', kind: o.kind, causes: [{ reason: 'FieldValueInvalid', message, field }] },
    code: 422,
  };
}

describe('Kube.apply: a strict server-side dry run first, with the real client-node', () => {
  const dir = tempFolder('dryrun');
  let server: Server;
  let kube: Kube;
  const requests: Recorded[] = [];
  /** Object names the recorder answers with a 422 Status (for dry runs only). */
  const refuse = new Map<string, { field: string; message: string }>();

  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) as unknown : undefined;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://recorder');
        const rec: Recorded = {
          method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams),
          contentType: req.headers['content-type'], body: await readBody(req),
        };
        requests.push(rec);
        const json = (code: number, body: unknown) => {
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (rec.method === 'GET' && rec.path === '/apis/networking.istio.io/v1') {
          return json(200, {
            kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'networking.istio.io/v1',
            resources: [
              { name: 'gateways', singularName: 'gateway', namespaced: true, kind: 'Gateway', verbs: ['get', 'patch'] },
              { name: 'serviceentries', singularName: 'serviceentry', namespaced: true, kind: 'ServiceEntry', verbs: ['get', 'patch'] },
            ],
          });
        }
        if (rec.method === 'PATCH') {
          const o = rec.body as KubeObject;
          const r = refuse.get(o.metadata.name);
          if (r && rec.query.dryRun === 'All') return json(422, invalidStatus(o, r.field, r.message));
          return json(200, o);
        }
        return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `not recorded: ${rec.method} ${rec.path}`, code: 404 });
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    // client-node accepts a plain http:// server only with insecure-skip-tls-verify.
    await writeFile(join(dir.path, 'kubeconfig'), [
      'apiVersion: v1', 'kind: Config', 'current-context: recorder',
      'clusters:', `- name: recorder`, '  cluster:', `    server: http://127.0.0.1:${port}`, '    insecure-skip-tls-verify: true',
      'users:', '- name: recorder', '  user:', '    token: recorder-token',
      'contexts:', '- name: recorder', '  context:', '    cluster: recorder', '    user: recorder', '',
    ].join('\n'));
    kube = Kube.fromFile(join(dir.path, 'kubeconfig'), 'recorder');
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    requests.length = 0;
    refuse.clear();
  });

  const patches = () => requests.filter((r) => r.method === 'PATCH');

  test('the dry run: PATCH as server-side apply with dryRun=All and fieldValidation=Strict, the suite\'s field manager, forced', async () => {
    await kube.dryRunApply([serviceEntry]);
    expect(patches()).toEqual([{
      method: 'PATCH',
      path: '/apis/networking.istio.io/v1/namespaces/egress-verify-mesh/serviceentries/redis-memorystore',
      query: { dryRun: 'All', fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' },
      contentType: 'application/apply-patch+yaml',
      body: serviceEntry,
    }]);
  });

  test('apply: every object dry-run first, then applied (strict, not dry-run)', async () => {
    const se2 = { ...serviceEntry, metadata: { ...serviceEntry.metadata, name: 'second' } };
    await kube.apply([serviceEntry, se2]);
    expect(patches().map((r) => [r.path.split('/').pop(), r.query.dryRun ?? 'applied', r.query.fieldValidation, r.contentType])).toEqual([
      ['redis-memorystore', 'All', 'Strict', 'application/apply-patch+yaml'],
      ['second', 'All', 'Strict', 'application/apply-patch+yaml'],
      ['redis-memorystore', 'applied', 'Strict', 'application/apply-patch+yaml'],
      ['second', 'applied', 'Strict', 'application/apply-patch+yaml'],
    ]);
  });

  test('a refusal fails with the server\'s words, naming the object and the field; every object is tried, none applied', async () => {
    refuse.set('istio-egressgateway', { field: 'spec.servers[0].addresses', message: 'field not declared in schema' });
    refuse.set('redis-memorystore', { field: 'spec.ports[0].number', message: 'Invalid value: 0' });
    const err = await kube.apply([gateway, serviceEntry]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestRefusedError);
    expect((err as ManifestRefusedError).refusals).toEqual([
      'Gateway egress-verify-mesh/istio-egressgateway: HTTP 422: Gateway.networking.istio.io "istio-egressgateway" is invalid: spec.servers[0].addresses: field not declared in schema',
      'ServiceEntry egress-verify-mesh/redis-memorystore: HTTP 422: ServiceEntry.networking.istio.io "redis-memorystore" is invalid: spec.ports[0].number: Invalid value: 0',
    ]);
    expect((err as Error).message).toMatch(/^the API server refused 2 manifests in a server-side dry run \(dryRun=All, fieldValidation=Strict\), so nothing was applied/);
    expect(patches().every((r) => r.query.dryRun === 'All')).toBe(true);
    expect(patches()).toHaveLength(2);
  });
});

describe('refusalMessage', () => {
  test('the Status message, and the fields its causes name when the message does not', () => {
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'admission webhook "validation.istio.io" denied the request: configuration is invalid', reason: 'BadRequest', code: 400,
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'spec.addresses[0]', message: 'invalid address "redis.example"' }] } };
    expect(refusalMessage(new ApiException(400, 'Unsuccessful HTTP Request', JSON.stringify(status), {})))
      .toBe('HTTP 400: admission webhook "validation.istio.io" denied the request: configuration is invalid (spec.addresses[0]: invalid address "redis.example")');
    const named = { ...status, message: 'x is invalid: spec.addresses[0]: invalid address' };
    expect(refusalMessage(new ApiException(422, 'Unsuccessful HTTP Request', JSON.stringify(named), {}))).toBe('HTTP 422: x is invalid: spec.addresses[0]: invalid address');
    expect(refusalMessage(new ApiException(500, 'Unsuccessful HTTP Request', 'upstream connect error', {}))).toBe('HTTP 500: upstream connect error');
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
