/**
 * The suite's Istio install path (helpers/mesh/istio-install.ts `install`: `istioctl install -f
 * fixtures/istio-operator.yaml`, as scenarios/environment.ts runs it against kind) with istioctl
 * built from istio.io/istio, against the local control plane (kube-apiserver, etcd,
 * controller-manager, scheduler and kwok; self-tests/control-plane/local-control-plane.ts).
 *
 * istioctl applies everything itself (the CRDs too: none is installed beforehand) and waits for
 * its Deployments to be ready, which kwok provides: the pods are bound to a kwok node and made
 * Running and Ready without running a container. Nothing here calls the webhooks istioctl
 * registers: they point at istiod's Service, which no istiod serves here (local-istiod.ts is the
 * one that rewrites them to a local istiod).
 *
 * istioctl writes its discovery cache under $HOME/.kube/cache; HOME is a temp folder here.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Kube } from '../../helpers/cluster/kube.ts';
import { install, IstioInstallError, ISTIO_NAMESPACE, ISTIO_OPERATOR_FILE } from '../../helpers/mesh/istio-install.ts';
import { checkMeshConfig, readMeshConfigMap } from '../../helpers/mesh/mesh-config.ts';
import { readLiveMesh, warmMeshVerdict } from '../../helpers/run/keep-and-reuse.ts';
import { pins } from '../../helpers/run/pins.ts';
import { formatDuration } from '../../helpers/run/progress.ts';
import { UserFacingError } from '../../helpers/run/user-facing.ts';
import { ISTIO_CRDS, istioBinDir, LocalControlPlane, missingBinaries, type StartedControlPlane, toolsBinDir } from '../control-plane/local-control-plane.ts';
import { needTools } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const istioctl = join(istioBinDir(), 'istioctl');
const READY_MS = 90_000;
const home = tempFolder('istio-install-home');
const work = tempFolder('istio-install-files');

let cp: StartedControlPlane | undefined;
let kube: Kube;
let problem: string | undefined;
const savedHome = process.env.HOME;

/** Prints how long a step took, so a slow install shows where its time went. */
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    process.stdout.write(`⏱ ${step}: ${formatDuration(performance.now() - started)}\n`);
  }
}

beforeAll(async () => {
  problem = missingBinaries(toolsBinDir()) ?? missingBinaries(istioBinDir(), ['istioctl']);
  if (problem) return;
  process.env.HOME = home.path;
  cp = await timed('local control plane start', () => new LocalControlPlane().start());
  process.stdout.write(`${cp.describe()}\n`);
  kube = Kube.fromFile(cp.kubeconfigPath, cp.context);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  if (savedHome === undefined) delete process.env.HOME;
  else process.env.HOME = savedHome;
});

const target = () => ({ kubeconfigPath: cp!.kubeconfigPath, context: cp!.context, readinessTimeoutMs: READY_MS });

/** The suite's operator file with one edit, written to the temp folder. */
async function editedOperatorFile(name: string, edit: (text: string) => string): Promise<string> {
  const text = await readFile(ISTIO_OPERATOR_FILE, 'utf8');
  const edited = edit(text);
  if (edited === text) throw new Error(`the edit for ${name} changed nothing in ${ISTIO_OPERATOR_FILE}`);
  const path = join(work.path, name);
  await writeFile(path, edited);
  return path;
}

/** What install() threw (it must throw). */
async function installFailure(operatorFile: string, t = target()): Promise<unknown> {
  return install(istioctl, t, operatorFile).then(() => { throw new Error(`istioctl install -f ${operatorFile} succeeded`); }, (e: unknown) => e);
}

async function get<T>(path: string): Promise<{ status: number; json: T }> {
  const r = await cp!.get(path);
  return { status: r.status, json: (r.status === 200 ? JSON.parse(r.body) : undefined) as T };
}

