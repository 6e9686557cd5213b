/**
 * Every version the suite depends on, in one place.
 *
 * Bump a version here and nowhere else; settings.ts takes its defaults from this file.
 * Each pin carries a `renovate:` comment so that Renovate's regex manager
 * (see renovate.json) can propose updates. Digests pin images whose tags move.
 */
export const pins = {
  /** Istio release used when ISTIO_VERSION is not set: the newest entry of istioMatrix. */
  // renovate: datasource=github-releases depName=istio/istio
  istio: '1.31.1',

  /** kind release downloaded when no kind binary is on PATH (issue: tools on first use). */
  // renovate: datasource=github-releases depName=kubernetes-sigs/kind
  kind: 'v0.32.0',

  /** kind node image; the digest is the one kind's release notes pin for this tag. */
  // renovate: datasource=docker depName=kindest/node
  kindNodeImage: 'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5',

  /**
   * The node images kind v0.32.0 publishes (its release notes), newest first. When
   * KIND_NODE_IMAGE is not set and ISTIO_VERSION does not support the default's Kubernetes,
   * the newest one it supports is used. Their digests change only with the kind pin
   * (renovate.json groups them with kind and proposes no digest of its own).
   */
  kindNodeImages: [
    // renovate: datasource=docker depName=kindest/node
    'kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5',
    // renovate: datasource=docker depName=kindest/node
    'kindest/node:v1.35.5@sha256:ce977ae6d65918d0b58a5f8b5e940429c2ce42fa3a5619ec2bbc60b949c0ac95',
    // renovate: datasource=docker depName=kindest/node
    'kindest/node:v1.34.8@sha256:02722c2dedddcfc00febf5d27fbeb9b7b2c14294c82109ff4a85d89ac9ba3256',
    // renovate: datasource=docker depName=kindest/node
    'kindest/node:v1.33.12@sha256:3f5c8443c620245e4d355cfe09e96a91ead32ceaa569d3f1ca9edf0cb2fe2ff4',
  ],

  /**
   * Kubernetes minors each Istio minor supports (istio.io release announcements, "officially
   * supported on Kubernetes versions X to Y"). Where the supported-releases table widened a range
   * after the release (1.28: 1.29-1.35 in one copy; 1.31: 1.37 added in September 2026), the
   * announcement's narrower range is kept. 1.28 and 1.29 stay so that an upgrade from them can
   * still be checked, although upstream no longer patches them.
   */
  istioKubernetes: {
    '1.28': [29, 34],
    '1.29': [31, 35],
    '1.30': [32, 36],
    '1.31': [32, 36],
  },

  /**
   * Istio's minor releases: first release and, once announced, the end of upstream support. A
   * minor is supported until 6 weeks after the release of the minor two after it (istio.io,
   * docs/releases/supported-releases, "Support policy"); the dates are the x.y.0 tags and the
   * supported-releases table (1.29: "12 Oct 2026", six weeks after 1.31.0). Checked on
   * `checkedOn` against istio.io's news/releases pages: 1.31 is the current line, no 1.32.0 is
   * announced (an istio.io/api v1.32.0 tag is not a release of Istio). 1.28's own release date is
   * not needed: only its end (six weeks after 1.30.0) is.
   */
  istioReleases: {
    checkedOn: '2026-12-03',
    minors: {
      '1.28': { released: undefined, endOfSupport: '2026-06-29' },
      '1.29': { released: '2026-02-16', endOfSupport: '2026-10-12' },
      '1.30': { released: '2026-05-18', endOfSupport: undefined },
      '1.31': { released: '2026-08-31', endOfSupport: undefined },
    },
  },

  /**
   * The Istio versions CI runs the scenarios on: the newest patch of every minor upstream
   * supports on `istioReleases.checkedOn`, oldest first (the last is the default above). CI reads
   * this list (cli/ci-matrix.ts); nothing else repeats it. Each entry is installed from its
   * release downloads (istioctl, verified by checksum); none is built here.
   */
  istioMatrix: [
    // renovate: datasource=github-releases depName=istio/istio
    '1.30.5',
    // renovate: datasource=github-releases depName=istio/istio
    '1.31.1',
  ],

  /**
   * The Istio built from its Go module for the self-tests (`npm run tools:build`): only 1.31.0's
   * tag commit is served as a module version, listed as a snapshot; the 1.28-1.30 release
   * commits are refused ("This module version is not available"), and so is 1.31.1. So the
   * self-tests run istioctl and istiod 1.31.0, while CI's scenarios install the matrix's releases.
   * Named by its version and commit everywhere it is used.
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
  istioReleases: { checkedOn: string; minors: Record<string, { released: string | undefined; endOfSupport: string | undefined }> };
  [key: string]: unknown;
};
