/**
 * The pure part of `images/tools/build-tools.ts`: which Go tools are built from which wrapper
 * module, their version ldflags, the stamp that says whether a built binary is still current,
 * and the command line. Nothing here runs a process or touches the disk, so it is tested
 * directly (self-tests/go-builds.test.ts).
 *
 * Each tool is built from a wrapper module under images/<dir>/ (go.mod, go.sum, a small .go
 * file), because the upstream modules either replace their own dependencies with local paths
 * (k8s.io/kubernetes, go.etcd.io/etcd/server/v3: `go install mod@version` refuses them) or
 * need version ldflags. The upstream version is the one the wrapper's go.mod requires, so a
 * dependency bot bumping go.mod bumps the build and its stamp.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pins } from '../../helpers/run/pins.ts';

export const TOOL_NAMES = ['kube', 'etcd', 'kwok', 'kind', 'istioctl', 'pilot-discovery', 'pilot-agent'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** What `go mod download -json MOD@VERSION` says about the upstream module: its tag's time and commit. */
export interface ModuleOrigin {
  version: string;
  /** RFC 3339, the tag's commit time as the module proxy reports it. */
  time?: string;
  /** The tag's commit hash, when the proxy knows it. */
  commit?: string;
}

export interface ToolSpec {
  name: ToolName;
  /** The wrapper module's folder under images/. */
  dir: string;
  /** The upstream module whose version (from the wrapper's go.mod) names the build. */
  module: string;
  /** The package `go build` builds, in the wrapper module. */
  pkg: string;
  /** The binary written to the tools folder. */
  binary: string;
  /** Names linked to `binary` (a multi-call binary chooses by the name it was started as). */
  links: readonly string[];
  /** Arguments that print the version, run on `binary` (or on its first link). */
  versionArgs: readonly string[];
  /** -X and other linker flags for this version. */
  ldflags: (origin: ModuleOrigin) => string[];
  /** The version the tool itself must print, e.g. `v1.36.1` or `3.6.16`. */
  expectedVersion: (origin: ModuleOrigin) => string;
  /** Go build tags, if any. */
  tags?: readonly string[];
  /** Where the binary goes, relative to the tools folder (default: the tools folder itself). */
  outDir?: string;
  /**
   * Files the tool needs beside it, taken from the upstream module's own tree: each `to` (relative
   * to the tools folder) is the `from` files of the module, joined as YAML documents.
   */
  data?: readonly { to: string; from: readonly string[] }[];
}

/** A fixed build date when the tag's time is unknown: builds stay reproducible either way. */
export const UNKNOWN_BUILD_DATE = '1970-01-01T00:00:00Z';

/** `v1.36.1` -> `{ major: '1', minor: '36' }`; pre-release and build suffixes are kept off. */
export function majorMinor(version: string): { major: string; minor: string } {
  const m = /^v(\d+)\.(\d+)\.\d+(?:[-+].*)?$/.exec(version);
  if (!m) throw new Error(`not a semantic version: ${JSON.stringify(version)}`);
  return { major: m[1]!, minor: m[2]! };
}

/**
 * The Kubernetes version ldflags, set both in component-base (what `--version` and `/version`
 * print) and in client-go (the User-Agent and client version), as Kubernetes' own build does.
 */
