/**
 * helpers/cluster/kind.ts, decision by decision, with values: the argument lists (also as built
 * from the settings), the parsing of `kind get clusters`, the states of a started cluster and
 * what stop() does in each, the failure reason of a load and the fallback order of loadImages.
 *
 * The kind and docker CLIs are STAND-INS: POSIX shell scripts whose answers each test sets
 * (kind cannot run here). What they copy from kind v0.32.0's source: `get clusters` prints one
 * name per line (pkg/cmd/kind/get/clusters); a create over existing nodes fails with
 * `ERROR: failed to create cluster: node(s) already exist for a cluster with the name "<name>"`
 * (pkg/cluster/internal/create/create.go, alreadyExists), exit 1; `get kubeconfig --name N`
 * prints the kubeconfig on stdout. Docker-free and in-process (run by Stryker: every test here
 * costs a few /bin/sh calls).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  createClusterArgs, deleteClusterArgs, isAlreadyExistsError, KIND_NETWORK, KindCluster, kindNetwork, kubeconfigPathFor, loadFailureReason,
  loadFailureWarning, NodeImageUnavailableError, StartedKindCluster, unavailableNodeImage, type KindClusterState, type KindOptions,
} from '../../helpers/cluster/kind.ts';
import { pollUntil } from '../../helpers/run/poll.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { standInCommand } from '../plumbing/support.ts';

/** STAND-IN for kind: its answers come from shell variables in $KD/conf; each call is logged. */
const KIND = `#!/bin/sh
. "$KD/conf"
echo "$*" >> "$KD/calls"
case "$1 $2" in
  "get clusters") printf '%s' "$CLUSTERS"; exit 0 ;;
  "get kubeconfig") printf 'kubeconfig of %s\\n' "$4"; exit 0 ;;
  "create cluster") eval "$CREATE" ;;
  "delete cluster") eval "$DELETE" ;;
  "load docker-image") case " $LOAD_FAIL " in *" $3 "*) echo "Image: $3 loading..."; echo "ERROR: failed to load image $3" >&2; exit 1 ;; esac; exit 0 ;;
  "load image-archive") eval "$ARCHIVE" ;;
  "export logs") exit 0 ;;
esac
echo "kind stand-in: unexpected arguments: $*" >&2; exit 2
`;
/** STAND-IN for docker (`version` and `save` only), answers from $KD/conf too. */
const DOCKER = `#!/bin/sh
. "$KD/conf"
echo "$*" >> "$KD/docker-calls"
case "$1" in
  version) eval "$VERSION" ;;
  save) eval "$SAVE" ;;
esac
exit 2
`;

const kind = standInCommand('kind', KIND);
const docker = standInCommand('docker', DOCKER);

interface Conf {
  CLUSTERS?: string;
  CREATE?: string;
  DELETE?: string;
  LOAD_FAIL?: string;
  ARCHIVE?: string;
  VERSION?: string;
  SAVE?: string;
}
const DEFAULTS: Required<Conf> = {
  CLUSTERS: '', CREATE: 'exit 0', DELETE: 'exit 0', LOAD_FAIL: '', ARCHIVE: 'test -f "$3" && exit 0; exit 1',
  VERSION: 'echo arm64; exit 0',
  // Writes the archive named after -o, as `docker save -o` does.
  SAVE: 'while [ $# -gt 0 ]; do [ "$1" = -o ] && { echo archive > "$2"; exit 0; }; shift; done; exit 1',
};
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

let n = 0;
let dir = '';
/** A fresh stand-in state for one test. */
async function world(conf: Conf = {}) {
  dir = join(kind.dir, `w${++n}`);
  await mkdir(dir);
  const all = { ...DEFAULTS, ...conf };
  await writeFile(join(dir, 'conf'), Object.entries(all).map(([k, v]) => `${k}=${quote(v)}`).join('\n') + '\n');
  process.env.KD = dir;
}
const lines = async (file: string) => (existsSync(join(dir, file)) ? (await readFile(join(dir, file), 'utf8')).split('\n').filter(Boolean) : []);
const calls = () => lines('calls');
const deletes = async () => (await calls()).filter((c) => c.startsWith('delete'));

const OPTIONS: KindOptions = {
  name: 'ev', configPath: '/repo/kind-config.yaml', nodeImage: 'kindest/node:v1.36.1', kubeconfigPath: '/tmp/kc', wait: '90s', reuse: false, keep: false,
};
const kubeconfigIn = () => join(dir, 'a', 'b', 'kubeconfig');
const cluster = (name = 'ev') => new KindCluster(kind.path).withName(name).withConfig('/repo/kind-config.yaml')
  .withNodeImage('kindest/node:v1.36.1').withKubeconfig(kubeconfigIn()).withWait('90s');
