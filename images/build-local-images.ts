/**
 * `npm run images:build`: builds the suite's images from binaries on this machine, for hosts
 * that cannot pull from a container registry (air-gapped runners, this project's CI):
 *   egress-verify/redis:local  redis-server + redis-cli from the host (Debian: apt-get install redis-server redis-tools)
 *   egress-verify/probe:local  the host's node binary + helpers/external/probe.mjs
 * Both are FROM scratch: the binaries plus the shared libraries `ldd` lists. They have no shell,
 * so they are run with exec-form commands. Linux hosts only.
 *
 * Shell work through zx: `$` runs each command without a shell in between (arguments are
 * passed as they are) and throws, with exit code and stderr, when one fails.
 */
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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
async function stage(ctx: string, binaries: string[]): Promise<void> {
  for (const bin of binaries) {
    await put(ctx, bin, join('/usr/local/bin', basename(bin)));
    // ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
    const libs = new Set((await $`ldd ${bin}`).stdout.match(/\/[^ )]+/g) ?? []);
    for (const lib of libs) await put(ctx, lib, lib);
  }
}

async function build(tag: string, ctx: string): Promise<void> {
  const started = performance.now();
  // The classic builder first (quiet, and it needs no buildx); the default builder, with its
  // output shown, when the classic one is not available.
  const classic = await $({ env: { ...process.env, DOCKER_BUILDKIT: '0' }, nothrow: true })`docker build --quiet --tag ${tag} ${ctx}`;
  if (classic.exitCode !== 0) await $({ quiet: false })`docker build --tag ${tag} ${ctx}`;
  const size = Number((await $`docker image inspect --format {{.Size}} ${tag}`).stdout.trim());
  process.stdout.write(`built ${tag} in ${Math.round((performance.now() - started) / 1000)}s (${Math.round(size / 1e6)} MB)\n`);
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
    await build('egress-verify/redis:local', redis);

    const probe = join(work, 'probe');
    await mkdir(join(probe, 'probe'), { recursive: true });
    await mkdir(join(probe, 'tmp'), { recursive: true });
    await stage(probe, [node]);
    await copyFile(join(ROOT, 'helpers', 'external', 'probe.mjs'), join(probe, 'probe', 'probe.mjs'));
    await writeFile(join(probe, 'Dockerfile'), PROBE_DOCKERFILE);
    await build('egress-verify/probe:local', probe);
  } finally {
    await removeWork();
  }
}

await main();
