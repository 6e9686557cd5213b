/**
 * The host under the kind cluster, checked before anything is created: the Docker engine's
 * architecture, CPUs and memory, the kernel's inotify limits, and (CLUSTER=existing with the
 * container backend) the Docker network the Redis stand-in joins.
 *
 * The judging functions are pure (measured values in, problems and warnings out); the readers
 * below them measure this machine. checkPrerequisites (tools.ts) reports the problems together
 * with missing tools, before anything exists; warnings are logged and the run goes on.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { KIND_NETWORK, kindNetwork } from './kind.ts';
import { cartImageDefault, type Settings } from '../run/settings.ts';

type Env = Readonly<Record<string, string | undefined>>;

const GiB = 1024 ** 3;

/**
 * The least Docker engine the chapter's kind cluster runs on. The one place this is stated.
 *
 * CPU: the single node must fit every pod's CPU request. kind's control plane requests about
 * 0.95 CPU (kubeadm's static pods: kube-apiserver 250m, controller-manager 200m, scheduler 100m,
 * etcd 100m; CoreDNS 2 x 100m; kindnet 100m). fixtures/istio-operator.yaml lowers istiod from
 * the chart's 500m to 100m and the egress gateway to 50m; the cart asks 200m plus a 100m
 * sidecar, the probes 2 x 10m plus one 100m sidecar: about 1.6 CPUs requested, so 2 CPUs.
 * With istiod's default 500m it would not fit on 2 CPUs (Pending, install timeout).
 * Memory: about 1 GiB requested, but the node's own processes (etcd, apiserver, kubelet,
 * containerd), istiod, four Envoys and the .NET cart use well over that; 4 GiB leaves room for
 * image unpacking.
 */
export const HOST_MINIMUM = { cpus: 2, memoryGiB: 4 } as const;

/**
 * A VM given N GiB reports a little less as MemTotal (the kernel keeps some); 90% of the
 * minimum is accepted so an engine set to exactly the minimum passes.
 */
const MEMTOTAL_SHARE = 0.9;

/** kind's documented values (site docs, known issues: "Pod errors due to too many open files"). */
export const INOTIFY_MINIMUM = { maxUserWatches: 524_288, maxUserInstances: 512 } as const;

export interface EngineFacts {
  /** `docker version -f '{{.Server.Arch}}'`: Go's GOARCH of the engine (amd64, arm64, …). */
  arch: string;
  /** `docker info -f '{{.NCPU}}'` */
  cpus: number;
  /** `docker info -f '{{.MemTotal}}'`, bytes */
  memoryBytes: number;
}

export interface InotifyLimits {
  maxUserWatches: number;
  maxUserInstances: number;
}

export interface HostFindings {
  problems: string[];
  warnings: string[];
}

