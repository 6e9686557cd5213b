/**
 * images/istio-images/build.ts: Istio's images `npm run images:build -- --kind` built, checked
 * inside them: the Istio and Envoy they claim, the files and user Istio's pods expect, iptables
 * for istio-init, and their inputs label. Skipped with the reason when they are not built (fails
 * under REQUIRE_TOOLS=1, as in CI).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { describe, expect, test } from 'vitest';
import { istioImages, LOCAL_ENVOY_VERSION, LOCAL_IMAGES, LOCAL_ISTIO_VERSION } from '../../helpers/run/local-images.ts';
import { labelOf } from '../../images/image-inputs.ts';
import { inImage, needBuiltImages } from '../plumbing/support.ts';

const { pilot, proxy } = istioImages(LOCAL_IMAGES.istioHub, LOCAL_ISTIO_VERSION);

describe('Istio\'s images', () => {
  test('proxyv2: pilot-agent of the Istio built here, upstream Envoy, the bootstrap template, iptables for istio-init, user 1337', async (ctx) => {
    await needBuiltImages(ctx, proxy);
    expect(await inImage(proxy, '/usr/local/bin/envoy', '--version')).toMatch(new RegExp(`/${LOCAL_ENVOY_VERSION.replaceAll('.', '\\.')}/Clean/RELEASE`));
    expect(await inImage(proxy, '/usr/local/bin/pilot-agent', 'version', '--short')).toContain(LOCAL_ISTIO_VERSION);
    // The template pilot-agent renders (a Go template, not JSON): the one tools:build took from the istio module.
    expect(await inImage(proxy, 'cat', '/var/lib/istio/envoy/envoy_bootstrap_tmpl.json')).toBe((await readFile(join(ROOT_DIR, '.tools', 'bin', 'envoy_bootstrap_tmpl.json'), 'utf8')).trimEnd());
    expect(await inImage(proxy, 'iptables-save', '--version')).toMatch(/iptables/);
    expect((await inImage(proxy, 'id', '-u', 'istio-proxy')).trim()).toBe('1337');
    expect(await labelOf(proxy)).toMatch(/^[0-9a-f]{32}$/);
  });

  test('pilot: pilot-discovery of the Istio built here, run as 1337', async (ctx) => {
    await needBuiltImages(ctx, pilot);
    expect(await inImage(pilot, '/usr/local/bin/pilot-discovery', 'version', '--short')).toContain(LOCAL_ISTIO_VERSION);
    const { stdout } = await execa('docker', ['image', 'inspect', '--format', '{{.Config.User}}', pilot]);
    expect(stdout.trim()).toBe('1337:1337');
    expect(await labelOf(pilot)).toBe(await labelOf(proxy));
  });
});
