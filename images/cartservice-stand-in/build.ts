/**
 * The cart stand-in (self-tests/stand-ins/cartservice.ts) as a container image, for a kind
 * cluster on a machine that cannot pull the published cartservice image (.NET):
 *
 *   node --experimental-strip-types images/cartservice-stand-in/build.ts   # egress-verify/cartservice-stand-in:local
 *   npm run images:build -- --kind                                          # the same, after the Redis and probe images
 *
 * The image is FROM scratch, as images/build-local-images.ts builds the others:
 *   /usr/local/bin/node and the libraries `ldd` lists   the host's node binary
 *   /app/self-tests/stand-ins/cartservice.mjs           the stand-in and all it imports, one file (rolldown)
 *   /app/self-tests/stand-ins/health.proto              read at start by the stand-in, beside itself
 *   /app/fixtures/cart.proto                            read at start by helpers/external/cart.ts
 * /app mirrors the project's layout because the bundled code finds its .proto files from its own
 * location (import.meta): the stand-in beside itself, and cart.ts at FIXTURES_DIR, which
 * helpers/run/manifests.ts takes as two folders above its module; in the bundle that module is
 * the bundle, two folders below /app. Before the image is built, the bundle is started once
 * from the staged folder, so a .proto it cannot find fails the build rather than the pod.
 *
 * It runs as user 1000, needs no writable path (fixtures/cartservice.yaml: readOnlyRootFilesystem,
 * all capabilities dropped), reads REDIS_ADDR and serves hipstershop.CartService and
 * grpc.health.v1.Health (the Deployment's gRPC probes) on port 7070.
 */
import { chmod, copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { rolldown } from 'rolldown';
import { which } from 'zx';
import { build, builtLine, isProgram, stage } from '../build-local-images.ts';

export const CART_STAND_IN_IMAGE = 'egress-verify/cartservice-stand-in:local';

const ROOT = resolve(import.meta.dirname, '..', '..');
const STAND_IN = 'self-tests/stand-ins/cartservice.ts';
/** In the image, under /app, at the paths they have in the project. */
const BUNDLE = 'self-tests/stand-ins/cartservice.mjs';
const PROTOS = ['self-tests/stand-ins/health.proto', 'fixtures/cart.proto'];

// Two layers: node and its libraries (the same from one build to the next, so Docker's cache
// keeps it), then the stand-in (a few MB, new when it changes).
const DOCKERFILE = `FROM scratch
COPY rootfs/ /
COPY app/ /app/
ENV PATH=/usr/local/bin
USER 1000:1000
EXPOSE 7070
ENTRYPOINT ["node", "/app/${BUNDLE}"]
`;

export interface CartStandInImageOptions {
  tag: string;
  /** Progress lines (what was bundled, the bundler's warnings). */
  log: (line: string) => void;
}

export interface CartStandInImage {
  tag: string;
  /** The whole build: bundling, staging and `docker build`. */
  seconds: number;
  /** The image's size as Docker reports it. */
  bytes: number;
}

async function needCommand(command: string, hint: string): Promise<string> {
  const path = await which(command, { nothrow: true });
  if (!path) throw new Error(`'${command}' not found; ${hint}`);
  return path;
}

/** The stand-in and what it imports as one ES module at `file`; returns its size in bytes. */
async function bundle(file: string, log: (line: string) => void): Promise<number> {
  const bundler = await rolldown({
    input: join(ROOT, STAND_IN),
    platform: 'node',
    onLog: (level, entry) => log(`rolldown ${level}: ${entry.message}`),
  });
  try {
    await bundler.write({ file, format: 'esm', codeSplitting: false });
  } finally {
    await bundler.close();
  }
  return (await stat(file)).size;
}

/**
 * Starts the staged bundle with this host's node on a free loopback port, and stops it once it
 * says `listening`: it loads both .proto files at start, from the staged layout.
 */
async function smokeTest(node: string, file: string): Promise<void> {
  // No Redis at port 1: the stand-in serves anyway and reports storage errors per call.
  const run = execa(node, [file, '--redis', '127.0.0.1:1', '--listen', '127.0.0.1:0'], { reject: false, all: true, buffer: false, timeout: 30_000 });
  let output = '';
  const listening = await new Promise<boolean>((done) => {
    run.all?.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('listening ')) done(true);
    });
    void run.then(() => done(false));
  });
  run.kill('SIGTERM');
  const r = await run;
  if (!listening) throw new Error(`the bundled stand-in did not start from the staged folder (exit ${r.exitCode ?? r.signal}):\n${output.trim()}`);
}

/**
 * Builds the image `tag`. Its staging folder (in os.tmpdir()) is removed whatever happens,
 * on SIGINT/SIGTERM too: the signal is passed on to the process when nobody else handles it.
 */
export async function buildCartStandInImage(options: CartStandInImageOptions): Promise<CartStandInImage> {
  const started = performance.now();
  if (process.platform !== 'linux') throw new Error('needs a Linux host (the node binary is copied into the image)');
  await needCommand('docker', 'install a Docker engine (Debian: apt-get install docker.io)');
  const node = await needCommand('node', 'install Node.js');
  await needCommand('ldd', 'install the C library tools (Debian: libc-bin)');

  const work = await mkdtemp(join(tmpdir(), 'egress-verify-images-cart-'));
  const signals = ['SIGINT', 'SIGTERM'] as const;
  // A handler that was there first (images:build's) ends the process; otherwise this one does,
  // by passing the signal on once its own handler is gone.
  const othersHandle = new Map<NodeJS.Signals, boolean>(signals.map((s) => [s, process.listenerCount(s) > 0]));
  // Synchronous, so it is done before another handler ends the process.
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(work, { recursive: true, force: true });
    if (!othersHandle.get(signal)) {
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    }
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    const rootfs = join(work, 'rootfs');
    const app = join(work, 'app');
    await mkdir(rootfs);
    await mkdir(app);
    // Made readable whatever the umask: the image's / and /app are read by user 1000.
    await chmod(rootfs, 0o755);
    await chmod(app, 0o755);
    await stage(rootfs, [node]);
    const bytes = await bundle(join(app, BUNDLE), options.log);
    options.log(`bundled ${STAND_IN} into /app/${BUNDLE} (${(bytes / 1e6).toFixed(1)} MB)`);
    for (const proto of PROTOS) {
      await mkdir(dirname(join(app, proto)), { recursive: true });
      await copyFile(join(ROOT, proto), join(app, proto));
    }
    await smokeTest(node, join(app, BUNDLE));
    await writeFile(join(work, 'Dockerfile'), DOCKERFILE);
    const built = await build(options.tag, work);
    return { tag: built.tag, seconds: (performance.now() - started) / 1000, bytes: built.bytes };
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await rm(work, { recursive: true, force: true });
  }
}

if (isProgram(import.meta.url)) {
  try {
    const built = await buildCartStandInImage({ tag: CART_STAND_IN_IMAGE, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`${builtLine(built)}\n`);
  } catch (e) {
    process.stderr.write(`cartservice-stand-in: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
