/**
 * Findings about the chapter, without a cluster: manifests against the schemas (strict),
 * API versions, labs files against the blocks the reader was shown, commands against the
 * tools' current releases, and output blocks without a command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { isIP } from 'node:net';
import { isMap, parseAllDocuments } from 'yaml';
import { MEMORYSTORE_REDIS_VERSIONS } from '../helpers/run/settings.ts';
import { incompleteDocs, interactive, interactiveFlags, ISTIOCTL_INSTALL, nearest, PLACEHOLDERS, setPairs, yamlErrors, type Classified, type Command } from './classify.ts';
import { knownKind, strictProblems, type Manifest } from './schema.ts';

export type Severity = 'error' | 'warning';

export interface Finding {
  /** The block's id. */
  block: string;
  severity: Severity;
  message: string;
  /**
   * 1-based line the finding is about: in the chapter, or in `file` when set. Every finding of
   * the reader has one; optional in the type only for findings made elsewhere from these fields.
   */
  line?: number;
  /** Set when `line` is not the chapter's: the labs file (istio-workshop-labs/...). */
  file?: string;
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
  return yamlObjectsAt(text).map((p) => p.object);
}

/** The object documents of a YAML text, each with the 1-based line of the text where it starts. */
export function yamlObjectsAt(text: string): { object: Manifest; line: number }[] {
  return parseAllDocuments(text).flatMap((d) => {
    const object = d.toJS() as unknown;
    if (typeof object !== 'object' || object === null || Array.isArray(object)) return [];
    const start = isMap(d.contents) ? d.contents.range[0] : 0;
    return [{ object: object as Manifest, line: text.slice(0, start).split('\n').length }];
  });
}

