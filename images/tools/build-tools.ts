/**
 * `npm run tools:build`: builds the Kubernetes control plane (one binary, kube-control-plane,
 * linked as kube-apiserver, kube-controller-manager and kube-scheduler), etcd, kwok and kind from
 * their Go modules into .tools/bin (or $TOOLS_DIR), and writes tools.json there (name, version,
 * module@version, build seconds).
 *
 * Each tool is built from its wrapper module under images/ (see images/tools/go-builds.ts). A
 * tool is skipped when its binary is there and its stamp file (<tool>.stamp, a hash of the
 * wrapper's go.mod, go.sum and .go files, the go command line and the Go version) matches.
 * Otherwise `go build` runs; Go's module and build caches make a rebuild after a cold one a
 * matter of compiling what changed and linking.
 *
 * Exit codes: 0 built or current, 1 a build or its version check failed, 2 a bad command line.
 */
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { toolsBinDir } from '../../helpers/run/tools.ts';
import {
  computeStamp, GO_BUILD_ENV, GO_HINT, goBuildArgs, goVersionProblem, infoFile, isStampedFile, moduleDir, parseArgs,
  parseModuleOrigin, requiredVersion, shellQuote, stampedArgs, tail, TOOL_NAMES, TOOLS, USAGE, versionLine,
  type ModuleOrigin, type ToolName, type ToolSpec,
} from './go-builds.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const IMAGES = join(ROOT, 'images');
const NAME = 'build-tools';

class BuildFailure extends Error {}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** `go env GOVERSION`, or a clean exit when there is no usable `go`. */
async function goVersion(): Promise<string> {
  const r = await execa('go', ['env', 'GOVERSION'], { reject: false, env: { GOTOOLCHAIN: 'local' } });
  const missing = (r as { code?: string }).code === 'ENOENT';
  if (missing || r.exitCode !== 0) {
    process.stderr.write(`${NAME}: no working 'go' on PATH${missing ? '' : ` (go env: ${tail(r.stderr, 3)})`}; ${GO_HINT}\n`);
    process.exit(1);
  }
  const version = r.stdout.trim();
  const problem = goVersionProblem(version);
  if (problem) {
    process.stderr.write(`${NAME}: ${problem}; ${GO_HINT}\n`);
    process.exit(1);
  }
  return version;
}

async function wrapperFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    if (isStampedFile(name)) files.set(name, await readFile(join(dir, name), 'utf8'));
  }
  return files;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The upstream module's version (from the wrapper's go.mod), its tag's time and commit, and its folder. */
async function moduleOrigin(spec: ToolSpec, dir: string, goMod: string): Promise<ModuleOrigin & { dir?: string }> {
  const version = requiredVersion(goMod, spec.module);
  if (!version) throw new BuildFailure(`${join(dir, 'go.mod')} does not require ${spec.module}`);
  const args = ['mod', 'download', '-json', `${spec.module}@${version}`];
  const r = await execa('go', args, { cwd: dir, reject: false, env: GO_BUILD_ENV });
  try {
    const info = infoFile(r.stdout);
    const found = moduleDir(r.stdout);
    return { ...parseModuleOrigin(r.stdout, info === undefined ? undefined : await readText(info)), ...(found ? { dir: found } : {}) };
  } catch (e) {
    throw new BuildFailure(`(cd ${dir} && go ${shellQuote(args)}) failed: ${e instanceof Error ? e.message : String(e)}\n${tail(r.stderr)}`);
  }
}

async function runVersion(bin: string, spec: ToolSpec, origin: ModuleOrigin): Promise<string> {
  const r = await execa(bin, [...spec.versionArgs], { reject: false, all: true, timeout: 30_000 });
  const expected = spec.expectedVersion(origin);
  const { line, matches } = versionLine(r.all ?? '', expected);
  if (r.exitCode !== 0 || !matches) {
    throw new BuildFailure(`${shellQuote([bin, ...spec.versionArgs])} (exit ${r.exitCode}) does not print ${expected}:\n${tail(r.all ?? '', 10)}`);
  }
  return line;
}

/** Writes the files a tool needs beside it, from the upstream module's tree (ToolSpec.data). */
async function writeData(spec: ToolSpec, toolsDir: string, module: string | undefined): Promise<void> {
  for (const d of spec.data ?? []) {
    if (!module) throw new BuildFailure(`${spec.name}: go mod download named no folder for ${spec.module}; cannot write ${d.to}`);
    const parts = await Promise.all(d.from.map(async (f) => {
      const text = await readText(join(module, f));
      if (text === undefined) throw new BuildFailure(`${spec.name}: ${f} is not in ${module}`);
      return text.trimEnd();
    }));
    await writeFile(join(toolsDir, d.to), `${parts.join('\n---\n')}\n`);
  }
}

/** Points each link at the binary (relative, so the folder can move). */
async function link(toolsDir: string, spec: ToolSpec): Promise<void> {
  for (const name of spec.links) {
    const path = join(toolsDir, spec.outDir ?? '', name);
    if (await exists(path)) await unlink(path);
    await symlink(spec.binary, path);
  }
}