const handle = (state: KindClusterState, o: Partial<KindOptions> = {}) => new StartedKindCluster(kind.path, { ...OPTIONS, ...o }, state);

/** Waits for the blocking create of the stand-in to have started; its pid. */
const createPid = () => pollUntil('the kind stand-in to start creating', 4_000, async () => {
  const pid = existsSync(join(dir, 'pid')) ? Number((await readFile(join(dir, 'pid'), 'utf8')).trim()) : 0;
  return pid > 0 ? pid : undefined;
}, undefined, { intervalMs: 20 });
const BLOCK = 'echo $$ > "$KD/pid"; exec sleep 30';

afterAll(() => {
  delete process.env.KD;
});

describe('kind: pure decisions (values)', () => {
  test('the network: KIND_EXPERIMENTAL_DOCKER_NETWORK when set and non-empty, else "kind"; process.env by default', () => {
    expect(KIND_NETWORK).toBe('kind');
    expect(kindNetwork({})).toBe('kind');
    expect(kindNetwork({ KIND_EXPERIMENTAL_DOCKER_NETWORK: '' })).toBe('kind');
    expect(kindNetwork({ KIND_EXPERIMENTAL_DOCKER_NETWORK: undefined })).toBe('kind');
    expect(kindNetwork({ KIND_EXPERIMENTAL_DOCKER_NETWORK: ' ' })).toBe(' ');
    expect(kindNetwork({ KIND_EXPERIMENTAL_DOCKER_NETWORK: 'lab-net', OTHER: 'x' })).toBe('lab-net');
    const saved = process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
    try {
      process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK = 'from-env';
      expect(kindNetwork()).toBe('from-env');
      expect(handle('created').network).toBe('from-env');
      delete process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
      expect(kindNetwork()).toBe('kind');
      expect(handle('created').network).toBe('kind');
    } finally {
      if (saved === undefined) delete process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
      else process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK = saved;
    }
  });

  test('create and delete argument lists, exactly', () => {
    expect(createClusterArgs(OPTIONS)).toEqual([
      'create', 'cluster', '--name', 'ev', '--config', '/repo/kind-config.yaml', '--image', 'kindest/node:v1.36.1', '--wait', '90s', '--kubeconfig', '/tmp/kc',
    ]);
    expect(deleteClusterArgs({ name: 'x', kubeconfigPath: '/k' })).toEqual(['delete', 'cluster', '--name', 'x', '--kubeconfig', '/k']);
  });

  test('from the settings: the cluster name, the pinned node image, a kubeconfig file of its own in ARTIFACTS_DIR; delete takes nothing else', () => {
    const s = loadSettings({ CLUSTER_NAME: 'ci-7', ARTIFACTS_DIR: '/tmp/run' });
    const o: KindOptions = {
      name: s.clusterName, configPath: '/repo/kind-config.yaml', nodeImage: s.kindNodeImage,
      kubeconfigPath: kubeconfigPathFor(s), wait: '180s', reuse: false, keep: false,
    };
    expect(createClusterArgs(o)).toEqual([
      'create', 'cluster', '--name', 'ci-7', '--config', '/repo/kind-config.yaml',
      '--image', s.kindNodeImage, '--wait', '180s', '--kubeconfig', '/tmp/run/kubeconfig',
    ]);
    expect(deleteClusterArgs(o)).toEqual(['delete', 'cluster', '--name', 'ci-7', '--kubeconfig', '/tmp/run/kubeconfig']);
  });

  test('"already exist" is recognised for exactly this name', () => {
    const out = (name: string) => `ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"`;
    expect(isAlreadyExistsError(out('ev'), 'ev')).toBe(true);
    expect(isAlreadyExistsError(`Creating cluster...\n${out('ev')}\n`, 'ev')).toBe(true);
    expect(isAlreadyExistsError(out('ev-2'), 'ev')).toBe(false);
    expect(isAlreadyExistsError(out('ev'), 'e')).toBe(false);
    expect(isAlreadyExistsError(out('xev'), 'ev')).toBe(false);
    expect(isAlreadyExistsError('node(s) already exist for a cluster with the name ev', 'ev')).toBe(false);
    expect(isAlreadyExistsError('', 'ev')).toBe(false);
  });

  test('the failure reason: the last error or unknown-flag line, trimmed; else the last non-blank line; else the signal; else the exit code', () => {
    expect(loadFailureReason('a\nERROR: first\nb\nError: second\nc\n', 1)).toBe('Error: second');
    expect(loadFailureReason('  error: padded  \n  tail  ', 1)).toBe('error: padded');
    expect(loadFailureReason('ERROR: real\nsee the error above\n', 1)).toBe('ERROR: real');
    expect(loadFailureReason('Unknown Flag: --platform\nSee \'docker save --help\'.', 125)).toBe('Unknown Flag: --platform');
    expect(loadFailureReason('ERROR: old\nunknown flag: --x\nusage', 1)).toBe('unknown flag: --x');
    expect(loadFailureReason('first\n  last  \n\n   \n', 1)).toBe('last');
    expect(loadFailureReason('only', 1, 'SIGTERM')).toBe('only');
    expect(loadFailureReason('\n  \n', 1, 'SIGTERM')).toBe('ended by SIGTERM');
    expect(loadFailureReason('', 2, '')).toBe('exit code 2');
    expect(loadFailureReason('', 0)).toBe('exit code 0');
    expect(loadFailureReason('', undefined)).toBe('exit code ?');
  });
});