/** Objects as kubectl would send them: with apiVersion and kind (the others are reported as incomplete). */
function whole(o: Manifest): boolean {
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string';
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

/** Where findings about objects go: each object's line (in `file`, or the chapter's when unset). */
export interface Place {
  lines: readonly number[];
  file?: string;
}

/** Findings about manifests (a YAML block, or a labs file the chapter applies). Objects without apiVersion or kind are left to the caller. */
export async function manifestFindings(block: string, objects: Manifest[], where = '', place: Place = { lines: [] }): Promise<Finding[]> {
  const out: Finding[] = [];
  const at = (i: number) => ({ line: place.lines[i] ?? place.lines[0] ?? 1, ...(place.file ? { file: place.file } : {}) });
  const problems = await strictProblems(objects);
  objects.forEach((o, i) => {
    const api = String(o.apiVersion);
    const kind = String(o.kind);
    const prefix = `${where}${describe(o)} (${api})`;
    const removed = REMOVED_APIS[api];
    if (removed) {
      out.push({ block, severity: 'error', message: `${prefix}: ${api} is ${removed}`, ...at(i) });
      return;
    }
    const deprecated = deprecatedApi(api, kind);
    if (deprecated) out.push({ block, severity: 'warning', message: `${prefix}: ${deprecated}`, ...at(i) });
    for (const p of problems[i] ?? []) out.push({ block, severity: 'error', message: `${prefix}: ${p.message}`, ...at(i) });
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
    out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: kubectl run --generator was removed in kubectl 1.21 ("unknown flag: --generator"); kubectl run only creates pods now, drop the flag` });
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
      out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: "kubectl exec POD COMMAND" without "--" was removed in kubectl 1.31 ("exec [POD] [COMMAND] is not supported anymore"); write ${fixed}` });
    }
  }
  if (interactive(w)) {
    out.push({ block, severity: 'warning', line: c.line, message: `line ${c.line}: interactive (${interactiveFlags(w).join(' ')}): needs a terminal; translated to the probe in the same place` });
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

/** A `key=value` pair of --set, split at its first `=` (no `=`: an empty value). */
function splitPair(kv: string): [string, string] {
  const i = kv.indexOf('=');
  return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
}

/*
 * The value names Istio reads, for --set checks (Istio 1.31, istio/istio at the pinned build):
 * - the istiod chart's top-level values and its `global` values:
 *   manifests/charts/istio-control/istio-discovery/values.yaml (under `_internal_defaults_do_not_set`,
 *   which the chart says to set directly);
 * - MeshConfig's fields (JSON names): istio/api mesh/v1alpha1/config.proto, message MeshConfig,
 *   and OutboundTrafficPolicy's (`mode`, `egressProxy`);
 * - the IstioOperator spec (istioctl install --set): operator/pkg/apis/types.go IstioOperatorSpec,
 *   IstioComponentSpec, and the Values message of operator/pkg/apis/values_types.proto.
 */
const ISTIOD_VALUES = ['autoscaleEnabled', 'autoscaleMin', 'autoscaleMax', 'autoscaleBehavior', 'replicaCount', 'rollingMaxSurge', 'rollingMaxUnavailable',
  'hub', 'tag', 'variant', 'image', 'traceSampling', 'resources', 'seccompProfile', 'cni', 'extraContainerArgs', 'env', 'envVarFrom', 'taint', 'affinity',
  'tolerations', 'cpu', 'memory', 'volumeMounts', 'volumes', 'initContainers', 'nodeSelector', 'podAnnotations', 'serviceAnnotations',
  'serviceAccountAnnotations', 'sidecarInjectorWebhookAnnotations', 'topologySpreadConstraints', 'jwksResolverExtraRootCA',
  'keepaliveMaxServerConnectionAge', 'deploymentLabels', 'deploymentAnnotations', 'configMap', 'podLabels', 'ipFamilyPolicy', 'ipFamilies',
  'trustedZtunnelNamespace', 'trustedZtunnelName', 'sidecarInjectorWebhook', 'istiodRemote', 'telemetry', 'revision', 'revisionTags', 'ownerName',
  'meshConfig', 'experimental', 'global', 'base', 'gateways', 'gatewayClasses', 'pdb'];
const ISTIOD_GLOBAL = ['istioNamespace', 'certSigners', 'defaultPodDisruptionBudget', 'defaultResources', 'hub', 'tag', 'variant', 'imagePullPolicy',
  'imagePullSecrets', 'istiod', 'logAsJson', 'nativeNftables', 'logging', 'networkPolicy', 'omitSidecarInjectorConfigMap', 'resourceScope',
  'operatorManageWebhooks', 'priorityClassName', 'proxy', 'proxy_init', 'remotePilotAddress', 'caAddress', 'externalIstiod', 'configCluster',
  'configValidation', 'meshID', 'meshNetworks', 'mountMtlsCerts', 'multiCluster', 'network', 'pilotCertProvider', 'sds', 'sts', 'caName', 'waypoint'];
const MESH_CONFIG = ['proxyListenPort', 'proxyInboundListenPort', 'proxyHttpPort', 'connectTimeout', 'hboneIdleTimeout', 'protocolDetectionTimeout',
  'tcpKeepalive', 'ingressClass', 'ingressService', 'ingressControllerMode', 'ingressSelector', 'enableTracing', 'accessLogFile', 'accessLogFormat',
  'accessLogEncoding', 'enableEnvoyAccessLogService', 'disableEnvoyListenerLog', 'defaultConfig', 'outboundTrafficPolicy', 'inboundTrafficPolicy',
  'configSources', 'enableAutoMtls', 'trustDomain', 'trustDomainAliases', 'caCertificates', 'defaultServiceExportTo', 'defaultVirtualServiceExportTo',
  'defaultDestinationRuleExportTo', 'rootNamespace', 'localityLbSetting', 'zoneAwareLbSetting', 'dnsRefreshRate', 'h2UpgradePolicy',
  'inboundClusterStatName', 'outboundClusterStatName', 'certificates', 'serviceSettings', 'serviceScopeConfigs', 'enablePrometheusMerge',
  'verifyCertificateAtClient', 'ca', 'extensionProviders', 'defaultProviders', 'discoverySelectors', 'pathNormalization', 'defaultHttpRetryPolicy',
  'meshMTLS', 'tlsDefaults', 'defaultTrafficPolicy', 'serviceEntryVisibility'];
const OUTBOUND_POLICY = ['mode', 'egressProxy'];
const OPERATOR_SPEC = ['profile', 'installPackagePath', 'hub', 'tag', 'namespace', 'revision', 'compatibilityVersion', 'meshConfig', 'components', 'values', 'unvalidatedValues'];
const OPERATOR_COMPONENTS = ['base', 'pilot', 'cni', 'ztunnel', 'istiodRemote', 'ingressGateways', 'egressGateways'];
const OPERATOR_VALUES = ['cni', 'gateways', 'global', 'pilot', 'ztunnel', 'telemetry', 'sidecarInjectorWebhook', 'istio_cni', 'istioCni', 'revision', 'ownerName',
  'meshConfig', 'base', 'istiodRemote', 'defaultRevision', 'profile', 'compatibilityVersion', 'experimental', 'gatewayClasses'];
/** manifests/profiles of istio/istio. */
const PROFILES = ['ambient', 'default', 'demo', 'empty', 'minimal', 'openshift', 'openshift-ambient', 'preview', 'remote', 'stable'];

/** The key that sets the outbound policy in today's charts and IstioOperator: the fix to suggest for any misspelt outbound key. */
export const MESH_MODE_KEY = 'meshConfig.outboundTrafficPolicy.mode';

/** A segment of a --set path without its list index (`egressGateways[0]`, `egressGateways[name:x]`). */
const segment = (s: string) => s.replace(/\[.*$/, '');

/**
 * What is wrong with a --set key under MeshConfig (`parts` after `meshConfig`) and its value,
 * or undefined. `prefix` is how the key starts as written.
 */
function meshConfigProblem(prefix: string, parts: string[], value: string): string | undefined {
  const [field, sub] = parts.map(segment);
  if (field === undefined) return undefined;
  if (!MESH_CONFIG.includes(field)) {
    const near = /outbound/i.test(parts.join('.')) ? MESH_MODE_KEY : nearest(field, MESH_CONFIG);
    return `MeshConfig has no field ${field}${near ? ` (did you mean ${near.includes('.') ? near : `${prefix}.${near}`}?)` : ''}`;
  }
  if (field !== 'outboundTrafficPolicy' || sub === undefined) return undefined;
  if (!OUTBOUND_POLICY.includes(sub)) return `outboundTrafficPolicy has no field ${sub} (did you mean ${prefix}.outboundTrafficPolicy.mode?)`;
  if (sub === 'mode' && !OUTBOUND_MODES.includes(value)) return `valid values are ${OUTBOUND_MODES.join(', ')}`;
  return undefined;
}

/** The chart a helm install/upgrade/template command names, by its last path segment (istio/istiod -> istiod), or undefined. */
export function helmChart(words: string[]): string | undefined {
  if (!['install', 'upgrade', 'template'].includes(words[1] ?? '')) return undefined;
  const positional: string[] = [];
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') break;
    if (w.startsWith('-')) {
      if (!w.includes('=') && !HELM_BOOLEAN_FLAGS.has(w)) i++;
      continue;
    }
    positional.push(w);
  }
  const generated = words.includes('--generate-name') || words.includes('-g');
  const chart = words[1] === 'template' && positional.length === 1 ? positional[0] : positional[generated ? 0 : 1];
  return chart?.replace(/\/+$/, '').split('/').pop();
}

// helm install/upgrade/template flags that take no value (Helm 3 `helm install --help`, `helm upgrade --help`).
const HELM_BOOLEAN_FLAGS = new Set(['--atomic', '--create-namespace', '--dependency-update', '--devel', '--disable-openapi-validation', '--dry-run',
  '--enable-dns', '--force', '--generate-name', '-g', '--hide-notes', '--hide-secret', '--insecure-skip-tls-verify', '--install', '-i', '--no-hooks',
  '--pass-credentials', '--plain-http', '--render-subchart-notes', '--replace', '--reset-then-reuse-values', '--reset-values', '--reuse-values',
  '--rollback-on-failure', '--skip-crds', '--skip-schema-validation', '--take-ownership', '--verify', '--wait', '--wait-for-jobs', '--cleanup-on-fail',
  '--debug', '--include-crds', '--is-upgrade', '--skip-tests', '--validate', '--kube-insecure-skip-tls-verify']);

/** What is wrong with a --set key of the istiod chart (and its value), or undefined. */
export function istiodValueProblem(key: string, value: string): string | undefined {
  const parts = key.split('.');
  const top = segment(parts[0]!);
  if (top === 'meshConfig') return meshConfigProblem('meshConfig', parts.slice(1), value);
  if (!ISTIOD_VALUES.includes(top)) {
    const near = /outbound/i.test(key) ? MESH_MODE_KEY : nearest(top, ISTIOD_VALUES);
    return `the istiod chart has no value ${top}${near ? ` (did you mean ${near}?)` : ''}`;
  }
  if (top === 'global' && parts[1] !== undefined && !ISTIOD_GLOBAL.includes(segment(parts[1]))) {
    const near = /outbound/i.test(key) ? MESH_MODE_KEY : nearest(segment(parts[1]), ISTIOD_GLOBAL);
    return `the istiod chart has no value global.${segment(parts[1])}${near ? ` (did you mean ${near.includes('.') ? near : `global.${near}`}?)` : ''}`;
  }
  return undefined;
}

/** What is wrong with an `istioctl install --set` path (relative to the IstioOperator spec) and its value, or undefined. */
export function operatorSetProblem(key: string, value: string): string | undefined {
  const parts = key.split('.');
  if (parts[0] === 'spec') parts.shift();
  // Stryker disable next-line StringLiteral: split() always returns at least one element
  const top = segment(parts[0] ?? '');
  if (!OPERATOR_SPEC.includes(top)) {
    const near = /outbound/i.test(key) ? MESH_MODE_KEY : nearest(top, OPERATOR_SPEC);
    return `the IstioOperator spec has no field ${top}${near ? ` (did you mean ${near}?)` : ''}`;
  }
  if (top === 'profile' && !PROFILES.includes(value)) return `valid values are ${PROFILES.join(', ')}`;
  if (top === 'meshConfig') return meshConfigProblem('meshConfig', parts.slice(1), value);
  if (top === 'components' && parts[1] !== undefined && !OPERATOR_COMPONENTS.includes(segment(parts[1]))) {
    return `IstioOperator has no component ${segment(parts[1])} (components are ${OPERATOR_COMPONENTS.join(', ')})`;
  }
  if (top === 'values' && parts[1] !== undefined) {
    const v = segment(parts[1]);
    if (v === 'meshConfig') return meshConfigProblem('values.meshConfig', parts.slice(2), value);
    if (!OPERATOR_VALUES.includes(v)) return `the install's values have no ${v}${/outbound/i.test(key) ? ` (did you mean ${MESH_MODE_KEY}?)` : ''}`;
    if (v === 'global' && parts[2] !== undefined && !ISTIOD_GLOBAL.includes(segment(parts[2]))) {
      const near = /outbound/i.test(key) ? MESH_MODE_KEY : nearest(segment(parts[2]), ISTIOD_GLOBAL);
      return `the install's values have no global.${segment(parts[2])}${near ? ` (did you mean ${near.includes('.') ? near : `values.global.${near}`}?)` : ''}`;
    }
  }
  return undefined;
}

export function helmFindings(block: string, c: Command): Finding[] {
  const w = c.words;
  const out: Finding[] = [];
  const error = (message: string) => out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: ${message}` });
  if (w[1] === 'init') error('helm init was removed in Helm 3 (no Tiller); nothing to initialise');
  if (w.some((x) => x === '--name' || x.startsWith('--name='))) error('helm --name was removed in Helm 3; the release name is the first argument (helm install NAME CHART)');
  const old = w.find((x) => x.includes('install/kubernetes/helm'));
  if (old) error(`${old}: Istio's Helm 2 charts under install/kubernetes/helm are not in current releases (the charts are base, istiod and gateway under manifests/charts)`);
  const chart = helmChart(w);
  const istiod = chart === 'istiod' || chart === 'istio-discovery';
  for (const kv of setPairs(w)) {
    const [key, value] = splitPair(kv);
    const known = (MESH_KEYS as readonly string[]).includes(key);
    if (istiod) {
      const problem = istiodValueProblem(key, value);
      if (problem?.startsWith('valid values')) error(`--set ${key}=${value}: ${problem}`);
      else if (problem) error(`--set ${key}: ${problem}; Helm ignores values no template reads, so this changes nothing`);
    } else if (!known && /outbound/i.test(key)) {
      error(`--set ${key}: no such value in the Istio charts (did you mean ${MESH_MODE_KEY}?); Helm ignores unknown keys, so the mesh keeps its default outbound policy (ALLOW_ANY) and this step changes nothing`);
    } else if (known && !OUTBOUND_MODES.includes(value)) {
      error(`--set ${key}=${value}: valid values are ${OUTBOUND_MODES.join(', ')}`);
    }
  }
  return out;
}

/** `istioctl install|upgrade|manifest generate --set`: each path against the IstioOperator spec and MeshConfig. */
export function istioctlFindings(block: string, c: Command): Finding[] {
  // Stryker disable next-line StringLiteral: a missing subcommand is in the list neither as "" nor as any other word that is not a subcommand
  if (!ISTIOCTL_INSTALL.includes(c.words[1] ?? '')) return [];
  return setPairs(c.words).flatMap((kv) => {
    const [key, value] = splitPair(kv);
    const problem = operatorSetProblem(key, value);
    if (!problem) return [];
    // Measured with istioctl 1.31 (manifest generate): an unknown MeshConfig field passes unnoticed,
    // an unknown spec or values field, profile or enum value is refused.
    const unchecked = /^(spec\.)?(values\.)?meshConfig\./.test(key) && problem.includes('has no field');
    const effect = unchecked ? 'istioctl does not check MeshConfig\'s field names, so it installs the mesh without this setting' : 'istioctl refuses it';
    const valueProblem = problem.startsWith('valid values') || problem.includes('; valid values');
    return [{ block, severity: 'error' as const, line: c.line, message: `line ${c.line}: --set ${key}${valueProblem ? `=${value}` : ''}: ${problem}; ${effect}` }];
  });
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
    if (!REDIS_CREATE_FLAGS.has(flag)) out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: gcloud redis instances create has no flag ${flag}` });
  }
  const version = flagValue(w, '--redis-version');
  if (version !== undefined && !(MEMORYSTORE_REDIS_VERSIONS as readonly string[]).includes(version)) {
    out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: --redis-version=${version} is not a Memorystore version; valid values: ${MEMORYSTORE_REDIS_VERSIONS.join(', ')}` });
  }
  const size = flagValue(w, '--size');
  if (size !== undefined && !/^[1-9]\d*$/.test(size)) {
    out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: --size=${size} must be a whole number of GiB, at least 1` });
  }
  if (flagValue(w, '--region') === undefined) {
    out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: gcloud redis instances create needs --region` });
  }
  const name = w.slice(4).find((a, i, all) => !a.startsWith('-') && !(all[i - 1] ?? '').match(/^--[a-z-]+$/) );
  if (name !== undefined && !/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
    out.push({ block, severity: 'error', line: c.line, message: `line ${c.line}: instance name ${name}: lower-case letters, digits and "-", starting with a letter, at most 40 characters` });
  }
  return out;
}

