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

  /**
   * The node images kind v0.32.0 publishes (its release notes), newest first. When
   * KIND_NODE_IMAGE is not set and ISTIO_VERSION does not support the default's Kubernetes,
   * the newest one it supports is used.
   */
  kindNodeImages: [
    'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5',
    'kindest/node:v1.35.5@sha256:ce977ae6d65918d0b58a5f8b5e940429c2ce42fa3a5619ec2bbc60b949c0ac95',
    'kindest/node:v1.34.8@sha256:02722c2dedddcfc00febf5d27fbeb9b7b2c14294c82109ff4a85d89ac9ba3256',
    'kindest/node:v1.33.12@sha256:3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4',
  ],

  /**
   * Kubernetes minors each Istio minor supports (istio.io release announcements, "officially
   * supported on Kubernetes versions X to Y"). 1.28's announcement exists in two versions
   * (1.29-1.34 and 1.29-1.35); the narrower one is kept.
   */
  istioKubernetes: {
    '1.28': [29, 34],
    '1.29': [31, 35],
    '1.30': [32, 36],
  },

  /** The Istio versions CI runs the scenarios on: the current and the previous minor. */
  // renovate: datasource=github-releases depName=istio/istio
  istioMatrix: ['1.29.8', '1.30.5'],

  /**
   * The Istio built from its Go module for the self-tests (`npm run tools:build`): the module
   * proxy serves no commit of the 1.28-1.30 releases (refused: "This module version is not
   * available"), but it serves 1.31.0's tag commit, listed as a snapshot. Named by its version
   * and commit everywhere it is used.
   */
  istioBuild: { version: '1.31.0', commit: 'eed52ebb66ad', module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad' },

  /** microservices-demo cartservice image (v0.10.x, amd64 only). */
  // renovate: datasource=github-releases depName=GoogleCloudPlatform/microservices-demo
  cartservice: 'v0.10.6',

  /** Official Redis image used as the Memorystore stand-in: the version Memorystore creates by default (7.0). */
  // renovate: datasource=docker depName=redis
  redisImage: 'redis:7.0',

  /** Image for the probe pods: any image with Node >= 20 runs the probe script. */
  // renovate: datasource=docker depName=node
  probeImage: 'node:24-alpine',

  /**
   * The workshop under test (content and labs repositories, master): the commits the golden
   * inventory (workshop/golden.json) was taken from. A checkout at another commit is reported
   * block by block against it.
   */
  // renovate: datasource=git-refs depName=https://github.com/rafik8/istio-workshop currentValue=master
  workshopCommit: 'f37b460e1cab8f3804c9180f30e529d6e71eb2a5',
  // renovate: datasource=git-refs depName=https://github.com/rafik8/istio-workshop-labs currentValue=master
  workshopLabsCommit: '41ea62a246b07b57a5e5076707bbff1393273566',
} as const satisfies {
  istioKubernetes: Record<string, readonly [number, number]>;
  [key: string]: unknown;
};
