/**
 * A kind cluster, created for the run (or reused when asked) and deleted at the end.
 *
 *   const cluster = await new KindCluster(tools.kind.path)
 *     .withName('egress-verify').withConfig('kind-config.yaml').withNodeImage(image)
 *     .withKubeconfig('artifacts/kubeconfig').start();
 *   cluster.context   // "kind-egress-verify", in artifacts/kubeconfig only
 *   await cluster.stop();
 *
 * Facts from kind v0.32.0 source (pkg/cmd/kind/...):
 * - `create cluster --kubeconfig PATH` reads and writes only PATH (kubeconfig/paths.go), so the
 *   user's kubeconfig and current context are untouched; the context is "kind-<name>".
 * - `delete cluster` is idempotent; `get clusters` prints one name per line on stdout.
 * - Nodes sit on the Docker network "kind" (providers/docker/network.go), or on the one named by
 *   KIND_EXPERIMENTAL_DOCKER_NETWORK when that is set and non-empty (providers/docker/provider.go,
 *   Provision: `os.Getenv(...) != ""`, used as written).
 * - kind installs no signal handler: an interrupted `create cluster` leaves the node containers;
 *   the cluster's cleanup is therefore registered before create starts (start's `register`).
 * - A create that finds nodes of the name fails with "node(s) already exist for a cluster with
 *   the name %q" (internal/create/create.go, alreadyExists) before touching anything: those nodes
 *   belong to someone else (another run with the same CLUSTER_NAME) and are never deleted here.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { log } from '../run/progress.ts';
import { UserFacingError } from '../run/user-facing.ts';

export const KIND_NETWORK = 'kind';

/** The Docker network kind puts its nodes on, read the way kind reads it. */
/** The kubeconfig file kind writes for the run's cluster: the run's own, never the user's. */
export function kubeconfigPathFor(s: { artifactsDir: string }): string {
  return join(s.artifactsDir, 'kubeconfig');
}

export function kindNetwork(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const n = env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
  return n !== undefined && n !== '' ? n : KIND_NETWORK;
}

/** kind's refusal to create over nodes that exist (create.go, alreadyExists). */
export function isAlreadyExistsError(output: string, name: string): boolean {
  return output.includes(`node(s) already exist for a cluster with the name "${name}"`);
}

/**
 * The node image kind could neither find in the local engine nor pull, from its output: kind
 * inspects the image, else pulls it up to five times, then fails with `failed to pull image "<image>"`
 * (kind v0.32.0 pkg/cluster/internal/providers/docker/images.go, pull).
 */
export function unavailableNodeImage(output: string): string | undefined {
  return /failed to pull image "([^"]+)"/.exec(output)?.[1];
}

/** The user-facing failure for a node image kind could not get. */
export class NodeImageUnavailableError extends UserFacingError {
  constructor(image: string) {
    super('kind could not get its node image', [
      `${image} is not in the local Docker engine and could not be pulled (no registry answered)`,
      'pull it where a registry is reachable and `docker save` / `docker load` it here, or set KIND_NODE_IMAGE to a kind node image present locally (`docker images kindest/node`)',
    ]);
    this.name = 'NodeImageUnavailableError';
  }
}

function outputOf(e: unknown): string {
  const x = e as { all?: unknown; stderr?: unknown; message?: unknown };
  // Stryker disable next-line MethodExpression,ConditionalExpression,StringLiteral: only searched for kind's one-line message, which sits whole in one part; join turns a non-string part into ''
  return [x.all, x.stderr, x.message].filter((v): v is string => typeof v === 'string').join('\n');
}

export interface KindOptions {
  name: string;
  configPath: string;
  nodeImage: string;
  kubeconfigPath: string;
  /** kind's own wait for the control plane: --wait. */
  wait: string;
  reuse: boolean;
  keep: boolean;
  /** Added to kind's environment (a `docker` of our own first on PATH: kind-node-host.ts); none by default. */
  env?: Readonly<Record<string, string>> | undefined;
}

export function createClusterArgs(o: KindOptions): string[] {
  return [
    'create', 'cluster',
    '--name', o.name,
    '--config', o.configPath,
    '--image', o.nodeImage,
    '--wait', o.wait,
    '--kubeconfig', o.kubeconfigPath,
  ];
}

