/**
 * The host checks of the prerequisites step (helpers/cluster/host.ts): the judging functions with edge
 * values, and the readers against this machine's real Docker engine and /proc.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { arch, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  checkHost, dockerNetworkExists, engineArchProblem, engineSizeProblem, HOST_MINIMUM, INOTIFY_MINIMUM, inotifyWarning,
  judgeHost, networkProblem, readEngineFacts, readInotifyLimits,
} from '../../helpers/cluster/host.ts';
import { cartImageDefault, loadSettings } from '../../helpers/run/settings.ts';
import { checkPrerequisites, PrerequisitesError } from '../../helpers/run/tools.ts';
import { needDocker, standInCommand } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const GiB = 1024 ** 3;

describe('engine architecture and the amd64-only cartservice image', () => {
  test('amd64 engine: fine', () => {
    expect(engineArchProblem('amd64', cartImageDefault)).toBeUndefined();
  });
  test('arm64 engine with the default image: stops, naming CART_IMAGE as the way out', () => {
    expect(engineArchProblem('arm64', cartImageDefault)).toBe(
      `the Docker engine's architecture is arm64 (docker version: Server.Arch), and the default cartservice image ${cartImageDefault} `
      + 'is published for amd64 only, so the cart pod could not run on the kind node. Set CART_IMAGE to a cartservice image built for arm64 '
      + '(e.g. built from microservices-demo\'s src/cartservice), or use an amd64 Docker engine',
    );
  });
  test('another CART_IMAGE is the user\'s choice: not judged', () => {
    expect(engineArchProblem('arm64', 'registry.example/cartservice:arm64')).toBeUndefined();
  });
});

describe('engine size against HOST_MINIMUM', () => {
  test('the minimum is what the message names', () => {
    expect(HOST_MINIMUM).toEqual({ cpus: 2, memoryGiB: 4 });
  });
  test('exactly the minimum passes; a VM set to 4 GiB reports a little less and still passes', () => {
    expect(engineSizeProblem(2, 4 * GiB)).toBeUndefined();
    expect(engineSizeProblem(2, 3.7 * GiB)).toBeUndefined();
    expect(engineSizeProblem(2, 3.6 * GiB)).toBeUndefined();
  });
  test('colima\'s default (2 CPUs, 2 GiB): memory is short, and the message says what is needed', () => {
    expect(engineSizeProblem(2, 1.9 * GiB)).toBe(
      'the Docker engine has 2 CPUs and 1.9 GiB of memory (docker info: NCPU, MemTotal); the kind cluster with Istio needs at least 2 CPUs and 4 GiB '
      + '(short of: memory). Give the engine more: Docker Desktop: Settings > Resources; colima: colima start --cpu 2 --memory 4',
    );
  });
  test('one CPU, or both short', () => {
    expect(engineSizeProblem(1, 8 * GiB)).toMatch(/has 1 CPU and 8\.0 GiB .*\(short of: CPUs\)/);
    expect(engineSizeProblem(1, 1 * GiB)).toMatch(/\(short of: CPUs and memory\)/);
    expect(engineSizeProblem(2, 3.5 * GiB)).toMatch(/short of: memory/);
  });
});

describe('inotify limits (kind known issues)', () => {
  test('kind\'s values, or more, pass; not measured (not Linux) passes', () => {
    expect(inotifyWarning({ maxUserWatches: INOTIFY_MINIMUM.maxUserWatches, maxUserInstances: INOTIFY_MINIMUM.maxUserInstances })).toBeUndefined();
    expect(inotifyWarning({ maxUserWatches: 1_048_576, maxUserInstances: 8192 })).toBeUndefined();
    expect(inotifyWarning(undefined)).toBeUndefined();
  });
  test('Ubuntu\'s defaults (8192, 128): both named, with the two sysctl commands', () => {
    expect(inotifyWarning({ maxUserWatches: 8192, maxUserInstances: 128 })).toBe(
      'fs.inotify.max_user_watches is 8192 (kind documents 524288), fs.inotify.max_user_instances is 128 (kind documents 512): '
      + 'pods may fail with "too many open files" (kind known issues). Raise until the next reboot with:\n'
      + '    sudo sysctl -w fs.inotify.max_user_watches=524288\n'
      + '    sudo sysctl -w fs.inotify.max_user_instances=512\n'
      + '  and make it permanent in /etc/sysctl.d/ (or /etc/sysctl.conf).',
    );
  });
  test('one below by one: only that one', () => {
    const w = inotifyWarning({ maxUserWatches: 524_288, maxUserInstances: 511 });
    expect(w).toMatch(/^fs\.inotify\.max_user_instances is 511/);
    expect(w).not.toContain('max_user_watches');
  });
});

describe('the Docker network of the stand-in (CLUSTER=existing, container backend)', () => {
  test('missing: names the network and the two ways out', () => {
    expect(networkProblem('kind', false, {})).toBe(
      'the Docker network "kind" does not exist: with CLUSTER=existing and REDIS_BACKEND=container the Redis stand-in joins the Docker network '
      + 'of the kind cluster\'s nodes, so the cluster must be a kind cluster on this Docker engine. Set KIND_EXPERIMENTAL_DOCKER_NETWORK to the '
      + 'network its nodes use (docker network ls), or use REDIS_BACKEND=memorystore',
    );
    expect(networkProblem('lab', false, { KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab' })).toMatch(/^the Docker network "lab" \(named by KIND_EXPERIMENTAL_DOCKER_NETWORK\) does not exist/);
    expect(networkProblem('kind', true, {})).toBeUndefined();
  });
});

describe('judgeHost: what applies to which run', () => {
  const arm = { arch: 'arm64', cpus: 2, memoryBytes: 1.9 * GiB };
  const low = { maxUserWatches: 8192, maxUserInstances: 128 };
  test('kind: architecture and size are problems, inotify a warning', () => {
    const r = judgeHost(loadSettings({}), { engine: arm, inotify: low }, {});
    expect(r.problems).toEqual([engineArchProblem('arm64', cartImageDefault), engineSizeProblem(2, 1.9 * GiB)]);
    expect(r.warnings).toEqual([inotifyWarning(low)]);
    expect(r.problems.every(Boolean) && r.warnings.every(Boolean)).toBe(true);
  });
  test('existing cluster: the engine does not run the nodes; only the stand-in\'s network counts', () => {
    const s = loadSettings({ CLUSTER: 'existing' });
    expect(judgeHost(s, { engine: arm, inotify: low, networkExists: false }, {})).toEqual({
      problems: [networkProblem('kind', false, {})], warnings: [],
    });
    expect(judgeHost(s, { networkExists: true }, {})).toEqual({ problems: [], warnings: [] });
  });
});

describe('readers, on this machine', () => {
  const folder = tempFolder('host');

  test('the Docker engine: its architecture, CPUs and memory (local engine: the same as this machine\'s)', async (ctx) => {
    await needDocker(ctx);
    const facts = await readEngineFacts();
    expect(facts.arch).toBe(arch() === 'x64' ? 'amd64' : arch());
    expect(facts.cpus).toBe(cpus().length);
    expect(Math.abs(facts.memoryBytes - totalmem())).toBeLessThan(64 * 1024 ** 2);
  });

  test('/proc/sys/fs/inotify: the kernel\'s values, as sysctl reads them', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('inotify limits are read on Linux only');
    const limits = await readInotifyLimits();
    const sysctl = async (k: string) => Number((await execa('sysctl', ['-n', k], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } })).stdout.trim());
    expect(limits).toEqual({
      maxUserWatches: await sysctl('fs.inotify.max_user_watches'),
      maxUserInstances: await sysctl('fs.inotify.max_user_instances'),
    });
    expect(limits!.maxUserWatches).toBeGreaterThan(0);
  });

  test('inotify files: other platforms are not read; garbage is an error naming the file', async () => {
    await writeFile(join(folder.path, 'max_user_watches'), '524288\n');
    await writeFile(join(folder.path, 'max_user_instances'), 'lots\n');
    expect(await readInotifyLimits(folder.path, 'darwin')).toBeUndefined();
    await expect(readInotifyLimits(folder.path, 'linux')).rejects.toThrow(`could not read ${join(folder.path, 'max_user_instances')} from "lots"`);
    await writeFile(join(folder.path, 'max_user_instances'), '128\n');
    expect(await readInotifyLimits(folder.path, 'linux')).toEqual({ maxUserWatches: 524_288, maxUserInstances: 128 });
  });

  test('Docker networks: "bridge" exists, a made-up one does not', async (ctx) => {
    await needDocker(ctx);
    expect(await dockerNetworkExists('bridge')).toBe(true);
    expect(await dockerNetworkExists(`egress-verify-none-${process.pid}`)).toBe(false);
  });

  test('checkHost on this machine for a kind run: it measures and judges (this engine is big enough)', async (ctx) => {
    await needDocker(ctx);
    const r = await checkHost(loadSettings({}), {});
    const expectedProblems = [engineSizeProblem(cpus().length, totalmem())].filter(Boolean);
    expect(r.problems).toEqual(expectedProblems);
    const limits = await readInotifyLimits();
    expect(r.warnings).toEqual([inotifyWarning(limits)].filter(Boolean));
  });
});

describe('prerequisites: host problems in the same report as missing tools', () => {
  test('a missing stand-in network (existing cluster) and a missing istioctl, reported together, nothing created', async (ctx) => {
    await needDocker(ctx);
    const net = `egress-verify-none-${process.pid}`;
    const saved = process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
    process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK = net;
    try {
      const s = loadSettings({ CLUSTER: 'existing', INSTALL_ISTIO: 'true', ISTIOCTL_BIN: join(tmpdir(), 'no-such-istioctl') });
      const err = await checkPrerequisites(s).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrerequisitesError);
      expect((err as PrerequisitesError).problems).toEqual([
        `ISTIOCTL_BIN=${join(tmpdir(), 'no-such-istioctl')} is not an executable file`,
        networkProblem(net, false, { KIND_EXPERIMENTAL_DOCKER_NETWORK: net }),
      ]);
      expect((await execa('docker', ['network', 'ls', '-q', '--filter', `name=${net}`])).stdout).toBe('');
    } finally {
      if (saved === undefined) delete process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
      else process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK = saved;
    }
  });
});

/**
 * The readers against a STAND-IN for the docker CLI (a POSIX shell script first on PATH, test
 * only), so they run without an engine (and under mutation testing). It answers the three reads
 * host.ts makes the way the docker CLI does: `version --format '{{.Server.Arch}}'` and `info
 * --format '{{.NCPU}} {{.MemTotal}}'` print the template's values on one line; `network inspect`
 * of a missing network exits 1 with the daemon's "network NAME not found" (engine 20.10) or the
 * newer CLI's "No such network: NAME" on stderr. The real engine is read in the describe above.
 */
