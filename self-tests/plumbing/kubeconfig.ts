/**
 * Kubeconfig files for the tests: one cluster at `server`, one user whose token is no real one,
 * and the contexts named, each on that cluster and user. Reading one (as the context guard does)
 * makes no connection.
 */
import { writeFile } from 'node:fs/promises';

export interface KubeconfigSpec {
  /** Absent: the file has no current context. */
  current?: string;
  contexts: readonly string[];
  /** The API server's address; by default a loopback port where nothing listens. */
  server?: string;
}

/** Writes the kubeconfig to `path`; returns `path`. */
export async function writeKubeconfig(path: string, k: KubeconfigSpec): Promise<string> {
  await writeFile(path, [
    'apiVersion: v1', 'kind: Config', ...(k.current === undefined ? [] : [`current-context: ${k.current}`]),
    'clusters:', '- name: c', `  cluster: { server: "${k.server ?? 'https://127.0.0.1:1'}" }`,
    'users:', '- name: u', '  user: { token: not-a-real-token }',
    'contexts:', ...k.contexts.flatMap((c) => [`- name: ${c}`, '  context: { cluster: c, user: u }']), '',
  ].join('\n'));
  return path;
}
