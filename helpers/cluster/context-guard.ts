/**
 * The suite changes only a cluster it created, or the one context a user names: the check made
 * before anything touches a kubeconfig it did not write.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { UserFacingError } from '../run/user-facing.ts';

export class ContextGuardError extends UserFacingError {
  constructor(message: string) {
    super('Refusing the current kubeconfig context', [message], message);
    this.name = 'ContextGuardError';
  }
}

/**
 * The suite changes only a cluster it created, or the one context named in ALLOW_CONTEXT.
 * Reads the kubeconfig (no connection is made) and refuses any other current context.
 */
export function guardExistingContext(allowContext: string | undefined, kubeconfig?: string): string {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const current = kc.getCurrentContext();
  const where = kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
  if (!current) throw new ContextGuardError(`CLUSTER=existing: ${where} has no current context; select one with kubectl config use-context NAME and set ALLOW_CONTEXT=NAME`);
  if (!allowContext) {
    throw new ContextGuardError(`CLUSTER=existing would change the cluster of your current context "${current}" (${where}); the suite does that only when told: set ALLOW_CONTEXT=${current}`);
  }
  if (current !== allowContext) {
    throw new ContextGuardError(`the current context is "${current}", but ALLOW_CONTEXT=${allowContext}; refusing to touch "${current}". Switch with kubectl config use-context ${allowContext}, or set ALLOW_CONTEXT=${current}`);
  }
  return current;
}