type Named = { metadata: { name: string } };
type Conditions = { status?: { conditions?: { type: string; status: string }[] } };
const condition = (o: Conditions, type: string) => o.status?.conditions?.find((c) => c.type === type)?.status;

describe('an operator file istioctl refuses: one clean block, nothing applied', () => {
  test('an unknown field under spec (replicaz) is refused before anything is applied, and the error names it without istioctl\'s banner', async (ctx) => {
    needTools(ctx, problem);
    const file = await editedOperatorFile('unknown-field.yaml', (t) => t.replace('  profile: minimal\n', '  profile: minimal\n  replicaz: 2\n'));
    const e = await timed('istioctl install (refused operator file)', () => installFailure(file));
    expect(e).toBeInstanceOf(IstioInstallError);
    expect(e).toBeInstanceOf(UserFacingError);
    const err = e as IstioInstallError;
    expect(err.headline).toBe('istioctl install failed');
    expect(err.problems).toEqual([
      'Error: generate config: could not unmarshal: json: unknown field "replicaz"',
      `operator file: ${file}`,
    ]);
    // The message is the headline and the problems, nothing else: no banner, no command line dump.
    expect(err.message).toBe(`istioctl install failed:\n  - Error: generate config: could not unmarshal: json: unknown field "replicaz"\n  - operator file: ${file}`);
    // Refused before anything was applied.
    expect((await cp!.get(`/api/v1/namespaces/${ISTIO_NAMESPACE}`)).status).toBe(404);
    expect((await cp!.get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/serviceentries.networking.istio.io')).status).toBe(404);
  });
});

describe('istioctl install -f fixtures/istio-operator.yaml against the local API server', () => {
  test('the install completes: istioctl\'s readiness wait is satisfied by kwok\'s Ready pods', async (ctx) => {
    needTools(ctx, problem);
    await timed('istioctl install (the suite\'s install(), readiness wait included)', () => install(istioctl, target()));
    // The pods istioctl waited for: bound to the kwok node, Running and Ready, with a kwok pod IP.
    const pods = (await get<{ items: (V1Pod & Named)[] }>(`/api/v1/namespaces/${ISTIO_NAMESPACE}/pods`)).json.items;
    expect(pods.map((p) => p.metadata.labels?.app).sort()).toEqual(['istio-egressgateway', 'istiod']);
    for (const p of pods) {
      expect(p.spec?.nodeName, p.metadata.name).toBe('kwok-node-0');
      expect(p.status?.phase, p.metadata.name).toBe('Running');
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, p.metadata.name).toBe('True');
      expect(p.status?.podIP, p.metadata.name).toMatch(/^10\.244\./);
    }
  });

  test('Deployments istiod and istio-egressgateway are Available, with the operator file\'s lowered requests', async (ctx) => {
    needTools(ctx, problem);
    const requests: Record<string, { container: string; cpu: string; memory: string }> = {
      istiod: { container: 'discovery', cpu: '100m', memory: '256Mi' },
      'istio-egressgateway': { container: 'istio-proxy', cpu: '50m', memory: '128Mi' },
    };
    for (const [name, want] of Object.entries(requests)) {
      const d = await kube.apps.readNamespacedDeployment({ name, namespace: ISTIO_NAMESPACE });
      expect(condition(d as Conditions, 'Available'), name).toBe('True');
      expect(d.status?.readyReplicas, name).toBe(1);
      const c = d.spec?.template.spec?.containers.find((x) => x.name === want.container);
      expect(c?.resources?.requests, name).toEqual({ cpu: want.cpu, memory: want.memory });
    }
  });

  test('the mesh ConfigMap, read back from the API server: outboundTrafficPolicy REGISTRY_ONLY', async (ctx) => {
    needTools(ctx, problem);
    const cm = await kube.core.readNamespacedConfigMap({ name: 'istio', namespace: ISTIO_NAMESPACE });
    const mesh = parseYaml(cm.data?.mesh ?? '') as { outboundTrafficPolicy?: { mode?: string }; accessLogFile?: string };
    expect(mesh.outboundTrafficPolicy).toEqual({ mode: 'REGISTRY_ONLY' });
    expect(mesh.accessLogFile).toBe('/dev/stdout');
  });

  test('the egress gateway\'s Service maps 443 to 8443, on a ClusterIP of the service range', async (ctx) => {
    needTools(ctx, problem);
    const svc = await kube.core.readNamespacedService({ name: 'istio-egressgateway', namespace: ISTIO_NAMESPACE });
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\./);
    expect(svc.spec?.ports).toContainEqual(expect.objectContaining({ port: 443, targetPort: 8443, protocol: 'TCP' }));
    expect(svc.spec?.selector).toMatchObject({ app: 'istio-egressgateway', istio: 'egressgateway' });
  });

  test('the CRDs istioctl applied are those of the built Istio (tools:build\'s istio-crds.yaml), each Established', async (ctx) => {
    needTools(ctx, problem);
    const built = parseAllDocuments(await readFile(join(toolsBinDir(), ISTIO_CRDS), 'utf8'))
      .map((d) => d.toJS() as (Named & { kind?: string }) | null)
      .filter((d): d is Named & { kind: string } => d?.kind === 'CustomResourceDefinition')
      .map((d) => d.metadata.name).sort();
    const live = (await get<{ items: (Named & Conditions)[] }>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).json.items
      .filter((c) => c.metadata.name.endsWith('.istio.io'));
    expect(live.map((c) => c.metadata.name).sort()).toEqual(built);
    expect(live.map((c) => c.metadata.name)).toContain('serviceentries.networking.istio.io');
    expect(live.filter((c) => condition(c, 'Established') !== 'True').map((c) => c.metadata.name)).toEqual([]);
  });

  test('the webhooks are registered against istiod\'s Service (the injector, the revision\'s validator and the default tag\'s)', async (ctx) => {
    needTools(ctx, problem);
    type Hooks = Named & { webhooks: { name: string; failurePolicy: string; clientConfig: { service?: { name: string; namespace: string; path?: string } } }[] };
    const mutating = (await get<{ items: Hooks[] }>('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations')).json.items;
    const validating = (await get<{ items: Hooks[] }>('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations')).json.items;
    const services = [...mutating, ...validating].flatMap((c) => c.webhooks.map((w) => `${c.metadata.name}: ${w.name} -> ${w.clientConfig.service?.namespace}/${w.clientConfig.service?.name}${w.clientConfig.service?.path ?? ''} (${w.failurePolicy})`));
    process.stdout.write(`webhooks:\n  ${services.join('\n  ')}\n`);
    expect(mutating.map((w) => w.metadata.name).sort()).toEqual(['istio-revision-tag-default', 'istio-sidecar-injector']);
    expect(validating.map((w) => w.metadata.name).sort()).toEqual(['istio-validator-istio-system', 'istiod-default-validator']);
    for (const s of services) expect(s).toMatch(/ -> istio-system\/istiod(-revision-tag-default)?\/(inject|validate)/);
    // The injectors are Fail from the start: with no istiod behind the Service, a pod in an
    // injection-enabled namespace would be refused (the istio-system pods are not in one).
    expect(new Set(mutating.flatMap((c) => c.webhooks.map((w) => w.failurePolicy)))).toEqual(new Set(['Fail']));
    // The validators keep the chart's Ignore: istiod switches its own to Fail only once it has
    // served a dry run (local-istiod.ts waits for that), and none runs here.
    expect(new Set(validating.flatMap((c) => c.webhooks.map((w) => w.failurePolicy)))).toEqual(new Set(['Ignore']));
  });

  test('the suite\'s own post-install checks pass: istiod Available, the mesh blocks outbound traffic, REUSE would keep this mesh', async (ctx) => {
    needTools(ctx, problem);
    // scenarios/environment.ts prepareKind, after install(): waitForDeployment, then the mesh check.
    await timed('post-install: waitForDeployment istiod', () => kube.waitForDeployment(ISTIO_NAMESPACE, 'istiod', READY_MS));
    const check = checkMeshConfig(await readMeshConfigMap(kube));
    expect(check).toMatchObject({ ok: true, mode: 'REGISTRY_ONLY', explicit: true });
    // The REUSE_CLUSTER decision: this is the mesh a warm cluster may keep without reinstalling.
    const live = await readLiveMesh(kube);
    const verdict = warmMeshVerdict(live, pins.istioBuild.version);
    expect(verdict.reason).toBe(`Istio ${pins.istioBuild.version} already runs with REGISTRY_ONLY and istio-egressgateway: install skipped (REUSE_CLUSTER)`);
    expect(verdict.skip).toBe(true);
    expect(warmMeshVerdict(live, '1.29.0').skip).toBe(false);
  });
});

