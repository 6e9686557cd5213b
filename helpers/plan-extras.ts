/**
 * What the plan shows besides the steps: where the tools will come from and which cluster and
 * context the run will use. Computed from settings alone: no command is run, nothing is fetched.
 */
import { join } from 'node:path';
import { pins } from './pins.ts';
import type { Settings } from './settings.ts';
import { cachePath, currentPlatform, releaseAsset } from './tools.ts';

export function kubeconfigPathFor(s: Settings): string {
  return join(s.artifactsDir, 'kubeconfig');
}

export function planExtras(s: Settings): { cluster: string[]; tools: string[] } {
  const platform = currentPlatform();
  const tool = (name: 'kind' | 'istioctl', version: string, setting: string, configured: string | undefined) => {
    if (configured) return `${name} ${version}: ${setting}=${configured}`;
    const asset = releaseAsset(name, version, platform, s.downloadMirror);
    return `${name} ${version}: PATH, else ${cachePath(s.toolsCacheDir, name, version)}, else ${asset.url} (verified against ${asset.checksumUrl.split('/').pop()})`;
  };
  const cluster = s.cluster === 'kind'
    ? [
      `kind cluster "${s.clusterName}" (${s.reuseCluster ? 'reused if it exists, never deleted' : s.keepCluster ? 'created, kept at the end' : 'created, deleted at the end'})`,
      `kubeconfig ${kubeconfigPathFor(s)} (written by kind; your own kubeconfig and current context are not touched)`,
      `context kind-${s.clusterName}`,
    ]
    : [
      `the current context of ${process.env.KUBECONFIG ?? '~/.kube/config'}, only if it is ALLOW_CONTEXT=${s.allowContext ?? '(not set: the run will refuse)'}`,
    ];
  const tools = [
    ...(s.cluster === 'kind' ? [tool('kind', pins.kind, 'KIND_BIN', s.kindBin)] : []),
    tool('istioctl', s.istioVersion, 'ISTIOCTL_BIN', s.istioctlBin),
  ];
  return { cluster, tools };
}
