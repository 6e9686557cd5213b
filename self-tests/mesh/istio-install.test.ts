/**
 * helpers/mesh/istio-install.ts: the istioctl command line (the IstioOperator file, our kubeconfig
 * and context only, the readiness timeout in whole seconds) and the install itself, run against
 * a STAND-IN istioctl script that prints progress as istioctl does and records its arguments.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { install, installArgs, ISTIO_OPERATOR_FILE } from '../../helpers/mesh/istio-install.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

describe('istioctl install arguments: kubeconfig only when given, timeout rounded up to seconds', () => {
  test('install from the IstioOperator file, into our kubeconfig and context only', () => {
    expect(ISTIO_OPERATOR_FILE).toBe(join(ROOT_DIR, 'fixtures/istio-operator.yaml'));
    expect(installArgs({ kubeconfigPath: '/tmp/run/kubeconfig', context: 'kind-ci-7', readinessTimeoutMs: 300_000 })).toEqual([
      'install', '-y', '-f', ISTIO_OPERATOR_FILE,
      '--kubeconfig', '/tmp/run/kubeconfig', '--context', 'kind-ci-7', '--readiness-timeout', '300s',
    ]);
  });

  test('without a kubeconfig (CLUSTER=existing) there is no --kubeconfig flag', () => {
    expect(installArgs({ kubeconfigPath: undefined, context: 'gke_p_r_c', readinessTimeoutMs: 90_500 })).toEqual([
      'install', '-y', '-f', ISTIO_OPERATOR_FILE, '--context', 'gke_p_r_c', '--readiness-timeout', '91s',
    ]);
    expect(installArgs({ kubeconfigPath: '', context: 'c', readinessTimeoutMs: 1000 }, '/x.yaml')).toEqual([
      'install', '-y', '-f', '/x.yaml', '--context', 'c', '--readiness-timeout', '1s',
    ]);
  });
});

describe('istioctl install (a STAND-IN istioctl script that prints progress like istioctl and records its arguments)', () => {
  const dir = tempFolder('istioctl');

  test('runs with the install arguments; its output lines are logged trimmed, blank ones dropped; a failure is thrown', async () => {
    const bin = join(dir.path, 'istioctl');
    await writeFile(bin, '#!/bin/sh\necho "$*" > "$(dirname "$0")/args"\nprintf \'  ✔ Istio core installed  \\n\\n   \\n✔ Installation complete\\n\'\n[ "$FAIL_INSTALL" = 1 ] && { echo "Error: failed" >&2; exit 1; }\nexit 0\n', { mode: 0o755 });
    const logged: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { logged.push(String(chunk)); return true; });
    try {
      await install(bin, { kubeconfigPath: '/k', context: 'kind-x', readinessTimeoutMs: 60_000 }, '/op.yaml');
    } finally {
      spy.mockRestore();
    }
    expect(await readFile(join(dir.path, 'args'), 'utf8')).toBe('install -y -f /op.yaml --kubeconfig /k --context kind-x --readiness-timeout 60s\n');
    expect(logged.map((l) => l.replace(/^\[egress-verify [0-9:]+\] /, '').trimEnd())).toEqual(['  istioctl: ✔ Istio core installed', '  istioctl: ✔ Installation complete']);
    process.env.FAIL_INSTALL = '1';
    try {
      await expect(install(bin, { kubeconfigPath: undefined, context: 'c', readinessTimeoutMs: 1000 })).rejects.toThrow(/Error: failed/);
    } finally {
      delete process.env.FAIL_INSTALL;
    }
  });
});
