/**
 * Istio's install with istioctl.
 *
 * Upstream facts (istio/istio 1.30): `istioctl install -y -f FILE --kubeconfig K --context C
 * --readiness-timeout D` (operator/cmd/mesh/install.go; -c/--kubeconfig and --context are root
 * flags). install waits for the components to be ready itself, up to --readiness-timeout.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { FIXTURES_DIR } from '../run/manifests.ts';
import { log } from '../run/progress.ts';

export const ISTIO_NAMESPACE = 'istio-system';
export const ISTIO_OPERATOR_FILE = join(FIXTURES_DIR, 'istio-operator.yaml');

export interface InstallTarget {
  /** Absent: istioctl's default (KUBECONFIG or ~/.kube/config), for CLUSTER=existing. */
  kubeconfigPath: string | undefined;
  context: string;
  readinessTimeoutMs: number;
}

export function installArgs(t: InstallTarget, operatorFile = ISTIO_OPERATOR_FILE): string[] {
  return [
    'install', '-y',
    '-f', operatorFile,
    ...(t.kubeconfigPath ? ['--kubeconfig', t.kubeconfigPath] : []),
    '--context', t.context,
    '--readiness-timeout', `${Math.ceil(t.readinessTimeoutMs / 1000)}s`,
  ];
}

export async function install(istioctl: string, t: InstallTarget, operatorFile?: string): Promise<void> {
  const child = execa(istioctl, installArgs(t, operatorFile), { all: true });
  child.all?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log(`  istioctl: ${line.trim()}`);
  });
  await child;
}
