/**
 * helpers/cluster/kind-node-host.ts: what the run changes for the engine under the kind node
 * (cgroup v1, privileged containers refused), the kind config it writes, and the `docker` kind
 * runs in front of an engine refusing --privileged (run here against a STAND-IN docker that
 * prints the arguments it was given).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import {
  adaptationFor, adaptToHost, CAPABILITIES, isPrivilegedRefusal, kindConfigFor, missingCapabilities, privilegedRefused, PrivilegedRefusedError,
  readCgroupVersion, UNPRIVILEGED_DOCKER_DIR,
} from '../../helpers/cluster/kind-node-host.ts';
import { standInCommand, standInFirst } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

describe('capabilities missing from a bounding set', () => {
  test('the names by number, as docker spells them (capability.h)', () => {
    expect(CAPABILITIES).toHaveLength(41);
    expect([CAPABILITIES[0], CAPABILITIES[12], CAPABILITIES[21], CAPABILITIES[24], CAPABILITIES[40]]).toEqual(['CHOWN', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE', 'CHECKPOINT_RESTORE']);
  });

  test('this VM\'s set lacks bit 24 only; a full set lacks none; only up to cap_last_cap', () => {
    expect(missingCapabilities('000001fffeffffff', 40)).toEqual(['SYS_RESOURCE']);
    expect(missingCapabilities('000001ffffffffff', 40)).toEqual([]);
    expect(missingCapabilities('0000000000000000', 2)).toEqual(['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH']);
    expect(missingCapabilities(' 000000fffeffffff\n', 40)).toEqual(['SYS_RESOURCE', 'CHECKPOINT_RESTORE']);
    // A kernel knowing more capabilities than the table: only the named ones, never a gap.
    expect(missingCapabilities('0', 63)).toEqual([...CAPABILITIES]);
  });

  test('runc\'s refusal is recognised, other failures are not', () => {
    expect(isPrivilegedRefusal('docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown')).toBe(true);
    expect(isPrivilegedRefusal('docker: Error response from daemon: No such image: kindest/node:v1.36.1')).toBe(false);
  });
});

describe('what the run changes for the host', () => {
  test('cgroup v2 and privileged containers granted: nothing', () => {
    expect(adaptationFor({ cgroupVersion: '2', unprivileged: undefined }, '/usr/bin/docker', '/bin')).toEqual({ kubeadmConfigPatches: [], kindEnv: undefined, deviations: [] });
  });

  test('cgroup v1: the kubelet patch, and a line in the report', () => {
    const a = adaptationFor({ cgroupVersion: '1', unprivileged: undefined }, '/usr/bin/docker', '/bin');
    expect(a.kubeadmConfigPatches.map((p) => parse(p) as unknown)).toEqual([{ kind: 'KubeletConfiguration', failCgroupV1: false }]);
    expect(a.kindEnv).toBeUndefined();
    expect(a.deviations).toEqual([expect.stringMatching(/cgroup v1.*failCgroupV1: false/)]);
  });

  test('privileged refused: our docker first on kind\'s PATH, told the real one and what to drop; a line naming the capability', () => {
    const a = adaptationFor({ cgroupVersion: '2', unprivileged: { dropCapabilities: ['SYS_RESOURCE', 'BPF'] } }, '/usr/bin/docker', '/usr/bin:/bin');
    expect(a.kubeadmConfigPatches).toEqual([]);
    expect(a.kindEnv).toEqual({ PATH: `${UNPRIVILEGED_DOCKER_DIR}:/usr/bin:/bin`, EGRESS_VERIFY_REAL_DOCKER: '/usr/bin/docker', EGRESS_VERIFY_CAP_DROP: 'SYS_RESOURCE BPF' });
    expect(a.deviations).toEqual(['the Docker engine refuses privileged containers (its capability bounding set lacks SYS_RESOURCE, BPF): '
      + 'the kind node runs with every other capability instead (helpers/cluster/unprivileged-docker), and its containerd keeps pods\' oom_score_adj at 0 or above']);
    expect(adaptationFor({ cgroupVersion: '2', unprivileged: { dropCapabilities: [] } }, 'd', '').deviations[0]).toMatch(/lacks a capability runc asks for\)/);
  });

  test('a published node image on such an engine: a block naming the fix', () => {
    const e = new PrivilegedRefusedError('kindest/node:v1.36.1', ['SYS_RESOURCE', 'BPF']);
    expect([e.name, e.headline]).toEqual(['PrivilegedRefusedError', 'this Docker engine refuses privileged containers']);
    expect(e.problems).toEqual([
      'docker run --privileged kindest/node:v1.36.1 fails: runc cannot grant every capability (the host\'s bounding set lacks SYS_RESOURCE, BPF)',
      'kind\'s published node images need privileged containers. Build the images that do not: npm run images:build -- --kind, then run with IMAGES=local',
    ]);
    expect(new PrivilegedRefusedError('i', []).problems[0]).toMatch(/lacks one\)$/);
  });
});

describe('the kind config with the host\'s changes', () => {
  const base = 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\nnetworking:\n  apiServerAddress: "127.0.0.1"\n';

  test('patches appended, the default CNI left out for a node image with its own; the rest kept', () => {
    const out = parse(kindConfigFor(base, { kubeadmConfigPatches: ['kind: KubeletConfiguration\nfailCgroupV1: false\n'], ownCni: true })) as Record<string, unknown>;
    expect(out).toEqual({
      kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', nodes: [{ role: 'control-plane' }],
      networking: { apiServerAddress: '127.0.0.1', disableDefaultCNI: true },
      kubeadmConfigPatches: ['kind: KubeletConfiguration\nfailCgroupV1: false\n'],
    });
  });

  test('patches already there are kept first; no change asked: the same config', () => {
    const withPatch = `${base}kubeadmConfigPatches:\n  - "kind: ClusterConfiguration"\n`;
    expect((parse(kindConfigFor(withPatch, { kubeadmConfigPatches: ['b'], ownCni: false })) as { kubeadmConfigPatches: string[] }).kubeadmConfigPatches).toEqual(['kind: ClusterConfiguration', 'b']);
    expect(parse(kindConfigFor(base, { kubeadmConfigPatches: [], ownCni: false }))).toEqual(parse(base));
  });
});

describe('the docker kind runs on an engine refusing --privileged (against a STAND-IN docker)', () => {
  const dir = tempFolder('unprivileged-docker');
  const run = async (args: string[], drop = 'SYS_RESOURCE') => {
    const fake = join(dir.path, 'docker');
    await writeFile(fake, '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n');
    await chmod(fake, 0o755);
    const r = await execa(join(UNPRIVILEGED_DOCKER_DIR, 'docker'), args, { env: { EGRESS_VERIFY_REAL_DOCKER: fake, EGRESS_VERIFY_CAP_DROP: drop } });
    return r.stdout.split('\n');
  };

  test('run: --privileged becomes every capability but those to drop, devices and unmasked paths', async () => {
    const out = await run(['run', '--name', 'n', '--privileged', 'img']);
    expect(out.slice(0, 3)).toEqual(['run', '--name', 'n']);
    expect(out).not.toContain('--privileged');
    expect(out).toEqual(expect.arrayContaining(['--cap-add=ALL', '--cap-drop=SYS_RESOURCE', '--security-opt', 'systempaths=unconfined', '--device-cgroup-rule=a *:* rwm']));
    expect(out.at(-1)).toBe('img');
  });

  test('exec: --privileged dropped; other commands untouched', async () => {
    expect(await run(['exec', '--privileged', '-i', 'n', 'ctr', 'version'])).toEqual(['exec', '-i', 'n', 'ctr', 'version']);
    expect(await run(['inspect', '--privileged'])).toEqual(['inspect', '--privileged']);
    expect(await run(['run', '--privileged', 'img'], 'SYS_RESOURCE BPF')).toEqual(expect.arrayContaining(['--cap-drop=SYS_RESOURCE', '--cap-drop=BPF']));
  });
});

describe('measuring the engine (against a STAND-IN docker)', () => {
  // Its answers come from files beside it: cgroup (CgroupVersion), present (the node image is
  // there), refuse (docker run fails with runc's refusal) or fail (fails otherwise).
  const docker = standInCommand('docker', `#!/bin/sh
d="$(dirname "$0")"
echo "$*" >> "$d/calls"
case "$1" in
  info) cat "$d/cgroup" ;;
  image) [ -e "$d/present" ] || { echo "Error: No such image" >&2; exit 1; }; echo sha256:1 ;;
  run) [ -e "$d/refuse" ] && { echo 'docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown' >&2; exit 125; }
       [ -e "$d/fail" ] && { echo 'docker: Error response from daemon: no space left on device' >&2; exit 125; }
       exit 0 ;;
esac
`);
  const set = async (files: Record<string, string | undefined>) => {
    for (const [name, content] of Object.entries(files)) {
      const path = join(docker.dir, name);
      if (content === undefined) await execa('rm', ['-f', path]);
      else await writeFile(path, content);
    }
  };

  test('CgroupVersion: "1" is v1, anything else v2', async () => {
    standInFirst(docker);
    await set({ cgroup: '1\n' });
    expect(await readCgroupVersion()).toBe('1');
    await set({ cgroup: '2\n' });
    expect(await readCgroupVersion()).toBe('2');
  });

  test('privileged: unknown without the image; refused only on runc\'s refusal', async () => {
    standInFirst(docker);
    await set({ present: undefined, refuse: undefined, fail: undefined });
    expect(await privilegedRefused('n:1')).toBeUndefined();
    await set({ present: '' });
    expect(await privilegedRefused('n:1')).toBe(false);
    await set({ fail: '' });
    expect(await privilegedRefused('n:1')).toBe(false);
    await set({ fail: undefined, refuse: '' });
    expect(await privilegedRefused('n:1')).toBe(true);
    // The exact commands: the image's own `true`, no network, removed after.
    const calls = (await readFile(join(docker.dir, 'calls'), 'utf8')).split('\n');
    expect(calls).toContain('image inspect --format {{.Id}} n:1');
    expect(calls).toContain('run --rm --privileged --network none --entrypoint true n:1');
    expect(calls).toContain('info --format {{.CgroupVersion}}');
  });

  test('adaptToHost: refused with a published image stops the run; with the image built here, kind goes through our docker', async () => {
    standInFirst(docker);
    await set({ cgroup: '1\n', present: '', refuse: '', fail: undefined });
    await expect(adaptToHost('kindest/node:v1.36.1', false)).rejects.toBeInstanceOf(PrivilegedRefusedError);
    const a = await adaptToHost('egress-verify/kind-node:v1.36.1', true);
    expect(a.kubeadmConfigPatches).toHaveLength(1);
    expect(a.kindEnv?.PATH?.startsWith(`${UNPRIVILEGED_DOCKER_DIR}:`)).toBe(true);
    expect(a.kindEnv?.EGRESS_VERIFY_REAL_DOCKER).toBe(join(docker.dir, 'docker'));
    expect(a.deviations).toHaveLength(2);
    await set({ cgroup: '2\n', refuse: undefined });
    expect(await adaptToHost('kindest/node:v1.36.1', false)).toEqual({ kubeadmConfigPatches: [], kindEnv: undefined, deviations: [] });
  });
});
