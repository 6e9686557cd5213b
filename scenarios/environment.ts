/**
 * The environment the chapter runs in, brought up once per run (vitest global setup):
 * prerequisites, cluster, Istio in REGISTRY_ONLY, the external Redis, the images.
 * Everything created is registered for cleanup right after it exists; a failure or Ctrl-C
 * undoes it in reverse order. Nothing is created before every prerequisite is present.
 *
 *   CLUSTER=kind      a kind cluster of its own (kubeconfig under ARTIFACTS_DIR), Istio installed
 *   CLUSTER=existing  the current context of your kubeconfig, only if ALLOW_CONTEXT names it;
 *                     Istio installed only with INSTALL_ISTIO; REGISTRY_ONLY checked either way
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { partitionByPresence, removeNetworkIfUnused } from '../helpers/run/docker.ts';
import { dockerNetworkExists } from '../helpers/cluster/host.ts';
import { Gcloud, Memorystore } from '../helpers/external/gcp.ts';
import { checkMeshConfig, readMeshConfigMap } from '../helpers/mesh/mesh-config.ts';
import { install as installIstio, ISTIO_NAMESPACE, UPSTREAM_ENVOY_TELEMETRY_FILE } from '../helpers/mesh/istio-install.ts';
import { adaptToHost, isPrivilegedRefusal, kindConfigFor, PrivilegedRefusedError } from '../helpers/cluster/kind-node-host.ts';
import { istioImages, LOCAL_IMAGES, localImageDeviations } from '../helpers/run/local-images.ts';
import { KindCluster, kindNetwork, loadFailureWarning, type StartedKindCluster } from '../helpers/cluster/kind.ts';
import { Kube } from '../helpers/cluster/kube.ts';
import { guardExistingContext } from '../helpers/cluster/context-guard.ts';
import { render, ROOT_DIR } from '../helpers/run/manifests.ts';
import { kubeconfigPathFor } from '../helpers/cluster/kind.ts';
import { log, type Timings } from '../helpers/run/progress.ts';
import type { Address } from '../helpers/external/address.ts';
import { RedisStandIn } from '../helpers/external/redis.ts';
import type { Settings } from '../helpers/run/settings.ts';
import { checkPrerequisites, type Tools } from '../helpers/run/tools.ts';
import type { Cleanup } from '../helpers/run/cleanup.ts';
import { disableRyukIfUnavailable } from '../helpers/run/ryuk.ts';
import { findKeptRedis, keepsEverything, readLiveMesh, redisContainerName, warmMeshVerdict } from '../helpers/run/keep-and-reuse.ts';

/** What the test files receive (serializable: it crosses from the main process to workers). */
export interface EnvHandle {
  settings: Settings;
  /** The kind cluster's own kubeconfig; undefined: kubectl's default (CLUSTER=existing). */
  kubeconfigPath: string | undefined;
  context: string;
  /** Where the cluster reaches Redis: REDIS_ADDR of the cart, the ServiceEntry's address. */
  redis: Address;
  /** Where this process reaches Redis directly (container backend); absent for Memorystore. */
  redisFromHost: Address | undefined;
  /** JSON-lines file the test files append step timings to. */
  timingsFile: string;
  /** The Redis stand-in's container name (container backend); undefined for Memorystore. */
  redisContainer?: string | undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    env: EnvHandle;
  }
}

export function kubeFor(env: Pick<EnvHandle, 'kubeconfigPath' | 'context'>): Kube {
  return env.kubeconfigPath ? Kube.fromFile(env.kubeconfigPath, env.context) : Kube.fromDefault(env.context);
}

async function meshConfigCheck(kube: Kube): Promise<void> {
  const check = checkMeshConfig(await readMeshConfigMap(kube));
  if (!check.ok) throw new Error(`the mesh is not blocking outbound traffic: ${check.message}`);
  log(check.message);
}

