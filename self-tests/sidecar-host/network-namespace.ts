/**
 * A host for a workload without a node: a Linux network namespace (`ip netns`) plugged into a
 * Docker network's bridge through a veth pair, with an address of that network and a default
 * route via the bridge's gateway (the Docker host). Containers on the same network (the Redis
 * stand-in) are its neighbours on the bridge; the host's own listeners (istiod) are reached at the
 * gateway address. This is how Istio runs a sidecar on a machine outside Kubernetes, a VM, minus
 * the VM.
 *
 *   const net = await new DockerNetwork('evsh-1a2b').start();          // docker network create
 *   const ns = await new NetworkNamespace('evsh-1a2b-cart').onNetwork(net).start();
 *   await ns.run('ip', ['route']);
 *   ...
 *   await ns.stop();
 *   await net.stop();
 *
 * Everything made here is named with the prefix NAMESPACE_PREFIX (namespaces) or VETH_PREFIX
 * (host-side veths), and the lab adds the run's tag, so that a sweep after an interrupted run
 * (sweep.ts) can find it. The
 * veth goes away with its namespace; iptables rules set inside the namespace go with it too.
 */
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { runLabels } from '../plumbing/run-label.ts';
import { NAMESPACE_PREFIX } from './sweep.ts';

export { NAMESPACE_PREFIX };


/** Runs the rest of a start on a handle that exists already; on failure stops the handle, then rethrows. */
export async function startedOrStopped<T extends { stop(): Promise<void> }>(handle: T, rest: () => Promise<unknown>): Promise<T> {
  try {
    await rest();
    return handle;
  } catch (e) {
    await handle.stop();
    throw e;
  }
}
export const VETH_PREFIX = 'evsh';

