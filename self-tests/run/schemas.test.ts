/**
 * helpers/run/schemas.ts: validateManifest against the real Kubernetes and Istio schemas
 * (kubernetes-models, @kubernetes-models/istio), offline. That every manifest the scenarios
 * apply passes, and the unknown-field half of the check: manifests.test.ts, strict-fields.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { render, type KubeObject } from '../../helpers/run/manifests.ts';
import { validateManifest } from '../../helpers/run/schemas.ts';

const serviceEntry = () => structuredClone(render('fixtures/redis-serviceentry.yaml', { REDIS_IP: '172.18.0.5', REDIS_PORT: 6379 })[0]!);
const cart = () => structuredClone(render('fixtures/cartservice.yaml', { CART_IMAGE: 'reg.local/cart:1', REDIS_ADDR: '172.18.0.5:6379' })
  .find((o) => o.kind === 'Deployment')!);

describe('the validation discriminates', () => {
  test('the fixtures as they are pass', () => {
    expect(() => validateManifest(serviceEntry())).not.toThrow();
    expect(() => validateManifest(cart())).not.toThrow();
  });
  test('a ServiceEntry port without a number is rejected', () => {
    const broken = serviceEntry() as KubeObject & { spec: { ports: Record<string, unknown>[] } };
    delete broken.spec.ports[0]!.number;
    expect(() => validateManifest(broken)).toThrow(/ServiceEntry redis-memorystore does not match/);
  });
  test('an unknown resolution is rejected', () => {
    const broken = serviceEntry() as KubeObject & { spec: Record<string, unknown> };
    broken.spec.resolution = 'MAGIC';
    expect(() => validateManifest(broken)).toThrow();
  });
  test('a Deployment whose container has no image name type is rejected', () => {
    const d = cart() as KubeObject & { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    d.spec.template.spec.containers[0]!.ports = 'grpc';
    expect(() => validateManifest(d)).toThrow();
  });
});

describe('what a refusal says', () => {
  test('the object, "(no name)" without one, and the apiVersion; the schema\'s own error is the cause', () => {
    const broken = serviceEntry() as KubeObject & { spec: Record<string, unknown> };
    broken.spec.resolution = 'MAGIC';
    const err = (() => { try { validateManifest(broken); } catch (e) { return e as Error; } throw new Error('accepted'); })();
    expect(err.message).toMatch(/^ServiceEntry redis-memorystore does not match the networking\.istio\.io\/v1 schema: ./);
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.message).toContain((err.cause as Error).message);
    const nameless = { ...broken, metadata: {} } as unknown as KubeObject;
    expect(() => validateManifest(nameless)).toThrow(/^ServiceEntry \(no name\) does not match the networking\.istio\.io\/v1 schema: /);
  });

  test('an apiVersion or kind without a schema here is refused by name, before any check', () => {
    expect(() => validateManifest({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } })).toThrow(new Error('no schema known for example.com/v1 Thing'));
    expect(() => validateManifest({ apiVersion: 'v1', kind: 'NoSuchKind', metadata: { name: 'x' } })).toThrow(new Error('no schema known for v1 NoSuchKind'));
  });
});
