/**
 * A run that gets interrupted: starts what the suite starts (a Docker network and the Redis
 * stand-in), registers their cleanup the way global setup does, says READY, and waits.
 * self-tests/interrupt.test.ts sends it SIGINT (Ctrl-C) and checks that nothing is left.
 */
import { Network } from 'testcontainers';
import { Cleanup } from '../../helpers/cleanup.ts';
import { RedisStandIn } from '../../helpers/redis.ts';
import { loadSettings } from '../../helpers/settings.ts';

// What vitest's logger does before global setup runs: exit 1 ms after a signal. The suite's
// handlers must take the signal over, or the cleanup below is cut short.
process.once('SIGINT', () => setTimeout(() => process.exit(1), 1));
const cleanup = new Cleanup();
cleanup.onSignals();
const network = await new Network().start();
cleanup.add('network', () => network.stop().then(() => undefined));
const redis = await new RedisStandIn(loadSettings().redisImage).onNetwork(network.getName()).start();
cleanup.add('redis stand-in', () => redis.stop());
process.stdout.write(`READY ${redis.containerId} ${network.getName()}\n`);
setInterval(() => {}, 1 << 30);
