/**
 * Istio's control plane, istiod (`pilot-discovery discovery`), as a local process against a
 * LocalControlPlane's API server: pods in a namespace labelled istio-injection=enabled are
 * injected by Istio's real sidecar injector, and networking.istio.io objects go through Istio's
 * real validation webhook.
 *
 *   const cp = await new LocalControlPlane().start();
 *   await cp.installCrds(istioCrds);               // istiod watches them; validation needs them
 *   const istiod = await new LocalIstiod(cp).start();
 *   ...
 *   await istiod.stop();
 *   await cp.stop();
 *
 * What it takes from `istioctl manifest generate -f fixtures/istio-operator.yaml` (the suite's own
 * install, rendered offline) and puts into the API server, as `istioctl install` would:
 * - namespace istio-system;
 * - ConfigMap `istio` (the mesh config: REGISTRY_ONLY, as the chapter needs; refused otherwise)
 *   and ConfigMap `istio-sidecar-injector` (keys `config` and `values`, the injection template);
 * - MutatingWebhookConfiguration `istio-sidecar-injector` and ValidatingWebhookConfiguration
 *   `istio-validator-istio-system`, each webhook's `clientConfig.service` (istiod's Service, which
 *   the API server cannot reach here: no kube-proxy, no pod network) replaced by
 *   `url: https://127.0.0.1:<httpsPort>/inject` or `/validate`;
 * - `istiod-default-validator`: the default revision tag's validating webhook, which `istioctl
 *   install` adds after the manifest (istio/istio manifests/charts/default): the manifest's own
 *   validator only sees objects labelled istio.io/rev=default; this one, named
 *   validation.istio.io, sees the unlabelled ones (the chapter's).
 *
 * How istiod finds and patches them (istio/istio pilot/pkg/bootstrap, at the built tag):
 * - the mesh config: `--meshConfig` defaults to ./etc/istio/config/mesh; when that file does not
 *   exist, the ConfigMap `istio` (`istio-<REVISION>` for another revision) in POD_NAMESPACE
 *   (mesh.go). The injection template: ./var/lib/istio/inject/{config,values} if present, else
 *   the ConfigMap `istio-sidecar-injector` (sidecarinjector.go). Both defaults are relative to the
 *   working directory: istiod runs in an empty temp folder, so it reads the ConfigMaps. The same
 *   goes for its other in-pod paths (./etc/cacerts, ./var/run/secrets/...): none exists, so it
 *   makes its own CA into Secret istio-system/istio-ca-secret and signs its serving certificate
 *   for the names in getDNSNames, ISTIOD_CUSTOM_HOST among them (an IP there becomes an IP SAN).
 * - the caBundle: istiod writes its CA into every MutatingWebhookConfiguration labelled
 *   istio.io/rev=<REVISION>, in the webhooks whose name ends in sidecar-injector.istio.io
 *   (pkg/webhooks/webhookpatch.go), and into every ValidatingWebhookConfiguration with that label
 *   (pkg/webhooks/validation/controller); the latter also switches failurePolicy from Ignore to
 *   Fail once a dry-run create of an invalid Gateway was denied through the webhook. start()
 *   waits for both: when it returns, the API server has called istiod's webhook successfully.
 *
 * Ports: every listener istiod opens gets a free port on 127.0.0.1 (gRPC xDS, secure gRPC, HTTP
 * with /ready and /debug, HTTPS webhooks, monitoring, ControlZ); nothing listens on a fixed port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { checkMeshConfig } from '../../helpers/mesh/mesh-config.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pollTimed, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { freePort } from './local-control-plane.ts';
import { LOCAL_ISTIO_VERSION } from '../../helpers/run/local-images.ts';

/** The Istio built from istio.io/istio for the local control plane (`.tools/istio/<version>/bin`). */
export { LOCAL_ISTIO_VERSION };
export const ISTIOD_NAMESPACE = 'istio-system';
export const ISTIOD_REVISION = 'default';
export const ISTIOD_BINARIES = ['istioctl', 'pilot-discovery'] as const;
/** The names in the generated manifest this module takes (see the file's comment). */
export const INJECTOR_WEBHOOK = 'istio-sidecar-injector';
export const REVISION_VALIDATOR = 'istio-validator-istio-system';
export const DEFAULT_VALIDATOR = 'istiod-default-validator';

