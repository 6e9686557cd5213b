/**
 * helpers/run/paths.ts: one rule for every relative path the user writes (a setting or a
 * command's option): it is meant from the folder the command was run in, which npm names in
 * INIT_CWD while it runs the script in the project's folder.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { artifactsDirProblem, userFolder, userPath } from '../../helpers/run/paths.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { loadCheckedSettings } from '../../helpers/run/settings-checks.ts';

describe('a relative path is meant from the folder the user ran the command in', () => {
  test('npm\'s INIT_CWD when set (npm runs scripts in the project), else the current folder', () => {
    expect(userFolder({ INIT_CWD: '/home/u/shop/sub' })).toBe('/home/u/shop/sub');
    expect(userFolder({})).toBe(process.cwd());
    // Only an absolute INIT_CWD is npm's; anything else falls back to the current folder.
    expect(userFolder({ INIT_CWD: 'sub' })).toBe(process.cwd());
    expect(userPath('../x', { INIT_CWD: '/home/u/shop/sub' })).toBe('/home/u/shop/x');
    expect(userPath('/abs/x', { INIT_CWD: '/home/u/shop/sub' })).toBe('/abs/x');
  });

  test('the path settings follow it: WORKSHOP_REPO, WORKSHOP_LABS, ARTIFACTS_DIR, TOOLS_CACHE_DIR, KIND_BIN, ISTIOCTL_BIN', () => {
    const s = loadSettings({
      INIT_CWD: '/home/u/shop/sub', WORKSHOP_REPO: '../workshop', WORKSHOP_LABS: 'labs', ARTIFACTS_DIR: 'out',
      TOOLS_CACHE_DIR: '../cache', KIND_BIN: 'bin/kind', ISTIOCTL_BIN: './istioctl',
    });
    expect([s.workshopRepo, s.workshopLabs, s.artifactsDir, s.toolsCacheDir, s.kindBin, s.istioctlBin]).toEqual([
      '/home/u/shop/workshop', '/home/u/shop/sub/labs', '/home/u/shop/sub/out', '/home/u/shop/cache', '/home/u/shop/sub/bin/kind', '/home/u/shop/sub/istioctl',
    ]);
  });

  test('a default stays the project\'s: ARTIFACTS_DIR unset is ./artifacts of the folder npm runs in', () => {
    expect(loadSettings({ INIT_CWD: '/home/u/shop/sub' }).artifactsDir).toBe(join(process.cwd(), 'artifacts'));
  });

  test('the checks look where the run will: KIND_BIN relative to INIT_CWD is named by its full path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'paths-'));
    try {
      const e = (() => {
        try {
          loadCheckedSettings({ INIT_CWD: dir, KIND_BIN: 'no-such-kind', ARTIFACTS_DIR: 'reports' });
        } catch (x) {
          return x as Error;
        }
        return undefined;
      })();
      expect(e?.message).toContain(`KIND_BIN=${join(dir, 'no-such-kind')} does not exist`);
      // The reports folder was checked where it will be (and left as it was: not there).
      await expect(stat(join(dir, 'reports'))).rejects.toThrow(/ENOENT/);
      expect(artifactsDirProblem(join(dir, 'reports'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
