import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { needTools } from '../plumbing/support.ts';
import { namespaceProblem } from './network-namespace.ts';
import { runTag, SIDECAR_DIR_PREFIX, SIDECAR_TMP, sweepSidecarHosts } from './sweep.ts';

describe('runTag', () => {
  test('the run id, letters and digits only; "local" outside a run', () => {
    expect(runTag({ EGRESS_VERIFY_SELFTEST_RUN: 'mk2x-9f3a1b' })).toBe('mk2x9f3a1b');
    expect(runTag({})).toBe('local');
    expect(runTag({ EGRESS_VERIFY_SELFTEST_RUN: '---' })).toBe('local');
  });
});

describe('sweepSidecarHosts', () => {
  test('kills the run\'s proxy processes, removes their folders and namespaces, and leaves another run\'s alone', async (ctx) => {
    needTools(ctx, await namespaceProblem());
    const tag = `sweep${process.pid}`;
    const other = `other${process.pid}`;
    const dir = mkdtempSync(join(SIDECAR_TMP, `${SIDECAR_DIR_PREFIX}${tag}-`));
    const keep = mkdtempSync(join(SIDECAR_TMP, `${SIDECAR_DIR_PREFIX}${other}-`));
    // A stand-in for pilot-agent: a process whose working directory is the proxy's folder.
    const proxy = spawn('sleep', ['300'], { cwd: dir, detached: true, stdio: 'ignore' });
    const exited = new Promise((ok) => proxy.once('exit', ok));
    await execa('ip', ['netns', 'add', `evsh-${tag}-cart`]);
    await execa('ip', ['netns', 'add', `evsh-${other}-cart`]);
    try {
      const removed = await sweepSidecarHosts(tag);
      expect(removed).toEqual(expect.arrayContaining([`proxy process ${proxy.pid}`, `folder ${dir}`, `network namespace evsh-${tag}-cart`]));
      await exited;
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(keep)).toBe(true);
      const left = (await execa('ip', ['netns', 'list'])).stdout;
      expect(left).not.toContain(`evsh-${tag}-cart`);
      expect(left).toContain(`evsh-${other}-cart`);
    } finally {
      proxy.kill('SIGKILL');
      await sweepSidecarHosts(other);
      await sweepSidecarHosts(tag);
    }
  });
});
