/**
 * helpers/mesh/mesh-config.ts: the check of the live mesh config (ConfigMap istio-system/istio,
 * key "mesh"), where a missing or broken ConfigMap must never read as REGISTRY_ONLY; and its one
 * read and one write, through a recording Kube double (only `core` is used). Against a real API
 * server: kube.api-server.test.ts.
 */
import { ApiException, type V1ConfigMap } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { checkMeshConfig, MESH_CONFIG_MAP, readMeshConfigMap, readMeshDrain, setOutboundMode } from '../../helpers/mesh/mesh-config.ts';
import type { Kube } from '../../helpers/cluster/kube.ts';

describe('mesh config check: only an explicit REGISTRY_ONLY passes', () => {
  const cm = (data: Record<string, string> | undefined): V1ConfigMap => ({ metadata: { name: 'istio', namespace: 'istio-system' }, ...(data ? { data } : {}) });

  test('no ConfigMap: not ok, mode unknown, with the question what is wrong', () => {
    expect(checkMeshConfig(undefined)).toEqual({
      ok: false, mode: 'unknown', explicit: false,
      message: 'ConfigMap istio-system/istio not found: is Istio installed in this cluster?',
    });
  });

  test('a ConfigMap without any data, or with other keys only: not ok', () => {
    const expected = { ok: false, mode: 'unknown', explicit: false, message: 'ConfigMap istio-system/istio has no "mesh" key' };
    expect(checkMeshConfig(cm(undefined))).toEqual(expected);
    expect(checkMeshConfig(cm({ meshNetworks: 'networks: {}' }))).toEqual(expected);
  });

  test('broken YAML under "mesh": not ok, never a default', () => {
    const r = checkMeshConfig(cm({ mesh: 'outboundTrafficPolicy: [\n  mode: REGISTRY_ONLY' }));
    expect(r).toMatchObject({ ok: false, mode: 'unknown', explicit: false });
    expect(r.message.startsWith('ConfigMap istio-system/istio: the "mesh" key is not YAML (')).toBe(true);
  });

  test('an empty "mesh" (null document), a policy without a mode, or other keys only: Istio\'s default ALLOW_ANY, not explicit', () => {
    for (const mesh of ['', 'outboundTrafficPolicy: {}\n', 'outboundTrafficPolicy:\n', 'accessLogFile: ""\n']) {
      const r = checkMeshConfig(cm({ mesh }));
      expect(r, JSON.stringify(mesh)).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: false });
      expect(r.message).toContain('outboundTrafficPolicy.mode is ALLOW_ANY (not set: Istio\'s default), but the chapter needs REGISTRY_ONLY');
    }
  });

  test('explicit REGISTRY_ONLY, also among the other keys of an installed mesh: ok and explicit; explicit ALLOW_ANY: not ok, no "not set" remark', () => {
    const registryOnly = {
      ok: true, mode: 'REGISTRY_ONLY', explicit: true, message: 'ConfigMap istio-system/istio: outboundTrafficPolicy.mode is REGISTRY_ONLY',
    };
    expect(checkMeshConfig(cm({ mesh: 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n' }))).toEqual(registryOnly);
    expect(checkMeshConfig(cm({
      mesh: 'accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n',
    }))).toEqual(registryOnly);
    const any = checkMeshConfig(cm({ mesh: 'outboundTrafficPolicy:\n  mode: ALLOW_ANY\n' }));
    expect(any).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: true });
    expect(any.message).toBe('ConfigMap istio-system/istio: outboundTrafficPolicy.mode is ALLOW_ANY, but the chapter needs REGISTRY_ONLY; '
      + 'install with --set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY (fixtures/istio-operator.yaml does)');
  });

  test('a mode that only looks like REGISTRY_ONLY is not it', () => {
    for (const mode of ['registry_only', 'REGISTRY_ONLY ', '"REGISTRY_ONLY_X"']) {
      expect(checkMeshConfig(cm({ mesh: `outboundTrafficPolicy:\n  mode: '${mode}'\n` })).ok, mode).toBe(false);
    }
  });
});

describe('reading and writing the mesh ConfigMap (a recording Kube double: only its core API is used)', () => {
  /** A Kube whose ConfigMap reads answer `read` and whose replaces are recorded. */
  function kubeWith(read: () => Promise<V1ConfigMap>) {
    const reads: unknown[] = [];
    const replaced: { name: string; namespace: string; body: V1ConfigMap }[] = [];
    const core = {
      readNamespacedConfigMap: async (req: unknown) => { reads.push(req); return read(); },
      replaceNamespacedConfigMap: async (req: { name: string; namespace: string; body: V1ConfigMap }) => { replaced.push(req); return req.body; },
    };
    return { kube: { core } as unknown as Kube, reads, replaced };
  }
  const withMesh = (mesh: string): V1ConfigMap => ({ metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh, meshNetworks: 'networks: {}' } });

  test('readMeshConfigMap: the ConfigMap istio-system/istio; a 404 is undefined, any other error is thrown', async () => {
    const found = kubeWith(async () => withMesh('a: 1\n'));
    expect(await readMeshConfigMap(found.kube)).toEqual(withMesh('a: 1\n'));
    expect(found.reads).toEqual([{ name: 'istio', namespace: 'istio-system' }]);
    expect(MESH_CONFIG_MAP).toEqual({ name: 'istio', namespace: 'istio-system' });
    const missing = kubeWith(async () => { throw new ApiException(404, 'Not Found', '', {}); });
    expect(await readMeshConfigMap(missing.kube)).toBeUndefined();
    const forbidden = new ApiException(403, 'Forbidden', '', {});
    await expect(readMeshConfigMap(kubeWith(async () => { throw forbidden; }).kube)).rejects.toBe(forbidden);
  });

  test('setOutboundMode: only the mode changes, the other keys and policy fields stay; the mode before is returned', async () => {
    const { kube, replaced } = kubeWith(async () => withMesh('accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n  egressProxy: { host: x }\n'));
    expect(await setOutboundMode(kube, 'ALLOW_ANY')).toBe('REGISTRY_ONLY');
    expect(replaced).toHaveLength(1);
    expect([replaced[0]!.name, replaced[0]!.namespace]).toEqual(['istio', 'istio-system']);
    expect(replaced[0]!.body.data!.meshNetworks).toBe('networks: {}');
    expect(parse(replaced[0]!.body.data!.mesh!)).toEqual({ accessLogFile: '/dev/stdout', outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'x' } } });
  });

  test('setOutboundMode on a mesh without a mode (or without a "mesh" key): undefined before, the mode set after', async () => {
    for (const cm of [withMesh('accessLogFile: ""\n'), { metadata: { name: 'istio' } } as V1ConfigMap]) {
      const { kube, replaced } = kubeWith(async () => structuredClone(cm));
      expect(await setOutboundMode(kube, 'REGISTRY_ONLY')).toBeUndefined();
      expect(checkMeshConfig(replaced[0]!.body)).toMatchObject({ ok: true, explicit: true });
    }
  });

  test('readMeshDrain: the drain duration of the mesh config, else Istio\'s default', async () => {
    expect((await readMeshDrain(kubeWith(async () => withMesh('defaultConfig:\n  drainDuration: 5s\n')).kube)).ms).toBe(5000);
    expect((await readMeshDrain(kubeWith(async () => withMesh('accessLogFile: ""\n')).kube)).ms).toBe(45_000);
  });
});