export async function startEnvironment(s: Settings, timings: Timings, cleanup: Cleanup): Promise<EnvHandle> {
  // 0. An existing cluster: refuse any context but ALLOW_CONTEXT, before any API call.
  const existingContext = s.cluster === 'existing' ? guardExistingContext(s.allowContext) : undefined;

  // 1. Prerequisites: all missing tools reported at once, before anything exists.
  const tools = await timings.phase('prerequisites', () => checkPrerequisites(s));
  for (const t of [tools.kind, tools.istioctl]) {
    if (t) log(`${t.name} ${t.version} (${t.source}: ${t.path})${t.warning ? ` WARNING: ${t.warning}` : ''}`);
  }
  await mkdir(s.artifactsDir, { recursive: true });
  const timingsFile = join(s.artifactsDir, 'timings.steps.jsonl');
  // This run's steps only: the file of an earlier run in the same folder would be summed in again.
  await writeFile(timingsFile, '');

  // Host problems (engine architecture and size, the stand-in's network) already stopped the
  // run in checkPrerequisites, before anything was created; what is left only warns.
  for (const w of tools.hostWarnings) log(`WARNING: ${w}`);
  if (existingContext) return prepareExisting(s, timings, cleanup, tools, existingContext, timingsFile);

  // How this run differs from a laptop run: said now, and again in the report at the end.
  if (s.images === 'local') for (const d of localImageDeviations(s)) timings.deviate(d);
  // The engine under the node (cgroup v1, privileged containers refused): what kind must do for it.
  const ownNodeImage = s.kindNodeImage === LOCAL_IMAGES.kindNode;
  const node = await timings.phase('node host', () => adaptToHost(s.kindNodeImage, ownNodeImage));
  for (const d of node.deviations) timings.deviate(d);
  for (const d of timings.deviations) log(`NOT A LAPTOP RUN: ${d}`);
  const configPath = await kindConfigFile(s, node.kubeadmConfigPatches, ownNodeImage);

  // 2. The cluster, with a kubeconfig of its own under ARTIFACTS_DIR.
  const kind = new KindCluster(tools.kind!.path)
    .withName(s.clusterName)
    .withConfig(configPath)
    .withEnv(node.kindEnv)
    .withNodeImage(s.kindNodeImage)
    .withKubeconfig(kubeconfigPathFor(s))
    .withWait('180s')
    .reuseExisting(s.reuseCluster)
    .keep(keepsEverything(s)); // REUSE_CLUSTER keeps too, even a cluster it had to create
  // kind makes its Docker network on a first create and never removes it: a network this run
  // made goes at the end, after the nodes (cleanup runs in reverse), unless something else uses it.
  const network = kindNetwork();
  if (!keepsEverything(s) && !(await dockerNetworkExists(network))) {
    cleanup.add(`docker network ${network}`, async () => log(await removeNetworkIfUnused(network)));
  }
  // Registered before `kind create` starts (kind has no signal handler): a Ctrl-C during the
  // create ends it and deletes the nodes (whatever KEEP_CLUSTER says: a half-created cluster is
  // of no use); a create refused as "already exist" deletes nothing; a kept one stays.
  const cluster = await timings.phase('cluster', () => kind.start((c) => cleanup.add(`kind cluster ${s.clusterName}`, () => c.stop())))
    .catch((e: unknown) => {
      // An engine refusing privileged containers, seen only now (the node image had to be pulled).
      if (isPrivilegedRefusal(e instanceof Error ? e.message : String(e))) throw new PrivilegedRefusedError(s.kindNodeImage, []);
      throw e;
    });
  try {
    return await prepareKind(s, timings, cleanup, cluster, tools.istioctl!.path, timingsFile);
  } catch (e) {
    const dir = join(s.artifactsDir, 'kind-logs');
    await cluster.exportLogs(dir).then(
      () => log(`setup failed: cluster logs exported to ${dir}`),
      (x: unknown) => log(`setup failed, and kind export logs failed too: ${x instanceof Error ? x.message : String(x)}`),
    );
    throw e;
  }
}

/**
 * The kind config for this run: the project's kind-config.yaml as it is, or, when the host or the
 * node image needs changes (helpers/cluster/kind-node-host.ts), a copy with them under ARTIFACTS_DIR.
 */