async function run(cmd: string, args: readonly string[]): Promise<string> {
  const r = await execa(cmd, args, { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${(r.all ?? '').trim().slice(0, 400)}`);
  return r.stdout;
}

/** undefined when this process can make network namespaces (root, iproute2, setpriv); otherwise why not. */
export async function namespaceProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add): run as root';
  const missing: string[] = [];
  for (const tool of ['ip', 'setpriv']) {
    const r = await execa(tool, ['-V'], { reject: false });
    if ((r as { code?: string }).code === 'ENOENT') missing.push(tool);
  }
  if (missing.length > 0) return `${missing.join(' and ')} not on PATH (Debian: apt-get install iproute2 util-linux)`;
  return undefined;
}

/** One IPv4 address as a number, and back. */
function toNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}
function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * The address `offset` hosts below the top of an IPv4 subnet (`172.18.0.0/16`, 2 -> 172.18.255.253):
 * Docker hands out container addresses from the bottom, so the top stays free for namespaces.
 */
export function addressFromTop(subnet: string, offset: number): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet);
  if (!m) throw new Error(`"${subnet}" is not an IPv4 subnet`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  if (offset < 1 || offset > size - 4) throw new Error(`offset ${offset} does not fit in ${subnet}`);
  const base = toNumber(m[1]!) - (toNumber(m[1]!) % size);
  return toAddress(base + size - 1 - offset);
}

export class DockerNetwork {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  async start(): Promise<StartedDockerNetwork> {
    const labels = Object.entries(runLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const id = (await run('docker', ['network', 'create', '--driver', 'bridge', ...labels, this.#name])).trim();
    try {
      const inspected = JSON.parse(await run('docker', ['network', 'inspect', id])) as { IPAM: { Config: { Subnet: string; Gateway: string }[] } }[];
      const v4 = inspected[0]?.IPAM.Config.find((c) => /^\d+\.\d+\.\d+\.\d+\//.test(c.Subnet));
      if (!v4) throw new Error(`docker network ${this.#name} has no IPv4 subnet`);
      return new StartedDockerNetwork({ name: this.#name, id, subnet: v4.Subnet, gateway: v4.Gateway });
    } catch (e) {
      await run('docker', ['network', 'rm', id]).catch(() => undefined);
      throw e;
    }
  }
}

export class StartedDockerNetwork {
  readonly name: string;
  readonly id: string;
  readonly subnet: string;
  /** The Docker host's address on the bridge. */
  readonly gateway: string;
  /** The bridge interface on the host (Docker's naming: br-<first 12 of the id>). */
  readonly bridge: string;
  #taken = 0;

  constructor(at: { name: string; id: string; subnet: string; gateway: string }) {
    ({ name: this.name, id: this.id, subnet: this.subnet, gateway: this.gateway } = at);
    this.bridge = `br-${at.id.slice(0, 12)}`;
  }

  /** A free address for a namespace, from the top of the subnet. */
  nextAddress(): string {
    this.#taken++;
    return addressFromTop(this.subnet, this.#taken);
  }

  get prefixLength(): number {
    return Number(this.subnet.split('/')[1]);
  }

  async stop(): Promise<void> {
    await run('docker', ['network', 'rm', this.id]).catch((e: Error) => {
      if (!/not found|No such network/i.test(e.message)) throw e;
    });
  }
}

export class NetworkNamespace {
  readonly #name: string;
  #network: StartedDockerNetwork | undefined;

  constructor(name: string) {
    if (!name.startsWith(NAMESPACE_PREFIX)) throw new Error(`a namespace name must start with "${NAMESPACE_PREFIX}" (the sweep finds leftovers by it): "${name}"`);
    this.#name = name;
  }

  onNetwork(network: StartedDockerNetwork): this {
    this.#network = network;
    return this;
  }

  async start(): Promise<StartedNetworkNamespace> {
    const net = this.#network;
    if (!net) throw new Error('NetworkNamespace: call onNetwork(<started docker network>) first');
    const hostSide = `${VETH_PREFIX}${randomBytes(4).toString('hex')}`;
    const inside = 'eth0';
    const address = net.nextAddress();
    await run('ip', ['netns', 'add', this.#name]);
    const started = new StartedNetworkNamespace({ name: this.#name, address, gateway: net.gateway, hostVeth: hostSide });
    return startedOrStopped(started, async () => {
      await run('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', `${hostSide}p`]);
      await run('ip', ['link', 'set', `${hostSide}p`, 'netns', this.#name]);
      await run('ip', ['link', 'set', hostSide, 'master', net.bridge, 'up']);
      await started.run('ip', ['link', 'set', `${hostSide}p`, 'name', inside]);
      await started.run('ip', ['addr', 'add', `${address}/${net.prefixLength}`, 'dev', inside]);
      await started.run('ip', ['link', 'set', inside, 'up']);
      await started.run('ip', ['link', 'set', 'lo', 'up']);
      await started.run('ip', ['route', 'add', 'default', 'via', net.gateway]);
    });
  }
}

export class StartedNetworkNamespace {
  readonly name: string;
  /** Its address on the Docker network. */
  readonly address: string;
  /** The Docker host's address, as seen from inside. */
  readonly gateway: string;
  readonly hostVeth: string;
  #stopped = false;

  constructor(at: { name: string; address: string; gateway: string; hostVeth: string }) {
    ({ name: this.name, address: this.address, gateway: this.gateway, hostVeth: this.hostVeth } = at);
  }

  /** The command line that runs `cmd` inside. */
  argv(cmd: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, cmd, ...args]];
  }

  /** Runs a command inside to completion; throws with its output when it fails. */
  run(cmd: string, args: readonly string[]): Promise<string> {
    const [c, a] = this.argv(cmd, args);
    return run(c, a);
  }

  /** Starts a long-running command inside (the caller stops it). */
  spawn(cmd: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): ResultPromise {
    const [c, a] = this.argv(cmd, args);
    return execa(c, a, { reject: false, all: true, buffer: false, cleanup: true, ...options, extendEnv: options.env === undefined });
  }

  /** Deletes the namespace (its veth pair and iptables go with it). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await run('ip', ['netns', 'delete', this.name]).catch(() => undefined);
    // The pair goes with the namespace; a host side left by a failed move is removed here.
    await run('ip', ['link', 'delete', this.hostVeth]).catch(() => undefined);
  }
}
