/**
 * Where Redis is: the stand-in container or a Memorystore instance, both on port 6379.
 * Kept apart from redis.ts so that code which only names an address (the step plan in
 * scenarios/chapter.ts, gcp.ts) does not load testcontainers and ioredis with it.
 */
export const REDIS_PORT = 6379;

export interface Address {
  host: string;
  port: number;
}

/** "host:port", as REDIS_ADDR takes it and as Envoy names an upstream host. */
export function hostPort(a: Address): string {
  return `${a.host}:${a.port}`;
}