describe('what istioctl lets through, and what stops it', () => {
  test('a misspelt meshConfig key (outboundTraficPolicy) is installed as written; the suite\'s mesh check catches it', async (ctx) => {
    needTools(ctx, problem);
    // istioctl does not check meshConfig's keys: the install succeeds and the ConfigMap carries the typo.
    const file = await editedOperatorFile('mesh-typo.yaml', (t) => t.replace('outboundTrafficPolicy:', 'outboundTraficPolicy:'));
    await timed('istioctl install (misspelt meshConfig key, over the installed mesh)', () => install(istioctl, target(), file));
    const cm = await readMeshConfigMap(kube);
    expect((parseYaml(cm?.data?.mesh ?? '') as Record<string, unknown>).outboundTraficPolicy).toEqual({ mode: 'REGISTRY_ONLY' });
    const check = checkMeshConfig(cm);
    expect(check).toMatchObject({ ok: false, mode: 'ALLOW_ANY', explicit: false });
    expect(check.message).toMatch(/outboundTrafficPolicy\.mode is ALLOW_ANY \(not set: Istio's default\), but the chapter needs REGISTRY_ONLY/);
    expect(warmMeshVerdict(await readLiveMesh(kube), pins.istioBuild.version).skip).toBe(false);
  });

  test('with no node to run them, the install fails after --readiness-timeout, naming each Deployment it waited for', async (ctx) => {
    needTools(ctx, problem);
    // A control plane of its own without kwok nodes: the scheduler has nowhere to bind the pods.
    const empty = await timed('local control plane start (no nodes)', () => new LocalControlPlane().withNodes(0).start());
    try {
      const e = await timed('istioctl install (no nodes, readiness timeout 3s)', () => installFailure(ISTIO_OPERATOR_FILE, {
        kubeconfigPath: empty.kubeconfigPath, context: empty.context, readinessTimeoutMs: 3_000,
      }));
      expect(e).toBeInstanceOf(IstioInstallError);
      const problems = (e as IstioInstallError).problems;
      expect(problems).toEqual([
        expect.stringMatching(/^✘ Istiod encountered an error: failed to wait for resource: resources not ready after 3s: .* \(waiting for Deployment\/istio-system\/istiod\)$/),
        expect.stringMatching(/^✘ Egress gateways encountered an error: failed to wait for resource: resources not ready after 3s: .* \(waiting for Deployment\/istio-system\/istio-egressgateway\)$/),
        `operator file: ${ISTIO_OPERATOR_FILE}`,
      ]);
      expect((e as Error).message).not.toMatch(/\|\\|______/);
      // What it waited for: applied, and never Available.
      const istiod = await empty.get(`/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/deployments/istiod`);
      expect(istiod.status).toBe(200);
      expect(condition(JSON.parse(istiod.body) as Conditions, 'Available')).not.toBe('True');
    } finally {
      await empty.stop();
    }
  });
});
