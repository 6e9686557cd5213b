/**
 * Global setup of the `self` project: runs once, in vitest's main process, before the workers
 * start (they inherit its environment). Without a registry, testcontainers' reaper cannot be
 * pulled; helpers/ryuk.ts turns it off then, and this says so once for the whole run.
 */
import { disableRyukIfUnavailable } from '../helpers/ryuk.ts';

export default async function setup(): Promise<void> {
  const note = await disableRyukIfUnavailable();
  if (note) process.stderr.write(`[self-tests] ${note}\n`);
}
