/**
 * Interrupting `npm run test:self` at any moment leaves nothing: the run under test is a real
 * child run of the self-tests (the Docker-backed files below: networks, the Redis stand-in,
 * probe containers), started the way a user starts it (npm, with bash as the script shell) and
 * interrupted at several points: Ctrl-C to the whole process group (as a terminal sends it) while
 * vitest starts, once the run's network exists, once its container exists, and while the tests
 * run; and SIGTERM to npm alone (as a CI runner's timeout sends it) mid-run. After each, its
 * containers, networks and temp folders are counted against before.
 *
 * The child's run id is chosen here (SELFTEST_RUN_ID) so that what it creates can be counted
 * without touching anything else on a shared Docker engine. After the signal the run prints one
 * line (what it removed) and nothing else, within a few seconds, and writes no JUnit report.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, onTestFinished, test } from 'vitest';
import { pollUntil } from '../../helpers/run/poll.ts';
import { removeAllOfRun, resourcesOf, tempFolders, type RunResources } from '../plumbing/run-resources.ts';
import { needDocker, REDIS_IMAGE } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

type Trigger =
  | { kind: 'after'; ms: number }
  | { kind: 'network' }
  | { kind: 'container'; thenMs: number };

interface Case {
  name: string;
  trigger: Trigger;
  signal: 'SIGINT' | 'SIGTERM';
  /** SIGINT goes to the process group (a terminal's Ctrl-C); SIGTERM to npm alone. */
  group: boolean;
}

const CASES: Case[] = [
  { name: 'Ctrl-C while vitest starts (300 ms)', trigger: { kind: 'after', ms: 300 }, signal: 'SIGINT', group: true },
  { name: 'Ctrl-C as soon as the run\'s network exists', trigger: { kind: 'network' }, signal: 'SIGINT', group: true },
  { name: 'Ctrl-C as soon as its Redis container exists', trigger: { kind: 'container', thenMs: 0 }, signal: 'SIGINT', group: true },
  { name: 'Ctrl-C while the tests run (container + 800 ms)', trigger: { kind: 'container', thenMs: 800 }, signal: 'SIGINT', group: true },
  { name: 'SIGTERM to npm alone while the tests run', trigger: { kind: 'container', thenMs: 300 }, signal: 'SIGTERM', group: false },
];

// Several Docker-backed files, so that the child run is still going well after its first
// container exists, even on a loaded machine (one file alone can end within a second or two).
const CHILD_FILES = ['self-tests/external/redis.test.ts', 'self-tests/external/probe.test.ts', 'self-tests/external/cart.test.ts'];

const count = (r: RunResources) => r.containers.length + r.networks.length;

