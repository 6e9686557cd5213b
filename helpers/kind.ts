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
 * - Nodes sit on the Docker network "kind" (providers/docker/network.go).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { log } from './progress.ts';

export const KIND_NETWORK = 'kind';

export interface KindOptions {
  name: string;
  configPath: string;
  nodeImage: string;
  kubeconfigPath: string;
  /** kind's own wait for the control plane: --wait. */
  wait: string;
  reuse: boolean;
  keep: boolean;
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

  get options(): Readonly<KindOptions> {
    return this.#o;
  }

  async exists(): Promise<boolean> {
    const { stdout } = await execa(this.#kind, ['get', 'clusters']);
    return stdout.split('\n').map((l) => l.trim()).includes(this.#o.name);
  }

  async start(): Promise<StartedKindCluster> {
    const o = { ...this.#o };
    if (!o.nodeImage || !o.kubeconfigPath) throw new Error('KindCluster: withNodeImage() and withKubeconfig() are required');
    if (await this.exists()) {
      if (!o.reuse) {
        throw new Error(`a kind cluster named "${o.name}" already exists and was not created by this run; set REUSE_CLUSTER=true to use it, or CLUSTER_NAME to another name`);
      }
      log(`reusing kind cluster "${o.name}"`);
      // Export its kubeconfig into our own file; `get kubeconfig` prints it and touches nothing.
      const { stdout } = await execa(this.#kind, ['get', 'kubeconfig', '--name', o.name]);
      await mkdir(dirname(o.kubeconfigPath), { recursive: true });
      await writeFile(o.kubeconfigPath, stdout, { mode: 0o600 });
      return new StartedKindCluster(this.#kind, o, false);
    }
    const cluster = new StartedKindCluster(this.#kind, o, true);
    const child = execa(this.#kind, createClusterArgs(o), { all: true });
    // kind logs its steps ("✓ Preparing nodes", …) on stderr: pass them on as progress.
    child.all?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) log(`  kind: ${line.trim()}`);
    });
    try {
      await child;
    } catch (e) {
      // kind removes the nodes of a failed create unless --retain; make sure anyway, whatever
      // KEEP_CLUSTER says: a half-created cluster is of no use to keep.
      await execa(this.#kind, deleteClusterArgs(o), { reject: false });
      throw e;
    }
    return cluster;
  }
}

export class StartedKindCluster {
  readonly #kind: string;
  readonly options: Readonly<KindOptions>;
  /** False when an existing cluster was reused: then it is never deleted. */
  readonly created: boolean;

  constructor(kind: string, options: KindOptions, created: boolean) {
    this.#kind = kind;
    this.options = options;
    this.created = created;
  }

  get name(): string { return this.options.name; }
  get kubeconfigPath(): string { return this.options.kubeconfigPath; }
  get context(): string { return `kind-${this.options.name}`; }
  get network(): string { return KIND_NETWORK; }

  /** `kind load docker-image` for images present in the local engine. */
  async loadImages(images: readonly string[]): Promise<void> {
    if (images.length === 0) return;
    await execa(this.#kind, ['load', 'docker-image', ...images, '--name', this.name]);
  }

  async exportLogs(dir: string): Promise<void> {
    await execa(this.#kind, ['export', 'logs', dir, '--name', this.name]);
  }

  async stop(): Promise<void> {
    if (!this.created) {
      log(`kind cluster "${this.name}" was reused: left as it is`);
      return;
    }
    if (this.options.keep) {
      log(`KEEP_CLUSTER: kind cluster "${this.name}" kept; kubeconfig ${this.kubeconfigPath}; delete with: kind delete cluster --name ${this.name}`);
      return;
    }
    await execa(this.#kind, deleteClusterArgs(this.options));
  }
}