function commandFindings(b: Classified): Finding[] {
  const all = b.commands.flatMap((c) => [c, ...c.inner]);
  return all.flatMap((c) => {
    switch (c.words[0]) {
      case 'kubectl': return kubectlFindings(b.id, c);
      case 'helm': return helmFindings(b.id, c);
      case 'istioctl': return istioctlFindings(b.id, c);
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
    } /* Stryker disable next-line BlockStatement: the function returns undefined after the catch either way */ catch {
      return undefined;
    }
  };
}

/** Objects compared as data: keys sorted at every level, so the order they are written in does not count. */
export function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value));
}

/** One object of the chapter, where it comes from (block, file line or labs file and line). */
export interface Placed {
  block: string;
  object: Manifest;
  line: number;
  file?: string;
  /** How findings name where the object is written (a labs file, a here-document), or ''. */
  where?: string;
}

/** A text of YAML the chapter applies or shows: a block, a here-document, or a labs file. */
interface Source {
  block: string;
  /** File line of the text's first line. */
  first: number;
  /** Set for a labs file: its path as the chapter names it. */
  file?: string;
  text: string;
  /** Prefix of its findings' messages. */
  where: string;
}

/** Findings about one YAML source: parse errors, incomplete documents, then its objects. The objects are returned for the checks across the chapter. */
async function sourceFindings(src: Source, values: PlaceholderValues): Promise<{ findings: Finding[]; objects: Placed[] }> {
  const text = substitute(src.text, values);
  const at = (line: number) => ({ line: src.first + line - 1, ...(src.file ? { file: src.file } : {}) });
  const errors = yamlErrors(text);
  if (errors.length > 0) {
    return {
      findings: errors.map((e) => ({
        block: src.block, severity: 'error' as const, ...at(e.line),
        message: `${src.where}line ${src.first + e.line - 1}${src.file ? ` of ${src.file}` : ''}: the YAML does not parse (${e.message}); kubectl would apply nothing of it`,
      })),
      objects: [],
    };
  }
  const findings: Finding[] = incompleteDocs(text).map((p) => ({
    block: src.block, severity: 'error' as const, ...at(p.line), message: `${src.where}line ${src.first + p.line - 1}${src.file ? ` of ${src.file}` : ''}: ${p.message}${suggestedApi(text, p.line)}`,
  }));
  const placed = yamlObjectsAt(text).filter((p) => whole(p.object));
  findings.push(...(await manifestFindings(src.block, placed.map((p) => p.object), src.where, { lines: placed.map((p) => src.first + p.line - 1), ...(src.file ? { file: src.file } : {}) })));
  return { findings, objects: placed.map((p) => ({ block: src.block, object: p.object, ...at(p.line), where: src.where })) };
}

