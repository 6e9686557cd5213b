/**
 * helpers/run/ryuk.ts: testcontainers' reaper is turned off only when it would have to be created
 * and its image is not here. Each branch against a STAND-IN docker CLI on PATH (its answers set
 * per test), then the real case with the local engine. The README's no-registry recipe as a
 * whole, in subprocesses: process/readme-recipes.test.ts.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getReaperImage } from 'testcontainers/build/reaper/reaper.js';
import { afterEach, describe, expect, test } from 'vitest';
import { imagePresent } from '../../helpers/run/docker.ts';
import { disableRyukIfUnavailable } from '../../helpers/run/ryuk.ts';
import { needDocker, REDIS_IMAGE, standInCommand, standInFirst } from '../plumbing/support.ts';

describe('each decision, against a docker stand-in', () => {
  // `ps` prints $PS_OUT and exits $PS_EXIT; `image inspect` exits 0 exactly when $IMAGE_HERE=1.
  const docker = standInCommand('docker', `#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
. "$(dirname "$0")/conf"
case "$1" in
  ps) [ -n "$PS_OUT" ] && echo "$PS_OUT"; exit "$PS_EXIT" ;;
  image) [ "$IMAGE_HERE" = 1 ] && exit 0; echo "Error: No such image" >&2; exit 1 ;;
esac
exit 2
`);
  afterEach(() => rm(join(docker.dir, 'calls'), { force: true }));

  /** Puts the stand-in first on PATH with these answers; returns what it was asked, in order. */
  async function engine(conf: { psOut?: string; psExit?: number; imageHere?: boolean }) {
    await writeFile(join(docker.dir, 'conf'), `PS_OUT='${conf.psOut ?? ''}'\nPS_EXIT=${conf.psExit ?? 0}\nIMAGE_HERE=${conf.imageHere ? 1 : 0}\n`);
    standInFirst(docker);
    const file = join(docker.dir, 'calls');
    return async () => (existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean) : []);
  }

  test('TESTCONTAINERS_RYUK_DISABLED set to anything: the user decided; docker is not even asked', async () => {
    const calls = await engine({});
    for (const value of ['true', 'false', '']) {
      const env: NodeJS.ProcessEnv = { TESTCONTAINERS_RYUK_DISABLED: value };
      expect(await disableRyukIfUnavailable(env), value).toBeUndefined();
      expect(env).toEqual({ TESTCONTAINERS_RYUK_DISABLED: value });
    }
    expect(await calls()).toEqual([]);
  });

  test('no engine: nothing changed (the Docker checks report that)', async () => {
    await engine({ psExit: 1 });
    const env: NodeJS.ProcessEnv = {};
    expect(await disableRyukIfUnavailable(env)).toBeUndefined();
    expect(env).toEqual({});
  });

  test('a reaper already running: reused by testcontainers, nothing to pull, nothing changed', async () => {
    const calls = await engine({ psOut: '0123456789ab' });
    const env: NodeJS.ProcessEnv = {};
    expect(await disableRyukIfUnavailable(env)).toBeUndefined();
    expect(env).toEqual({});
    expect(await calls()).toEqual(['ps -q --filter label=org.testcontainers.ryuk=true --filter status=running']);
  });

  test('none running, its image here: left on', async () => {
    const calls = await engine({ imageHere: true });
    const env: NodeJS.ProcessEnv = {};
    expect(await disableRyukIfUnavailable(env)).toBeUndefined();
    expect(env).toEqual({});
    expect((await calls())[1]).toBe(`image inspect --format {{.Id}} ${getReaperImage()}`);
  });

  test('none running, its image absent: turned off in the env given, with the line that says so', async () => {
    await engine({});
    const env: NodeJS.ProcessEnv = {};
    expect(await disableRyukIfUnavailable(env)).toBe(
      `testcontainers' reaper image ${getReaperImage()} is not present locally: running without it (TESTCONTAINERS_RYUK_DISABLED=true); `
      + 'the suite removes what it starts itself. Set TESTCONTAINERS_RYUK_DISABLED=false to require it.',
    );
    expect(env).toEqual({ TESTCONTAINERS_RYUK_DISABLED: 'true' });
  });
});

describe('testcontainers reaper (Ryuk) without a registry', () => {
  test('its image absent and none running: turned off, once, with the reason; a user choice is kept', async (ctx) => {
    await needDocker(ctx);
    const saved = process.env.RYUK_CONTAINER_IMAGE;
    process.env.RYUK_CONTAINER_IMAGE = 'egress-verify/ryuk-absent:never-built';
    try {
      const env: NodeJS.ProcessEnv = {};
      expect(await disableRyukIfUnavailable(env)).toMatch(/reaper image egress-verify\/ryuk-absent:never-built is not present locally: running without it \(TESTCONTAINERS_RYUK_DISABLED=true\)/);
      expect(env.TESTCONTAINERS_RYUK_DISABLED).toBe('true');
      const chosen: NodeJS.ProcessEnv = { TESTCONTAINERS_RYUK_DISABLED: 'false' };
      expect(await disableRyukIfUnavailable(chosen)).toBeUndefined();
      expect(chosen.TESTCONTAINERS_RYUK_DISABLED).toBe('false');
      // An image that is present: Ryuk stays on.
      process.env.RYUK_CONTAINER_IMAGE = REDIS_IMAGE;
      const present: NodeJS.ProcessEnv = {};
      if (await imagePresent(REDIS_IMAGE)) {
        expect(await disableRyukIfUnavailable(present)).toBeUndefined();
        expect(present.TESTCONTAINERS_RYUK_DISABLED).toBeUndefined();
      }
    } finally {
      if (saved === undefined) delete process.env.RYUK_CONTAINER_IMAGE;
      else process.env.RYUK_CONTAINER_IMAGE = saved;
    }
  });
});