const DOCKER_STAND_IN = `#!/bin/sh
# STAND-IN for the docker CLI (test only). Answers from $DS_DIR; calls logged.
echo "$*" >> "$DS_DIR/calls"
if [ -f "$DS_DIR/down" ]; then echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1; fi
case "$1" in
  version) cat "$DS_DIR/arch"; exit 0 ;;
  info) cat "$DS_DIR/info"; exit 0 ;;
  network)
    for name in "$@"; do :; done
    if grep -qx "$name" "$DS_DIR/networks"; then echo "$name"; exit 0; fi
    if [ -f "$DS_DIR/silent" ]; then exit 3; fi
    if [ -f "$DS_DIR/new-cli" ]; then echo "Error: No such network: $name" >&2; else echo "Error response from daemon: network $name not found" >&2; fi
    exit 1 ;;
esac
exit 2
`;

describe('readers against a docker CLI stand-in (no engine needed)', () => {
  const docker = standInCommand('docker', DOCKER_STAND_IN);
  let dir: string;
  let savedPath: string | undefined;
  beforeAll(() => {
    dir = docker.dir;
    savedPath = process.env.PATH;
    process.env.PATH = `${dir}:${savedPath ?? ''}`;
    process.env.DS_DIR = dir;
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    delete process.env.DS_DIR;
  });
  /** The answers the stand-in gives; `calls()` what it was asked (and clears the log). */
  async function engine(o: { arch?: string; info?: string; networks?: string[]; down?: boolean; newCli?: boolean; silent?: boolean }) {
    await writeFile(join(dir, 'arch'), o.arch ?? 'amd64\n');
    await writeFile(join(dir, 'info'), o.info ?? '4 8589934592\n');
    await writeFile(join(dir, 'networks'), `${(o.networks ?? ['bridge']).join('\n')}\n`);
    await writeFile(join(dir, 'calls'), '');
    for (const [flag, file] of [[o.down, 'down'], [o.newCli, 'new-cli'], [o.silent, 'silent']] as const) {
      if (flag) await writeFile(join(dir, file), '');
      else await rm(join(dir, file), { force: true });
    }
  }
  const calls = async () => (await readFile(join(dir, 'calls'), 'utf8')).split('\n').filter(Boolean).sort();

  test('engine facts: the architecture, CPUs and memory as printed, surrounding blanks ignored', async () => {
    await engine({ arch: ' arm64 \n', info: '  8   17179869184 \n' });
    expect(await readEngineFacts()).toEqual({ arch: 'arm64', cpus: 8, memoryBytes: 17_179_869_184 });
    expect(await calls()).toEqual(['info --format {{.NCPU}} {{.MemTotal}}', 'version --format {{.Server.Arch}}']);
  });

  test('engine facts that cannot be read are errors naming the field and what was printed', async () => {
    await engine({ arch: '\n' });
    await expect(readEngineFacts()).rejects.toThrow(/^could not read the Docker engine's architecture \(docker version: Server\.Arch\)$/);
    await engine({ info: '8\n' });
    await expect(readEngineFacts()).rejects.toThrow(/^could not read MemTotal \(docker info\) from ""$/);
    await engine({ info: 'many 8589934592\n' });
    await expect(readEngineFacts()).rejects.toThrow(/^could not read NCPU \(docker info\) from "many"$/);
    await engine({ info: '4 Infinity\n' });
    await expect(readEngineFacts()).rejects.toThrow(/^could not read MemTotal \(docker info\) from "Infinity"$/);
  });

  test('an inotify file that is empty is an error, not 0', async () => {
    await writeFile(join(dir, 'max_user_watches'), '\n');
    await writeFile(join(dir, 'max_user_instances'), '512\n');
    await expect(readInotifyLimits(dir, 'linux')).rejects.toThrow(`could not read ${join(dir, 'max_user_watches')} from ""`);
  });

  test('networks: there, missing (either wording), or the engine failing (an error with its message or exit code)', async () => {
    await engine({ networks: ['bridge', 'lab'] });
    expect(await dockerNetworkExists('lab')).toBe(true);
    expect(await calls()).toEqual(['network inspect --format {{.Name}} lab']);
    expect(await dockerNetworkExists('kind')).toBe(false);
    await engine({ newCli: true });
    expect(await dockerNetworkExists('kind')).toBe(false);
    await engine({ down: true });
    await expect(dockerNetworkExists('kind')).rejects.toThrow(/^docker network inspect kind failed: Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock\. Is the docker daemon running\?$/);
    await engine({ silent: true });
    await expect(dockerNetworkExists('kind')).rejects.toThrow(/^docker network inspect kind failed: exit code 3$/);
  });

  test('checkHost: a kind run reads the engine (not the network); an existing cluster with the stand-in reads only the network; Memorystore reads nothing', async () => {
    await engine({ arch: 'arm64\n', info: '1 1073741824\n' });
    const kind = await checkHost(loadSettings({}), {});
    expect(kind.problems).toEqual([engineArchProblem('arm64', cartImageDefault), engineSizeProblem(1, GiB)]);
    expect(kind.warnings).toEqual([inotifyWarning(await readInotifyLimits())].filter(Boolean));
    expect(await calls()).toEqual(['info --format {{.NCPU}} {{.MemTotal}}', 'version --format {{.Server.Arch}}']);

    await engine({ networks: ['bridge'] });
    const env = { KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab' };
    expect(await checkHost(loadSettings({ CLUSTER: 'existing' }), env)).toEqual({ problems: [networkProblem('lab', false, env)], warnings: [] });
    expect(await calls()).toEqual(['network inspect --format {{.Name}} lab']);
    await engine({ networks: ['kind'] });
    expect(await checkHost(loadSettings({ CLUSTER: 'existing' }), {})).toEqual({ problems: [], warnings: [] });
    expect(await calls()).toEqual(['network inspect --format {{.Name}} kind']);

    await engine({});
    expect(await checkHost(loadSettings({ CLUSTER: 'existing', REDIS_BACKEND: 'memorystore', GCP_PROJECT: 'p-1' }), {})).toEqual({ problems: [], warnings: [] });
    expect(await calls()).toEqual([]);
  });
});
