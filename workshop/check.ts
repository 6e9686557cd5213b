/**
 * Findings about the chapter, without a cluster: manifests against the schemas (strict),
 * API versions, labs files against the blocks the reader was shown, commands against the
 * tools' current releases, and output blocks without a command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parseAllDocuments } from 'yaml';
import { MEMORYSTORE_REDIS_VERSIONS } from '../helpers/run/settings.ts';
import { interactive, interactiveFlags, PLACEHOLDERS, setPairs, type Classified, type Command } from './classify.ts';
import { knownKind, strictProblems, type Manifest } from './schema.ts';

export type Severity = 'error' | 'warning';

export interface Finding {
  /** The block's id. */
  block: string;
  severity: Severity;
  message: string;
}

/** Values for the placeholders: for checks without a cluster, documentation addresses (RFC 5737). */
export type PlaceholderValues = Readonly<Record<string, string>>;

export const SAMPLE_VALUES: PlaceholderValues = {
  REDIS_ENDPOINT: '192.0.2.10',
  REDIS_ADDR: '192.0.2.10',
  REDIS_IP: '192.0.2.10',
  $REGION_ID: 'us-central1',
  $ZONE_ID: 'us-central1-a',
  $WORKSHOP_HOME: '/workshop',
  $ISTIO_VERSION: '1.30.5',
};

/** The text with every known placeholder replaced by its value (whole words / shell variables only). */
export function substitute(text: string, values: PlaceholderValues): string {
  let out = text;
  for (const name of Object.keys(PLACEHOLDERS)) {
    const value = values[name];
    if (value === undefined) continue;
    const re = name.startsWith('$')
      ? new RegExp(`\\$(?:\\{${name.slice(1)}\\}|${name.slice(1)}(?![A-Za-z0-9_]))`, 'g')
      : new RegExp(`(?<![A-Za-z0-9_$])${name}(?![A-Za-z0-9_])`, 'g');
    out = out.replace(re, () => value);
  }
  return out;
}

export function yamlObjects(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d): d is Manifest => typeof d === 'object' && d !== null && !Array.isArray(d));
}

// Kubernetes' deprecated API migration guide: versions no longer served, and since when.
const REMOVED_APIS: Readonly<Record<string, string>> = {
  'extensions/v1beta1': 'no longer served since Kubernetes 1.16 (Ingress: 1.22); use apps/v1 or networking.k8s.io/v1',
  'apps/v1beta1': 'no longer served since Kubernetes 1.16; use apps/v1',
  'apps/v1beta2': 'no longer served since Kubernetes 1.16; use apps/v1',
  'rbac.authorization.k8s.io/v1beta1': 'no longer served since Kubernetes 1.22; use rbac.authorization.k8s.io/v1',
  'networking.k8s.io/v1beta1': 'no longer served since Kubernetes 1.22; use networking.k8s.io/v1',
  'admissionregistration.k8s.io/v1beta1': 'no longer served since Kubernetes 1.22; use admissionregistration.k8s.io/v1',
  'apiextensions.k8s.io/v1beta1': 'no longer served since Kubernetes 1.22; use apiextensions.k8s.io/v1',
  'policy/v1beta1': 'no longer served since Kubernetes 1.25; use policy/v1',
  'batch/v1beta1': 'no longer served since Kubernetes 1.25; use batch/v1',
  'autoscaling/v2beta1': 'no longer served since Kubernetes 1.25; use autoscaling/v2',
  'autoscaling/v2beta2': 'no longer served since Kubernetes 1.26; use autoscaling/v2',
  // Istio: the v1alpha1 authentication/RBAC APIs went with 1.6, Mixer's config with 1.8.
  'authentication.istio.io/v1alpha1': 'removed in Istio 1.6; use security.istio.io/v1 PeerAuthentication / RequestAuthentication',
  'rbac.istio.io/v1alpha1': 'removed in Istio 1.6; use security.istio.io/v1 AuthorizationPolicy',
  'config.istio.io/v1alpha2': 'removed with Mixer in Istio 1.8',
};

/** Istio API versions still served but superseded by v1 (Istio 1.22 made networking and security v1). */
export function deprecatedApi(apiVersion: string, kind: string): string | undefined {
  const m = /^(networking|security)\.istio\.io\/(v1alpha3|v1beta1)$/.exec(apiVersion);
  if (!m) return undefined;
  const v1 = `${m[1]}.istio.io/v1`;
  return knownKind(v1, kind) ? `${apiVersion} is deprecated: ${kind} is served as ${v1} (since Istio 1.22)` : undefined;
}

