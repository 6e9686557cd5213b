/**
 * The suite changes only a cluster it created, or the one context a user names: the check made
 * before anything touches a kubeconfig it did not write.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UserFacingError } from '../run/user-facing.ts';

export class ContextGuardError extends UserFacingError {
  constructor(message: string, headline = 'Refusing the current kubeconfig context') {
    super(headline, [message], message);
    this.name = 'ContextGuardError';
  }
}

const NO_KUBECONFIG = 'No kubeconfig for CLUSTER=existing';
const USE_KIND = 'or leave CLUSTER unset to let the suite create a kind cluster of its own';

/**
 * The kubeconfig files kubectl would read, as they exist: KUBECONFIG's list (missing entries are
 * skipped, as kubectl skips them), else ~/.kube/config. None at all is the user's mistake, said
 * once, with the file to fix; the client library would instead report a raw ENOENT (KUBECONFIG)
 * or make up a context named "loaded-context" (no file at all).
 */
function kubeconfigFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const list = env.KUBECONFIG?.trim();
  if (list) {
    const files = list.split(delimiter).filter(Boolean);
    const present = files.filter((f) => existsSync(f));
    if (present.length === 0) {
      throw new ContextGuardError(
        `KUBECONFIG=${list}: ${files.length === 1 ? 'no such file' : 'none of these files exists'}; point KUBECONFIG at your cluster's kubeconfig file (kubectl config view shows what it reads), unset it to use ~/.kube/config, ${USE_KIND}`,
        NO_KUBECONFIG,
      );
    }
    return present;
  }
  const home = join(env.HOME || homedir(), '.kube', 'config');
  if (!existsSync(home)) {
    throw new ContextGuardError(
      `KUBECONFIG is not set and ${home} does not exist, so there is no current context to use; set KUBECONFIG to your cluster's kubeconfig file (or create ${home}), ${USE_KIND}`,
      NO_KUBECONFIG,
    );
  }
  return [home];
}

/**
 * The suite changes only a cluster it created, or the one context named in ALLOW_CONTEXT.
 * Reads the kubeconfig (no connection is made) and refuses any other current context.
 */
export function guardExistingContext(
  allowContext: string | undefined,
  kubeconfig?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const files = kubeconfig ? [kubeconfig] : kubeconfigFiles(env);
  const kc = new KubeConfig();
  kc.loadFromFile(files[0]!);
  // kubectl's merge: the first file that sets a current context decides it.
  for (const f of files.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(f);
    kc.mergeConfig(more, Boolean(kc.getCurrentContext()));
  }
  const current = kc.getCurrentContext();
  const where = kubeconfig ?? (env.KUBECONFIG?.trim() || files[0]!);
  if (!current) throw new ContextGuardError(`CLUSTER=existing: ${where} has no current context; select one with kubectl config use-context NAME and set ALLOW_CONTEXT=NAME`);
  if (!allowContext) {
    throw new ContextGuardError(`CLUSTER=existing would change the cluster of your current context "${current}" (${where}); the suite does that only when told: set ALLOW_CONTEXT=${current}`);
  }
  if (current !== allowContext) {
    throw new ContextGuardError(`the current context is "${current}", but ALLOW_CONTEXT=${allowContext}; refusing to touch "${current}". Switch with kubectl config use-context ${allowContext}, or set ALLOW_CONTEXT=${current}`);
  }
  return current;
}
