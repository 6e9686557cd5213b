/**
 * KindCluster's create, delete and image loading against a stand-in for the kind binary: a
 * shell script that logs its arguments and behaves as kind v0.32.0 does in the case under test
 * (kind cannot run here). Behaviours it copies, from kind's source:
 * - `get clusters`: one name per line (pkg/cmd/kind/get/clusters);
 * - a create over existing nodes fails with `ERROR: failed to create cluster: node(s) already
 *   exist for a cluster with the name "<name>"` (pkg/cluster/internal/create/create.go), exit 1;
 * - a create has no signal handler: it runs until killed (here: it blocks, as during a pull);
 * - `load docker-image` of a multi-arch image on the containerd image store fails with
 *   `ERROR: failed to load image: ... content digest sha256:...: not found` (kind issues
 *   #3795, #4224), exit 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import {
  isAlreadyExistsError, KindCluster, kindNetwork, loadFailureReason, loadFailureWarning, type StartedKindCluster,
} from '../../helpers/cluster/kind.ts';
import { pollUntil } from '../../helpers/run/poll.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const work = tempFolder('kind');

type Mode = 'ok' | 'exists' | 'fail' | 'block';
const LOAD_ERROR = 'ERROR: failed to load image: command "docker exec --privileged -i x-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1';

/** Writes a kind stand-in; returns its path and the file it logs each invocation to. */
async function fakeKind(mode: Mode, opts: { clusters?: string[]; failLoad?: string[] } = {}) {
  const dir = await mkdtemp(join(work.path, 'kind-'));
  const log = join(dir, 'calls.log');
  const pidFile = join(dir, 'create.pid');
  const create = {
    ok: 'exit 0',
    exists: 'echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"$4\\"" >&2; exit 1',
    fail: 'echo "ERROR: failed to create cluster: failed to init node with kubeadm" >&2; exit 1',
    // Blocks like a create pulling its node image; exec so the signal reaches the waiting process.
    block: `echo " • Ensuring node image (kindest/node) 🖼" >&2; echo $$ > '${pidFile}'; exec sleep 300`,
  }[mode];
  const failing = (opts.failLoad ?? []).map((i) => `"${i}"`).join('|') || '"-none-"';
  const script = `#!/bin/sh
echo "$*" >> '${log}'
case "$1 $2" in
  "get clusters") ${(opts.clusters ?? []).map((c) => `echo ${c}`).join('; ') || 'true'}; exit 0 ;;
  "create cluster") ${create} ;;
  "delete cluster") exit 0 ;;
  "load docker-image") case "$3" in ${failing}) echo 'Image: "" with ID "sha256:0" not yet present on node "x-control-plane", loading...' >&2; echo '${LOAD_ERROR}' >&2; exit 1 ;; esac; exit 0 ;;
  "load image-archive") test -f "$3" && exit 0; echo "ERROR: no archive $3" >&2; exit 1 ;;
esac
echo "kind stand-in: unexpected arguments: $*" >&2; exit 2
`;
  const path = join(dir, 'kind');
  await writeFile(path, script, { mode: 0o755 });
  const calls = async () => (existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter(Boolean) : []);
  return { path, calls, pidFile, dir };
}

/** The pid of the blocking create, once the stand-in has written it. */
function createPid(pidFile: string): Promise<number> {
  return pollUntil('the kind stand-in to start creating', 20_000, async () => {
    const pid = existsSync(pidFile) ? Number((await readFile(pidFile, 'utf8')).trim()) : 0;
    return pid > 0 ? pid : undefined;
  }, undefined, { intervalMs: 50 });
}

function cluster(kindPath: string, name = 'ci-kind', keep = false) {
  return new KindCluster(kindPath).withName(name).withNodeImage('kindest/node:v1.36.1').withKubeconfig(join(work.path, 'kubeconfig')).keep(keep);
}