interface Built {
  name: ToolName;
  binaries: string[];
  module: string;
  version: string;
  versionOutput: string;
  buildSeconds: number;
  cached: boolean;
}

async function buildOne(spec: ToolSpec, toolsDir: string, go: string, previous: Built | undefined): Promise<Built> {
  const dir = join(IMAGES, spec.dir);
  const files = await wrapperFiles(dir);
  const goMod = files.get('go.mod');
  if (goMod === undefined) throw new BuildFailure(`${dir}/go.mod is missing`);
  const origin = await moduleOrigin(spec, dir, goMod);
  const moduleAt = `${spec.module}@${origin.version}`;
  const outDir = join(toolsDir, spec.outDir ?? '');
  await mkdir(outDir, { recursive: true });
  await writeData(spec, toolsDir, origin.dir);
  const binary = join(outDir, spec.binary);
  const stampFile = join(toolsDir, `${spec.name}.stamp`);
  const tmp = join(outDir, `.${spec.binary}.building-${process.pid}`);
  const args = goBuildArgs(spec, origin, tmp);
  const stamp = computeStamp({ files, goArgs: stampedArgs(args), env: GO_BUILD_ENV, goVersion: go });
  const versionBin = join(outDir, spec.links[0] ?? spec.binary);
  const result = (versionOutput: string, buildSeconds: number, cached: boolean): Built => ({
    name: spec.name,
    binaries: [spec.binary, ...spec.links],
    module: moduleAt,
    version: spec.expectedVersion(origin),
    versionOutput,
    buildSeconds,
    cached,
  });

  if ((await exists(binary)) && (await readText(stampFile))?.trim() === stamp) {
    await link(toolsDir, spec);
    const line = await runVersion(versionBin, spec, origin);
    say(`${spec.name}: up to date (${moduleAt}, stamp matches): ${line}`);
    return result(line, previous?.module === moduleAt ? previous.buildSeconds : 0, true);
  }

  say(`${spec.name}: building ${moduleAt} -> ${[spec.binary, ...spec.links].join(', ')} ...`);
  const started = performance.now();
  await mkdir(dirname(stampFile), { recursive: true });
  await rm(stampFile, { force: true });
  // A build interrupted before (Ctrl-C) leaves its temp binary: remove those of this tool.
  const leftover = `.${spec.binary}.building-`;
  for (const name of await readdir(outDir)) if (name.startsWith(leftover)) await rm(join(outDir, name), { force: true });
  const r = await execa('go', args, { cwd: dir, reject: false, all: true, env: { ...GO_BUILD_ENV } });
  if (r.exitCode !== 0) {
    await rm(tmp, { force: true });
    throw new BuildFailure(`go build failed (exit ${r.exitCode}):\n${tail(r.all ?? '')}\ncommand: (cd ${dir} && ${Object.entries(GO_BUILD_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} go ${shellQuote(args)})`);
  }
  await chmod(tmp, 0o755);
  await rename(tmp, binary);
  await link(toolsDir, spec);
  const took = seconds(performance.now() - started);
  const line = await runVersion(versionBin, spec, origin);
  await writeFile(stampFile, `${stamp}\n`);
  say(`${spec.name}: built in ${took}s: ${line}`);
  return result(line, took, false);
}

async function previousManifest(path: string): Promise<Map<string, Built>> {
  const text = await readText(path);
  const byName = new Map<string, Built>();
  if (!text) return byName;
  try {
    const data: unknown = JSON.parse(text);
    const tools = typeof data === 'object' && data !== null ? (data as { tools?: unknown }).tools : undefined;
    if (Array.isArray(tools)) {
      for (const t of tools as Built[]) if (typeof t?.name === 'string') byName.set(t.name, t);
    }
  } catch {
    // An unreadable manifest is rewritten below.
  }
  return byName;
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${NAME}: ${parsed.message}\n`);
    process.exit(2);
  }
  const go = await goVersion();
  const toolsDir = toolsBinDir();
  await mkdir(toolsDir, { recursive: true });
  const manifestPath = join(toolsDir, 'tools.json');
  const manifest = await previousManifest(manifestPath);
  const started = performance.now();
  let failure: string | undefined;
  try {
    for (const name of parsed.only) {
      manifest.set(name, await buildOne(TOOLS[name], toolsDir, go, manifest.get(name)));
    }
  } catch (e) {
    if (!(e instanceof BuildFailure)) throw e;
    failure = e.message;
  }
  // What was built before a failure is recorded all the same.
  const tools = TOOL_NAMES.flatMap((n) => manifest.get(n) ?? []);
  await writeFile(manifestPath, `${JSON.stringify({ go, tools }, null, 2)}\n`);
  if (failure !== undefined) {
    process.stderr.write(`${NAME}: ${failure}\n`);
    process.exitCode = 1;
    return;
  }
  say(`${NAME}: ${parsed.only.join(', ')} ready in ${toolsDir} (${seconds(performance.now() - started)}s)`);
}

await main();
