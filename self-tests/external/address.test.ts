/**
 * helpers/external/address.ts: where Redis is, as REDIS_ADDR takes it and as Envoy names an
 * upstream host (the evidence parsers match these strings exactly: envoy-admin.test.ts).
 */
import { describe, expect, test } from 'vitest';
import { hostPort, REDIS_PORT } from '../../helpers/external/address.ts';
import { parseClusterHostStats } from '../../helpers/mesh/envoy-admin.ts';

describe('a Redis address', () => {
  test('the stand-in and Memorystore both listen on 6379', () => {
    expect(REDIS_PORT).toBe(6379);
  });

  test('"host:port", with nothing around it', () => {
    expect(hostPort({ host: '172.18.0.5', port: REDIS_PORT })).toBe('172.18.0.5:6379');
    expect(hostPort({ host: 'redis.memorystore.internal', port: 6380 })).toBe('redis.memorystore.internal:6380');
  });

  test('the form in which Envoy\'s clusters page names the upstream host', () => {
    const address = { host: '10.121.0.3', port: REDIS_PORT };
    const [stat] = parseClusterHostStats(`outbound|6379||redis.memorystore.internal::${hostPort(address)}::cx_total::1`);
    expect(stat?.host).toBe(hostPort(address));
  });
});