export function istioBinDir(version = LOCAL_ISTIO_VERSION): string {
  return join(ROOT_DIR, '.tools', 'istio', version, 'bin');
}

/** undefined when istioctl and pilot-discovery are there; otherwise what is missing. */
export function missingIstioBinaries(binDir = istioBinDir()): string | undefined {
  const missing = ISTIOD_BINARIES.filter((n) => !existsSync(join(binDir, n)));
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} not built in ${binDir}: build Istio ${LOCAL_ISTIO_VERSION} (istioctl, pilot-discovery) from istio.io/istio`;
}

/** What istiod needs of the control plane: an admin kubeconfig and requests as the admin (StartedControlPlane has both). */
export interface ApiServerAccess {
  readonly kubeconfigPath: string;
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: string }>;
}

export interface IstiodPorts {
  /** Plain-text xDS (--grpcAddr; 15010 in a cluster). */
  grpc: number;
  /** mTLS xDS and the CA (--secureGRPCAddr; 15012). */
  secureGrpc: number;
  /** /ready and /debug/* (--httpAddr; 8080). */
  http: number;
  /** The webhooks, /inject and /validate (--httpsAddr; 15017). */
  https: number;
  /** /metrics (--monitoringAddr; 15014). */
  monitoring: number;
  /** ControlZ (--ctrlz_port; 9876). */
  ctrlz: number;
}

type Json = Record<string, unknown>;

interface WebhookEntry {
  name: string;
  clientConfig: { url?: string; caBundle?: string; service?: { path?: string } };
  failurePolicy?: string;
  objectSelector?: unknown;
  [field: string]: unknown;
}

interface WebhookConfiguration {
  apiVersion: string;
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  metadata: { name: string; labels?: Record<string, string>; [k: string]: unknown };
  webhooks: WebhookEntry[];
}

interface ConfigMapObject {
  apiVersion: string;
  kind: 'ConfigMap';
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  data?: Record<string, string>;
}

/** What istiod gets from the rendered install: the two ConfigMaps and the webhook configurations. */
export interface IstiodInstall {
  meshConfigMap: ConfigMapObject;
  injectorConfigMap: ConfigMapObject;
  webhooks: WebhookConfiguration[];
}

const FIELD_MANAGER = 'egress-verify-local-istiod';
/** From nothing to istiod ready with its webhooks patched. */
const START_TIMEOUT_MS = 90_000;

/**
 * Picks what istiod needs out of `istioctl manifest generate` output and points the webhooks at
 * `https://127.0.0.1:<httpsPort>`. Throws when something expected is missing, or when the mesh
 * config is not REGISTRY_ONLY.
 */
