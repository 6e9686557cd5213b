/**
 * helpers/mesh/istio-install.ts: the istioctl command line (the IstioOperator file, our kubeconfig
 * and context only, the readiness timeout in whole seconds) and the install itself, run against
 * a STAND-IN istioctl script that prints progress as istioctl does and records its arguments.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { install, installArgs, installFailureLines, IstioInstallError, ISTIO_OPERATOR_FILE, UPSTREAM_ENVOY_OPERATOR_FILE } from '../../helpers/mesh/istio-install.ts';
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

  test('Istio\'s images built here: the upstream-Envoy overlay after the operator file, then their hub and tag', () => {
    expect(UPSTREAM_ENVOY_OPERATOR_FILE).toBe(join(ROOT_DIR, 'fixtures/istio-operator.upstream-envoy.yaml'));
    expect(installArgs({ kubeconfigPath: '/k', context: 'c', readinessTimeoutMs: 1000, upstreamEnvoyImages: { hub: 'egress-verify', tag: '1.31.0' } })).toEqual([
      'install', '-y', '-f', ISTIO_OPERATOR_FILE, '-f', UPSTREAM_ENVOY_OPERATOR_FILE, '--set', 'hub=egress-verify', '--set', 'tag=1.31.0',
      '--kubeconfig', '/k', '--context', 'c', '--readiness-timeout', '1s',
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
      const e: unknown = await install(bin, { kubeconfigPath: undefined, context: 'c', readinessTimeoutMs: 1000 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(IstioInstallError);
      expect((e as Error).message).toBe(`istioctl install failed:\n  - Error: failed\n  - operator file: ${ISTIO_OPERATOR_FILE}`);
    } finally {
      delete process.env.FAIL_INSTALL;
    }
  });
});

// istioctl 1.31.0's own output (its banner cut short here), recorded against the local API server
// (self-tests/mesh/istio-install.local-api-server.test.ts runs the real thing).
const BANNER = '        |\\          \n      /||    \\      \n/______||__________\\\n     \\_____/        \n\n';

describe('installFailureLines: what istioctl said went wrong, without its banner and progress', () => {
  test('a refused operator file: the Error line', () => {
    expect(installFailureLines(`${BANNER}Error: generate config: could not unmarshal: json: unknown field "replicaz"\n`))
      .toEqual(['Error: generate config: could not unmarshal: json: unknown field "replicaz"']);
  });

  test('components not ready: each ✘ line with what it was waiting for; the Error summary repeating them is left out', () => {
    const output = `${BANNER}- Processing resources for Istio core.\n✔ Istio core installed ⛵️\n- Processing resources for Istiod.\n`
      + '- Processing resources for Istiod. Waiting for Deployment/istio-system/istiod\n'
      + '✘ Istiod encountered an error: failed to wait for resource: resources not ready after 8s: context deadline exceeded\n  \n'
      + '- Processing resources for Egress gateways.\n✘ Egress gateways encountered an error: boom\n'
      + '  Error: failed to install manifests: 2 errors occurred:\n\t* failed to wait for resource: resources not ready after 8s: context deadline exceeded\n  \n\t* boom\n';
    expect(installFailureLines(output)).toEqual([
      '✘ Istiod encountered an error: failed to wait for resource: resources not ready after 8s: context deadline exceeded (waiting for Deployment/istio-system/istiod)',
      // A later progress line without a wait clears the earlier one.
      '✘ Egress gateways encountered an error: boom',
    ]);
  });

  test('an Error with lines under it keeps them; output with no error line gives none', () => {
    expect(installFailureLines('- Processing\nError: failed to install manifests: 2 errors occurred:\n\t* a\n\n\t* b\n')).toEqual(['Error: failed to install manifests: 2 errors occurred:', '* a', '* b']);
    expect(installFailureLines(`${BANNER}✔ Installation complete\n`)).toEqual([]);
  });
});

describe('install: a failure without an error line, and one where istioctl never ran', () => {
  const dir = tempFolder('istioctl-silent');

  test('exit 3 and silence: the exit code and where the output went', async () => {
    const bin = join(dir.path, 'istioctl');
    await writeFile(bin, '#!/bin/sh\necho "- Processing resources for Istiod."\nexit 3\n', { mode: 0o755 });
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const e: unknown = await install(bin, { kubeconfigPath: undefined, context: 'c', readinessTimeoutMs: 1000 }, '/op.yaml').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(IstioInstallError);
      expect((e as IstioInstallError).problems).toEqual(['exit code 3, no error line (its output is logged above)', 'operator file: /op.yaml']);
    } finally {
      spy.mockRestore();
    }
  });

  test('an istioctl that does not exist: execa\'s own error, not an install failure', async () => {
    const e: unknown = await install(join(dir.path, 'absent'), { kubeconfigPath: undefined, context: 'c', readinessTimeoutMs: 1000 }).catch((x: unknown) => x);
    expect(e).not.toBeInstanceOf(IstioInstallError);
    expect((e as Error).message).toMatch(/ENOENT/);
  });
});
