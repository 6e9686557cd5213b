/**
 * Interrupting `npm test` leaves nothing. Here `npm test` can get as far as an existing cluster
 * lets it without kind: CLUSTER=existing with the container backend starts the Redis stand-in on
 * the Docker network `kind` (created by this test), then checks the mesh through the API server of
 * the kubeconfig's context. That server address is a loopback socket of this test that answers
 * nothing (it is no API server: it accepts and stays silent, then closes what it accepted), so
 * the run waits in its `istio` phase for as long as the test wants.
 *
 * It is interrupted as a user does, through npm with bash as the script shell: Ctrl-C to the
 * process group (npm also passes its copy on: two SIGINTs for one keypress) once the stand-in's
 * container exists and while the mesh check waits, and SIGTERM to npm alone. Then the run's
 * containers and temp folders are counted against before.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { pollUntil } from '../../helpers/run/poll.ts';
import { SELF_TEST_RUN_LABEL, withinLabel } from '../plumbing/run-label.ts';
import { childRunEnv, removeAllOfRun, resourcesOf, runId, tempFolders } from '../plumbing/run-resources.ts';
import { writeKubeconfig } from '../plumbing/kubeconfig.ts';
import { needDocker, REDIS_IMAGE } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

interface Case {
  name: string;
  /** The progress line after which to send the signal. */
  after: RegExp;
  signal: 'SIGINT' | 'SIGTERM';
  group: boolean;
}

const CASES: Case[] = [
  { name: 'Ctrl-C once the Redis stand-in has started', after: /Redis stand-in at [\d.]+:6379 on network kind/, signal: 'SIGINT', group: true },
  { name: 'Ctrl-C while the mesh check waits on the API server', after: /▶ istio\n/, signal: 'SIGINT', group: true },
  { name: 'SIGTERM to npm alone while the mesh check waits', after: /▶ istio\n/, signal: 'SIGTERM', group: false },
];

describe('interrupting npm test leaves no container, network or temp folder', () => {
  const work = tempFolder('interrupt-npm-test');
  let kubeconfig: string;
  let silent: net.Server;
  const accepted = new Set<net.Socket>();
  let closeAtOnce = false;

  beforeAll(async () => {
    silent = net.createServer((s) => {
      if (closeAtOnce) return s.destroy();
      accepted.add(s);
      s.on('close', () => accepted.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    kubeconfig = await writeKubeconfig(join(work.path, 'kubeconfig'), {
      current: 'sandbox', contexts: ['sandbox'], server: `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
    });
  });
  afterAll(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  for (const c of CASES) {
    test(c.name, async (ctx) => {
      await needDocker(ctx, REDIS_IMAGE);
      const id = `npmtest${randomBytes(4).toString('hex')}`;
      // The network kind's nodes sit on; labelled with the child's run id so the sweep removes it.
      const created = await execa('docker', ['network', 'create', '--label', `${SELF_TEST_RUN_LABEL}=${id}`, '--label', `${withinLabel(runId())}=true`, 'kind'], { reject: false });
      if (created.exitCode !== 0) return ctx.skip(`cannot create the Docker network "kind" (${created.stderr.trim()}); is a kind cluster running here?`);
      closeAtOnce = false;
      const tempBefore = await tempFolders();

      const child = execa('npm', ['test', '--script-shell=/bin/bash'], {
        env: {
          CLUSTER: 'existing', ALLOW_CONTEXT: 'sandbox', KUBECONFIG: kubeconfig, REDIS_BACKEND: 'container',
          ARTIFACTS_DIR: join(work.path, `artifacts-${id}`), ...childRunEnv(id), FORCE_COLOR: '0',
        },
        detached: true, reject: false, all: true,
      });
      let exited = false;
      let out = '';
      child.all!.on('data', (d: Buffer) => { out += d.toString(); });
      void child.finally(() => { exited = true; });
      onTestFinished(async () => {
        closeAtOnce = true;
        for (const s of accepted) s.destroy();
        if (!exited) process.kill(-child.pid!, 'SIGKILL');
        await child;
        await removeAllOfRun(id);
        for (const extra of (await tempFolders()).filter((f) => !tempBefore.includes(f))) {
          await rm(join(tmpdir(), extra), { recursive: true, force: true });
        }
      });

      await pollUntil(`the line ${c.after}`, 90_000, async () => {
        if (exited) throw new Error(`the run ended before the signal:\n${out}`);
        return c.after.test(out) ? true : undefined;
      }, undefined, { intervalMs: 50 });
      const atSignal = await resourcesOf(id);
      // process.kill, not execa's child.kill: that one follows SIGTERM with SIGKILL after 5 s
      // (execa's forceKillAfterDelay), which on a loaded machine lands while the run still cleans
      // up and kills npm itself (exit code undefined). A CI runner sends SIGTERM alone.
      if (c.group) process.kill(-child.pid!, c.signal);
      else process.kill(child.pid!, c.signal);
      // Once the run has taken the signal, let the silent socket go: the waiting request fails and
      // the cleanup's own API calls fail fast instead of waiting too.
      await pollUntil('the run to take the signal', 30_000, async () => {
        if (exited) return true;
        return out.includes(`${c.signal}: cleaning up before exit`) ? true : undefined;
      }, undefined, { intervalMs: 50 });
      closeAtOnce = true;
      for (const s of accepted) s.destroy();
      const result = await child;

      const left = await resourcesOf(id);
      expect(atSignal.containers, 'the stand-in existed when the signal came').toHaveLength(1);
      expect(left.containers).toEqual([]);
      expect(left.networks).toEqual(['kind']); // the one this test made, removed at its end
      expect(await tempFolders()).toEqual(tempBefore);
      expect(result.all!.match(new RegExp(`${c.signal}: cleaning up before exit`, 'g'))).toHaveLength(1);
      expect(result.all).not.toMatch(/again: exiting now/);
      expect(result.all).toMatch(/cleaned up: redis stand-in/);
      // npm ends with its script's exit code: @npmcli/run-script (run-script-pkg.js) re-raises a
      // signal on npm only when the script died by one, and the suite exits 130/143 itself.
      expect(result.signal).toBeUndefined();
      expect(result.exitCode).toBe(c.signal === 'SIGINT' ? 130 : 143);
    });
  }
});