export function kubeLdflags(origin: ModuleOrigin): string[] {
  const { major, minor } = majorMinor(origin.version);
  const flags: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${pkg}.gitVersion=${origin.version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      ...(origin.commit ? [`-X ${pkg}.gitCommit=${origin.commit}`] : []),
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=${origin.time ?? UNKNOWN_BUILD_DATE}`,
    );
  }
  return flags;
}

/** The commit shown by `etcd --version` (its version itself is a constant in the source). */
export function etcdLdflags(origin: ModuleOrigin): string[] {
  return origin.commit ? [`-X go.etcd.io/etcd/api/v3/version.GitSHA=${origin.commit.slice(0, 7)}`] : [];
}

/**
 * None for kwok: at a release tag its source already holds the version (pkg/consts.Version
 * `0.8.0`, PreRelease `GA`), and `kwok --version` prints `kwok version v0.8.0 ...` as it is.
 */
export function kwokLdflags(_origin: ModuleOrigin): string[] {
  return [];
}

/** kind's version is in its source at a release tag; only the commit comes from the build. */
export function kindLdflags(origin: ModuleOrigin): string[] {
  return origin.commit ? [`-X sigs.k8s.io/kind/pkg/cmd/kind/version.gitCommit=${origin.commit}`] : [];
}

/**
 * Istio's version ldflags (istio.io/istio pkg/version/version.go): without them istioctl says
 * "unknown" and renders no image tags. buildHub is the hub istioctl's manifests name by default;
 * the suite's own images (not built yet) would carry it.
 */
export function istioLdflags(_origin: ModuleOrigin): string[] {
  const b = pins.istioBuild;
  const v = 'istio.io/istio/pkg/version';
  return [
    `-X ${v}.buildVersion=${b.version}`, `-X ${v}.buildGitRevision=${b.commit}`, `-X ${v}.buildStatus=Clean`,
    `-X ${v}.buildTag=${b.version}`, `-X ${v}.buildHub=egress-verify`, `-X ${v}.buildOS=linux`, `-X ${v}.buildArch=amd64`,
  ];
}

/** One of Istio's three commands, built from images/istio/ (tags as in istio/istio's Makefile.core.mk). */
function istioCommand(name: 'istioctl' | 'pilot-discovery' | 'pilot-agent', pkg: string): ToolSpec {
  return {
    name, dir: 'istio', module: 'istio.io/istio', pkg, binary: name, links: [],
    versionArgs: name === 'istioctl' ? ['version', '--remote=false'] : ['version'],
    ldflags: istioLdflags, expectedVersion: () => pins.istioBuild.version,
    tags: name === 'pilot-agent' ? ['vtprotobuf', 'disable_pgv', 'agent'] : ['vtprotobuf', 'disable_pgv'],
    outDir: join('..', 'istio', pins.istioBuild.version, 'bin'),
    // The CRDs of this Istio, for the local API server (the base chart's file).
    ...(name === 'istioctl' ? { data: [{ to: 'istio-crds.yaml', from: ['manifests/charts/base/files/crd-all.gen.yaml'] }] } : {}),
    // The Envoy bootstrap template pilot-agent renders (its proxyv2 image has it at
    // /var/lib/istio/envoy/envoy_bootstrap_tmpl.json), for a sidecar run outside a container.
    ...(name === 'pilot-agent' ? { data: [{ to: 'envoy_bootstrap_tmpl.json', from: ['tools/packaging/common/envoy_bootstrap.json'] }] } : {}),
  };
}

export const TOOLS: Readonly<Record<ToolName, ToolSpec>> = {
  kube: {
    name: 'kube',
    dir: 'kubernetes',
    module: 'k8s.io/kubernetes',
    pkg: '.',
    binary: 'kube-control-plane',
    links: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    versionArgs: ['--version'],
    ldflags: kubeLdflags,
    expectedVersion: (o) => o.version,
  },
  etcd: {
    name: 'etcd',
    dir: 'etcd',
    module: 'go.etcd.io/etcd/server/v3',
    pkg: 'go.etcd.io/etcd/server/v3',
    binary: 'etcd',
    links: [],
    versionArgs: ['--version'],
    ldflags: etcdLdflags,
    expectedVersion: (o) => o.version.replace(/^v/, ''),
  },
  kwok: {
    name: 'kwok',
    dir: 'kwok',
    module: 'sigs.k8s.io/kwok',
    pkg: 'sigs.k8s.io/kwok/cmd/kwok',
    binary: 'kwok',
    links: [],
    versionArgs: ['--version'],
    ldflags: kwokLdflags,
    expectedVersion: (o) => o.version,
    // The kwok binary has no stages of its own (v0.8.0 exits "no stages found"): its default
    // "fast" node and pod stages, from the module's kustomize/stage folders.
    data: [{
      to: 'kwok-stages.yaml',
      from: ['kustomize/stage/node/fast/node-initialize.yaml', 'kustomize/stage/pod/fast/pod-ready.yaml', 'kustomize/stage/pod/fast/pod-complete.yaml', 'kustomize/stage/pod/fast/pod-delete.yaml'],
    }],
  },
  kind: {
    name: 'kind',
    dir: 'kind',
    module: 'sigs.k8s.io/kind',
    pkg: 'sigs.k8s.io/kind',
    binary: 'kind',
    links: [],
    versionArgs: ['version'],
    ldflags: kindLdflags,
    expectedVersion: (o) => o.version,
  },
  'istioctl': istioCommand('istioctl', 'istio.io/istio/istioctl/cmd/istioctl'),
  'pilot-discovery': istioCommand('pilot-discovery', 'istio.io/istio/pilot/cmd/pilot-discovery'),
  'pilot-agent': istioCommand('pilot-agent', 'istio.io/istio/pilot/cmd/pilot-agent'),
};

/** Linker flags for every tool: no symbol table or DWARF (about a third smaller), then the version flags. */
export function linkerFlags(spec: ToolSpec, origin: ModuleOrigin): string {
  return ['-s', '-w', ...spec.ldflags(origin)].join(' ');
}

/** The `go` arguments of one build, run in the wrapper's folder. `-mod=readonly`: go.sum must be tidy. */
export function goBuildArgs(spec: ToolSpec, origin: ModuleOrigin, output: string): string[] {
  const tags = spec.tags && spec.tags.length > 0 ? ['-tags', spec.tags.join(',')] : [];
  return ['build', '-trimpath', '-mod=readonly', ...tags, '-ldflags', linkerFlags(spec, origin), '-o', output, spec.pkg];
}

/** The environment of every build on top of the caller's: static binaries, and no toolchain download. */
export const GO_BUILD_ENV: Readonly<Record<string, string>> = { CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };

/**
 * The version `module` has in a go.mod's require lines (single-line or in a block), or undefined.
 * Replace lines are ignored: the wrapper requires the upstream module at the version it builds.
 */
export function requiredVersion(goMod: string, module: string): string | undefined {
  let inRequire = false;
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (inRequire) {
      if (line === ')') inRequire = false;
      else {
        const [path, version] = line.split(/\s+/);
        if (path === module && version) return version;
      }
      continue;
    }
    if (/^require\s*\($/.test(line)) {
      inRequire = true;
      continue;
    }
    const single = /^require\s+(\S+)\s+(\S+)$/.exec(line);
    if (single && single[1] === module) return single[2];
  }
  return undefined;
}

function jsonObject(text: string, what: string): Record<string, unknown> {
  const data: unknown = JSON.parse(text);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${what}: not an object`);
  return data as Record<string, unknown>;
}