/** For a document with a kind but no apiVersion: the version that serves the kind, as a hint. */
function suggestedApi(text: string, line: number): string {
  // Stryker disable next-line OptionalChaining: incompleteDocs and yamlObjectsAt find the same map documents at the same lines, so the find never misses
  const doc = yamlObjectsAt(text).find((p) => p.line === line)?.object;
  // Stryker disable next-line OptionalChaining: doc is always found (see above)
  const kind = doc?.kind;
  // Stryker disable next-line OptionalChaining: doc is always found (see above)
  if (typeof kind !== 'string' || doc?.apiVersion !== undefined) return '';
  const api = ['networking.istio.io/v1', 'security.istio.io/v1', 'v1', 'apps/v1', 'telemetry.istio.io/v1'].find((v) => knownKind(v, kind));
  return api ? `; ${kind} is apiVersion: ${api}` : '';
}

/** The YAML block shown for a labs file, as classify matched it (undefined: none). */
function shownBlock(blocks: Classified[], b: Classified): Classified | undefined {
  return blocks.find((y) => y.shownFor === b.id && y.kind === 'yaml');
}

/** Every finding of the chapter. `values` substitute the placeholders before any check. */
export async function checkChapter(blocks: Classified[], labs: LabsReader, labsDir: string | undefined, values: PlaceholderValues = SAMPLE_VALUES): Promise<Finding[]> {
  const out: Finding[] = [];
  const objects: Placed[] = [];
  if (blocks.length === 0) {
    out.push({ block: '(page)', severity: 'error', line: 1, message: 'the page has no code blocks, so nothing of it can be checked: an empty page, a page that is not Markdown text, or not the chapter (WORKSHOP_CHAPTER)' });
  }
  for (const b of blocks) {
    if (b.unclosed) {
      out.push({ block: b.id, severity: 'error', line: b.line, message: `line ${b.line}: the fence ${b.unclosed.fence} opened here is never closed, so lines ${b.line + 1}-${b.endLine} are all read as this one block; close it with ${b.unclosed.fence}` });
    }
    if (b.kind === 'yaml' && b.manifest) {
      const r = await sourceFindings({ block: b.id, first: b.line + 1, text: b.text, where: '' }, values);
      out.push(...r.findings);
      objects.push(...r.objects);
    }
    if (b.kind === 'command') {
      out.push(...commandFindings(b));
      for (const { heredoc, command } of b.inline ?? []) {
        const r = await sourceFindings({ block: b.id, first: heredoc.line, text: heredoc.text, where: `here-document of line ${command.line}: ` }, values);
        out.push(...r.findings);
        objects.push(...r.objects);
      }
      for (const a of b.applies) {
        const text = labs(a.labsPath);
        if (text === undefined) {
          out.push(labsDir
            ? { block: b.id, severity: 'error', line: a.command.line, message: `line ${a.command.line}: applies istio-workshop-labs/${a.labsPath}, which is not in WORKSHOP_LABS=${labsDir}` }
            : { block: b.id, severity: 'warning', line: a.command.line, message: `line ${a.command.line}: applies istio-workshop-labs/${a.labsPath}; WORKSHOP_LABS is not set, so it is neither validated nor compared with the chapter` });
          continue;
        }
        const file = `istio-workshop-labs/${a.labsPath}`;
        const r = await sourceFindings({ block: b.id, first: 1, file, text, where: `${file}: ` }, values);
        const shown = shownBlock(blocks, b);
        const parses = yamlErrors(text).length === 0;
        if (shown && parses && (shown.yamlErrors?.length ?? 0) === 0) {
          const same = canonical(yamlObjects(substitute(shown.text, values))) === canonical(yamlObjects(substitute(text, values)));
          // The same objects as the block shown: already checked there.
          if (same) continue;
          const diff = createTwoFilesPatch(`chapter ${shown.file}:${shown.line}`, `labs ${a.labsPath}`, shown.text, text.endsWith('\n') ? text : `${text}\n`, '', '', { context: 2 })
            .split('\n').slice(1).join('\n').trimEnd();
          out.push({ block: b.id, severity: 'error', line: a.command.line, message: `istio-workshop-labs/${a.labsPath} differs from the block the reader was shown (${shown.id}):\n${diff}` });
        }
        out.push(...r.findings);
        objects.push(...r.objects);
      }
    }
    if (b.kind === 'output' && b.expected && !b.attachedTo) {
      out.push({ block: b.id, severity: 'warning', line: b.line, message: `shows an outcome (${b.expected}) but no command comes before it` });
    }
  }
  out.push(...istioRules(objects));
  out.push(...unboundGateways(objects));
  return out;
}

