/**
 * A real Kubernetes control plane as local processes on loopback, for the self-tests: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes whose pods become
 * Running and Ready with an IP), all built from their Go modules (`npm run tools:build`).
 *
 *   const cp = await new LocalControlPlane().withNodes(1).start();
 *   const kube = Kube.fromFile(cp.kubeconfigPath, cp.context);
 *   ...
 *   await cp.stop();
 *
 * Everything lives in one temp folder (certificates, etcd's data, the kubeconfig, each
 * process's log), removed by stop(). The processes are this process's children: the
 * self-tests' signal handler stops them on Ctrl-C with the rest of the run's process tree.
 *
 * Flags follow what controller-runtime's envtest and kwok's own "binary" runtime pass; the
 * ones that matter here:
 * - kube-apiserver `--endpoint-reconciler-type=none`: no lease/endpoint for the `kubernetes`
 *   Service (this machine has no routable address to advertise), `--advertise-address=127.0.0.1`.
 * - kube-apiserver `--disable-admission-plugins=TaintNodesByCondition`, controller-manager without
 *   `nodelifecycle`: kwok's nodes are Ready from the start and send no heartbeats.
 * - controller-manager and scheduler `--secure-port=0`: no HTTPS port of their own (nothing to
 *   collide with), `--leader-elect=false`.
 * - kwok `--manage-all-nodes=true`: every Node is kwok's; its default stages make each pod bound
 *   to one Running and Ready, with a pod IP from `--cidr`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { pollTimed, RetryableError } from '../../helpers/run/poll.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { type Certificates, makeCertificates } from './certificates.ts';

// Where `npm run tools:build` puts the binaries: the product's own lookup (helpers/run/tools.ts).
export { istioBinDir, toolsBinDir } from '../../helpers/run/tools.ts';
import { toolsBinDir } from '../../helpers/run/tools.ts';

export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
/** kwok's stages, written by `npm run tools:build` beside the binaries. */
export const KWOK_STAGES = 'kwok-stages.yaml';

/** The CRDs of the built Istio, written by `npm run tools:build` beside the binaries. */
export const ISTIO_CRDS = 'istio-crds.yaml';

/** What the local control plane needs in the tools folder: its binaries, kwok's stages and the Istio CRDs. */
export const CONTROL_PLANE_FILES = [...CONTROL_PLANE_BINARIES, KWOK_STAGES, ISTIO_CRDS] as const;

/** undefined when every file named is in the tools folder; otherwise what is missing and how to get it. */
export function missingBinaries(binDir: string, names: readonly string[] = CONTROL_PLANE_FILES): string | undefined {
  const missing = names.filter((n) => !existsSync(join(binDir, n)));
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} not built in ${binDir}: run \`npm run tools:build\` (Go >= 1.26; see the README, "Real components")`;
}

/** A free TCP port on loopback (the kernel picks it; it is free again once this returns). */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => ok(port));
    });
  });
}

export const LOCAL_CONTEXT = 'egress-verify-local';
const SERVICE_CIDR = '10.96.0.0/16';
const POD_CIDR = '10.244.0.0/16';

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/** How long the control plane may take to answer /readyz with its nodes Ready. */
const START_TIMEOUT_MS = 90_000;

export class LocalControlPlane {
  readonly #binDir = toolsBinDir();
  #nodes = 1;

  /** How many kwok nodes to create (0: pods stay Pending; the scheduler has nowhere to bind). */
  withNodes(count: number): this {
    this.#nodes = count;
    return this;
  }

