/**
 * helpers/run/local-images.ts and the prerequisites' list of them: the images IMAGES=local runs,
 * and what the run reports about them.
 */
import { describe, expect, test } from 'vitest';
import { istioImages, LOCAL_ENVOY_VERSION, LOCAL_IMAGES, LOCAL_ISTIO_VERSION, localImageDeviations } from '../../helpers/run/local-images.ts';
import { pins } from '../../helpers/run/pins.ts';
import { envoyForIstio, type EnvoyVersions } from '../../images/envoy/envoy-versions.ts';
import versions from '../../images/envoy/versions.json' with { type: 'json' };
import { localImagesWanted } from '../../helpers/run/tools.ts';

describe('the images built here', () => {
  test('the Istio and Envoy built here are the pinned build and its wheel (pins.istioBuild, images/envoy/versions.json)', () => {
    expect(LOCAL_ISTIO_VERSION).toBe(pins.istioBuild.version);
    expect(LOCAL_ENVOY_VERSION).toBe(envoyForIstio(LOCAL_ISTIO_VERSION, versions as EnvoyVersions));
  });

  test('Istio\'s images follow istioctl\'s hub/pilot:tag and hub/proxyv2:tag', () => {
    expect(istioImages('egress-verify', '1.31.0')).toEqual({ pilot: 'egress-verify/pilot:1.31.0', proxy: 'egress-verify/proxyv2:1.31.0' });
  });

  test('the images a run needs present: those built here that it uses, not a published one set instead', () => {
    const local = { kindNodeImage: LOCAL_IMAGES.kindNode, istioVersion: LOCAL_ISTIO_VERSION, cartImage: LOCAL_IMAGES.cart, probeImage: LOCAL_IMAGES.probe, redisImage: LOCAL_IMAGES.redis };
    expect(localImagesWanted(local)).toEqual([
      LOCAL_IMAGES.kindNode, `egress-verify/pilot:${LOCAL_ISTIO_VERSION}`, `egress-verify/proxyv2:${LOCAL_ISTIO_VERSION}`, LOCAL_IMAGES.cart, LOCAL_IMAGES.probe, LOCAL_IMAGES.redis,
    ]);
    expect(localImagesWanted({ ...local, cartImage: 'example.org/cart:1', kindNodeImage: 'kindest/node:v1.36.1' }))
      .toEqual([`egress-verify/pilot:${LOCAL_ISTIO_VERSION}`, `egress-verify/proxyv2:${LOCAL_ISTIO_VERSION}`, LOCAL_IMAGES.probe, LOCAL_IMAGES.redis]);
  });

  test('the report: upstream Envoy and Istio\'s build always; the cart stand-in and the node image only when they are the ones built here', () => {
    const all = localImageDeviations({ cartImage: LOCAL_IMAGES.cart, kindNodeImage: LOCAL_IMAGES.kindNode });
    expect(all).toHaveLength(4);
    expect(all[0]).toMatch(/^Envoy is upstream Envoy .*PILOT_ENABLE_METADATA_EXCHANGE=false.*Telemetry.*\(the blocked step's evidence is then tcp_proxy's BlackHoleCluster counter\)$/);
    expect(all[1]).toMatch(/built from the release commit/);
    expect(all[2]).toMatch(/^the cart is a stand-in/);
    expect(all[3]).toMatch(/^the kind node image is built here.*no kindnetd/);
    expect(localImageDeviations({ cartImage: 'c:1', kindNodeImage: 'kindest/node:v1.36.1' })).toEqual(all.slice(0, 2));
  });
});
