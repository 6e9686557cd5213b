/**
 * Every version the suite depends on, in one place.
 *
 * Bump a version here and nowhere else; settings.ts takes its defaults from this file.
 * Each pin carries a `renovate:` comment so that Renovate's regex manager
 * (see renovate.json) can propose updates. Digests pin images whose tags move.
 */
export const pins = {
  /** Istio release used when ISTIO_VERSION is not set. */
  // renovate: datasource=github-releases depName=istio/istio
  istio: '1.30.5',

  /** kind release downloaded when no kind binary is on PATH (issue: tools on first use). */
  // renovate: datasource=github-releases depName=kubernetes-sigs/kind
  kind: 'v0.32.0',

  /** kind node image; the digest is the one kind's release notes pin for this tag. */
  // renovate: datasource=docker depName=kindest/node
  kindNodeImage: 'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5',

  /** microservices-demo cartservice image (v0.10.x, amd64 only). */
  // renovate: datasource=github-releases depName=GoogleCloudPlatform/microservices-demo
  cartservice: 'v0.10.6',

  /** Official Redis image used as the Memorystore stand-in. */
  // renovate: datasource=docker depName=redis
  redisImage: 'redis:7.2',

  /** Image for the probe pods: any image with Node >= 20 runs the probe script. */
  // renovate: datasource=docker depName=node
  probeImage: 'node:24-alpine',
} as const;