async function kindConfigFile(s: Settings, kubeadmConfigPatches: readonly string[], ownCni: boolean): Promise<string> {
  const base = join(ROOT_DIR, 'kind-config.yaml');
  if (kubeadmConfigPatches.length === 0 && !ownCni) return base;
  const path = join(s.artifactsDir, 'kind-config.yaml');
  await writeFile(path, `# kind-config.yaml with this host's changes (egress-verify)\n${kindConfigFor(await readFile(base, 'utf8'), { kubeadmConfigPatches, ownCni })}`);
  log(`kind config with this host's changes: ${path}`);
  return path;
}

/** Removes what the scenario files create: the test namespaces and the gateway policy. */
export async function removeTestObjects(kube: Kube, s: Settings): Promise<void> {
  // The one object outside the test namespaces: the AuthorizationPolicy in istio-system.
  await kube.delete(render('fixtures/egress-gateway-authz.yaml', {}));
  await kube.deleteNamespaces(render('fixtures/namespaces.yaml', {}), s.readyTimeoutMs);
}

/**
 * The test namespaces go at the end even if a worker was killed before its own teardown;
 * when keeping (KEEP_CLUSTER/REUSE_CLUSTER) they stay for inspection, and each scenario file
 * removes the previous state at its start instead (scenarios/fixtures.ts).
 */
function registerNamespaceCleanup(cleanup: Cleanup, kube: Kube, s: Settings): void {
  if (keepsEverything(s)) return;
  cleanup.add('test namespaces and the gateway policy', () => removeTestObjects(kube, s));
}