/*
 * Istio's own rules, beyond the schemas, from istio/istio (the pinned 1.31 build):
 * - pkg/config/validation/validation.go ValidateServiceEntry (what istiod's validating webhook and
 *   `istioctl validate` refuse): port names are DNS-1123 labels (ValidatePortName), protocols
 *   are the ones pkg/config/protocol Parse knows (ValidateProtocol), addresses are IPs or CIDRs
 *   (agent.ValidateIPSubnet), resolution NONE takes no endpoints, DNS without endpoints needs
 *   hosts that are DNS names;
 * - pkg/config/kube/conversion.go ConvertProtocol: a port name's prefix up to the first "-" names
 *   its protocol (the convention Istio reads from Service ports);
 * - the analyzers of pkg/config/analysis/analyzers: gateway/gateway.go (IST0101 a Gateway selector
 *   that matches no gateway pod, IST0104 a Gateway port the gateway's Service does not expose) and
 *   virtualservice/gateways.go (IST0101 a VirtualService naming a Gateway that does not exist);
 * - istio/api networking/v1alpha3/service_entry.proto: MESH_INTERNAL is for workloads of the mesh
 *   (mutual TLS, sidecars), MESH_EXTERNAL for services outside it.
 */

/** pkg/config/protocol/instance.go Parse (case ignored). */
const PROTOCOLS = ['TCP', 'UDP', 'GRPC', 'GRPC-Web', 'HTTP', 'HTTP_PROXY', 'HTTP2', 'HTTPS', 'TLS', 'Mongo', 'Redis', 'MySQL'];
const HTTP_PROTOCOLS = new Set(['http', 'http2', 'http_proxy', 'grpc', 'grpc-web']);