describe('kind: a started cluster\'s state decides what stop() deletes (values)', () => {
  beforeEach(() => world());

  test('created is true while creating or created only', () => {
    expect((['creating', 'created', 'reused', 'foreign', 'removed'] as const).map((s) => handle(s).created)).toEqual([true, true, false, false, false]);
  });

  test('transitions: createdNow and notOurs act on "creating" only', () => {
    const a = handle('creating');
    a.createdNow();
    expect(a.state).toBe('created');
    a.notOurs();
    expect(a.state).toBe('created');
    const b = handle('creating');
    b.notOurs();
    expect(b.state).toBe('foreign');
    b.createdNow();
    expect(b.state).toBe('foreign');
    for (const s of ['reused', 'removed'] as const) {
      const c = handle(s);
      c.createdNow();
      c.notOurs();
      expect(c.state).toBe(s);
    }
  });

  test('name, kubeconfig path and context come from the options', () => {
    const h = handle('created', { name: 'lab', kubeconfigPath: '/x/kc' });
    expect([h.name, h.kubeconfigPath, h.context]).toEqual(['lab', '/x/kc', 'kind-lab']);
  });

  test.each([
    ['reused', false, 0], ['foreign', false, 0], ['removed', false, 0], ['created', true, 0],
    ['created', false, 1], ['creating', false, 1], ['creating', true, 1],
  ] as const)('state %s, keep %s: %i delete(s)', async (state, keep, expected) => {
    const h = handle(state, { keep });
    await h.stop();
    expect(await deletes()).toEqual(expected ? ['delete cluster --name ev --kubeconfig /tmp/kc'] : []);
    expect(h.state).toBe(expected ? 'removed' : state);
  });

  test('stop() deletes once, however often and however concurrently it is called', async () => {
    const h = handle('created');
    const [a, b] = [h.stop(), h.stop()];
    expect(a).toBe(b);
    await Promise.all([a, b]);
    await h.stop();
    expect(await deletes()).toHaveLength(1);
  });

  test('a failing delete: stop() rejects with kind\'s error, and a second stop() does not try again', async () => {
    await world({ DELETE: 'echo "ERROR: failed to delete cluster" >&2; exit 1' });
    const h = handle('created');
    const e = await h.stop().then(() => undefined, (x: unknown) => x) as { exitCode?: number; stderr?: string };
    expect(e.exitCode).toBe(1);
    expect(e.stderr).toBe('ERROR: failed to delete cluster');
    await expect(h.stop()).rejects.toBe(e);
    expect(await deletes()).toHaveLength(1);
  });

  test('exportLogs: into the folder given, for this cluster', async () => {
    await handle('created', { name: 'lab' }).exportLogs('/tmp/logs-y');
    expect(await calls()).toEqual(['export logs /tmp/logs-y --name lab']);
  });
});