export function istiodInstall(manifest: string, httpsPort: number): IstiodInstall {
  const docs = parseAllDocuments(manifest).map((d) => d.toJS() as Json | null).filter((d): d is Json => d !== null && typeof d === 'object');
  const find = (kind: string, name: string): Json => {
    const found = docs.find((d) => d.kind === kind && (d.metadata as { name?: string } | undefined)?.name === name);
    if (!found) throw new Error(`the generated Istio manifest has no ${kind} ${name}`);
    return found;
  };
  const meshConfigMap = find('ConfigMap', 'istio') as unknown as ConfigMapObject;
  const mesh = checkMeshConfig(meshConfigMap);
  if (!mesh.ok) throw new Error(`the generated Istio manifest: ${mesh.message}`);
  const injectorConfigMap = find('ConfigMap', 'istio-sidecar-injector') as unknown as ConfigMapObject;
  for (const key of ['config', 'values']) {
    if (typeof injectorConfigMap.data?.[key] !== 'string') throw new Error(`the generated ConfigMap istio-sidecar-injector has no "${key}" key`);
  }
  const local = (config: WebhookConfiguration): WebhookConfiguration => ({
    ...config,
    webhooks: config.webhooks.map((w) => {
      const path = w.clientConfig.service?.path ?? '';
      if (!path) throw new Error(`webhook ${w.name} of ${config.kind} ${config.metadata.name} has no service path`);
      return { ...w, clientConfig: { url: `https://127.0.0.1:${httpsPort}${path}` } };
    }),
  });
  const injector = local(structuredClone(find('MutatingWebhookConfiguration', INJECTOR_WEBHOOK)) as unknown as WebhookConfiguration);
  const validator = local(structuredClone(find('ValidatingWebhookConfiguration', REVISION_VALIDATOR)) as unknown as WebhookConfiguration);
  for (const c of [injector, validator]) {
    if (c.metadata.labels?.['istio.io/rev'] !== ISTIOD_REVISION) throw new Error(`${c.kind} ${c.metadata.name} is not labelled istio.io/rev=${ISTIOD_REVISION}: istiod would not patch it`);
  }
  const [revisionWebhook] = validator.webhooks;
  if (!revisionWebhook || validator.webhooks.length !== 1) throw new Error(`${REVISION_VALIDATOR} should have exactly one webhook, has ${validator.webhooks.length}`);
  const defaultValidator: WebhookConfiguration = {
    apiVersion: validator.apiVersion,
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: DEFAULT_VALIDATOR, labels: { ...validator.metadata.labels, 'istio.io/tag': 'default' } },
    webhooks: [{
      ...structuredClone(revisionWebhook),
      name: 'validation.istio.io',
      objectSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'DoesNotExist' }] },
    }],
  };
  return { meshConfigMap, injectorConfigMap, webhooks: [injector, validator, defaultValidator] };
}

export class LocalIstiod {
  readonly #api: ApiServerAccess;
  readonly #binDir = istioBinDir();
  readonly #operatorFile = join(ROOT_DIR, 'fixtures', 'istio-operator.yaml');
  #xdsHost = '127.0.0.1';

  constructor(api: ApiServerAccess) {
    this.#api = api;
  }

  /**
   * Where the two xDS ports (plain and secure, the latter also the CA) listen: 127.0.0.1 unless a
   * proxy in another network namespace must reach them (then e.g. 0.0.0.0). The other ports stay
   * on 127.0.0.1.
   */
  withXdsListenHost(host: string): this {
    this.#xdsHost = host;
    return this;
  }