/** The protocol a port name's prefix names (ConvertProtocol: up to the first "-", grpc-web whole), or undefined. */
export function protocolOfName(name: string): string | undefined {
  const prefix = /^grpc-web/i.test(name) ? 'grpc-web' : name.split('-')[0]!.toLowerCase();
  return PROTOCOLS.find((p) => p.toLowerCase() === prefix);
}

/** The gateway workloads an Istio install runs, by their pod labels: manifests/charts/gateways/istio-{egress,ingress}/values.yaml. */
export const INSTALLED_GATEWAYS: readonly { name: string; labels: Readonly<Record<string, string>>; ports: readonly { port: number; targetPort: number }[] }[] = [
  { name: 'istio-egressgateway', labels: { app: 'istio-egressgateway', istio: 'egressgateway' }, ports: [{ port: 80, targetPort: 8080 }, { port: 443, targetPort: 8443 }] },
  { name: 'istio-ingressgateway', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' }, ports: [{ port: 15021, targetPort: 15021 }, { port: 80, targetPort: 8080 }, { port: 443, targetPort: 8443 }] },
];

/**
 * Domains that resolve in no public DNS: RFC 2606 (example, invalid, test, localhost), RFC 6762
 * (local) and its appendix G (names used privately: intranet, internal, private, corp, home, lan),
 * and `domain`, which is no top-level domain.
 */
const UNRESOLVABLE = ['example', 'invalid', 'test', 'localhost', 'local', 'intranet', 'internal', 'private', 'corp', 'home', 'lan', 'domain'];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
}
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const nameOf = (o: Manifest) => String(asRecord(o.metadata).name ?? '(no name)');

