/**
 * The environment the chapter runs in, brought up once per run (vitest global setup):
 * prerequisites, cluster, Istio in REGISTRY_ONLY, the external Redis, the images.
 * Everything created is registered for cleanup right after it exists; a failure or Ctrl-C
 * undoes it in reverse order. Nothing is created before every prerequisite is present.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { partitionByPresence } from '../helpers/docker.ts';
import { checkMeshConfig, install as installIstio, ISTIO_NAMESPACE } from '../helpers/istio.ts';
import { KindCluster, type StartedKindCluster } from '../helpers/kind.ts';
import { isNotFound, Kube } from '../helpers/kube.ts';
import { ROOT_DIR } from '../helpers/manifests.ts';
import { kubeconfigPathFor } from '../helpers/plan-extras.ts';
import { log, type Timings } from '../helpers/progress.ts';
import { type Address, RedisStandIn } from '../helpers/redis.ts';
import type { Settings } from '../helpers/settings.ts';
import { checkPrerequisites } from '../helpers/tools.ts';
import type { Cleanup } from '../helpers/cleanup.ts';

/** What the test files receive (serializable: it crosses from the main process to workers). */
export interface EnvHandle {
  settings: Settings;
  kubeconfigPath: string;
  context: string;
  /** Where the cluster reaches Redis: REDIS_ADDR of the cart, the ServiceEntry's address. */
  redis: Address;
  /** Where this process reaches Redis directly (container backend); absent for Memorystore. */
  redisFromHost: Address | undefined;
  /** JSON-lines file the test files append step timings to. */
  timingsFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    env: EnvHandle;
  }
}

async function meshConfigCheck(kube: Kube): Promise<void> {
  let cm;
  try {
    cm = await kube.core.readNamespacedConfigMap({ name: 'istio', namespace: ISTIO_NAMESPACE });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const check = checkMeshConfig(cm);
  if (!check.ok) throw new Error(`the mesh is not blocking outbound traffic: ${check.message}`);
  log(check.message);
}

export async function startEnvironment(s: Settings, timings: Timings, cleanup: Cleanup): Promise<EnvHandle> {
  // 1. Prerequisites: all missing tools reported at once, before anything exists.
  const tools = await timings.phase('prerequisites', () => checkPrerequisites(s));
  for (const t of [tools.kind, tools.istioctl]) {
    if (t) log(`${t.name} ${t.version} (${t.source}: ${t.path})${t.warning ? ` WARNING: ${t.warning}` : ''}`);
  }
  if (s.cluster !== 'kind' || !tools.kind) {
    throw new Error('CLUSTER=existing is not supported by this build yet; use CLUSTER=kind');
  }
  await mkdir(s.artifactsDir, { recursive: true });
  const timingsFile = join(s.artifactsDir, 'timings.steps.jsonl');

  // 2. The cluster, with a kubeconfig of its own under ARTIFACTS_DIR.
  const kind = new KindCluster(tools.kind.path)
    .withName(s.clusterName)
    .withConfig(join(ROOT_DIR, 'kind-config.yaml'))
    .withNodeImage(s.kindNodeImage)
    .withKubeconfig(kubeconfigPathFor(s))
    .withWait('180s')
    .reuseExisting(s.reuseCluster)
    .keep(s.keepCluster);
  // A failed create removes its own nodes (KindCluster.start), so only a started one is registered.
  const cluster = await timings.phase('cluster', () => kind.start());
  cleanup.add(`kind cluster ${s.clusterName}`, () => cluster.stop());
  try {
    return await prepareCluster(s, timings, cleanup, cluster, tools.istioctl.path, timingsFile);
  } catch (e) {
    const dir = join(s.artifactsDir, 'kind-logs');
    await cluster.exportLogs(dir).then(
      () => log(`setup failed: cluster logs exported to ${dir}`),
      (x: unknown) => log(`setup failed, and kind export logs failed too: ${x instanceof Error ? x.message : String(x)}`),
    );
    throw e;
  }
}

async function prepareCluster(
  s: Settings, timings: Timings, cleanup: Cleanup, cluster: StartedKindCluster, istioctl: string, timingsFile: string,
): Promise<EnvHandle> {
  const kube = Kube.fromFile(cluster.kubeconfigPath, cluster.context);

  // 3. Overlapping: Istio install, the Redis stand-in, image loading. None needs the others.
  const istio = timings.phase(`istio ${s.istioVersion}`, async () => {
    await installIstio(istioctl, {
      kubeconfigPath: cluster.kubeconfigPath, context: cluster.context, readinessTimeoutMs: s.readyTimeoutMs,
    });
    await kube.waitForDeployment(ISTIO_NAMESPACE, 'istiod', s.readyTimeoutMs);
    await meshConfigCheck(kube);
  });
  const redis = timings.phase('redis stand-in', async () => {
    const started = await new RedisStandIn(s.redisImage).onNetwork(cluster.network)
      .withName(`${s.clusterName}-redis`).start();
    cleanup.add('redis stand-in', () => started.stop());
    log(`Redis stand-in at ${started.networkAddress.host}:${started.networkAddress.port} on network ${cluster.network}`);
    return started;
  });
  const images = timings.phase('images', async () => {
    if (s.loadImages === 'never') return;
    const { present, absent } = await partitionByPresence([s.cartImage, s.probeImage]);
    if (present.length > 0) log(`kind load docker-image ${present.join(' ')}`);
    if (absent.length > 0) log(`not present locally, the node will pull: ${absent.join(' ')}`);
    await cluster.loadImages(present);
  });
  // allSettled: a phase still running must finish (and register its cleanup) before we unwind.
  const results = await Promise.allSettled([istio, redis, images]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const started = await redis;

  return {
    settings: s,
    kubeconfigPath: cluster.kubeconfigPath,
    context: cluster.context,
    redis: started.networkAddress,
    redisFromHost: started.hostAddress,
    timingsFile,
  };
}
