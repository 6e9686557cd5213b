/**
 * images/kind-node/build.ts: the kind node image `npm run images:build -- --kind` built, checked
 * inside it: the Kubernetes it claims, kind's version file, the containerd setting pods need on an
 * engine without CAP_SYS_RESOURCE, and the inputs label that keeps it from being rebuilt. Skipped
 * with the reason when it is not built (fails under REQUIRE_TOOLS=1, as in CI).
 */
import { describe, expect, test } from 'vitest';
import { LOCAL_IMAGES, LOCAL_KUBERNETES_VERSION } from '../../helpers/run/local-images.ts';
import { labelOf } from '../../images/image-inputs.ts';
import { BASE_ROOTFS_IMAGE } from '../../images/kind-node/build.ts';
import { inImage, needBuiltImages } from '../plumbing/support.ts';

describe('the kind node image', () => {
  test('Kubernetes as claimed, kind\'s version file, the kubeadm images in its containerd, and its inputs label', async (ctx) => {
    await needBuiltImages(ctx, LOCAL_IMAGES.kindNode);
    expect((await inImage(LOCAL_IMAGES.kindNode, 'cat', '/kind/version')).trim()).toBe(LOCAL_KUBERNETES_VERSION);
    expect(await inImage(LOCAL_IMAGES.kindNode, '/usr/bin/kubelet', '--version')).toContain(`Kubernetes ${LOCAL_KUBERNETES_VERSION}`);
    // The containerd config that lets pods start on an engine without CAP_SYS_RESOURCE (README: walls).
    expect(await inImage(LOCAL_IMAGES.kindNode, 'cat', '/etc/containerd/config.toml')).toMatch(/restrict_oom_score_adj = true/);
    expect(await labelOf(LOCAL_IMAGES.kindNode)).toMatch(/^[0-9a-f]{32}$/);
    expect(await labelOf(BASE_ROOTFS_IMAGE)).toMatch(/^[0-9a-f]{32}$/);
  });
});

