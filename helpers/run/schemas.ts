/**
 * Validation of the suite's manifests against the real schemas: Kubernetes' OpenAPI schemas
 * (kubernetes-models) and the schemas generated from Istio's CRDs (@kubernetes-models/istio).
 * Offline: the schemas ship inside the packages.
 */
import * as apps from 'kubernetes-models/apps/v1';
import * as core from 'kubernetes-models/v1';
import * as installV1alpha1 from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import * as networkingV1 from '@kubernetes-models/istio/networking.istio.io/v1';
import * as securityV1 from '@kubernetes-models/istio/security.istio.io/v1';
import type { KubeObject } from './manifests.ts';
import { assertNoUnknownFields } from './strict-fields.ts';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

const GROUPS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'networking.istio.io/v1': networkingV1,
  'security.istio.io/v1': securityV1,
  'install.istio.io/v1alpha1': installV1alpha1,
};

/**
 * Throws with the schema's complaint, naming the object; and for fields the schema does not
 * declare, which the validators let through but the API server refuses (helpers/run/strict-fields.ts).
 */
export function validateManifest(o: KubeObject): void {
  const Model = GROUPS[o.apiVersion]?.[o.kind] as ModelClass | undefined;
  if (!Model) throw new Error(`no schema known for ${o.apiVersion} ${o.kind}`);
  try {
    new Model(o as never).validate();
  } catch (e) {
    throw new Error(`${o.kind} ${o.metadata?.name ?? '(no name)'} does not match the ${o.apiVersion} schema: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  assertNoUnknownFields(o);
}
