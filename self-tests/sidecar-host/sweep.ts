/**
 * What the real-Envoy tests leave when they are killed (Ctrl-C, a killed worker): pilot-agent and
 * Envoy run in their own process group (so a terminal's Ctrl-C does not reach them before their
 * test stops them) and outlive a killed worker; network namespaces and the proxies' folders stay
 * until removed. Everything carries the self-test run's id in its name (runTag), so a sweep
 * removes exactly one run's leftovers.
 */
import { readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { SELF_TEST_RUN_ENV } from '../plumbing/run-label.ts';

/** Where the proxies' folders go (world-traversable, unlike a self-test run's TMPDIR). */
export const SIDECAR_TMP = '/tmp';
export const SIDECAR_DIR_PREFIX = 'egress-verify-sidecar-';
export const NAMESPACE_PREFIX = 'evsh-';

/** The run's id as names carry it ("local" outside a self-test run). */
export function runTag(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return (env[SELF_TEST_RUN_ENV] ?? 'local').replace(/[^a-z0-9]/gi, '').slice(0, 16) || 'local';
}

/** Kills the run's proxies, removes their folders and its network namespaces; returns what it removed. */
export async function sweepSidecarHosts(tag: string): Promise<string[]> {
  const removed: string[] = [];
  const folder = join(SIDECAR_TMP, `${SIDECAR_DIR_PREFIX}${tag}-`);
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (!cwd.startsWith(folder)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
      removed.push(`proxy process ${pid}`);
    } catch { /* gone meanwhile */ }
  }
  for (const name of await readdir(SIDECAR_TMP).catch(() => [] as string[])) {
    if (!join(SIDECAR_TMP, name).startsWith(folder)) continue;
    await rm(join(SIDECAR_TMP, name), { recursive: true, force: true });
    removed.push(`folder ${join(SIDECAR_TMP, name)}`);
  }
  const list = await execa('ip', ['netns', 'list'], { reject: false });
  for (const line of (list.stdout ?? '').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(`${NAMESPACE_PREFIX}${tag}-`)) continue;
    const r = await execa('ip', ['netns', 'delete', name], { reject: false });
    if (r.exitCode === 0) removed.push(`network namespace ${name}`);
  }
  return removed;
}
