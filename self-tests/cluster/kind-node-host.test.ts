/**
 * helpers/cluster/kind-node-host.ts: what the run changes for the engine under the kind node
 * (cgroup v1, privileged containers refused), the kind config it writes, and the `docker` kind
 * runs in front of an engine refusing --privileged (run here against a STAND-IN docker that
 * prints the arguments it was given).
 */
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import {
  adaptationFor, CAPABILITIES, isPrivilegedRefusal, kindConfigFor, missingCapabilities, PrivilegedRefusedError, UNPRIVILEGED_DOCKER_DIR,
} from '../../helpers/cluster/kind-node-host.ts';
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
    const a = adaptationFor({ cgroupVersion: '2', unprivileged: { dropCapabilities: ['SYS_RESOURCE'] } }, '/usr/bin/docker', '/usr/bin:/bin');
    expect(a.kubeadmConfigPatches).toEqual([]);
    expect(a.kindEnv).toEqual({ PATH: `${UNPRIVILEGED_DOCKER_DIR}:/usr/bin:/bin`, EGRESS_VERIFY_REAL_DOCKER: '/usr/bin/docker', EGRESS_VERIFY_CAP_DROP: 'SYS_RESOURCE' });
    expect(a.deviations).toEqual([expect.stringMatching(/refuses privileged containers \(its capability bounding set lacks SYS_RESOURCE\)/)]);
  });

  test('a published node image on such an engine: a block naming the fix', () => {
    const e = new PrivilegedRefusedError('kindest/node:v1.36.1', ['SYS_RESOURCE']);
    expect(e.problems).toEqual([expect.stringContaining('lacks SYS_RESOURCE'), expect.stringContaining('npm run images:build -- --kind, then run with IMAGES=local')]);
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