describe('kind: network name, as kind reads KIND_EXPERIMENTAL_DOCKER_NETWORK', () => {
  test('unset or empty: "kind"; set: used as written', () => {
    expect(kindNetwork({})).toBe('kind');
    expect(kindNetwork({ KIND_EXPERIMENTAL_DOCKER_NETWORK: '' })).toBe('kind');
    expect(kindNetwork({ KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab-net' })).toBe('lab-net');
  });
});

describe('kind create: cleanup registered first, never deleting what is not ours (kind stand-in)', () => {
  test('the cleanup is registered before `kind create` runs; stop() deletes what was created', async () => {
    const kind = await fakeKind('ok');
    let callsAtRegister: string[] | undefined;
    let handle: StartedKindCluster | undefined;
    const started = await cluster(kind.path).start((c) => {
      handle = c;
      callsAtRegister = readFileSync(join(kind.dir, 'calls.log'), 'utf8').split('\n').filter(Boolean);
    });
    expect(handle).toBe(started);
    expect(callsAtRegister).toEqual(['get clusters']);
    expect(started.state).toBe('created');
    await started.stop();
    await started.stop();
    expect((await kind.calls()).filter((c) => c.startsWith('delete'))).toEqual([`delete cluster --name ci-kind --kubeconfig ${join(work.path, 'kubeconfig')}`]);
  });

  test('"node(s) already exist" (another run created it meanwhile): nothing is deleted, by start or by the cleanup', async () => {
    const kind = await fakeKind('exists');
    let handle: StartedKindCluster | undefined;
    const err = await cluster(kind.path, 'shared').start((c) => { handle = c; }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^a kind cluster named "shared" was created by someone else while this run started \(kind: node\(s\) already exist\); it was left alone\. Set CLUSTER_NAME to another name, or REUSE_CLUSTER=true to use it$/);
    expect(handle?.state).toBe('foreign');
    await handle!.stop();
    expect(await kind.calls()).toEqual(['get clusters', expect.stringMatching(/^create cluster --name shared /)]);
  });

  test('another failed create: its nodes are deleted once, even when the cleanup runs too', async () => {
    const kind = await fakeKind('fail');
    let handle: StartedKindCluster | undefined;
    await expect(cluster(kind.path).start((c) => { handle = c; })).rejects.toThrow(/failed to init node with kubeadm/);
    await handle!.stop();
    expect((await kind.calls()).filter((c) => c.startsWith('delete'))).toHaveLength(1);
    expect(handle!.state).toBe('removed');
  });

  test('an existing cluster without REUSE_CLUSTER is refused before any create, and never deleted', async () => {
    const kind = await fakeKind('ok', { clusters: ['other', 'ci-kind'] });
    let registered = false;
    await expect(cluster(kind.path).start(() => { registered = true; })).rejects.toThrow(/already exists and was not created by this run; set REUSE_CLUSTER=true/);
    expect(registered).toBe(false);
    expect(await kind.calls()).toEqual(['get clusters']);
  });

  test('stop() during the create ends kind, then deletes the nodes', async () => {
    const kind = await fakeKind('block');
    let handle: StartedKindCluster | undefined;
    const starting = cluster(kind.path).start((c) => { handle = c; }).catch((e: unknown) => e);
    const pid = await createPid(kind.pidFile);
    await handle!.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await kind.calls()).filter((c) => c.startsWith('delete'))).toHaveLength(1);
    expect(await starting).toBeInstanceOf(Error);
    expect(handle!.state).toBe('removed');
  });

  test('Ctrl-C (SIGINT) to a run during the create: kind is ended, the nodes deleted, exit 130', async () => {
    const kind = await fakeKind('block');
    const child = execa(process.execPath, [
      '--experimental-strip-types', '--no-warnings', 'self-tests/programs/interrupted-create.ts', kind.path, 'ci-int', join(kind.dir, 'kubeconfig'),
    ], { reject: false, all: true });
    try {
      const pid = await createPid(kind.pidFile);
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(r.all).toMatch(/ending kind create cluster "ci-int"/);
      expect(r.all).toMatch(/cleaned up: kind cluster ci-int/);
      expect(() => process.kill(pid, 0)).toThrow();
      expect((await kind.calls()).filter((c) => c.startsWith('delete'))).toEqual([`delete cluster --name ci-int --kubeconfig ${join(kind.dir, 'kubeconfig')}`]);
    } finally {
      child.kill('SIGKILL');
      if (existsSync(kind.pidFile)) { try { process.kill(Number(await readFile(kind.pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ } }
    }
  });

  test('the "already exist" message is recognised for this name only', () => {
    const out = 'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "a"';
    expect(isAlreadyExistsError(out, 'a')).toBe(true);
    expect(isAlreadyExistsError(out, 'ab')).toBe(false);
    expect(isAlreadyExistsError('ERROR: failed to create cluster: boom', 'a')).toBe(false);
  });
});

describe('kind load docker-image: a failed load falls back to a single-platform archive, else warns (kind and docker stand-ins)', () => {
  /**
   * A docker stand-in first on PATH: `version` answers the engine's architecture; `save` either
   * knows --platform (Docker 28+: writes the archive) or not (older CLIs: "unknown flag").
   */
  async function withDocker<T>(savePlatform: boolean, fn: (calls: () => Promise<string[]>) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(work.path, 'docker-'));
    const log = join(dir, 'calls.log');
    const save = savePlatform
      ? 'while [ $# -gt 0 ]; do [ "$1" = "-o" ] && { echo archive > "$2"; exit 0; }; shift; done; exit 1'
      : 'echo "unknown flag: --platform" >&2; echo "See \'docker save --help\'." >&2; exit 125';
    await writeFile(join(dir, 'docker'), `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1" in\n  version) echo arm64 ;;\n  save) ${save} ;;\n  *) exit 2 ;;\nesac\n`, { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved ?? ''}`;
    try {
      return await fn(async () => (existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter(Boolean) : []));
    } finally {
      process.env.PATH = saved;
    }
  }

  test('each image on its own; a multi-arch one that kind cannot load goes in as an archive of the engine\'s platform', async () => {
    const kind = await fakeKind('ok', { failLoad: ['multi/arch:1'] });
    const started = await cluster(kind.path).start();
    await withDocker(true, async (dockerCalls) => {
      const r = await started.loadImages(['multi/arch:1', 'single/arch:1']);
      expect(r).toEqual({ loaded: ['multi/arch:1', 'single/arch:1'], failed: [] });
      expect((await dockerCalls()).filter((c) => c.startsWith('save'))).toEqual([expect.stringMatching(/^save --platform linux\/arm64 -o \S+\/image\.tar multi\/arch:1$/)]);
    });
    expect((await kind.calls()).filter((c) => c.startsWith('load'))).toEqual([
      'load docker-image multi/arch:1 --name ci-kind',
      expect.stringMatching(/^load image-archive \S+\/image\.tar --name ci-kind$/),
      'load docker-image single/arch:1 --name ci-kind',
    ]);
  });

  test('a Docker without save --platform: the image is reported with both reasons and the run goes on', async () => {
    const kind = await fakeKind('ok', { failLoad: ['multi/arch:1'] });
    const started = await cluster(kind.path).start();
    const r = await withDocker(false, () => started.loadImages(['multi/arch:1', 'single/arch:1']));
    const reason = `${LOAD_ERROR}; single-platform archive: docker save --platform linux/arm64: unknown flag: --platform`;
    expect(r).toEqual({ loaded: ['single/arch:1'], failed: [{ image: 'multi/arch:1', reason }] });
    expect((await kind.calls()).some((c) => c.startsWith('load image-archive'))).toBe(false);
    expect(loadFailureWarning(r.failed[0]!)).toBe(
      `WARNING: kind load docker-image multi/arch:1 failed: ${reason}. The kind node will pull it from its registry instead`
      + ' (a multi-arch image on Docker\'s containerd image store cannot be loaded by kind: kind issues #3795, #4224; LOAD_IMAGES=never skips loading).',
    );
  });

  test('the reason: the last error line, else the last line, else the exit', () => {
    expect(loadFailureReason('a\nERROR: x\nb\n', 1)).toBe('ERROR: x');
    expect(loadFailureReason('unknown flag: --platform\nSee \'docker save --help\'.', 125)).toBe('unknown flag: --platform');
    expect(loadFailureReason('a\nb\n', 1)).toBe('b');
    expect(loadFailureReason('', 3)).toBe('exit code 3');
    expect(loadFailureReason('', undefined, 'SIGKILL')).toBe('ended by SIGKILL');
  });
});
