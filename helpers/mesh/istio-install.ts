/**
 * Istio's install with istioctl.
 *
 * Upstream facts (istio/istio 1.30): `istioctl install -y -f FILE --kubeconfig K --context C
 * --readiness-timeout D` (operator/cmd/mesh/install.go; -c/--kubeconfig and --context are root
 * flags). install waits for the components to be ready itself, up to --readiness-timeout.
 */
import { join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { FIXTURES_DIR } from '../run/manifests.ts';
import { log } from '../run/progress.ts';
import { UserFacingError } from '../run/user-facing.ts';

export const ISTIO_NAMESPACE = 'istio-system';
export const ISTIO_OPERATOR_FILE = join(FIXTURES_DIR, 'istio-operator.yaml');
/** Laid over the operator file for Istio's images built here, whose Envoy is upstream's (helpers/run/local-images.ts). */
export const UPSTREAM_ENVOY_OPERATOR_FILE = join(FIXTURES_DIR, 'istio-operator.upstream-envoy.yaml');
/** Applied once Istio's CRDs exist, for the same images: upstream Envoy has no `istio.stats` filter. */
export const UPSTREAM_ENVOY_TELEMETRY_FILE = 'fixtures/upstream-envoy-telemetry.yaml';

export interface InstallTarget {
  /** Absent: istioctl's default (KUBECONFIG or ~/.kube/config), for CLUSTER=existing. */
  kubeconfigPath: string | undefined;
  context: string;
  readinessTimeoutMs: number;
  /**
   * Istio's images from `<hub>/pilot:<tag>` and `<hub>/proxyv2:<tag>` with upstream Envoy in
   * them: UPSTREAM_ENVOY_OPERATOR_FILE is laid over the operator file. Absent: istioctl's own
   * hub and tag (the published images of its version).
   */
  upstreamEnvoyImages?: { hub: string; tag: string } | undefined;
}

export function installArgs(t: InstallTarget, operatorFile = ISTIO_OPERATOR_FILE): string[] {
  return [
    'install', '-y',
    '-f', operatorFile,
    ...(t.upstreamEnvoyImages
      ? ['-f', UPSTREAM_ENVOY_OPERATOR_FILE, '--set', `hub=${t.upstreamEnvoyImages.hub}`, '--set', `tag=${t.upstreamEnvoyImages.tag}`]
      : []),
    ...(t.kubeconfigPath ? ['--kubeconfig', t.kubeconfigPath] : []),
    '--context', t.context,
    '--readiness-timeout', `${Math.ceil(t.readinessTimeoutMs / 1000)}s`,
  ];
}

/**
 * What istioctl said went wrong, from its whole output: each component's `✘ ... encountered an
 * error` with the resources it was waiting for when it gave up, or else its final `Error:` with
 * the lines under it. Its banner and its progress lines (already logged as they came) are left out.
 */
export function installFailureLines(output: string): string[] {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const failed: string[] = [];
  let waitingFor: string | undefined;
  for (const line of lines) {
    const waiting = /Waiting for (.+)$/.exec(line);
    if (line.startsWith('- ')) waitingFor = waiting?.[1];
    if (line.startsWith('✘')) failed.push(waitingFor ? `${line} (waiting for ${waitingFor})` : line);
  }
  if (failed.length > 0) return failed;
  const error = lines.findIndex((l) => l.startsWith('Error:'));
  return error >= 0 ? lines.slice(error) : [];
}

/** `istioctl install` failed: what it said went wrong, as one block without its banner. */
export class IstioInstallError extends UserFacingError {
  constructor(problems: readonly string[]) {
    super('istioctl install failed', problems);
    this.name = 'IstioInstallError';
  }
}

export async function install(istioctl: string, t: InstallTarget, operatorFile = ISTIO_OPERATOR_FILE): Promise<void> {
  const child = execa(istioctl, installArgs(t, operatorFile), { all: true });
  child.all?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log(`  istioctl: ${line.trim()}`);
  });
  try {
    await child;
  } catch (e) {
    // Not started, or killed: execa's own one-line reason is the whole story.
    if (!(e instanceof ExecaError) || e.exitCode === undefined) throw e;
    const said = installFailureLines(typeof e.all === 'string' ? e.all : '');
    throw new IstioInstallError([
      ...(said.length > 0 ? said : [`exit code ${e.exitCode}, no error line (its output is logged above)`]),
      `operator file: ${operatorFile}`,
    ]);
  }
}
