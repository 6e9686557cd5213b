/**
 * `npm run images:build`: builds the suite's images from binaries on this machine, for hosts
 * that cannot pull from a container registry (air-gapped runners, this project's CI):
 *   egress-verify/redis:local  redis-server + redis-cli from the host (Debian: apt-get install redis-server redis-tools)
 *   egress-verify/probe:local  the host's node binary + helpers/external/probe.mjs
 * and with `--kind` (`npm run images:build -- --kind`), for a kind cluster that cannot pull either:
 *   egress-verify/cartservice-stand-in:local  the host's node binary + the cart stand-in, bundled
 *                                             (images/cartservice-stand-in/build.ts)
 * All are FROM scratch: the binaries plus the shared libraries `ldd` lists. They have no shell,
 * so they are run with exec-form commands. Linux hosts only.
 *
 * `stage`, `build` and `builtLine` are shared with the other image builders here.
 *
 * Shell work through zx: `$` runs each command without a shell in between (arguments are
 * passed as they are) and throws, with exit code and stderr, when one fails.
 */
import { realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $, which } from 'zx';

const ROOT = resolve(import.meta.dirname, '..');
$.quiet = true;

function fail(message: string): never {
  process.stderr.write(`build-local-images: ${message}\n`);
  process.exit(1);
}

async function need(command: string, hint: string): Promise<string> {
  const path = await which(command, { nothrow: true });
  if (!path) fail(`'${command}' not found; ${hint}`);
  return path;
}

/** Copies a file to the same path under `ctx` (following symlinks), executable. */
async function put(ctx: string, from: string, to: string): Promise<void> {
  const target = join(ctx, to);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(await realpath(from), target);
  await chmod(target, 0o755);
}

/** Copies binaries into ctx/usr/local/bin, and every library they link, at its own path. */
export async function stage(ctx: string, binaries: string[]): Promise<void> {
  for (const bin of binaries) {
    await put(ctx, bin, join('/usr/local/bin', basename(bin)));
    // ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
    const libs = new Set((await $`ldd ${bin}`).stdout.match(/\/[^ )]+/g) ?? []);
    for (const lib of libs) await put(ctx, lib, lib);
  }
}

export interface Built {
  tag: string;
  seconds: number;
  /** The image's size as Docker reports it. */
  bytes: number;
}

/** Builds the image `tag` from the folder `ctx` (which holds its Dockerfile). */
export async function build(tag: string, ctx: string): Promise<Built> {
  const started = performance.now();
  // The classic builder first (quiet, and it needs no buildx); the default builder, with its
  // output shown, when the classic one is not available.
  const classic = await $({ env: { ...process.env, DOCKER_BUILDKIT: '0' }, nothrow: true })`docker build --quiet --tag ${tag} ${ctx}`;
  if (classic.exitCode !== 0) await $({ quiet: false })`docker build --tag ${tag} ${ctx}`;
  const bytes = Number((await $`docker image inspect --format {{.Size}} ${tag}`).stdout.trim());
  return { tag, seconds: (performance.now() - started) / 1000, bytes };
}

/** "built egress-verify/redis:local in 3s (18 MB)" */
export function builtLine(built: Built): string {
  return `built ${built.tag} in ${Math.round(built.seconds)}s (${Math.round(built.bytes / 1e6)} MB)`;
}

function report(built: Built): void {
  process.stdout.write(`${builtLine(built)}\n`);
}

/** True in the module that was started as the program (`node <file>`), false when imported. */
export function isProgram(moduleUrl: string): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}

const REDIS_DOCKERFILE = `FROM scratch
COPY . /
ENV PATH=/usr/local/bin
WORKDIR /data
EXPOSE 6379
# No persistence: a stand-in for a cache; protected mode off so other containers may connect.
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
`;

const PROBE_DOCKERFILE = `FROM scratch
COPY . /
ENV PATH=/usr/local/bin
ENTRYPOINT ["node", "/probe/probe.mjs"]
`;

async function main(): Promise<void> {
  const kind = process.argv.slice(2).includes('--kind');
  await need('docker', 'install a Docker engine (Debian: apt-get install docker.io)');
  const redisServer = await need('redis-server', 'install Redis (Debian: apt-get install redis-server redis-tools)');
  const redisCli = await need('redis-cli', 'install Redis tools (Debian: apt-get install redis-tools)');
  const node = await need('node', 'install Node.js >= 20');
  if (process.platform !== 'linux') fail('needs a Linux host (the binaries are copied into the image)');
  await need('ldd', 'install the C library tools (Debian: libc-bin)');

  const work = await mkdtemp(join(tmpdir(), 'egress-verify-images-'));
  const removeWork = () => rm(work, { recursive: true, force: true });
  // Ctrl-C or SIGTERM mid-build: the staging folder goes too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void removeWork().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  }
  try {
    const redis = join(work, 'redis');
    await mkdir(join(redis, 'data'), { recursive: true });
    await stage(redis, [redisServer, redisCli]);
    await writeFile(join(redis, 'Dockerfile'), REDIS_DOCKERFILE);
    report(await build('egress-verify/redis:local', redis));

    const probe = join(work, 'probe');
    await mkdir(join(probe, 'probe'), { recursive: true });
    await mkdir(join(probe, 'tmp'), { recursive: true });
    await stage(probe, [node]);
    await copyFile(join(ROOT, 'helpers', 'external', 'probe.mjs'), join(probe, 'probe', 'probe.mjs'));
    await writeFile(join(probe, 'Dockerfile'), PROBE_DOCKERFILE);
    report(await build('egress-verify/probe:local', probe));

    // Loaded only here: its bundler is a devDependency, the two images above need none.
    if (kind) {
      const { buildCartStandInImage, CART_STAND_IN_IMAGE } = await import('./cartservice-stand-in/build.ts');
      report(await buildCartStandInImage({ tag: CART_STAND_IN_IMAGE, log: (line) => process.stdout.write(`${line}\n`) }));
      await buildForKind();
    }
  } finally {
    await removeWork();
  }
}

/**
 * `--kind`: the kind node image and Istio's images (IMAGES=local), each skipped when its inputs
 * are unchanged (image-inputs.ts); what was built or found, with versions and times.
 */
async function buildForKind(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const { buildKindNode } = await import('./kind-node/build.ts');
  const { buildIstioImages } = await import('./istio-images/build.ts');
  const { LOCAL_ENVOY_VERSION, LOCAL_ISTIO_VERSION, LOCAL_KUBERNETES_VERSION } = await import('../helpers/run/local-images.ts');
  const line = (what: string, r: { seconds: number; cached: boolean }) => say(`${r.cached ? 'up to date' : `built in ${Math.round(r.seconds)}s`}: ${what}`);
  say(`kind node image (Kubernetes ${LOCAL_KUBERNETES_VERSION}): a Debian bookworm base, then the node; cold, about 5 minutes (measured: README)`);
  const { base, node } = await buildKindNode(say);
  line(`${base.image} (Debian bookworm, debootstrap)`, base);
  line(`${node.image} (Kubernetes ${LOCAL_KUBERNETES_VERSION}, kubeadm's images built from Go modules)`, node);
  const istio = await buildIstioImages(say);
  line(`${istio.images.join(', ')} (Istio ${LOCAL_ISTIO_VERSION}, upstream Envoy ${LOCAL_ENVOY_VERSION})`, istio);
}

// Not a top-level await: with --kind, main imports images/cartservice-stand-in/build.ts, which
// imports this module, and an import of a module still in its top-level await never settles.
// A rejection ends the program as an uncaught error, exit code 1, as the awaited call did.
if (isProgram(import.meta.url)) void main();