function serviceEntryRules(p: Placed): Finding[] {
  const out: Finding[] = [];
  const spec = asRecord(p.object.spec);
  const who = `ServiceEntry ${nameOf(p.object)}`;
  const err = (message: string, severity: Severity = 'error') => out.push({ block: p.block, severity, line: p.line, ...(p.file ? { file: p.file } : {}), message: `${p.where ?? ''}${who}: ${message}` });
  const hosts = asList(spec.hosts).map(String);
  const addresses = asList(spec.addresses).map(String);
  const endpoints = asList(spec.endpoints).map(asRecord);
  const resolution = typeof spec.resolution === 'string' ? spec.resolution : 'NONE';
  for (const port of asList(spec.ports).map(asRecord)) {
    const name = String(port.name ?? '');
    const protocol = typeof port.protocol === 'string' ? port.protocol : '';
    if (name && !DNS_LABEL.test(name)) err(`port name "${name}" is not a DNS label (lower-case letters, digits, "-"); istiod refuses it (invalid port name)`);
    if (protocol && !PROTOCOLS.some((x) => x.toLowerCase() === protocol.toLowerCase())) {
      err(`port ${String(port.number)} protocol "${protocol}" is not one Istio knows (unsupported protocol); valid values: ${PROTOCOLS.join(', ')}`);
      continue;
    }
    const named = protocolOfName(name);
    if (protocol && named && HTTP_PROTOCOLS.has(named.toLowerCase()) !== HTTP_PROTOCOLS.has(protocol.toLowerCase())) {
      err(`port ${name} is named for ${named} but declares protocol ${protocol}: Istio uses the declared protocol, so the sidecar ${HTTP_PROTOCOLS.has(protocol.toLowerCase()) ? 'parses the connection as HTTP' : 'passes it on as raw TCP'}; make the name's prefix and the protocol agree`);
    }
  }
  for (const a of addresses) {
    const [ip, bits] = a.split('/');
    if (!isIP(ip ?? '') || (bits !== undefined && !/^\d+$/.test(bits))) err(`address "${a}" is not an IP address or CIDR block; istiod refuses it`);
  }
  if (resolution === 'NONE' && endpoints.length > 0) err('resolution NONE (the default) takes no endpoints; istiod refuses it. Use resolution: STATIC with IP endpoints, or DNS');
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
    for (const h of hosts) {
      const labels = h.replace(/^\*\./, '').split('.');
      const tld = labels[labels.length - 1]!.toLowerCase();
      if (labels.length < 2 || UNRESOLVABLE.includes(tld)) {
        err(`resolution ${resolution} without endpoints: Envoy connects to what the host ${h} resolves to in DNS${addresses.length ? `, not to the addresses (${addresses.join(', ')}), which only select the traffic` : ''}, and ${h} resolves nowhere (.${tld} is not a public domain). Use resolution: STATIC with endpoints: [{address: ...}], or NONE`);
        break;
      }
    }
  }
  if (spec.location === 'MESH_INTERNAL' && spec.workloadSelector === undefined && !endpoints.some((e) => e.labels !== undefined || e.serviceAccount !== undefined || e.network !== undefined)) {
    err('location MESH_INTERNAL says the service runs in the mesh with a sidecar, but nothing selects a mesh workload (no workloadSelector, no endpoint labels or service account): a service outside the mesh is location: MESH_EXTERNAL');
  }
  return out;
}

/** Pod labels of the chapter's own workloads (Pods, and the pod templates of Deployments and the like). */
function workloadLabels(objects: Placed[]): Record<string, unknown>[] {
  return objects.flatMap(({ object: o }) => {
    if (o.kind === 'Pod') return [asRecord(asRecord(o.metadata).labels)];
    const template = asRecord(asRecord(o.spec).template);
    return Object.keys(template).length ? [asRecord(asRecord(template.metadata).labels)] : [];
  });
}

