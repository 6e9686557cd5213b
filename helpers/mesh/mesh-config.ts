/**
 * The live mesh config: the `mesh` key of ConfigMap `istio` in `istio-system`, which istiod
 * watches and reloads (istio/istio pkg/config/mesh/kubemesh). One read, one check, one write.
 * outboundTrafficPolicy.mode defaults to ALLOW_ANY when absent (mesh/v1alpha1/config.proto).
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse as parseYaml, stringify } from 'yaml';
import { type MeshDrain, meshDrainDuration } from './drain.ts';
import { ISTIO_NAMESPACE } from './istio-install.ts';
import { isNotFound } from '../cluster/kube-errors.ts';
import type { Kube } from '../cluster/kube.ts';

/** The ConfigMap that holds the mesh config. */
export const MESH_CONFIG_MAP = { name: 'istio', namespace: ISTIO_NAMESPACE } as const;

/** The mesh ConfigMap, or undefined when it does not exist (Istio not installed). */
export async function readMeshConfigMap(kube: Kube): Promise<V1ConfigMap | undefined> {
  try {
    return await kube.core.readNamespacedConfigMap(MESH_CONFIG_MAP);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export type OutboundMode = 'REGISTRY_ONLY' | 'ALLOW_ANY' | 'ALLOW_ANY_DYNAMIC_DNS' | string;

export interface MeshConfigCheck {
  ok: boolean;
  mode: OutboundMode;
  /** Whether the mode was set explicitly or is Istio's default. */
  explicit: boolean;
  message: string;
}

/** Reads outboundTrafficPolicy.mode from the `istio` ConfigMap and says whether it is REGISTRY_ONLY. */
export function checkMeshConfig(cm: V1ConfigMap | undefined): MeshConfigCheck {
  const where = `ConfigMap ${MESH_CONFIG_MAP.namespace}/${MESH_CONFIG_MAP.name}`;
  if (!cm) {
    return { ok: false, mode: 'unknown', explicit: false, message: `${where} not found: is Istio installed in this cluster?` };
  }
  const text = cm.data?.mesh;
  if (text === undefined) {
    return { ok: false, mode: 'unknown', explicit: false, message: `${where} has no "mesh" key` };
  }
  let mesh: { outboundTrafficPolicy?: { mode?: string } } | null;
  try {
    mesh = parseYaml(text) as typeof mesh;
  } catch (e) {
    return { ok: false, mode: 'unknown', explicit: false, message: `${where}: the "mesh" key is not YAML (${(e as Error).message})` };
  }
  const set = mesh?.outboundTrafficPolicy?.mode;
  const mode = set ?? 'ALLOW_ANY';
  if (mode === 'REGISTRY_ONLY') {
    return { ok: true, mode, explicit: true, message: `${where}: outboundTrafficPolicy.mode is REGISTRY_ONLY` };
  }
  return {
    ok: false, mode, explicit: set !== undefined,
    message: `${where}: outboundTrafficPolicy.mode is ${mode}${set ? '' : ' (not set: Istio\'s default)'}, but the chapter needs REGISTRY_ONLY; `
      + 'install with --set meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY (fixtures/istio-operator.yaml does)',
  };
}

/** The live mesh's drain duration (helpers/mesh/drain.ts), read from the `istio` ConfigMap. */
export async function readMeshDrain(kube: Kube): Promise<MeshDrain> {
  const cm = await kube.core.readNamespacedConfigMap(MESH_CONFIG_MAP);
  return meshDrainDuration(cm.data?.mesh);
}

/**
 * Sets the mesh's outbound mode in the ConfigMap; the sidecars then get the new default outbound
 * cluster, which the callers await by polling. Returns the mode before (undefined: not set).
 */
export async function setOutboundMode(kube: Kube, mode: 'REGISTRY_ONLY' | 'ALLOW_ANY'): Promise<string | undefined> {
  const cm = await kube.core.readNamespacedConfigMap(MESH_CONFIG_MAP);
  const mesh = (parseYaml(cm.data?.mesh ?? '') ?? {}) as { outboundTrafficPolicy?: { mode?: string } };
  const before = mesh.outboundTrafficPolicy?.mode;
  mesh.outboundTrafficPolicy = { ...mesh.outboundTrafficPolicy, mode };
  cm.data = { ...cm.data, mesh: stringify(mesh) };
  await kube.core.replaceNamespacedConfigMap({ ...MESH_CONFIG_MAP, body: cm });
  return before;
}