function describe(o: Manifest): string {
  const name = (o.metadata as { name?: unknown } | undefined)?.name;
  return `${String(o.kind)} ${typeof name === 'string' ? name : '(no name)'}`;
}

/** Findings about manifests (a YAML block, or a labs file the chapter applies). */
export async function manifestFindings(block: string, objects: Manifest[], where = ''): Promise<Finding[]> {
  const out: Finding[] = [];
  const problems = await strictProblems(objects);
  objects.forEach((o, i) => {
    const api = String(o.apiVersion);
    const kind = String(o.kind);
    const prefix = `${where}${describe(o)} (${api})`;
    const removed = REMOVED_APIS[api];
    if (removed) {
      out.push({ block, severity: 'error', message: `${prefix}: ${api} is ${removed}` });
      return;
    }
    const deprecated = deprecatedApi(api, kind);
    if (deprecated) out.push({ block, severity: 'warning', message: `${prefix}: ${deprecated}` });
    for (const p of problems[i] ?? []) out.push({ block, severity: 'error', message: `${prefix}: ${p.message}` });
  });
  return out;
}

export function flagValue(words: string[], name: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    if (words[i] === name) return words[i + 1];
    if (words[i]!.startsWith(`${name}=`)) return words[i]!.slice(name.length + 1);
  }
  return undefined;
}

// kubectl exec flags that take a value (kubectl 1.32 `kubectl exec --help`, plus global ones).
const KUBECTL_VALUE_FLAGS = new Set(['-n', '--namespace', '-c', '--container', '-f', '--filename', '--pod-running-timeout', '--kubeconfig', '--context', '--cluster', '--user', '-s', '--server']);

export function kubectlFindings(block: string, c: Command): Finding[] {
  const w = c.words;
  const out: Finding[] = [];
  if (w[1] === 'run' && w.some((x) => x === '--generator' || x.startsWith('--generator='))) {
    out.push({ block, severity: 'error', message: `line ${c.line}: kubectl run --generator was removed in kubectl 1.21 ("unknown flag: --generator"); kubectl run only creates pods now, drop the flag` });
  }
  if (w[1] === 'exec' && !w.includes('--')) {
    const positional: string[] = [];
    const flags: string[] = [];
    for (let i = 2; i < w.length; i++) {
      if (KUBECTL_VALUE_FLAGS.has(w[i]!)) flags.push(w[i]!, w[++i] ?? '');
      else if (w[i]!.startsWith('-')) flags.push(w[i]!);
      else positional.push(w[i]!);
    }
    if (positional.length > 1) {
      const fixed = ['kubectl', 'exec', ...flags, positional[0], '--', ...positional.slice(1)].join(' ');
      out.push({ block, severity: 'error', message: `line ${c.line}: "kubectl exec POD COMMAND" without "--" was removed in kubectl 1.31 ("exec [POD] [COMMAND] is not supported anymore"); write ${fixed}` });
    }
  }
  if (interactive(w)) {
    out.push({ block, severity: 'warning', message: `line ${c.line}: interactive (${interactiveFlags(w).join(' ')}): needs a terminal; translated to the probe in the same place` });
  }
  return out;
}

/**
 * Value names of the Istio charts and mesh config that turn the outbound policy on: the Helm 2
 * chart of Istio <= 1.4 (`global.outboundTrafficPolicy.mode`, install/kubernetes/helm/istio
 * values.yaml) and today's istiod chart / IstioOperator (`meshConfig.outboundTrafficPolicy.mode`,
 * MeshConfig in istio/api mesh/v1alpha1/config.proto).
 */
export const MESH_KEYS = ['global.outboundTrafficPolicy.mode', 'meshConfig.outboundTrafficPolicy.mode'] as const;
const OUTBOUND_MODES = ['ALLOW_ANY', 'REGISTRY_ONLY'];

const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

