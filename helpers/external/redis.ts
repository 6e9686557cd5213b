/**
 * The Redis stand-in for Memorystore: a Redis container on a Docker network.
 *
 * On kind the network is `kind`, the user-defined bridge kind's nodes sit on
 * (kind: pkg/cluster/internal/providers/docker/network.go, fixedNetworkName). Pods reach
 * the container by its IP there (kindnet masquerades pod traffic to the node), which is
 * what Memorystore gives too: a private IP and port 6379.
 *
 *   const redis = await new RedisStandIn(settings.redisImage).onNetwork('kind').start();
 *   redis.networkAddress  // { host: '172.18.0.5', port: 6379 }  -> REDIS_ADDR of the cart
 *   redis.hostAddress     // { host: '127.0.0.1', port: 32768 }  -> this process's ioredis client
 *   await redis.stop();
 */
import { hostname } from 'node:os';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { type Address, REDIS_PORT } from './address.ts';
import { runLabels } from '../run/run-labels.ts';

/** What makes a container ours: the one notion used to remove a leftover and to reuse a kept one. */
export const ROLE_LABEL = 'egress-verify/role';
export const ROLE = 'redis-stand-in';
/** Set on a stand-in kept after its run (KEEP_CLUSTER/REUSE_CLUSTER), so a later run can say so. */
const KEPT_LABEL = 'egress-verify/kept';
/** Which process started it, so a leftover of a crashed run can be told from a live one. */
const PID_LABEL = 'egress-verify/pid';
const HOST_LABEL = 'egress-verify/host';

/**
 * testcontainers 12 removes a container whose wait strategy fails (waitForContainer), but not
 * one whose start fails (e.g. Docker 20.10 creates a container on a missing network and refuses
 * only at start): start() then throws without returning it. The id is caught here as soon as
 * the container exists (GenericContainer's containerCreated hook), so start() can remove it.
 */
class TrackedContainer extends GenericContainer {
  createdId: string | undefined;
  protected override async containerCreated(containerId: string): Promise<void> {
    this.createdId = containerId;
  }
}