function gib(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/**
 * The default cartservice image is published for amd64 only; kind's node has the engine's
 * architecture (Server.Arch, not this process's: under Rosetta, Node reports x64 on an arm64
 * engine). Only the default image is judged: another CART_IMAGE is the user's choice.
 */
export function engineArchProblem(arch: string, cartImage: string): string | undefined {
  if (cartImage !== cartImageDefault || arch === 'amd64') return undefined;
  return `the Docker engine's architecture is ${arch} (docker version: Server.Arch), and the default cartservice image `
    + `${cartImageDefault} is published for amd64 only, so the cart pod could not run on the kind node. `
    + `Set CART_IMAGE to a cartservice image built for ${arch} (e.g. built from microservices-demo's src/cartservice), or use an amd64 Docker engine`;
}

export function engineSizeProblem(cpus: number, memoryBytes: number, minimum = HOST_MINIMUM): string | undefined {
  const enoughCpu = cpus >= minimum.cpus;
  const enoughMemory = memoryBytes >= minimum.memoryGiB * GiB * MEMTOTAL_SHARE;
  if (enoughCpu && enoughMemory) return undefined;
  return `the Docker engine has ${cpus} CPU${cpus === 1 ? '' : 's'} and ${gib(memoryBytes)} of memory (docker info: NCPU, MemTotal); `
    + `the kind cluster with Istio needs at least ${minimum.cpus} CPUs and ${minimum.memoryGiB} GiB `
    + `(short of: ${[enoughCpu ? '' : 'CPUs', enoughMemory ? '' : 'memory'].filter(Boolean).join(' and ')}). `
    + `Give the engine more: Docker Desktop: Settings > Resources; colima: colima start --cpu ${minimum.cpus} --memory ${minimum.memoryGiB}`;
}

/**
 * A warning, not an error: kind ties the failure to clusters with many nodes, the limits are
 * per user (the mesh's proxies and the cart run as their own non-root users), and this run
 * makes one node, so values below kind's often work; refusing would block runs that pass.
 * When they do not, pods fail with "too many open files", so the fix is printed up front.
 */
export function inotifyWarning(limits: InotifyLimits | undefined, minimum = INOTIFY_MINIMUM): string | undefined {
  if (!limits) return undefined;
  const low = [
    ['fs.inotify.max_user_watches', limits.maxUserWatches, minimum.maxUserWatches],
    ['fs.inotify.max_user_instances', limits.maxUserInstances, minimum.maxUserInstances],
  ].filter(([, have, need]) => (have as number) < (need as number)) as [string, number, number][];
  if (low.length === 0) return undefined;
  return `${low.map(([k, have, need]) => `${k} is ${have} (kind documents ${need})`).join(', ')}: pods may fail with "too many open files" `
    + '(kind known issues). Raise until the next reboot with:\n'
    + low.map(([k, , need]) => `    sudo sysctl -w ${k}=${need}`).join('\n')
    + '\n  and make it permanent in /etc/sysctl.d/ (or /etc/sysctl.conf).';
}

/** CLUSTER=existing with the container backend: the stand-in must join the kind nodes' network. */
export function networkProblem(network: string, exists: boolean, env: Env = process.env): string | undefined {
  if (exists) return undefined;
  const named = kindNetwork(env) !== KIND_NETWORK ? ' (named by KIND_EXPERIMENTAL_DOCKER_NETWORK)' : '';
  return `the Docker network "${network}"${named} does not exist: with CLUSTER=existing and REDIS_BACKEND=container the Redis stand-in `
    + 'joins the Docker network of the kind cluster\'s nodes, so the cluster must be a kind cluster on this Docker engine. '
    + 'Set KIND_EXPERIMENTAL_DOCKER_NETWORK to the network its nodes use (docker network ls), or use REDIS_BACKEND=memorystore';
}

export interface HostMeasurements {
  engine?: EngineFacts;
  /** undefined: not measured (not Linux, or not a kind run). */
  inotify?: InotifyLimits;
  /** Whether the stand-in's network exists; undefined: not asked. */
  networkExists?: boolean;
}

/** Everything the host is judged on, for the settings of this run. */
export function judgeHost(s: Settings, m: HostMeasurements, env: Env = process.env): HostFindings {
  const problems: (string | undefined)[] = [];
  const warnings: (string | undefined)[] = [];
  if (s.cluster === 'kind' && m.engine) {
    problems.push(engineArchProblem(m.engine.arch, s.cartImage), engineSizeProblem(m.engine.cpus, m.engine.memoryBytes));
  }
  if (s.cluster === 'kind') warnings.push(inotifyWarning(m.inotify));
  if (s.cluster === 'existing' && s.redisBackend === 'container' && m.networkExists !== undefined) {
    problems.push(networkProblem(kindNetwork(env), m.networkExists, env));
  }
  return { problems: problems.filter((p): p is string => !!p), warnings: warnings.filter((w): w is string => !!w) };
}

// ---- Readers: measure this machine. ----

function toNumber(what: string, raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n)) throw new Error(`could not read ${what} from "${raw ?? ''}"`);
  return n;
}

export async function readEngineFacts(): Promise<EngineFacts> {
  const [version, info] = await Promise.all([
    execa('docker', ['version', '--format', '{{.Server.Arch}}'], { timeout: 15_000 }),
    execa('docker', ['info', '--format', '{{.NCPU}} {{.MemTotal}}'], { timeout: 15_000 }),
  ]);
  const [cpus, memory] = info.stdout.trim().split(/\s+/);
  const arch = version.stdout.trim();
  if (!arch) throw new Error('could not read the Docker engine\'s architecture (docker version: Server.Arch)');
  return { arch, cpus: toNumber('NCPU (docker info)', cpus), memoryBytes: toNumber('MemTotal (docker info)', memory) };
}

/**
 * The kernel's inotify limits; undefined off Linux (the engine then runs in a VM whose kernel
 * this process cannot read). Assumes a local engine: with DOCKER_HOST elsewhere the limits that
 * matter are that machine's.
 */
export async function readInotifyLimits(dir = '/proc/sys/fs/inotify', platform: NodeJS.Platform = process.platform): Promise<InotifyLimits | undefined> {
  if (platform !== 'linux') return undefined;
  const read = async (name: string) => toNumber(join(dir, name), (await readFile(join(dir, name), 'utf8')).trim());
  const [maxUserWatches, maxUserInstances] = await Promise.all([read('max_user_watches'), read('max_user_instances')]);
  return { maxUserWatches, maxUserInstances };
}

export async function dockerNetworkExists(name: string): Promise<boolean> {
  const r = await execa('docker', ['network', 'inspect', '--format', '{{.Name}}', name], { reject: false, timeout: 15_000 });
  if (r.exitCode === 0) return true;
  if (/not found|no such network/i.test(r.stderr)) return false;
  throw new Error(`docker network inspect ${name} failed: ${r.stderr.trim() || `exit code ${r.exitCode ?? '?'}`}`);
}

/** Measures what this run's settings need and judges it. Call only once the engine answers. */
export async function checkHost(s: Settings, env: Env = process.env): Promise<HostFindings> {
  const kind = s.cluster === 'kind';
  const standInOnExisting = s.cluster === 'existing' && s.redisBackend === 'container';
  const [engine, inotify, networkExists] = await Promise.all([
    kind ? readEngineFacts() : undefined,
    kind ? readInotifyLimits() : undefined,
    standInOnExisting ? dockerNetworkExists(kindNetwork(env)) : undefined,
  ]);
  return judgeHost(s, { engine, inotify, networkExists }, env);
}
