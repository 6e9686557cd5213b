/**
 * What the plan shows besides the steps: where the tools will come from and which cluster and
 * context the run will use. Computed from settings alone: no command is run, nothing is fetched.
 */
import { partitionByPresence } from '../helpers/run/docker.ts';
import { createArgs, deleteArgs, describeArgs } from '../helpers/external/gcp.ts';
import { HOST_MINIMUM } from '../helpers/cluster/host.ts';
import { KIND_NETWORK, kindNetwork, kubeconfigPathFor } from '../helpers/cluster/kind.ts';
import { cartImageDefault, type Settings } from '../helpers/run/settings.ts';
import { builtToolPath, cachePath, currentPlatform, dockerServerVersion, releaseAsset, type ToolNeed, toolNeeds } from '../helpers/run/tools.ts';

function gcloudPlan(s: Settings): string[] {
  const t = {
    project: s.gcpProject ?? '<gcloud config get-value project>', region: s.gcpRegion, zone: s.gcpZone,
    instance: s.redisInstance, redisVersion: s.memorystoreRedisVersion,
  };
  const cmd = (args: string[]) => `gcloud ${args.join(' ')}`;
  return [
    cmd(['auth', 'list', '--filter=status:ACTIVE', '--format=value(account)']),
    ...(s.gcpProject ? [] : [cmd(['config', 'get-value', 'project'])]),
    cmd(['services', 'list', '--enabled', `--project=${t.project}`, '--filter=config.name=redis.googleapis.com', '--format=value(config.name)']),
    cmd(describeArgs(t)),
    ...(s.memorystoreCreate
      ? [`${cmd(createArgs(t, '<run id>'))}   (only if the instance is missing)`, `${cmd(deleteArgs(t))}   (at the end, only if this run created it)`]
      : ['(the instance must exist: MEMORYSTORE_CREATE is not set; it is never deleted)']),
  ];
}

export function planExtras(s: Settings): { cluster: string[]; tools: string[]; gcloud?: string[] } {
  const platform = currentPlatform();
  const tool = ({ name, version, setting, configured }: ToolNeed) => {
    if (configured) return `${name} ${version}: ${setting}=${configured}`;
    const asset = releaseAsset(name, version, platform, s.downloadMirror);
    // The same order as resolveTool (helpers/run/tools.ts): the built one only with IMAGES=local.
    const built = s.images === 'local' ? `, else ${builtToolPath(name, version)} (npm run tools:build)` : '';
    return `${name} ${version}: PATH, else ${cachePath(s.toolsCacheDir, name, version)}${built}, else ${asset.url} (verified against ${asset.checksumUrl.split('/').pop()})`;
  };
  // kind's node network, read as kind reads it (kind.ts, kindNetwork); the stand-in joins it.
  const network = kindNetwork();
  const networkNote = network !== KIND_NETWORK ? ' (KIND_EXPERIMENTAL_DOCKER_NETWORK)' : '';
  const cluster = s.cluster === 'kind'
    ? [
      `kind cluster "${s.clusterName}" (${s.reuseCluster ? 'reused if it exists, never deleted' : s.keepCluster ? 'created, kept at the end' : 'created, deleted at the end'})`,
      `kubeconfig ${kubeconfigPathFor(s)} (written by kind; your own kubeconfig and current context are not touched)`,
      `context kind-${s.clusterName}`,
      `Docker network "${network}"${networkNote}: kind's nodes and the Redis stand-in ${s.clusterName}-redis`,
      `Docker engine: at least ${HOST_MINIMUM.cpus} CPUs and ${HOST_MINIMUM.memoryGiB} GiB${s.cartImage === cartImageDefault ? ', amd64 (the default CART_IMAGE is amd64-only)' : ''}; checked before anything is created`,
    ]
    : [
      `the current context of ${process.env.KUBECONFIG ?? '~/.kube/config'}, only if it is ALLOW_CONTEXT=${s.allowContext ?? '(not set: the run will refuse)'}`,
      s.installIstio ? `Istio ${s.istioVersion} installed there with istioctl (INSTALL_ISTIO)` : 'Istio must already be installed there; REGISTRY_ONLY is checked, not set',
      `test namespaces egress-verify-mesh and egress-verify-outside, ${s.keepCluster ? 'kept at the end (KEEP_CLUSTER)' : 'deleted at the end'}`,
      ...(s.redisBackend === 'container'
        ? [`Redis stand-in ${s.clusterName}-redis on the Docker network "${network}"${networkNote}, which must exist (the kind cluster's node network)`]
        : []),
    ];
  const tools = [
    ...toolNeeds(s).filter((n) => n.needed).map(tool),
    ...(s.redisBackend === 'memorystore' ? ['gcloud: PATH'] : []),
  ];
  return s.redisBackend === 'memorystore' ? { cluster, tools, gcloud: gcloudPlan(s) } : { cluster, tools };
}

/** Which images the run loads into kind (present locally) and which the node pulls. Read-only. */
export async function imagePlan(s: Settings): Promise<string[]> {
  const images = [s.cartImage, s.probeImage];
  if (s.cluster !== 'kind') return images.map((i) => `${i}: pulled by the cluster`);
  if (s.loadImages === 'never') return images.map((i) => `${i}: pulled by the kind node (LOAD_IMAGES=never)`);
  const engine = await dockerServerVersion().then(() => true, () => false);
  if (!engine) return images.map((i) => `${i}: kind load if present locally, else pulled by the node (no Docker engine answers now to tell which)`);
  const { present } = await partitionByPresence(images);
  return images.map((i) => `${i}: ${present.includes(i) ? 'present locally: kind load docker-image' : 'not present locally: pulled by the kind node'}`);
}