async function removeContainer(idOrName: string): Promise<void> {
  const r = await execa('docker', ['rm', '-f', '-v', idOrName], { reject: false });
  if (r.exitCode !== 0 && !/no such container/i.test(r.stderr)) throw new Error(`docker rm -f ${idOrName} failed: ${r.stderr.trim()}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A container already holding the name: a stand-in left by a crashed run on this machine is
 * removed; anything else is refused with what to do (the name is fixed, so it would be a 409).
 */
export function isRedisStandIn(labels: Readonly<Record<string, string>> | null | undefined): boolean {
  return labels?.[ROLE_LABEL] === ROLE;
}

export async function clearLeftover(name: string): Promise<'none' | 'removed' | 'removed-kept'> {
  const r = await execa('docker', ['inspect', '--type', 'container', '--format', '{{json .Config.Labels}}', name], { reject: false });
  if (r.exitCode !== 0) {
    if (/no such (object|container)/i.test(r.stderr)) return 'none';
    throw new Error(`docker inspect ${name} failed: ${r.stderr.trim()}`);
  }
  const labels = (JSON.parse(r.stdout) ?? {}) as Record<string, string>;
  const way = `remove it (docker rm -f ${name}) or set CLUSTER_NAME to another name`;
  if (!isRedisStandIn(labels)) {
    throw new Error(`a container named "${name}" already exists and is not a Redis stand-in of this suite (no label ${ROLE_LABEL}=${ROLE}); ${way}`);
  }
  const pid = Number(labels[PID_LABEL]);
  if (labels[HOST_LABEL] !== hostname() || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`a Redis stand-in named "${name}" already exists, started on ${labels[HOST_LABEL] ?? 'an unknown host'}${labels[PID_LABEL] ? ` by pid ${labels[PID_LABEL]}` : ''}: it may belong to a run elsewhere; ${way}`);
  }
  if (alive(pid)) {
    throw new Error(`a Redis stand-in named "${name}" is in use by a run still going on this machine (pid ${pid}); wait for it, or set CLUSTER_NAME to another name`);
  }
  await removeContainer(name);
  return labels[KEPT_LABEL] === 'true' ? 'removed-kept' : 'removed';
}

export class RedisStandIn {
  readonly #image: string;
  #network: string | undefined;
  #name: string | undefined;
  #startupTimeoutMs = 60_000;
  #keep = false;
  #labels: Record<string, string> = {};

  constructor(image: string) {
    this.#image = image;
  }

  /** Joins an existing Docker network by name (e.g. `kind`). */
  onNetwork(name: string): this {
    this.#network = name;
    return this;
  }

  withName(name: string): this {
    this.#name = name;
    return this;
  }

  /**
   * Kept after this process ends (KEEP_CLUSTER): started without testcontainers' session label,
   * so its reaper (Ryuk) does not remove it (testcontainers GenericContainer.withAutoCleanup).
   */
  keepAfterExit(keep = true): this {
    this.#keep = keep;
    return this;
  }

  /** Extra labels on the container, besides those of EGRESS_VERIFY_LABELS (run-labels.ts). */
  withLabels(labels: Readonly<Record<string, string>>): this {
    this.#labels = { ...this.#labels, ...labels };
    return this;
  }

  withStartupTimeout(ms: number): this {
    this.#startupTimeoutMs = ms;
    return this;
  }

  async start(): Promise<StartedRedisStandIn> {
    if (!this.#network) throw new Error('RedisStandIn: call onNetwork(<docker network>) first; pods reach it by its IP there');
    const cleared = this.#name ? await clearLeftover(this.#name) : 'none';
    if (cleared === 'removed') process.stderr.write(`[redis] removed "${this.#name}", a Redis stand-in left by a run that ended without cleaning up\n`);
    if (cleared === 'removed-kept') process.stderr.write(`[redis] removed "${this.#name}", the Redis stand-in an earlier run kept (KEEP_CLUSTER); starting a new one\n`);
    const tracked = new TrackedContainer(this.#image);
    let container: GenericContainer = tracked
      // The command is given in full rather than relying on the image's CMD, so both the
      // official image (whose entrypoint passes `redis-server ...` through) and the locally
      // built scratch image start the same way. Protected mode off: clients are remote.
      .withCommand(['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'])
      .withNetworkMode(this.#network)
      .withExposedPorts(REDIS_PORT)
      .withLabels({
        [ROLE_LABEL]: ROLE, [PID_LABEL]: String(process.pid), [HOST_LABEL]: hostname(), ...(this.#keep ? { [KEPT_LABEL]: 'true' } : {}), ...runLabels(), ...this.#labels,
      })
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withStartupTimeout(this.#startupTimeoutMs);
    if (this.#name) container = container.withName(this.#name);
    if (this.#keep) container = container.withAutoCleanup(false);
    let started: StartedTestContainer | undefined;
    try {
      started = await container.start();
      return new StartedRedisStandIn(started, this.#network);
    } catch (e) {
      // Leave nothing behind: with a fixed name, a leftover would block every later run (409).
      const id = started?.getId() ?? tracked.createdId;
      if (id) await removeContainer(id).catch((x: unknown) => process.stderr.write(`[redis] could not remove the failed stand-in ${id}: ${x instanceof Error ? x.message : String(x)}\n`));
      throw e;
    }
  }
}

export class StartedRedisStandIn {
  readonly #container: StartedTestContainer;
  readonly #clients: Redis[] = [];
  /** Where the cluster reaches it: its IP on the Docker network. */
  readonly networkAddress: Address;
  /** Where this process reaches it: a published port on the Docker host. */
  readonly hostAddress: Address;
  readonly containerId: string;

  constructor(container: StartedTestContainer, network: string) {
    this.#container = container;
    this.containerId = container.getId();
    this.networkAddress = { host: container.getIpAddress(network), port: REDIS_PORT };
    this.hostAddress = { host: container.getHost(), port: container.getMappedPort(REDIS_PORT) };
  }

  /** An ioredis client from this process, closed by stop(). */
  client(): Redis {
    const client = new Redis({
      host: this.hostAddress.host,
      port: this.hostAddress.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    this.#clients.push(client);
    return client;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#clients.map((c) => c.quit().catch(() => c.disconnect())));
    await this.#container.stop({ remove: true, removeVolumes: true });
  }
}