describe('kind: exists() and start() (kind stand-in, values)', () => {
  test.each([
    ['ev\n', true], ['other\n  ev  \nev-2', true], ['\tev\t', true], ['ev-2\nxev\nev2', false], ['', false], ['e\nv', false],
  ] as const)('get clusters printing %j: exists %s', async (out, expected) => {
    await world({ CLUSTERS: out });
    expect(await cluster().exists()).toBe(expected);
    expect(await calls()).toEqual(['get clusters']);
  });

  test('a name that is only a part of an existing one is not that cluster', async () => {
    await world({ CLUSTERS: 'egress-verify\n' });
    expect(await cluster('egress').exists()).toBe(false);
    expect(await cluster('egress-verify-2').exists()).toBe(false);
  });

  test('without a node image, or without a kubeconfig path, nothing runs', async () => {
    await world();
    await expect(new KindCluster(kind.path).withKubeconfig('/tmp/kc').start()).rejects.toThrow(Error);
    await expect(new KindCluster(kind.path).withNodeImage('img').start()).rejects.toThrow(Error);
    expect(await calls()).toEqual([]);
  });

  test('it exists and reuse is off: refused after `get clusters` alone; nothing registered', async () => {
    await world({ CLUSTERS: 'ev\n' });
    let registered = 0;
    await expect(cluster().start(() => { registered++; })).rejects.toThrow(Error);
    expect(registered).toBe(0);
    expect(await calls()).toEqual(['get clusters']);
  });

  test('it exists and reuse is on: its kubeconfig is written, owner-only, into a new folder; state reused; never deleted', async () => {
    await world({ CLUSTERS: 'other\nev\n' });
    const registered: StartedKindCluster[] = [];
    const c = cluster().reuseExisting(true).keep(false);
    const started = await c.start((h) => { registered.push(h); });
    expect(registered).toEqual([started]);
    expect(started.state).toBe('reused');
    expect(started.created).toBe(false);
    expect(started.options).toEqual({ ...c.options });
    expect(await readFile(kubeconfigIn(), 'utf8')).toBe('kubeconfig of ev');
    expect((await stat(kubeconfigIn())).mode & 0o777).toBe(0o600);
    await started.stop();
    expect(await calls()).toEqual(['get clusters', 'get kubeconfig --name ev']);
  });

  test('it does not exist: registered as "creating" before the create runs, "created" after, deleted by stop()', async () => {
    await world({ CLUSTERS: 'ev-2\n' });
    const seen: { state: KindClusterState; calls: string[] }[] = [];
    const c = cluster().reuseExisting(true);
    const started = await c.start((h) => { seen.push({ state: h.state, calls: readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean) }); });
    expect(seen).toEqual([{ state: 'creating', calls: ['get clusters'] }]);
    expect(started.state).toBe('created');
    expect(started.created).toBe(true);
    expect(await calls()).toEqual(['get clusters', createClusterArgs(c.options).join(' ')]);
    await started.stop();
    expect(await deletes()).toEqual([`delete cluster --name ev --kubeconfig ${kubeconfigIn()}`]);
    expect(started.state).toBe('removed');
  });

  test('the options are copied at start(): later changes to the builder do not reach the started cluster', async () => {
    await world();
    const c = cluster();
    const started = await c.start();
    c.withName('changed').keep(true);
    expect(started.name).toBe('ev');
    expect(started.options.keep).toBe(false);
    await started.stop();
    expect(await deletes()).toHaveLength(1);
  });

  test('kept: a created cluster with keep is not deleted', async () => {
    await world();
    const started = await cluster().keep(true).start();
    await started.stop();
    expect(await deletes()).toEqual([]);
    expect(started.state).toBe('created');
  });

  test('"already exist" for this name: someone else\'s; the error carries kind\'s as its cause; nothing deleted, ever', async () => {
    await world({ CREATE: 'echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"ev\\"" >&2; exit 1' });
    let h: StartedKindCluster | undefined;
    const e = await cluster().start((x) => { h = x; }).catch((x: unknown) => x) as Error & { cause?: { exitCode?: number } };
    expect(e.cause?.exitCode).toBe(1);
    expect(h!.state).toBe('foreign');
    expect(h!.created).toBe(false);
    await h!.stop();
    expect(await deletes()).toEqual([]);
  });

  test('"already exist" for another name: a failed create like any other (deleted, kind\'s error rethrown as is)', async () => {
    await world({ CREATE: 'echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"ev-2\\"" >&2; exit 1' });
    let h: StartedKindCluster | undefined;
    const e = await cluster().start((x) => { h = x; }).catch((x: unknown) => x) as { exitCode?: number; cause?: unknown };
    expect(e.exitCode).toBe(1);
    expect(e.cause).toBeUndefined();
    expect(h!.state).toBe('removed');
    expect(await deletes()).toHaveLength(1);
  });

  test('a failed create is deleted (keep or not), once, and the create\'s error is thrown even when the delete fails', async () => {
    for (const deleteFails of [false, true]) {
      await world({
        CREATE: 'echo "ERROR: failed to create cluster: boom" >&2; exit 3',
        DELETE: deleteFails ? 'echo "ERROR: failed to delete" >&2; exit 4' : 'exit 0',
      });
      let h: StartedKindCluster | undefined;
      const e = await cluster().keep(true).start((x) => { h = x; }).catch((x: unknown) => x) as { exitCode?: number; stderr?: string };
      expect(e.exitCode).toBe(3);
      expect(e.stderr).toBe('ERROR: failed to create cluster: boom');
      expect(h!.state).toBe('removed');
      await h!.stop().catch(() => undefined);
      expect(await deletes()).toEqual([`delete cluster --name ev --kubeconfig ${kubeconfigIn()}`]);
    }
  });

  test('stop() during the create: kind is ended (SIGTERM), then the nodes are deleted once; start() rejects with the ended create', async () => {
    await world({ CREATE: BLOCK });
    let h: StartedKindCluster | undefined;
    const starting = cluster().keep(true).start((x) => { h = x; }).catch((x: unknown) => x) as Promise<{ signal?: string }>;
    const pid = await createPid();
    expect(h!.state).toBe('creating');
    await h!.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await starting).signal).toBe('SIGTERM');
    expect(h!.state).toBe('removed');
    expect(await deletes()).toHaveLength(1);
  });

  test('stop() during a create that kind refuses as "already exist": not ours, nothing deleted', async () => {
    await world({ CREATE: `echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"ev\\"" >&2; ${BLOCK}` });
    let h: StartedKindCluster | undefined;
    const starting = cluster().start((x) => { h = x; }).catch((x: unknown) => x) as Promise<Error & { cause?: { signal?: string } }>;
    await createPid();
    await h!.stop();
    expect(h!.state).toBe('foreign');
    expect((await starting).cause?.signal).toBe('SIGTERM');
    expect(await deletes()).toEqual([]);
  });
});