export function helmFindings(block: string, c: Command): Finding[] {
  const w = c.words;
  const out: Finding[] = [];
  if (w[1] === 'init') {
    out.push({ block, severity: 'error', message: `line ${c.line}: helm init was removed in Helm 3 (no Tiller); nothing to initialise` });
  }
  if (w.some((x) => x === '--name' || x.startsWith('--name='))) {
    out.push({ block, severity: 'error', message: `line ${c.line}: helm --name was removed in Helm 3; the release name is the first argument (helm install NAME CHART)` });
  }
  const chart = w.find((x) => x.includes('install/kubernetes/helm'));
  if (chart) {
    out.push({ block, severity: 'error', message: `line ${c.line}: ${chart}: Istio's Helm 2 charts under install/kubernetes/helm are not in current releases (the charts are base, istiod and gateway under manifests/charts)` });
  }
  const sets = setPairs(w);
  for (const kv of sets) {
    const [key, value = ''] = [kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')), kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : ''];
    const known = (MESH_KEYS as readonly string[]).includes(key);
    if (!known && /outbound/i.test(key)) {
      const near = MESH_KEYS.find((k) => squash(k) === squash(key)) ?? MESH_KEYS[0];
      out.push({ block, severity: 'error', message: `line ${c.line}: --set ${key}: no such value in the Istio charts (did you mean ${near}?); Helm ignores unknown keys, so the mesh keeps its default outbound policy (ALLOW_ANY) and this step changes nothing` });
    } else if (known && !OUTBOUND_MODES.includes(value)) {
      out.push({ block, severity: 'error', message: `line ${c.line}: --set ${key}=${value}: valid values are ${OUTBOUND_MODES.join(', ')}` });
    }
  }
  return out;
}

// `gcloud redis instances create --help` (Google Cloud CLI 528): the command's flags; plus the
// gcloud-wide flags every command takes.
const REDIS_CREATE_FLAGS = new Set([
  '--region', '--alternative-zone', '--async', '--connect-mode', '--customer-managed-key', '--display-name',
  '--enable-auth', '--labels', '--maintenance-window-day', '--maintenance-window-hour', '--network',
  '--persistence-mode', '--rdb-snapshot-period', '--rdb-snapshot-start-time', '--read-replicas-mode',
  '--redis-config', '--redis-version', '--replica-count', '--reserved-ip-range', '--size', '--tier',
  '--transit-encryption-mode', '--zone',
  '--account', '--billing-project', '--configuration', '--flags-file', '--flatten', '--format', '--help',
  '--impersonate-service-account', '--log-http', '--project', '--quiet', '-q', '--trace-token',
  '--user-output-enabled', '--verbosity',
]);

export function gcloudFindings(block: string, c: Command): Finding[] {
  const w = c.words;
  const out: Finding[] = [];
  if (w[1] !== 'redis' || w[2] !== 'instances' || w[3] !== 'create') return out;
  for (const x of w.slice(4).filter((a) => a.startsWith('-'))) {
    const flag = x.split('=')[0]!;
    if (!REDIS_CREATE_FLAGS.has(flag)) out.push({ block, severity: 'error', message: `line ${c.line}: gcloud redis instances create has no flag ${flag}` });
  }
  const version = flagValue(w, '--redis-version');
  if (version !== undefined && !(MEMORYSTORE_REDIS_VERSIONS as readonly string[]).includes(version)) {
    out.push({ block, severity: 'error', message: `line ${c.line}: --redis-version=${version} is not a Memorystore version; valid values: ${MEMORYSTORE_REDIS_VERSIONS.join(', ')}` });
  }
  const size = flagValue(w, '--size');
  if (size !== undefined && !/^[1-9]\d*$/.test(size)) {
    out.push({ block, severity: 'error', message: `line ${c.line}: --size=${size} must be a whole number of GiB, at least 1` });
  }
  if (flagValue(w, '--region') === undefined) {
    out.push({ block, severity: 'error', message: `line ${c.line}: gcloud redis instances create needs --region` });
  }
  const name = w.slice(4).find((a, i, all) => !a.startsWith('-') && !(all[i - 1] ?? '').match(/^--[a-z-]+$/) );
  if (name !== undefined && !/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
    out.push({ block, severity: 'error', message: `line ${c.line}: instance name ${name}: lower-case letters, digits and "-", starting with a letter, at most 40 characters` });
  }
  return out;
}

function commandFindings(b: Classified): Finding[] {
  const all = b.commands.flatMap((c) => [c, ...c.inner]);
  return all.flatMap((c) => {
    switch (c.words[0]) {
      case 'kubectl': return kubectlFindings(b.id, c);
      case 'helm': return helmFindings(b.id, c);
      case 'gcloud': return gcloudFindings(b.id, c);
      default: return [];
    }
  });
}

/** A labs file as text, or undefined when WORKSHOP_LABS is not set or lacks it. */
export type LabsReader = (labsPath: string) => string | undefined;

export function labsReader(dir: string | undefined): LabsReader {
  return (p) => {
    if (!dir) return undefined;
    try {
      return readFileSync(join(dir, p), 'utf8');
    } catch {
      return undefined;
    }
  };
}

function normalised(objects: Manifest[]): string {
  return JSON.stringify(objects);
}

/** Every finding of the chapter. `values` substitute the placeholders before any check. */
export async function checkChapter(blocks: Classified[], labs: LabsReader, labsDir: string | undefined, values: PlaceholderValues = SAMPLE_VALUES): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const b of blocks) {
    if (b.kind === 'yaml' && b.manifest) out.push(...(await manifestFindings(b.id, yamlObjects(substitute(b.text, values)))));
    if (b.kind === 'command') {
      out.push(...commandFindings(b));
      for (const a of b.applies) {
        const text = labs(a.labsPath);
        if (text === undefined) {
          out.push(labsDir
            ? { block: b.id, severity: 'error', message: `line ${a.command.line}: applies istio-workshop-labs/${a.labsPath}, which is not in WORKSHOP_LABS=${labsDir}` }
            : { block: b.id, severity: 'warning', message: `line ${a.command.line}: applies istio-workshop-labs/${a.labsPath}; WORKSHOP_LABS is not set, so it is neither validated nor compared with the chapter` });
          continue;
        }
        const labsObjects = yamlObjects(substitute(text, values));
        const shown = blocks.find((y) => y.shownFor === b.id && y.kind === 'yaml');
        if (shown && normalised(yamlObjects(substitute(shown.text, values))) === normalised(labsObjects)) continue;
        if (shown) {
          const diff = createTwoFilesPatch(`chapter ${shown.file}:${shown.line}`, `labs ${a.labsPath}`, shown.text, text.endsWith('\n') ? text : `${text}\n`, '', '', { context: 2 })
            .split('\n').slice(1).join('\n').trimEnd();
          out.push({ block: b.id, severity: 'error', message: `istio-workshop-labs/${a.labsPath} differs from the block the reader was shown (${shown.id}):\n${diff}` });
        }
        out.push(...(await manifestFindings(b.id, labsObjects, `istio-workshop-labs/${a.labsPath}: `)));
      }
    }
    if (b.kind === 'output' && b.expected && !b.attachedTo) {
      out.push({ block: b.id, severity: 'warning', message: `shows an outcome (${b.expected}) but no command comes before it` });
    }
  }
  out.push(...unboundGateways(blocks, labs, values));
  return out;
}