  async start(): Promise<StartedControlPlane> {
    const missing = missingBinaries(this.#binDir);
    if (missing) throw new Error(missing);
    const started = performance.now();
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-control-plane-'));
    const plane = new StartedControlPlane(dir, this.#binDir);
    try {
      await plane.boot(this.#nodes, START_TIMEOUT_MS);
    } catch (e) {
      const logs = await plane.logTails();
      await plane.stop();
      throw new Error(`the local control plane did not start: ${(e as Error).message}\n${logs}`, { cause: e });
    }
    plane.startedInMs = performance.now() - started;
    return plane;
  }
}

export class StartedControlPlane {
  readonly dir: string;
  readonly binDir: string;
  readonly context = LOCAL_CONTEXT;
  readonly kubeconfigPath: string;
  /** How long start() took, from nothing to a ready API server with its nodes. */
  startedInMs = 0;
  /** https://127.0.0.1:<port> */
  server = '';
  #procs: Proc[] = [];
  #certs: Certificates | undefined;
  /** The CA and the admin's client certificate and key, read once for every request. */
  #adminTls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
  #stopped = false;

  constructor(dir: string, binDir: string) {
    this.dir = dir;
    this.binDir = binDir;
    this.kubeconfigPath = join(dir, 'kubeconfig');
  }

  get certificates(): Certificates {
    if (!this.#certs) throw new Error('the control plane has not started');
    return this.#certs;
  }

  #spawn(name: string, args: string[]): Proc {
    const log = join(this.dir, `${name}.log`);
    const out = createWriteStream(log);
    const child = spawn(join(this.binDir, name), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const exited = new Promise<number | null>((ok) => {
      child.once('exit', (code) => ok(code));
      child.once('error', () => ok(-1));
    });
    const proc = { name, child, log, exited };
    this.#procs.push(proc);
    return proc;
  }

  /** Fails the wait at once when a process the wait depends on has exited. */
  #alive(): void {
    const dead = this.#procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}); its log: ${dead.log}`);
  }

  async boot(nodes: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const left = () => Math.max(1_000, deadline - performance.now());
    const certs = await makeCertificates(this.dir);
    this.#certs = certs;
    const [ca, cert, key] = await Promise.all([readFile(certs.caCert), readFile(certs.adminCert), readFile(certs.adminKey)]);
    this.#adminTls = { ca, cert, key };
    const [etcdPort, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    this.#spawn('etcd', [
      '--name', 'local', '--data-dir', join(this.dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `local=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync', '--log-level', 'warn',
    ]);
    this.server = `https://127.0.0.1:${apiPort}`;
    this.#spawn('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--tls-cert-file=${certs.serverCert}`, `--tls-private-key-file=${certs.serverKey}`,
      `--client-ca-file=${certs.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${certs.serviceAccountPub}`,
      `--service-account-signing-key-file=${certs.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=RBAC', '--allow-privileged=true',
      '--endpoint-reconciler-type=none',
      // A new Node gets the not-ready taint from this plugin, and only the controller-manager's
      // node lifecycle controller (off here: kwok's nodes send no heartbeats) would lift it.
      '--disable-admission-plugins=TaintNodesByCondition',
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
    ]);
    await this.#writeKubeconfig();
    await pollTimed('kube-apiserver /readyz', left(), async () => {
      this.#alive();
      const r = await this.get('/readyz').catch((e: Error) => ({ status: 0, body: e.message }));
      if (r.status !== 200) throw new RetryableError(`HTTP ${r.status}: ${r.body.trim().split('\n').slice(-2).join(' ')}`);
      return true;
    }, String, { intervalMs: 200 });
    const kubeconfig = `--kubeconfig=${this.kubeconfigPath}`;
    this.#spawn('kube-controller-manager', [
      kubeconfig, '--leader-elect=false', '--secure-port=0',
      `--service-account-private-key-file=${certs.serviceAccountKey}`, `--root-ca-file=${certs.caCert}`,
      '--use-service-account-credentials=false',
      `--cluster-signing-cert-file=${certs.caCert}`, `--cluster-signing-key-file=${certs.caKey}`,
      // No cloud, no IPAM of nodes: kwok gives pods their IPs.
      '--controllers=*,-nodeipam,-nodelifecycle,-ttl,-bootstrapsigner,-tokencleaner',
    ]);
    this.#spawn('kube-scheduler', [kubeconfig, '--leader-elect=false', '--secure-port=0']);
    // kwok's binary has no stages of its own: `npm run tools:build` writes its default ("fast")
    // node and pod stages from the kwok module (kustomize/stage/{node,pod}/fast) beside it.
    this.#spawn('kwok', [kubeconfig, `--config=${join(this.binDir, KWOK_STAGES)}`, '--manage-all-nodes=true', `--cidr=${POD_CIDR}`]);
    for (let i = 0; i < nodes; i++) await this.#createNode(`kwok-node-${i}`);
    // Pods need the namespace's default ServiceAccount (the controller-manager's
    // serviceaccount controller creates it), and the nodes must be Ready (kwok's node stage).
    await pollTimed('the default ServiceAccount and Ready kwok nodes', left(), async () => {
      this.#alive();
      const sa = await this.get('/api/v1/namespaces/default/serviceaccounts/default');
      if (sa.status !== 200) throw new RetryableError(`default ServiceAccount: HTTP ${sa.status}`);
      const list = JSON.parse((await this.get('/api/v1/nodes')).body) as { items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] };
      const notReady = list.items.filter((n) => !n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (notReady.length > 0) throw new RetryableError(`nodes not Ready: ${notReady.map((n) => n.metadata.name).join(', ')}`);
      return true;
    }, String, { intervalMs: 200 });
  }

  async #writeKubeconfig(): Promise<void> {
    const c = this.certificates;
    await writeFile(this.kubeconfigPath, stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: LOCAL_CONTEXT, cluster: { server: this.server, 'certificate-authority': c.caCert } }],
      users: [{ name: 'admin', user: { 'client-certificate': c.adminCert, 'client-key': c.adminKey } }],
      contexts: [{ name: LOCAL_CONTEXT, context: { cluster: LOCAL_CONTEXT, user: 'admin' } }],
      'current-context': LOCAL_CONTEXT,
    }));
  }

  async #createNode(name: string): Promise<void> {
    const r = await this.request('POST', '/api/v1/nodes', {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' }, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
      status: { allocatable: { cpu: '32', memory: '64Gi', pods: '110' }, capacity: { cpu: '32', memory: '64Gi', pods: '110' } },
    });
    if (r.status !== 201) throw new Error(`creating node ${name}: HTTP ${r.status}: ${r.body}`);
  }

  /** One request to the API server as the admin (for the control plane's own set-up and checks). */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    if (!this.#adminTls) throw new Error('the control plane has not started');
    const { ca, cert, key } = this.#adminTls;
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((ok, fail) => {
      const req = https.request(url, {
        method, ca, cert, key, timeout: 10_000,
        headers: payload === undefined ? {} : { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', fail);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return this.request('GET', path);
  }

  /** Creates CustomResourceDefinitions from a multi-document YAML file and waits until each is Established. */
  async installCrds(documents: readonly Record<string, unknown>[], timeoutMs = 60_000): Promise<number> {
    const names: string[] = [];
    for (const crd of documents) {
      const r = await this.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (r.status !== 201 && r.status !== 409) throw new Error(`creating CRD: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      names.push((crd.metadata as { name: string }).name);
    }
    await pollTimed(`${names.length} CRDs Established`, timeoutMs, async () => {
      for (const name of names) {
        const r = await this.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        const crd = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
        if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) throw new RetryableError(`${name} not Established`);
      }
      return true;
    }, String, { intervalMs: 200 });
    return names.length;
  }

  /** Installs the built Istio's CRDs (ISTIO_CRDS beside the binaries); returns how many. */
  async installIstioCrds(): Promise<number> {
    const docs = parseAllDocuments(await readFile(join(this.binDir, ISTIO_CRDS), 'utf8')).map((d) => d.toJS() as Record<string, unknown> | null);
    return this.installCrds(docs.filter((d): d is Record<string, unknown> => d?.kind === 'CustomResourceDefinition'));
  }

  /** The last lines of every process's log, for a failure's message. */
  async logTails(lines = 15): Promise<string> {
    const parts = await Promise.all(this.#procs.map(async (p) => {
      const text = await readFile(p.log, 'utf8').catch(() => '');
      return `--- ${p.name} (${p.log}):\n${text.trim().split('\n').slice(-lines).join('\n')}`;
    }));
    return parts.join('\n');
  }

  /** Stops every process (reverse order of start) and removes the folder. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const p of [...this.#procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      const gone = await Promise.race([p.exited.then(() => true), new Promise<boolean>((ok) => {
        const t = setTimeout(() => ok(false), 10_000);
        t.unref();
      })]);
      if (!gone) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** One line for a report: what started and how long it took. */
  describe(): string {
    return `local control plane (${this.#procs.map((p) => p.name).join(', ')}) at ${this.server}, ready in ${formatDuration(this.startedInMs)}`;
  }
}