export function deleteClusterArgs(o: Pick<KindOptions, 'name' | 'kubeconfigPath'>): string[] {
  return ['delete', 'cluster', '--name', o.name, '--kubeconfig', o.kubeconfigPath];
}

export class KindCluster {
  readonly #kind: string;
  #o: KindOptions = {
    name: 'egress-verify', configPath: 'kind-config.yaml', nodeImage: '', kubeconfigPath: '',
    wait: '120s', reuse: false, keep: false,
  };

  constructor(kindPath: string) {
    this.#kind = kindPath;
  }

  withName(name: string): this { this.#o.name = name; return this; }
  withConfig(path: string): this { this.#o.configPath = path; return this; }
  withNodeImage(image: string): this { this.#o.nodeImage = image; return this; }
  withKubeconfig(path: string): this { this.#o.kubeconfigPath = path; return this; }
  withWait(wait: string): this { this.#o.wait = wait; return this; }
  /** Use a cluster of this name if one exists (it is then never deleted). */
  reuseExisting(reuse: boolean): this { this.#o.reuse = reuse; return this; }
  keep(keep: boolean): this { this.#o.keep = keep; return this; }
  /** Environment for every kind command of this cluster (added to this process's). */
  withEnv(env: Readonly<Record<string, string>> | undefined): this { this.#o.env = env; return this; }

  get options(): Readonly<KindOptions> {
    return this.#o;
  }

  async exists(): Promise<boolean> {
    const { stdout } = await execa(this.#kind, ['get', 'clusters'], { env: this.#o.env });
    return stdout.split('\n').map((l) => l.trim()).includes(this.#o.name);
  }

  /**
   * Creates the cluster (or reuses it). `register` receives the handle before anything is
   * created, so a Ctrl-C during the create can still remove the nodes: its stop() ends the
   * create first, then deletes. A create refused because the nodes already exist leaves the
   * handle inert (stop() deletes nothing).
   */
  async start(register?: (cluster: StartedKindCluster) => void): Promise<StartedKindCluster> {
    const o = { ...this.#o };
    if (!o.nodeImage || !o.kubeconfigPath) throw new Error('KindCluster: withNodeImage() and withKubeconfig() are required');
    if (await this.exists()) {
      if (!o.reuse) {
        throw new Error(`a kind cluster named "${o.name}" already exists and was not created by this run; set REUSE_CLUSTER=true to use it, or CLUSTER_NAME to another name`);
      }
      log(`reusing kind cluster "${o.name}"`);
      // Export its kubeconfig into our own file; `get kubeconfig` prints it and touches nothing.
      const { stdout } = await execa(this.#kind, ['get', 'kubeconfig', '--name', o.name], { env: o.env });
      await mkdir(dirname(o.kubeconfigPath), { recursive: true });
      await writeFile(o.kubeconfigPath, stdout, { mode: 0o600 });
      const reused = new StartedKindCluster(this.#kind, o, 'reused');
      register?.(reused);
      return reused;
    }
    const cluster = new StartedKindCluster(this.#kind, o, 'creating');
    register?.(cluster);
    const child = execa(this.#kind, createClusterArgs(o), { all: true, env: o.env });
    cluster.creating(child);
    // kind logs its steps ("✓ Preparing nodes", …) on stderr: pass them on as progress.
    // Stryker disable next-line OptionalChaining: with `all: true` execa always gives the process an `all` stream
    child.all?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) log(`  kind: ${line.trim()}`);
    });
    try {
      await child;
    } catch (e) {
      if (isAlreadyExistsError(outputOf(e), o.name)) {
        // Someone created it between our `get clusters` and the create: not ours to delete.
        cluster.notOurs();
        throw new Error(`a kind cluster named "${o.name}" was created by someone else while this run started (kind: node(s) already exist); it was left alone. Set CLUSTER_NAME to another name, or REUSE_CLUSTER=true to use it`, { cause: e });
      }
      // kind removes the nodes of a failed create unless --retain; make sure anyway, whatever
      // KEEP_CLUSTER says: a half-created cluster is of no use to keep. (If a signal's cleanup
      // is already stopping it, this waits for that one.)
      // The create's error is the one thrown: a failing delete here is only logged.
      await cluster.stop().catch((cleanup: unknown) => log(`kind delete cluster "${o.name}" after the failed create failed too: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`));
      const image = unavailableNodeImage(outputOf(e));
      if (image) throw new NodeImageUnavailableError(image);
      throw e;
    }
    cluster.createdNow();
    return cluster;
  }
}

export interface ImageLoadResult {
  loaded: string[];
  failed: { image: string; reason: string }[];
}

/** The last error line a command printed (or its last line at all), for a one-line warning. */
export function loadFailureReason(output: string, exitCode: number | undefined, signal?: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = [...lines].reverse().find((l) => /^(error|unknown flag)/i.test(l)) ?? lines.at(-1);
  return line ?? (signal ? `ended by ${signal}` : `exit code ${exitCode ?? '?'}`);
}

/** What the run says when a present image could not be loaded: the node pulls it instead. */
export function loadFailureWarning(f: { image: string; reason: string }): string {
  return `WARNING: kind load docker-image ${f.image} failed: ${f.reason}. The kind node will pull it from its registry instead`
    + ' (a multi-arch image on Docker\'s containerd image store cannot be loaded by kind: kind issues #3795, #4224;'
    + ' LOAD_IMAGES=never skips loading).';
}

/**
 * creating: `kind create` under way (stop ends it, then deletes); created: by this run;
 * reused: REUSE_CLUSTER found it (never deleted); foreign: kind said it already exists (never
 * deleted); removed: already deleted by this run.
 */
export type KindClusterState = 'creating' | 'created' | 'reused' | 'foreign' | 'removed';

export class StartedKindCluster {
  readonly #kind: string;
  readonly options: Readonly<KindOptions>;
  #state: KindClusterState;
  #create: ResultPromise | undefined;
  #stopping: Promise<void> | undefined;

  constructor(kind: string, options: KindOptions, state: KindClusterState) {
    this.#kind = kind;
    this.options = options;
    this.#state = state;
  }

  get state(): KindClusterState { return this.#state; }
  /** False when an existing cluster was reused (or belongs to someone else): then it is never deleted. */
  get created(): boolean { return this.#state === 'creating' || this.#state === 'created'; }

  /** @internal KindCluster.start: the `kind create` process, ended by stop() if still running. */
  creating(child: ResultPromise): void { this.#create = child; }
  /** @internal */
  createdNow(): void { if (this.#state === 'creating') this.#state = 'created'; }
  /** @internal */
  notOurs(): void { if (this.#state === 'creating') this.#state = 'foreign'; }

  get name(): string { return this.options.name; }
  get kubeconfigPath(): string { return this.options.kubeconfigPath; }
  get context(): string { return `kind-${this.options.name}`; }
  get network(): string { return kindNetwork(); }

  /**
   * `kind load docker-image`, one image at a time, for images present in the local engine.
   * Never throws for a failed load. kind imports with --all-platforms, which fails for a
   * multi-arch image on Docker's containerd image store (kind issues #3795, #4224: the saved
   * index names platforms whose blobs were never pulled). Then the image is saved for the
   * engine's platform only (`docker save --platform`, API 1.48+, Docker 28) and loaded with
   * `kind load image-archive`, the way kind's maintainers point to in #3795. If that fails too
   * (e.g. an older Docker without --platform), the node pulls the image: reported, not fatal.
   */
  async loadImages(images: readonly string[]): Promise<ImageLoadResult> {
    const result: ImageLoadResult = { loaded: [], failed: [] };
    for (const image of images) {
      const r = await execa(this.#kind, ['load', 'docker-image', image, '--name', this.name], { reject: false, all: true, env: this.options.env });
      if (r.exitCode === 0) {
        result.loaded.push(image);
        continue;
      }
      // Stryker disable next-line StringLiteral: with `all: true` execa's result always has `all` (a string), so the fallback is never used
      const reason = loadFailureReason(r.all ?? '', r.exitCode, r.signal);
      const fallback = await this.#loadSinglePlatform(image);
      if (fallback === undefined) result.loaded.push(image);
      else result.failed.push({ image, reason: `${reason}; single-platform archive: ${fallback}` });
    }
    return result;
  }

  /** undefined when loaded; otherwise why not. */
  async #loadSinglePlatform(image: string): Promise<string | undefined> {
    const arch = await execa('docker', ['version', '--format', '{{.Server.Arch}}'], { reject: false });
    if (arch.exitCode !== 0 || !arch.stdout.trim()) return `docker version: ${arch.stderr.trim() || 'no architecture'}`;
    const platform = `linux/${arch.stdout.trim()}`;
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-image-'));
    try {
      const archive = join(dir, 'image.tar');
      const save = await execa('docker', ['save', '--platform', platform, '-o', archive, image], { reject: false, all: true });
      // Stryker disable next-line StringLiteral: the `?? ''` fallback is never used (`all: true` always gives `all`); the reason text itself is asserted in kind-decisions.test.ts
      if (save.exitCode !== 0) return `docker save --platform ${platform}: ${loadFailureReason(save.all ?? '', save.exitCode, save.signal)}`;
      const load = await execa(this.#kind, ['load', 'image-archive', archive, '--name', this.name], { reject: false, all: true, env: this.options.env });
      // Stryker disable next-line StringLiteral: the `?? ''` fallback is never used (`all: true` always gives `all`); the reason text itself is asserted in kind-decisions.test.ts
      if (load.exitCode !== 0) return `kind load image-archive: ${loadFailureReason(load.all ?? '', load.exitCode, load.signal)}`;
      log(`kind load docker-image ${image} failed; loaded it as a ${platform} archive instead (kind issues #3795, #4224)`);
      return undefined;
    } finally {
      // Stryker disable next-line BooleanLiteral: `force` only matters when the folder is missing, and mkdtemp created it just above
      await rm(dir, { recursive: true, force: true });
    }
  }

  async exportLogs(dir: string): Promise<void> {
    await execa(this.#kind, ['export', 'logs', dir, '--name', this.name], { env: this.options.env });
  }

  /** Deletes the cluster if this run created it (or was creating it); once, however often called. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // Stryker disable next-line ConditionalExpression: in any other state #create is unset or settled: nothing to end, and its outcome already applied by start()
    if (this.#state === 'creating') {
      // Interrupted (or failed) mid-create: end kind first, or it keeps adding nodes while we
      // delete. A half-created cluster is deleted whatever KEEP_CLUSTER says.
      const child = this.#create?.nodeChildProcess;
      // Stryker disable next-line LogicalOperator,ConditionalExpression: #create and its nodeChildProcess are set together; SIGTERM to a process that already ended does nothing (only the log line differs)
      if (this.#create && child && child.exitCode === null && child.signalCode === null) {
        log(`ending kind create cluster "${this.name}" (pid ${child.pid ?? '?'}) before deleting its nodes`);
        child.kill('SIGTERM');
      }
      // The create's own outcome decides: refused as "already exist" means the nodes are not ours.
      await this.#create?.catch((e: unknown) => {
        // Stryker disable next-line ConditionalExpression: start() awaits the create before any stop() can, so its catch has already made the state 'foreign' (notOurs) by the time this runs; kept as a second guard
        if (isAlreadyExistsError(outputOf(e), this.name)) this.#state = 'foreign';
      });
    }
    switch (this.#state) {
      case 'reused':
        log(`kind cluster "${this.name}" was reused: left as it is`);
        return;
      case 'foreign':
        log(`kind cluster "${this.name}" was not created by this run: left as it is`);
        return;
      case 'removed':
        return;
      case 'created':
        if (this.options.keep) {
          log(`KEEP_CLUSTER: kind cluster "${this.name}" kept; kubeconfig ${this.kubeconfigPath}; delete with: kind delete cluster --name ${this.name}`);
          return;
        }
        break;
      case 'creating':
        break;
    }
    this.#state = 'removed';
    await execa(this.#kind, deleteClusterArgs(this.options), { env: this.options.env });
  }
}
