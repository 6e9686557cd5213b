/**
 * Which Istio runs on which Kubernetes: checked from settings alone, before any cluster work.
 */
import { pins } from './pins.ts';

export function minorOf(version: string): string {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`not a version: ${version}`);
  return `${m[1]}.${m[2]}`;
}

/** Kubernetes minor of a kind node image reference (kindest/node:v1.36.1@sha256:...). */
export function kubernetesMinorOfImage(image: string): number | undefined {
  const m = /:v1\.(\d+)\.\d+/.exec(image);
  return m ? Number(m[1]) : undefined;
}

export type Support =
  | { known: true; supported: boolean; range: readonly [number, number] }
  | { known: false; reason: 'newer' | 'older' };

export function istioSupports(istioVersion: string, k8sMinor: number): Support {
  const table = pins.istioKubernetes as Record<string, readonly [number, number]>;
  const range = table[minorOf(istioVersion)];
  if (range) return { known: true, supported: k8sMinor >= range[0] && k8sMinor <= range[1], range };
  const minors = Object.keys(table).map((m) => Number(m.split('.')[1]));
  const mine = Number(minorOf(istioVersion).split('.')[1]);
  return { known: false, reason: mine > Math.max(...minors) ? 'newer' : 'older' };
}

/** The newest pinned kind node image this Istio supports, if any. */
export function compatibleNodeImage(istioVersion: string): string | undefined {
  return pins.kindNodeImages.find((image) => {
    const minor = kubernetesMinorOfImage(image);
    const s = minor === undefined ? undefined : istioSupports(istioVersion, minor);
    return s?.known === true && s.supported;
  });
}

/**
 * undefined when fine; otherwise why this Istio cannot run on this node image, with what would.
 * Unknown newer Istio minors pass (the table is updated with the pins).
 */
export function compatibilityProblem(istioVersion: string, nodeImage: string): string | undefined {
  const k8s = kubernetesMinorOfImage(nodeImage);
  if (k8s === undefined) return undefined; // a custom image without a version tag: cannot tell
  const s = istioSupports(istioVersion, k8s);
  const fix = compatibleNodeImage(istioVersion);
  const suggestion = fix ? ` Use KIND_NODE_IMAGE=${fix}, or leave KIND_NODE_IMAGE unset to get it.` : '';
  if (!s.known) {
    if (s.reason === 'newer') return undefined;
    const known = Object.keys(pins.istioKubernetes).join(', ');
    return `ISTIO_VERSION=${istioVersion} is older than the Istio minors this suite knows (${known}) and is out of upstream support; it cannot be checked against Kubernetes 1.${k8s}`;
  }
  if (s.supported) return undefined;
  return `ISTIO_VERSION=${istioVersion} supports Kubernetes 1.${s.range[0]} to 1.${s.range[1]}, but KIND_NODE_IMAGE is Kubernetes 1.${k8s} (${nodeImage}).${suggestion}`;
}