describe('kind: loadImages, one image at a time, with the single-platform fallback (kind and docker stand-ins)', () => {
  let savedPath: string | undefined;
  beforeEach(() => {
    savedPath = process.env.PATH;
    process.env.PATH = `${docker.dir}:${savedPath ?? ''}`;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
  });
  const loads = async () => (await calls()).filter((c) => c.startsWith('load'));
  const dockerCalls = () => lines('docker-calls');
  const ARCHIVE = new RegExp(`^${tmpdir().replaceAll('/', '\\/')}\\/egress-verify-image-[^/]+\\/image\\.tar$`);

  test('none: nothing run, nothing loaded', async () => {
    await world();
    expect(await handle('created').loadImages([])).toEqual({ loaded: [], failed: [] });
    expect(await calls()).toEqual([]);
  });

  test('all load: loaded in order, docker never asked', async () => {
    await world();
    expect(await handle('created', { name: 'lab' }).loadImages(['a:1', 'b:2', 'c:3'])).toEqual({ loaded: ['a:1', 'b:2', 'c:3'], failed: [] });
    expect(await loads()).toEqual(['load docker-image a:1 --name lab', 'load docker-image b:2 --name lab', 'load docker-image c:3 --name lab']);
    expect(await dockerCalls()).toEqual([]);
  });

  test('a failed load goes in as an archive of the engine\'s platform (arch trimmed); the archive folder is removed after', async () => {
    await world({ LOAD_FAIL: 'b:2', VERSION: 'echo "  amd64  "; exit 0' });
    expect(await handle('created', { name: 'lab' }).loadImages(['a:1', 'b:2', 'c:3'])).toEqual({ loaded: ['a:1', 'b:2', 'c:3'], failed: [] });
    const docker = await dockerCalls();
    expect(docker[0]).toBe('version --format {{.Server.Arch}}');
    const save = docker[1]!.split(' ');
    expect(save.slice(0, 4)).toEqual(['save', '--platform', 'linux/amd64', '-o']);
    expect(save[4]).toMatch(ARCHIVE);
    expect(save.slice(5)).toEqual(['b:2']);
    expect(docker).toHaveLength(2);
    expect(await loads()).toEqual([
      'load docker-image a:1 --name lab', 'load docker-image b:2 --name lab', `load image-archive ${save[4]} --name lab`, 'load docker-image c:3 --name lab',
    ]);
    expect(existsSync(join(save[4]!, '..'))).toBe(false);
  });

  test.each([
    ['docker version fails', { VERSION: 'echo "  Cannot connect  " >&2; exit 1' }, 'docker version: Cannot connect', 1, 0],
    ['docker version fails after printing an architecture', { VERSION: 'echo arm64; echo "Cannot connect" >&2; exit 1' }, 'docker version: Cannot connect', 1, 0],
    ['docker version prints no architecture', { VERSION: 'echo "   "; exit 0' }, 'docker version: no architecture', 1, 0],
    ['docker version prints nothing and exits 0 with a warning', { VERSION: 'echo " warn " >&2; exit 0' }, 'docker version: warn', 1, 0],
    ['docker save knows no --platform', { SAVE: 'echo "unknown flag: --platform" >&2; echo "See \'docker save --help\'." >&2; exit 125' }, 'docker save --platform linux/arm64: unknown flag: --platform', 2, 0],
    ['kind load image-archive fails', { ARCHIVE: 'echo "ERROR: bad archive" >&2; echo "usage" >&2; exit 1' }, 'kind load image-archive: ERROR: bad archive', 2, 1],
  ] as const)('%s: failed with both reasons; the others loaded', async (_case, conf, second, dockerCallCount, archiveLoads) => {
    await world({ LOAD_FAIL: 'b:2', ...conf });
    const r = await handle('created', { name: 'lab' }).loadImages(['a:1', 'b:2', 'c:3']);
    expect(r).toEqual({ loaded: ['a:1', 'c:3'], failed: [{ image: 'b:2', reason: `ERROR: failed to load image b:2; single-platform archive: ${second}` }] });
    const docker = await dockerCalls();
    expect(docker).toHaveLength(dockerCallCount);
    if (docker[1]) expect(existsSync(join(docker[1].split(' ')[4]!, '..'))).toBe(false);
    expect((await loads()).filter((c) => c.startsWith('load image-archive'))).toHaveLength(archiveLoads);
  });

  test('the warning for an image that could not be loaded names it, the reason, and LOAD_IMAGES', () => {
    expect(loadFailureWarning({ image: 'x/y:1', reason: 'R' })).toBe(
      'WARNING: kind load docker-image x/y:1 failed: R. The kind node will pull it from its registry instead'
      + ' (a multi-arch image on Docker\'s containerd image store cannot be loaded by kind: kind issues #3795, #4224; LOAD_IMAGES=never skips loading).',
    );
  });

  test('two failed images: each reported with its own reason, in order', async () => {
    await world({ LOAD_FAIL: 'a:1 c:3', VERSION: 'exit 1' });
    const r = await handle('created').loadImages(['a:1', 'b:2', 'c:3']);
    expect(r.loaded).toEqual(['b:2']);
    expect(r.failed.map((f) => f.image)).toEqual(['a:1', 'c:3']);
    expect(r.failed[1]!.reason).toBe('ERROR: failed to load image c:3; single-platform archive: docker version: no architecture');
  });
});

