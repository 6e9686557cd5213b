/**
 * How a kind node is made to run on this Docker engine: what the engine is (cgroup v1 or v2,
 * whether it grants privileged containers), what that changes in the run (a kubelet setting, the
 * kind config, a `docker` in front of kind), and how the run says so. Measured once, before the
 * cluster is created; every change is a line in the run's report.
 *
 * Facts:
 * - Kubernetes >= 1.35's kubelet refuses to start on cgroup v1 unless its configuration sets
 *   `failCgroupV1: false` (KubeletConfiguration; kind's `kubeadmConfigPatches` can set it).
 *   `docker info` prints CgroupVersion "1" or "2".
 * - runc grants `--privileged` as every capability of the host's bounding set it knows; a bounding
 *   set without one of them fails with "unable to apply caps: operation not permitted" (seen on a
 *   VM without CAP_SYS_RESOURCE; images/kind-node/README.md).
 * - Linux capability numbers and names: include/uapi/linux/capability.h.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { onPath } from '../run/tools.ts';
import { UserFacingError } from '../run/user-facing.ts';
import { imagePresent } from '../run/docker.ts';

/** Capability names by number, as `docker --cap-drop` spells them. */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** The capabilities up to `lastCap` missing from a bounding set (`CapBnd:` of /proc/PID/status, hex). */
export function missingCapabilities(capBnd: string, lastCap: number): string[] {
  const bits = BigInt(`0x${capBnd.trim()}`);
  const out: string[] = [];
  for (let i = 0; i <= lastCap && i < CAPABILITIES.length; i++) {
    if (((bits >> BigInt(i)) & 1n) === 0n) out.push(CAPABILITIES[i]!);
  }
  return out;
}

/** runc's refusal of `--privileged` on a host whose bounding set lacks a capability. */
export function isPrivilegedRefusal(output: string): boolean {
  return /unable to apply caps: operation not permitted/.test(output);
}

/** The folder of the `docker` that kind runs on an engine refusing privileged containers. */
export const UNPRIVILEGED_DOCKER_DIR = join(import.meta.dirname, 'unprivileged-docker');

export interface NodeHost {
  /** docker info's CgroupVersion. */
  cgroupVersion: '1' | '2';
  /** The capabilities to drop instead of `--privileged`; undefined: privileged containers work. */
  unprivileged: { dropCapabilities: string[] } | undefined;
}

/** What changes in the kind run for this host, and the report's line for each change. */
export interface NodeAdaptation {
  kubeadmConfigPatches: string[];
  /** Environment for kind's process (PATH with the unprivileged `docker` first), or none. */
  kindEnv: Record<string, string> | undefined;
  deviations: string[];
}

const FAIL_CGROUP_V1_PATCH = 'kind: KubeletConfiguration\nfailCgroupV1: false\n';

export function adaptationFor(host: NodeHost, realDocker: string, pathVar: string): NodeAdaptation {
  const out: NodeAdaptation = { kubeadmConfigPatches: [], kindEnv: undefined, deviations: [] };
  if (host.cgroupVersion === '1') {
    out.kubeadmConfigPatches.push(FAIL_CGROUP_V1_PATCH);
    out.deviations.push('the Docker engine runs cgroup v1 (deprecated): the kubelet runs with failCgroupV1: false');
  }
  if (host.unprivileged) {
    out.kindEnv = {
      PATH: `${UNPRIVILEGED_DOCKER_DIR}:${pathVar}`,
      EGRESS_VERIFY_REAL_DOCKER: realDocker,
      EGRESS_VERIFY_CAP_DROP: host.unprivileged.dropCapabilities.join(' '),
    };
    out.deviations.push(
      `the Docker engine refuses privileged containers (its capability bounding set lacks ${host.unprivileged.dropCapabilities.join(', ') || 'a capability runc asks for'}): `
      + 'the kind node runs with every other capability instead (helpers/cluster/unprivileged-docker), and its containerd keeps pods\' oom_score_adj at 0 or above',
    );
  }
  return out;
}

/**
 * The base kind config with this host's changes: kubeadm patches added, and the default CNI
 * (kindnetd, whose image is not built here) left out for a node image that brings its own.
 */
export function kindConfigFor(baseYaml: string, a: { kubeadmConfigPatches: readonly string[]; ownCni: boolean }): string {
  const config = parse(baseYaml) as Record<string, unknown>;
  if (a.kubeadmConfigPatches.length > 0) {
    const existing = Array.isArray(config.kubeadmConfigPatches) ? (config.kubeadmConfigPatches as string[]) : [];
    config.kubeadmConfigPatches = [...existing, ...a.kubeadmConfigPatches];
  }
  if (a.ownCni) config.networking = { ...(config.networking as Record<string, unknown> | undefined), disableDefaultCNI: true };
  return stringify(config);
}

/** The node image cannot start here: the engine refuses privileged containers and the image needs them. */
export class PrivilegedRefusedError extends UserFacingError {
  constructor(image: string, missing: readonly string[]) {
    super('this Docker engine refuses privileged containers', [
      `docker run --privileged ${image} fails: runc cannot grant every capability (the host's bounding set lacks ${missing.join(', ') || 'one'})`,
      'kind\'s published node images need privileged containers. Build the images that do not: npm run images:build -- --kind, then run with IMAGES=local',
    ]);
    this.name = 'PrivilegedRefusedError';
  }
}

// ---- Readers: measure this machine. ----

export async function readCgroupVersion(): Promise<'1' | '2'> {
  const { stdout } = await execa('docker', ['info', '--format', '{{.CgroupVersion}}'], { timeout: 15_000 });
  return stdout.trim() === '1' ? '1' : '2';
}

/**
 * Whether the engine grants `--privileged`, tried with the node image itself (it has `true`) when
 * the image is present; undefined when it is not (kind pulls it, and a refusal then shows in
 * kind's own output).
 */
export async function privilegedRefused(image: string): Promise<boolean | undefined> {
  if (!(await imagePresent(image))) return undefined;
  const r = await execa('docker', ['run', '--rm', '--privileged', '--network', 'none', '--entrypoint', 'true', image], { reject: false, all: true, timeout: 60_000 });
  return r.exitCode !== 0 && isPrivilegedRefusal(r.all ?? '');
}

async function hostMissingCapabilities(): Promise<string[]> {
  const status = await readFile('/proc/self/status', 'utf8');
  const capBnd = /^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? 'ffffffffffffffff';
  const lastCap = Number((await readFile('/proc/sys/kernel/cap_last_cap', 'utf8')).trim());
  return missingCapabilities(capBnd, lastCap);
}

/**
 * Measures the host for a kind node of `image` and returns what the run changes for it. An engine
 * refusing privileged containers is worked around only for a node image that boots without them
 * (`bootsUnprivileged`: the one built here); otherwise it stops the run before anything exists.
 */
export async function adaptToHost(image: string, bootsUnprivileged: boolean): Promise<NodeAdaptation> {
  const [cgroupVersion, refused] = await Promise.all([readCgroupVersion(), privilegedRefused(image)]);
  let unprivileged: NodeHost['unprivileged'];
  if (refused) {
    const dropCapabilities = await hostMissingCapabilities();
    if (!bootsUnprivileged) throw new PrivilegedRefusedError(image, dropCapabilities);
    unprivileged = { dropCapabilities };
  }
  const realDocker = (await onPath('docker')) ?? 'docker';
  return adaptationFor({ cgroupVersion, unprivileged }, realDocker, process.env.PATH ?? '');
}
