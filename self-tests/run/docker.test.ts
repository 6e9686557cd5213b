/**
 * helpers/run/docker.ts: which images the local engine has. Against a STAND-IN docker CLI on
 * PATH (what is asked, and the answer read from the exit code alone), then against the real
 * engine with Docker.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { execa } from 'execa';
import { imagePresent, partitionByPresence, removeNetworkIfUnused } from '../../helpers/run/docker.ts';
import { runLabels } from '../plumbing/run-label.ts';
import { needDocker, REDIS_IMAGE, standInCommand, standInFirst, usePath } from '../plumbing/support.ts';

describe('against a docker stand-in: `docker image inspect`, present exactly when it exits 0', () => {
  // Knows the images whose names contain "present"; says so on stdout either way.
  const docker = standInCommand('docker', `#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
for last; do :; done
case "$last" in *present*) echo sha256:1; exit 0 ;; esac
echo "Error: No such image: $last" >&2; exit 1
`);

  test('one image: the inspect command, and its exit code as the answer', async () => {
    standInFirst(docker);
    expect(await imagePresent('reg.local/present:1')).toBe(true);
    expect(await imagePresent('reg.local/absent:1')).toBe(false);
    expect((await readFile(join(docker.dir, 'calls'), 'utf8')).split('\n')).toContain('image inspect --format {{.Id}} reg.local/present:1');
  });

  test('several: split into present and absent, each in the order given', async () => {
    standInFirst(docker);
    expect(await partitionByPresence(['a/absent:1', 'b/present:1', 'c/absent:2', 'd/present:2'])).toEqual({
      present: ['b/present:1', 'd/present:2'], absent: ['a/absent:1', 'c/absent:2'],
    });
    expect(await partitionByPresence([])).toEqual({ present: [], absent: [] });
  });

  test('no docker CLI at all: nothing is present, and nothing is thrown', async () => {
    usePath(join(docker.dir, 'no-such-folder'));
    expect(await imagePresent('reg.local/present:1')).toBe(false);
  });
});

describe('against the local engine', () => {
  test('the Redis image under test is present; an image never built is not', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const never = 'egress-verify/never-built:none';
    expect(await imagePresent(REDIS_IMAGE)).toBe(true);
    expect(await imagePresent(never)).toBe(false);
    expect(await partitionByPresence([never, REDIS_IMAGE])).toEqual({ present: [REDIS_IMAGE], absent: [never] });
  });

  test('a network nothing uses is removed; one in use is left and said so; a missing one is already gone', async (ctx) => {
    await needDocker(ctx, REDIS_IMAGE);
    const name = `egress-verify-net-test-${process.pid}`;
    const container = `${name}-c`;
    const labels = Object.entries(runLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    await execa('docker', ['network', 'create', ...labels, name]);
    try {
      await execa('docker', ['run', '-d', '--name', container, ...labels, '--network', name, REDIS_IMAGE]);
      expect(await removeNetworkIfUnused(name)).toBe(`the Docker network ${name} is still in use by other containers: left`);
      await execa('docker', ['rm', '-f', container]);
      expect(await removeNetworkIfUnused(name)).toBe(`removed the Docker network ${name}`);
      expect(await removeNetworkIfUnused(name)).toBe(`the Docker network ${name} was already gone`);
    } finally {
      await execa('docker', ['rm', '-f', container], { reject: false });
      await execa('docker', ['network', 'rm', name], { reject: false });
    }
  });
});