/**
 * A Gateway that no VirtualService of the chapter binds (`spec.gateways`) routes nothing: the
 * sidecars keep sending the traffic straight to its destination (Istio's egress gateway task
 * binds a VirtualService to both `mesh` and the gateway). A warning: the workshop's step 9.
 */
function unboundGateways(blocks: Classified[], labs: LabsReader, values: PlaceholderValues): Finding[] {
  const seen: { block: string; o: Manifest }[] = [];
  for (const b of blocks) {
    if (b.kind === 'yaml' && b.manifest) for (const o of yamlObjects(substitute(b.text, values))) seen.push({ block: b.id, o });
    for (const a of b.applies) {
      const text = labs(a.labsPath);
      if (text !== undefined) for (const o of yamlObjects(substitute(text, values))) seen.push({ block: b.id, o });
    }
  }
  const bound = new Set<string>();
  for (const { o } of seen) {
    if (o.kind !== 'VirtualService') continue;
    const gateways = (o.spec as { gateways?: unknown } | undefined)?.gateways;
    if (Array.isArray(gateways)) for (const g of gateways) if (typeof g === 'string') bound.add(g.split('/').pop()!);
  }
  const reported = new Set<string>();
  const out: Finding[] = [];
  for (const { block, o } of seen) {
    const name = (o.metadata as { name?: unknown } | undefined)?.name;
    if (o.kind !== 'Gateway' || typeof name !== 'string' || bound.has(name) || reported.has(name)) continue;
    reported.add(name);
    out.push({ block, severity: 'warning', message: `Gateway ${name}: no VirtualService of the chapter binds it (spec.gateways), so no traffic is routed through it; the sidecars still connect straight to the destination` });
  }
  return out;
}
