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
import { Redis } from 'ioredis';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';

export const REDIS_PORT = 6379;

export interface Address {
  host: string;
  port: number;
}

/** "host:port", as REDIS_ADDR takes it and as Envoy names an upstream host. */
export function hostPort(a: Address): string {
  return `${a.host}:${a.port}`;
}

export class RedisStandIn {
  readonly #image: string;
  #network: string | undefined;
  #name: string | undefined;
  #startupTimeoutMs = 60_000;
  #keep = false;

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

  withStartupTimeout(ms: number): this {
    this.#startupTimeoutMs = ms;
    return this;
  }

  async start(): Promise<StartedRedisStandIn> {
    if (!this.#network) throw new Error('RedisStandIn: call onNetwork(<docker network>) first; pods reach it by its IP there');
    let container = new GenericContainer(this.#image)
      // The command is given in full rather than relying on the image's CMD, so both the
      // official image (whose entrypoint passes `redis-server ...` through) and the locally
      // built scratch image start the same way. Protected mode off: clients are remote.
      .withCommand(['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'])
      .withNetworkMode(this.#network)
      .withExposedPorts(REDIS_PORT)
      .withLabels({ 'egress-verify/role': 'redis-stand-in' })
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .withStartupTimeout(this.#startupTimeoutMs);
    if (this.#name) container = container.withName(this.#name);
    if (this.#keep) container = container.withAutoCleanup(false);
    const started = await container.start();
    return new StartedRedisStandIn(started, this.#network);
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