function originHash(record: Record<string, unknown>): string | undefined {
  const from = record.Origin;
  if (typeof from !== 'object' || from === null) return undefined;
  const hash = (from as Record<string, unknown>).Hash;
  return typeof hash === 'string' && /^[0-9a-f]{40}$/.test(hash) ? hash : undefined;
}

/** The `.info` file `go mod download -json` names (its `Info` field), which holds the tag's time. */
export function infoFile(downloadJson: string): string | undefined {
  const info = jsonObject(downloadJson, 'go mod download -json').Info;
  return typeof info === 'string' ? info : undefined;
}

/** The module's folder in the module cache, from `go mod download -json` (its `Dir` field). */
export function moduleDir(downloadJson: string): string | undefined {
  const dir = jsonObject(downloadJson, 'go mod download -json').Dir;
  return typeof dir === 'string' ? dir : undefined;
}

/**
 * The version, time and commit of a module from `go mod download -json MOD@VERSION` (version,
 * and Origin.Hash when the proxy knows the commit) and from the `.info` file it names (Time;
 * the download JSON has none).
 */
export function parseModuleOrigin(downloadJson: string, infoJson?: string): ModuleOrigin {
  const record = jsonObject(downloadJson, 'go mod download -json');
  if (typeof record.Error === 'string') throw new Error(record.Error);
  if (typeof record.Version !== 'string') throw new Error('go mod download -json: no Version');
  const info = infoJson === undefined ? {} : jsonObject(infoJson, `${record.Version}.info`);
  const origin: ModuleOrigin = { version: record.Version };
  const time = info.Time ?? record.Time;
  if (typeof time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(time)) origin.time = time;
  const commit = originHash(record) ?? originHash(info);
  if (commit) origin.commit = commit;
  return origin;
}

/** The inputs that decide a tool's binary: the wrapper's files, the go command line and the toolchain. */
export interface StampInputs {
  /** The wrapper's go.mod, go.sum and .go files, by name. */
  files: ReadonlyMap<string, string>;
  goArgs: readonly string[];
  env: Readonly<Record<string, string>>;
  /** `go env GOVERSION`, e.g. `go1.26.8`. */
  goVersion: string;
}

/** Which of a wrapper folder's files go into its stamp. */
export function isStampedFile(name: string): boolean {
  return name === 'go.mod' || name === 'go.sum' || name.endsWith('.go');
}

/**
 * A SHA-256 over the stamp inputs, in a fixed order (files by name), each part length-prefixed
 * so that moving text from one part to another changes the stamp.
 */