/** Runs phases that do not depend on each other at once; waits for all before reporting a failure. */
async function overlap(...phases: Promise<unknown>[]): Promise<void> {
  // allSettled: a phase still running must finish (and register its cleanup) before we unwind.
  const failed = (await Promise.allSettled(phases)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function startRedisStandIn(s: Settings, timings: Timings, cleanup: Cleanup): Promise<{ networkAddress: Address; hostAddress: Address }> {
  const name = redisContainerName(s);
  return timings.phase('redis stand-in', async () => {
    // kind's network, or the one KIND_EXPERIMENTAL_DOCKER_NETWORK names (as kind reads it).
    const network = kindNetwork();
    if (s.reuseCluster) {
      const { kept, reason } = await findKeptRedis(name, network);
      if (kept) {
        // Kept by an earlier run: never removed by this one (it is kept again).
        timings.note('redis stand-in', 'reused');
        log(`${reason} at ${kept.networkAddress.host}:${kept.networkAddress.port} on network ${network} (REUSE_CLUSTER)`);
        return kept;
      }
      // Ours (the role label) but unusable, or a leftover: RedisStandIn.start replaces one of
      // this suite whose run has ended (clearLeftover) and refuses anything else by the name.
      log(`no kept Redis stand-in to reuse (${reason}): starting one`);
    }
    const keep = keepsEverything(s);
    // Where testcontainers' reaper image cannot be had, start without it (and say so).
    const ryuk = keep ? undefined : await disableRyukIfUnavailable();
    if (ryuk) log(ryuk);
    // Tracked: a Ctrl-C during the start waits for it, then removes what it made.
    const started = await cleanup.track('redis stand-in start', new RedisStandIn(s.redisImage).onNetwork(network)
      .withName(name).keepAfterExit(keep).start());
    if (!keep) cleanup.add('redis stand-in', () => started.stop());
    log(`Redis stand-in at ${started.networkAddress.host}:${started.networkAddress.port} on network ${network}${keep ? ' (kept at the end)' : ''}`);
    return started;
  });
}

async function prepareKind(
  s: Settings, timings: Timings, cleanup: Cleanup, cluster: StartedKindCluster, istioctl: string, timingsFile: string,
): Promise<EnvHandle> {
  const kube = Kube.fromFile(cluster.kubeconfigPath, cluster.context);
  registerNamespaceCleanup(cleanup, kube, s);

  // 3. Overlapping: Istio install, the Redis stand-in, image loading. None needs the others.
  const istio = timings.phase(`istio ${s.istioVersion}`, async () => {
    if (!cluster.created) {
      // A reused cluster: skip the install when the live mesh already is what it would make.
      const verdict = warmMeshVerdict(await readLiveMesh(kube), s.istioVersion);
      log(verdict.reason);
      if (verdict.skip) {
        timings.note(`istio ${s.istioVersion}`, 'install skipped');
        return;
      }
    }
    const local = s.images === 'local' ? istioImages(LOCAL_IMAGES.istioHub, s.istioVersion) : undefined;
    if (local) {
      // Nothing can pull them: in the node before istioctl creates the pods that run them.
      log(`kind load docker-image ${local.pilot} ${local.proxy}`);
      const { failed } = await cluster.loadImages([local.pilot, local.proxy]);
      if (failed.length > 0) throw new Error(`kind could not load Istio's images built here: ${failed.map((f) => `${f.image}: ${f.reason}`).join('; ')}`);
    }
    await installIstio(istioctl, {
      kubeconfigPath: cluster.kubeconfigPath, context: cluster.context, readinessTimeoutMs: s.readyTimeoutMs,
      upstreamEnvoyImages: local ? { hub: LOCAL_IMAGES.istioHub, tag: s.istioVersion } : undefined,
    });
    if (local) await kube.apply(render(UPSTREAM_ENVOY_TELEMETRY_FILE, {}));
    await kube.waitForDeployment(ISTIO_NAMESPACE, 'istiod', s.readyTimeoutMs);
    await meshConfigCheck(kube);
  });
  const redis = startRedisStandIn(s, timings, cleanup);
  const images = timings.phase('images', async () => {
    if (s.loadImages === 'never') return;
    const { present, absent } = await partitionByPresence([s.cartImage, s.probeImage]);
    if (present.length > 0) log(`kind load docker-image ${present.join(' ')}`);
    if (absent.length > 0) log(`not present locally, the node will pull: ${absent.join(' ')}`);
    // A failed load is a warning: the node pulls the image instead (kind.ts, loadImages).
    const { failed } = await cluster.loadImages(present);
    for (const f of failed) log(loadFailureWarning(f));
  });
  await overlap(istio, redis, images);
  const started = await redis;
  return {
    settings: s,
    kubeconfigPath: cluster.kubeconfigPath,
    context: cluster.context,
    redis: started.networkAddress,
    redisFromHost: started.hostAddress,
    timingsFile,
    redisContainer: redisContainerName(s),
  };
}

async function prepareExisting(
  s: Settings, timings: Timings, cleanup: Cleanup, tools: Tools, context: string, timingsFile: string,
): Promise<EnvHandle> {
  const kube = Kube.fromDefault(context);
  log(`using the existing cluster of context "${context}" (ALLOW_CONTEXT)`);

  let redis: Address;
  let redisFromHost: Address | undefined;
  let redisContainer: string | undefined;
  if (s.redisBackend === 'memorystore') {
    // Preflight (account, project, API) runs before anything is created; see helpers/external/gcp.ts.
    const memorystore = await timings.phase(`memorystore ${s.redisInstance}`, async () => {
      const m = await new Memorystore(s, new Gcloud(tools.gcloud)).start();
      cleanup.add(`memorystore ${s.redisInstance}`, () => m.stop());
      return m;
    });
    redis = memorystore.address;
    log(`Memorystore ${s.redisInstance} at ${redis.host}:${redis.port} (${memorystore.instance.redisVersion}, ${memorystore.createdByThisRun ? 'created by this run, deleted at the end' : 'existing, kept'})`);
  } else {
    // Only an existing *kind* cluster can reach a container on the `kind` Docker network.
    const started = await startRedisStandIn(s, timings, cleanup);
    redis = started.networkAddress;
    redisFromHost = started.hostAddress;
    redisContainer = redisContainerName(s);
  }

  registerNamespaceCleanup(cleanup, kube, s);
  await timings.phase('istio', async () => {
    if (s.installIstio) {
      await installIstio(tools.istioctl!.path, { kubeconfigPath: undefined, context, readinessTimeoutMs: s.readyTimeoutMs });
      await kube.waitForDeployment(ISTIO_NAMESPACE, 'istiod', s.readyTimeoutMs);
    }
    await meshConfigCheck(kube);
  });
  return { settings: s, kubeconfigPath: undefined, context, redis, redisFromHost, timingsFile, redisContainer };
}