  async start(): Promise<StartedIstiod> {
    const missing = missingIstioBinaries(this.#binDir);
    if (missing) throw new Error(missing);
    const started = performance.now();
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-istiod-'));
    const istiod = new StartedIstiod(dir, this.#binDir, this.#api, this.#xdsHost);
    try {
      await istiod.boot(this.#operatorFile, START_TIMEOUT_MS);
    } catch (e) {
      const tail = await istiod.logTail();
      await istiod.stop();
      throw new Error(`istiod did not start: ${(e as Error).message}\n--- pilot-discovery (${istiod.logPath}):\n${tail}`, { cause: e });
    }
    istiod.startedInMs = performance.now() - started;
    return istiod;
  }
}

export class StartedIstiod {
  readonly dir: string;
  readonly binDir: string;
  readonly logPath: string;
  ports: IstiodPorts = { grpc: 0, secureGrpc: 0, http: 0, https: 0, monitoring: 0, ctrlz: 0 };
  /** The flags and environment pilot-discovery was started with (beyond PATH and HOME). */
  args: string[] = [];
  env: Record<string, string> = {};
  /** From nothing to istiod ready with its webhooks patched. */
  startedInMs = 0;
  /** From the spawn of pilot-discovery to its /ready answering 200. */
  readyInMs = 0;
  /** From /ready to every webhook configuration carrying istiod's CA (and validation set to Fail). */
  webhooksPatchedInMs = 0;
  readonly #api: ApiServerAccess;
  readonly #xdsHost: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #webhookNames: { kind: string; name: string }[] = [];
  #stopped = false;

  constructor(dir: string, binDir: string, api: ApiServerAccess, xdsHost = '127.0.0.1') {
    this.#xdsHost = xdsHost;
    this.dir = dir;
    this.binDir = binDir;
    this.logPath = join(dir, 'pilot-discovery.log');
    this.#api = api;
  }

  /** http://127.0.0.1:<port>: /ready, /debug/* */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  async boot(operatorFile: string, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const left = () => Math.max(1_000, Math.round(deadline - performance.now()));
    const generated = await execa(join(this.binDir, 'istioctl'), ['manifest', 'generate', '-f', operatorFile], { cwd: this.dir, reject: false, timeout: left() });
    if (generated.exitCode !== 0) throw new Error(`istioctl manifest generate failed: ${(generated.stderr || generated.stdout).trim().split('\n').slice(-3).join(' ')}`);
    this.ports = {
      grpc: await freePort(), secureGrpc: await freePort(), http: await freePort(),
      https: await freePort(), monitoring: await freePort(), ctrlz: await freePort(),
    };
    const install = istiodInstall(generated.stdout, this.ports.https);
    await this.#apply('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ISTIOD_NAMESPACE } });
    for (const cm of [install.meshConfigMap, install.injectorConfigMap]) {
      await this.#apply(`/api/v1/namespaces/${ISTIOD_NAMESPACE}/configmaps`, { ...cm, metadata: { ...cm.metadata, namespace: ISTIOD_NAMESPACE } });
    }
    for (const w of install.webhooks) {
      const plural = w.kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
      this.#webhookNames.push({ kind: plural, name: w.metadata.name });
      await this.#apply(`/apis/admissionregistration.k8s.io/v1/${plural}`, w);
    }

    const a = (p: number) => `127.0.0.1:${p}`;
    this.args = [
      'discovery',
      `--kubeconfig=${this.#api.kubeconfigPath}`,
      `--grpcAddr=${this.#xdsHost}:${this.ports.grpc}`, `--secureGRPCAddr=${this.#xdsHost}:${this.ports.secureGrpc}`,
      `--httpAddr=${a(this.ports.http)}`, `--httpsAddr=${a(this.ports.https)}`,
      `--monitoringAddr=${a(this.ports.monitoring)}`,
      '--ctrlz_address=127.0.0.1', `--ctrlz_port=${this.ports.ctrlz}`,
      '--domain=cluster.local', '--log_output_level=default:info',
      // A test's istiod has no connections to drain on the way out.
      '--shutdownDuration=1s',
    ];
    this.env = {
      POD_NAMESPACE: ISTIOD_NAMESPACE, POD_NAME: 'istiod-local', REVISION: ISTIOD_REVISION, CLUSTER_ID: 'Kubernetes',
      // As the chart's Deployment sets them (istio-discovery deployment.yaml).
      PILOT_CERT_PROVIDER: 'istiod', PILOT_ENABLE_ANALYSIS: 'false',
      // Its serving certificate names 127.0.0.1 (an IP SAN), the address in the webhooks' URLs.
      ISTIOD_CUSTOM_HOST: '127.0.0.1',
      // Config an upstream Envoy (no Istio filters) can load, should a proxy ever connect.
      PILOT_ENABLE_METADATA_EXCHANGE: 'false', PILOT_ENABLE_ALPN_FILTER: 'false',
    };
    const out = createWriteStream(this.logPath);
    const spawnedAt = performance.now();
    // A clean environment: no KUBECONFIG, no ISTIO_* or PILOT_* of the caller's shell, HOME in the temp folder.
    const child = spawn(join(this.binDir, 'pilot-discovery'), this.args, {
      cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, ...this.env },
    });
    this.#child = child;
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    this.#exited = new Promise<void>((ok) => {
      child.once('exit', () => ok());
      child.once('error', () => ok());
    });

    await pollTimed('istiod /ready', left(), async () => {
      this.#alive();
      const r = await this.get('/ready').catch((e: Error) => ({ status: 0, body: e.message }));
      if (r.status !== 200) throw new RetryableError(`HTTP ${r.status}: ${r.body.trim().slice(0, 200)}`);
      return true;
    }, String, { intervalMs: 200 });
    this.readyInMs = performance.now() - spawnedAt;
    const patchedFrom = performance.now();
    await pollTimed('istiod\'s CA in every webhook configuration, and validation switched to Fail', left(), async () => {
      this.#alive();
      const secret = await this.#getJson(`/api/v1/namespaces/${ISTIOD_NAMESPACE}/secrets/istio-ca-secret`);
      const ca = (secret?.data as Record<string, string> | undefined)?.['ca-cert.pem'];
      if (!ca) throw new RetryableError('no Secret istio-system/istio-ca-secret with ca-cert.pem yet');
      for (const { kind, name } of this.#webhookNames) {
        const config = await this.#getJson(`/apis/admissionregistration.k8s.io/v1/${kind}/${name}`) as WebhookConfiguration | undefined;
        if (!config) throw new Error(`${kind} ${name} is gone`);
        const stale = config.webhooks.filter((w) => w.clientConfig.caBundle !== ca);
        if (stale.length > 0) throw new RetryableError(`${name}: no CA of istiod yet in ${stale.map((w) => w.name).join(', ')}`);
        const ignoring = config.webhooks.filter((w) => w.failurePolicy !== 'Fail');
        if (ignoring.length > 0) throw new RetryableError(`${name}: failurePolicy still ${ignoring.map((w) => `${w.name}=${w.failurePolicy}`).join(', ')}`);
      }
      return true;
    }, String, { intervalMs: 200 });
    this.webhooksPatchedInMs = performance.now() - patchedFrom;
  }

