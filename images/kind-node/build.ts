/**
 * The kind node image for Kubernetes v1.36.1 and its Debian base, built here (no container
 * registry) by this folder's scripts, in order (README.md: what each does, the walls met, how the
 * image differs from kindest/node):
 *   build-rootfs.sh      Debian bookworm by debootstrap, with systemd, containerd, runc, CNI plugins, iptables
 *   build-kube-node.sh   kubelet, kubeadm, kubectl, kube-proxy from k8s.io/kubernetes (one Go binary)
 *   build-images.sh      the images kubeadm starts, from .tools/bin and Go modules
 *   build-node.sh        the node image itself
 * Cached: each image carries the hash of its inputs (image-inputs.ts) and is rebuilt only when
 * they change. The Debian base is also the base of Istio's images built here (images/istio-images).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { LOCAL_IMAGES, LOCAL_KUBERNETES_VERSION } from '../../helpers/run/local-images.ts';
import { fresh, inputsHash, setLabel, toolStamp } from '../image-inputs.ts';

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '..', '..');
/** Where the builds keep what outlives them: the .deb cache and the Go-built node binaries. */
const WORK = join(ROOT, '.tools', 'kind-node');

export const BASE_ROOTFS_IMAGE = 'egress-verify/kind-base-rootfs:bookworm';

export interface StepResult {
  image: string;
  seconds: number;
  cached: boolean;
}

async function script(name: string, args: string[], env: Record<string, string>, log: (line: string) => void): Promise<void> {
  const child = execa('bash', [join(HERE, name), ...args], { env, all: true, reject: false });
  const tail: string[] = [];
  child.all.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (!line.trim()) continue;
      log(`  ${name}: ${line.trim()}`);
      tail.push(line);
      if (tail.length > 15) tail.shift();
    }
  });
  const done = await child;
  if (done.exitCode !== 0) throw new Error(`${name} failed (exit ${done.exitCode ?? done.signal}):\n${tail.join('\n')}`);
}

/** The Debian base: rebuilt when build-rootfs.sh changes. */
export async function buildBaseRootfs(log: (line: string) => void): Promise<StepResult & { hash: string }> {
  const started = performance.now();
  const hash = await inputsHash(HERE, ['build-rootfs.sh']);
  if (await fresh([BASE_ROOTFS_IMAGE], hash)) return { image: BASE_ROOTFS_IMAGE, seconds: 0, cached: true, hash };
  const rootfs = join(WORK, 'rootfs');
  await mkdir(WORK, { recursive: true });
  try {
    await script('build-rootfs.sh', [rootfs], { DEBOOTSTRAP_CACHE: join(WORK, 'debcache'), BASE_ROOTFS_IMAGE }, log);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  await setLabel(BASE_ROOTFS_IMAGE, hash);
  return { image: BASE_ROOTFS_IMAGE, seconds: (performance.now() - started) / 1000, cached: false, hash };
}

/** The node image: rebuilt when this folder, the base, or the control plane and etcd binaries change. */
export async function buildKindNode(log: (line: string) => void): Promise<{ base: StepResult; node: StepResult }> {
  const base = await buildBaseRootfs(log);
  const started = performance.now();
  const image = LOCAL_IMAGES.kindNode;
  const hash = await inputsHash(HERE, ['build-kube-node.sh', 'build-images.sh', 'build-node.sh', 'files', 'kube-node', 'coredns'],
    [base.hash, await toolStamp('kube'), await toolStamp('etcd'), LOCAL_KUBERNETES_VERSION]);
  if (await fresh([image], hash)) return { base, node: { image, seconds: 0, cached: true } };
  const bin = join(WORK, 'bin');
  const env = { KUBE_NODE_BIN: bin, BASE_ROOTFS_IMAGE, NODE_IMAGE: image };
  // coredns is rebuilt only when missing (build-images.sh): a changed coredns/ must rebuild it.
  await rm(join(bin, 'coredns'), { force: true });
  await script('build-kube-node.sh', [bin], env, log);
  await script('build-images.sh', [], env, log);
  await script('build-node.sh', [], env, log);
  await setLabel(image, hash);
  return { base, node: { image, seconds: (performance.now() - started) / 1000, cached: false } };
}
