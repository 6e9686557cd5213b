/**
 * A run that gets interrupted: starts what the suite starts (a Docker network and the Redis
 * stand-in), registers their cleanup the way global setup does, says READY, and waits.
 * self-tests/process/interrupt.test.ts sends it SIGINT (Ctrl-C) and checks that nothing is left.
 * A failed start undoes what exists and exits 1.
 */
import { Cleanup } from '../../helpers/run/cleanup.ts';
import { RedisStandIn } from '../../helpers/external/redis.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { startNetwork } from '../plumbing/run-resources.ts';

// What vitest's logger does before global setup runs: exit 1 ms after a signal. The suite's
// handlers must take the signal over, or the cleanup below is cut short.
process.once('SIGINT', () => setTimeout(() => process.exit(1), 1));
const cleanup = new Cleanup();
cleanup.onSignals();
try {
  const network = await startNetwork();
  cleanup.add('network', () => network.stop());
  // INTERRUPT_DURING_START=1: says STARTING as the stand-in's start begins (the test signals then).
  if (process.env.INTERRUPT_DURING_START === '1') process.stdout.write('STARTING\n');
  const redis = await cleanup.track('redis stand-in start', new RedisStandIn(loadSettings().redisImage).onNetwork(network.getName()).start());
  cleanup.add('redis stand-in', () => redis.stop());
  process.stdout.write(`READY ${redis.containerId} ${network.getName()}\n`);
  setInterval(() => {}, 1 << 30);
} catch (e) {
  process.stderr.write(`start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  await cleanup.run();
  process.exit(1);
}