describe('interrupting npm run test:self leaves no container, network or temp folder', () => {
  const artifacts = tempFolder('interrupted-artifacts');

  for (const c of CASES) {
    test(c.name, async (ctx) => {
      await needDocker(ctx, REDIS_IMAGE);
      const id = `int${randomBytes(4).toString('hex')}`;
      const tempBefore = await tempFolders();
      expect(count(await resourcesOf(id))).toBe(0);

      const spawnedAt = performance.now();
      const child = execa('npm', ['run', '--script-shell=/bin/bash', 'test:self', '--', ...CHILD_FILES], {
        env: { SELFTEST_RUN_ID: id, ARTIFACTS_DIR: artifacts.path, FORCE_COLOR: '0' },
        detached: true, reject: false, all: true,
      });
      let exited = false;
      void child.finally(() => { exited = true; });
      // What the run printed, to tell what came after the signal.
      let printed = '';
      child.all!.on('data', (d: Buffer) => { printed += d.toString(); });
      // A failing case must not leak either: stop the child, remove what it made.
      onTestFinished(async () => {
        if (!exited) process.kill(-child.pid!, 'SIGKILL');
        await child;
        await removeAllOfRun(id);
        for (const extra of (await tempFolders()).filter((f) => !tempBefore.includes(f))) {
          await rm(join(tmpdir(), extra), { recursive: true, force: true });
        }
      });

      // The moment to interrupt, and what existed then (so a case that came too late shows).
      let atSignal: RunResources = { containers: [], networks: [] };
      const whenExited = () => (exited ? Promise.reject(new Error('the run ended before the signal')) : undefined);
      if (c.trigger.kind === 'after') {
        const ms = c.trigger.ms;
        await pollUntil(`${ms} ms after the start`, ms + 5_000, async () => {
          await whenExited();
          return performance.now() >= spawnedAt + ms ? true : undefined;
        }, undefined, { intervalMs: 20 });
      } else {
        const want = c.trigger.kind;
        atSignal = await pollUntil(`the child run's first ${want}`, 60_000, async () => {
          await whenExited();
          const r = await resourcesOf(id);
          return (want === 'network' ? r.networks.length : r.containers.length) > 0 ? r : undefined;
        }, undefined, { intervalMs: 50 });
        if (c.trigger.kind === 'container' && c.trigger.thenMs > 0) {
          const from = performance.now();
          const wait = c.trigger.thenMs;
          await pollUntil(`${wait} ms more`, wait + 5_000, async () => (performance.now() - from >= wait ? true : undefined), undefined, { intervalMs: 20 });
        }
      }
      expect(exited, 'the run ended before the signal').toBe(false);
      // process.kill, not execa's child.kill: that one follows SIGTERM with SIGKILL after 5 s
      // (execa's forceKillAfterDelay), which on a loaded machine lands while the run still cleans
      // up and kills npm itself (exit code undefined). A CI runner sends SIGTERM alone.
      const before = printed.length;
      const signalledAt = performance.now();
      if (c.group) process.kill(-child.pid!, c.signal);
      else process.kill(child.pid!, c.signal);
      const result = await child;
      const stoppedMs = performance.now() - signalledAt;
      // Nothing of the child's is left: labelled or named containers and networks, temp folders.
      const left = await resourcesOf(id);
      const tempAfter = await tempFolders();
      expect(left).toEqual({ containers: [], networks: [] });
      expect(tempAfter).toEqual(tempBefore);

      if (c.trigger.kind !== 'after') {
        expect(count(atSignal), 'the signal came when something existed').toBeGreaterThan(0);
        // The suite's own handler did the work, once (npm's copy of the Ctrl-C was not a second
        // one), and said so in one line, with nothing after it: no "Worker exited unexpectedly",
        // no file started after the signal, no closing summary that reads like a result.
        const after = printed.slice(before).replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim() !== '');
        expect(after, printed.slice(before)).toHaveLength(1);
        expect(after[0]).toMatch(new RegExp(`^\\[egress-verify [0-9:]{8}\\] ${c.signal}: self-tests interrupted; stopped \\d+ test process\\(es\\), removed \\d+ container\\(s\\), \\d+ network\\(s\\) and the temp folder \\S+ \\(\\d+\\.\\ds\\)$`));
        expect(result.all).not.toMatch(/Worker exited unexpectedly|Test Files|Unhandled Error/);
        // Within a few seconds (the sweep waits 3 s for late creates; more on a loaded machine).
        expect(stoppedMs).toBeLessThan(15_000);
        // No report of an interrupted run.
        expect(existsSync(join(artifacts.path, 'junit.xml'))).toBe(false);
        // npm ends with its script's exit code: @npmcli/run-script (run-script-pkg.js) re-raises a
        // signal on npm only when the script died by one, and the suite exits 130/143 itself.
        expect(result.signal).toBeUndefined();
        expect(result.exitCode).toBe(c.signal === 'SIGINT' ? 130 : 143);
      } else {
        expect(result.exitCode === 0, `an interrupted run must not pass:\n${result.all}`).toBe(false);
      }
    });
  }
});