export function computeStamp(inputs: StampInputs): string {
  const hash = createHash('sha256');
  const part = (label: string, value: string) => {
    hash.update(`${label}\0${Buffer.byteLength(value)}\0`);
    hash.update(value);
  };
  part('stamp', 'v1');
  part('go', inputs.goVersion);
  for (const key of Object.keys(inputs.env).sort()) part(`env:${key}`, inputs.env[key]!);
  part('args', JSON.stringify(inputs.goArgs));
  for (const name of [...inputs.files.keys()].sort()) part(`file:${name}`, inputs.files.get(name)!);
  return hash.digest('hex');
}

/** The `go` command line without the output path (a temp file that differs every run). */
export function stampedArgs(args: readonly string[]): string[] {
  const i = args.indexOf('-o');
  return i < 0 ? [...args] : [...args.slice(0, i), ...args.slice(i + 2)];
}

/** `go1.26.8` -> undefined when at least `min`; otherwise why not. Development builds (`devel ...`) pass. */
export function goVersionProblem(goVersion: string, min: readonly [number, number] = [1, 26]): string | undefined {
  const v = goVersion.trim();
  if (v.startsWith('devel')) return undefined;
  const m = /^go(\d+)\.(\d+)/.exec(v);
  if (!m) return `cannot read the Go version ${JSON.stringify(v)}`;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major > min[0] || (major === min[0] && minor >= min[1])) return undefined;
  return `found ${v}, need Go >= ${min[0]}.${min[1]}`;
}

export const GO_HINT = 'install Go 1.26 or newer (https://go.dev/dl/, unpacked to /usr/local/go) and put its bin folder on PATH';

export type Parsed =
  | { kind: 'help' }
  | { kind: 'build'; only: ToolName[] }
  | { kind: 'error'; message: string };

export const USAGE = `usage: build-tools [--only ${TOOL_NAMES.join(',')}] [--help]

Builds the Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler as
one binary kube-control-plane with links), etcd, kwok and kind from their Go modules, pinned by
the wrapper modules in images/{kubernetes,etcd,kwok,kind}/, into .tools/bin (or $TOOLS_DIR), and
Istio's istioctl, pilot-discovery and pilot-agent (images/istio/) into .tools/istio/<version>/bin.
A tool whose binary is there and whose stamp matches its inputs is not rebuilt.

  --only LIST   build only these tools, comma-separated: ${TOOL_NAMES.join(', ')}
  --help        this text
`;

function isToolName(s: string): s is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(s);
}

/** The command line. `--only` keeps the order of TOOL_NAMES whatever the order given. */
export function parseArgs(argv: readonly string[]): Parsed {
  let only: ToolName[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      const valid = `valid: ${TOOL_NAMES.join(', ')} (comma-separated)`;
      if (value === undefined || value.trim() === '') return { kind: 'error', message: `--only needs a value; ${valid}` };
      const names = value.split(',').map((s) => s.trim());
      const bad = names.filter((n) => !isToolName(n));
      if (bad.length > 0) return { kind: 'error', message: `--only: unknown tool ${bad.map((b) => JSON.stringify(b)).join(', ')}; ${valid}` };
      const chosen = new Set(only ?? []);
      for (const n of names) if (isToolName(n)) chosen.add(n);
      only = TOOL_NAMES.filter((n) => chosen.has(n));
      continue;
    }
    return { kind: 'error', message: `unknown argument ${JSON.stringify(arg)}; valid: --only ${TOOL_NAMES.join(',')}, --help` };
  }
  return { kind: 'build', only: only ?? [...TOOL_NAMES] };
}

/** POSIX-shell quoting, so the printed command can be pasted. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The last `lines` non-empty lines of a build's output. */
export function tail(output: string, lines = 30): string {
  const all = output.split('\n').filter((l) => l.trim() !== '');
  return all.slice(-lines).join('\n');
}

/** Escapes a string for use inside a RegExp. */
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The first line of a `--version` output that names the expected version as a whole word
 * (`v1.36.1` is not found in `v1.36.10` nor in `v1.36.1-alpha`), else its first line.
 */
export function versionLine(output: string, expected: string): { line: string; matches: boolean } {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const word = new RegExp(`(^|[^\\w.])${escapeRegExp(expected)}($|[^\\w.+-]|\\.(?!\\d))`);
  const hit = lines.find((l) => word.test(l));
  return hit ? { line: hit, matches: true } : { line: lines[0] ?? '', matches: false };
}