export function istioRules(objects: Placed[]): Finding[] {
  const out: Finding[] = [];
  const pods = workloadLabels(objects);
  const gateways = new Set(objects.filter((p) => p.object.kind === 'Gateway').map((p) => nameOf(p.object)));
  for (const p of objects) {
    const o = p.object;
    if (typeof o.apiVersion !== 'string' || !o.apiVersion.startsWith('networking.istio.io/')) continue;
    const where = (message: string, severity: Severity = 'error'): Finding => ({ block: p.block, severity, line: p.line, ...(p.file ? { file: p.file } : {}), message: `${p.where ?? ''}${String(o.kind)} ${nameOf(o)}: ${message}` });
    const spec = asRecord(o.spec);
    if (o.kind === 'ServiceEntry') out.push(...serviceEntryRules(p));
    if (o.kind === 'Gateway') {
      const selector = Object.entries(asRecord(spec.selector)).map(([k, v]) => [k, String(v)] as const);
      if (selector.length === 0) continue;
      const matches = (labels: Record<string, unknown>) => selector.every(([k, v]) => labels[k] === v);
      const installed = INSTALLED_GATEWAYS.find((g) => matches(g.labels));
      if (!installed && !pods.some(matches)) {
        const shown = selector.map(([k, v]) => `${k}: ${v}`).join(', ');
        const near = INSTALLED_GATEWAYS.find((g) => selector.some(([k, v]) => {
          const label = g.labels[k];
          return label !== undefined && (label.includes(v) || v.includes(label) || nearest(v, [label]) !== undefined);
        }));
        out.push(where(`selector {${shown}} matches no gateway of the install (istio: egressgateway, istio: ingressgateway) nor any pod of the chapter, so no proxy serves this Gateway (istioctl analyze: IST0101)${near ? `; ${near.name}'s labels are ${Object.entries(near.labels).map(([k, v]) => `${k}: ${v}`).join(', ')}` : ''}`));
        continue;
      }
      if (!installed) continue;
      for (const server of asList(spec.servers).map(asRecord)) {
        const n = Number(asRecord(server.port).number);
        if (Number.isInteger(n) && !installed.ports.some((x) => x.port === n || x.targetPort === n)) {
          out.push(where(`port ${n} is not a port of the ${installed.name} Service (${installed.ports.map((x) => `${x.port}->${x.targetPort}`).join(', ')}), so nothing reaches this server through it (istioctl analyze: IST0104); use one of those ports or add ${n} to the gateway's Service`, 'warning'));
        }
      }
    }
    if (o.kind === 'VirtualService') {
      const named = [...asList(spec.gateways), ...['http', 'tcp', 'tls'].flatMap((r) => asList(spec[r]).flatMap((route) => asList(asRecord(route).match).flatMap((m) => asList(asRecord(m).gateways))))];
      const missing = [...new Set(named.filter((g): g is string => typeof g === 'string' && g !== 'mesh').filter((g) => !gateways.has(g.split('/').pop()!)))];
      for (const g of missing) {
        const near = nearest(g.split('/').pop()!, [...gateways]);
        out.push(where(`names the Gateway ${g}, which the chapter does not create, so the routes bound to it apply nowhere (istioctl analyze: IST0101)${near ? ` (did you mean ${near}?)` : ''}`));
      }
    }
  }
  return out;
}

/**
 * A Gateway that no VirtualService of the chapter binds (`spec.gateways`) routes nothing: the
 * sidecars keep sending the traffic straight to its destination (Istio's egress gateway task
 * binds a VirtualService to both `mesh` and the gateway). A warning: the workshop's step 9.
 */
function unboundGateways(objects: Placed[]): Finding[] {
  const bound = new Set<string>();
  for (const { object: o } of objects) {
    if (o.kind !== 'VirtualService') continue;
    const gateways = (o.spec as { gateways?: unknown } | undefined)?.gateways;
    if (Array.isArray(gateways)) for (const g of gateways) if (typeof g === 'string') bound.add(g.split('/').pop()!);
  }
  const reported = new Set<string>();
  const out: Finding[] = [];
  for (const { block, object: o, line, file } of objects) {
    const name = (o.metadata as { name?: unknown } | undefined)?.name;
    if (o.kind !== 'Gateway' || typeof name !== 'string' || bound.has(name) || reported.has(name)) continue;
    reported.add(name);
    out.push({
      block, severity: 'warning', line, ...(file ? { file } : {}),
      message: `Gateway ${name}: no VirtualService of the chapter binds it (spec.gateways), so no traffic is routed through it; the sidecars still connect straight to the destination. ` +
        `Fix: a VirtualService with gateways: [mesh, ${name}] and two routes, one matching gateways: [mesh] that sends the traffic to the egress gateway's Service, one matching gateways: [${name}] that sends it on to the destination`,
    });
  }
  return out;
}