describe('a node image kind could not get', () => {
  // kind v0.32.0's last line after its pull retries (pkg/cluster/internal/providers/docker/images.go).
  const output = 'Creating cluster "c" ...\n ✗ Ensuring node image (kindest/node:v1.36.1) 🖼\nERROR: failed to create cluster: failed to pull image "kindest/node:v1.36.1@sha256:abc": command "docker pull kindest/node:v1.36.1@sha256:abc" failed with error: exit status 1';

  test('is read from kind\'s output, digest and all; other failures are not', () => {
    expect(unavailableNodeImage(output)).toBe('kindest/node:v1.36.1@sha256:abc');
    expect(unavailableNodeImage('ERROR: failed to create cluster: node did not become ready')).toBeUndefined();
    expect(unavailableNodeImage('')).toBeUndefined();
  });

  test('is one user-facing failure naming the image and both ways out', () => {
    const e = new NodeImageUnavailableError('kindest/node:v1.36.1@sha256:abc');
    expect(e.name).toBe('NodeImageUnavailableError');
    expect(e.headline).toBe('kind could not get its node image');
    expect(e.problems).toEqual([
      'kindest/node:v1.36.1@sha256:abc is not in the local Docker engine and could not be pulled (no registry answered)',
      'pull it where a registry is reachable and `docker save` / `docker load` it here, or set KIND_NODE_IMAGE to a kind node image present locally (`docker images kindest/node`)',
    ]);
  });
});