  /** Server-side apply (create or update) of one object under `collection`. */
  async #apply<T extends { metadata: { name: string } }>(collection: string, object: T): Promise<void> {
    const path = `${collection}/${object.metadata.name}?fieldManager=${FIELD_MANAGER}&force=true`;
    const r = await this.#api.request('PATCH', path, object, 'application/apply-patch+yaml');
    if (r.status !== 200 && r.status !== 201) throw new Error(`applying ${collection}/${object.metadata.name}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  }

  async #getJson(path: string): Promise<Json | undefined> {
    const r = await this.#api.request('GET', path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new RetryableError(`GET ${path}: HTTP ${r.status}`);
    return JSON.parse(r.body) as Json;
  }

  /** Fails a wait at once when pilot-discovery has exited. */
  #alive(): void {
    const c = this.#child;
    if (c && (c.exitCode !== null || c.signalCode !== null)) throw new Error(`pilot-discovery exited (${c.exitCode ?? c.signalCode}); its log: ${this.logPath}`);
  }

  /** One plain HTTP GET on istiod's HTTP port (/ready, /debug/registryz, /debug/configz, /debug/mesh, ...). */
  get(path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
    return new Promise((ok, fail) => {
      const req = http.get(new URL(path, this.httpUrl), { timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', fail);
    });
  }

  /** The last lines of istiod's log, for a failure's message. */
  async logTail(lines = 25): Promise<string> {
    const text = await readFile(this.logPath, 'utf8').catch(() => '');
    return text.trim().split('\n').slice(-lines).join('\n');
  }

  /**
   * Removes the webhook configurations (an API server that lives on must not call a dead istiod
   * with failurePolicy Fail), stops pilot-discovery (SIGTERM, SIGKILL after 10 s) and removes the
   * folder. Safe to call twice, and after the API server is gone.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const { kind, name } of this.#webhookNames) {
      await this.#api.request('DELETE', `/apis/admissionregistration.k8s.io/v1/${kind}/${name}`).catch(() => undefined);
    }
    const c = this.#child;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const gone = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((ok) => {
        const t = setTimeout(() => ok(false), 10_000);
        t.unref();
      })]);
      if (!gone) {
        c.kill('SIGKILL');
        await this.#exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** One line for a report: where istiod listens and how long it took. */
  describe(): string {
    return `istiod ${LOCAL_ISTIO_VERSION} (pilot-discovery, pid ${this.#child?.pid}) on 127.0.0.1 (http ${this.ports.http}, webhooks ${this.ports.https}, xDS ${this.ports.grpc}), `
      + `ready in ${formatDuration(this.readyInMs)}, webhooks patched ${formatDuration(this.webhooksPatchedInMs)} later, ${formatDuration(this.startedInMs)} in all`;
  }
}
