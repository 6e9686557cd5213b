/**
 * What the self-tests need from the machine, and how they say when it is missing.
 *
 * A Docker-backed test calls `needDocker(ctx)`: without an engine (or the local images) it is
 * reported as skipped with the reason. With REQUIRE_DOCKER=1 (set by .ci/run) a missing engine
 * fails the test instead, so CI can never go green by skipping.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, onTestFinished, type TestContext } from 'vitest';
import { imagePresent } from '../../helpers/run/docker.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { dockerServerVersion, PrerequisitesError } from '../../helpers/run/tools.ts';
import { tempFolder } from './temp-folder.ts';

export const PROBE_IMAGE = 'egress-verify/probe:local';
/** The Redis image under test: REDIS_IMAGE, as the scenarios use it (CI: the locally built one). */
export const REDIS_IMAGE = loadSettings({ REDIS_IMAGE: process.env.REDIS_IMAGE }).redisImage;

let engine: Promise<string | undefined> | undefined;

/** undefined when the engine answers; otherwise why not (the suite's own prerequisite message). */
function dockerProblem(): Promise<string | undefined> {
  engine ??= dockerServerVersion().then(
    () => undefined,
    (e: unknown) => (e instanceof PrerequisitesError ? e.problems.join('; ') : String(e)),
  );
  return engine;
}

const pulls = new Map<string, Promise<string | undefined>>();

/**
 * undefined when the image is here (or could be pulled now); otherwise why not and what to do.
 * The suite's own images (egress-verify/...) exist only when built here, so they are never
 * pulled; any other image is pulled once, as testcontainers would, so that a machine without a
 * registry gets a reason instead of a raw pull error in the middle of a test.
 */
async function imageProblem(image: string): Promise<string | undefined> {
  if (await imagePresent(image)) return undefined;
  const hint = image === REDIS_IMAGE
    ? `where no registry is reachable: \`npm run images:build\`, then REDIS_IMAGE=egress-verify/redis:local`
    : 'run `npm run images:build`';
  const what = image === REDIS_IMAGE ? `REDIS_IMAGE=${image}` : `image ${image}`;
  if (image.startsWith('egress-verify/')) return `${what} is not present locally; ${hint}`;
  let pull = pulls.get(image);
  if (!pull) {
    pull = execa('docker', ['pull', '--quiet', image], { reject: false, timeout: 300_000 }).then((r) => {
      if (r.exitCode === 0) return undefined;
      const reason = (r.stderr || r.stdout || (r.timedOut ? 'timed out' : `exit ${r.exitCode}`)).trim().split('\n').pop();
      return `${what} is not present locally and could not be pulled (${reason}); ${hint}`;
    });
    pulls.set(image, pull);
  }
  return pull;
}

/**
 * True when an engine answers and the given images are there (for beforeAll, which cannot skip;
 * the tests then call needDocker with the same images, which skips or fails with the reason).
 */
export async function dockerAvailable(...images: string[]): Promise<boolean> {
  return (await dockerProblem()) === undefined && (await firstOf(images.map(imageProblem))) === undefined;
}

/** Skips (or, under REQUIRE_DOCKER=1, fails) unless Docker and the given local images are there. */
export async function needDocker(ctx: TestContext, ...images: string[]): Promise<void> {
  const problem = (await dockerProblem()) ?? (await firstOf(images.map(imageProblem)));
  if (!problem) return;
  if (process.env.REQUIRE_DOCKER === '1') throw new Error(`REQUIRE_DOCKER=1 but ${problem}`);
  ctx.skip(problem);
}

async function firstOf(checks: Promise<string | undefined>[]): Promise<string | undefined> {
  for (const c of await Promise.all(checks)) if (c) return c;
  return undefined;
}

/** Containers carrying a label, to prove that nothing was left behind. */
export async function containersWithLabel(label: string): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=${label}`]);
  return stdout.split('\n').filter(Boolean);
}

/** A stand-in command written for the tests of a file (or of a describe block). */
export interface StandInCommand {
  /** Its temp folder, also where the tests keep its state files; set once the tests start. */
  readonly dir: string;
  /** The executable script, `<dir>/<name>`. */
  readonly path: string;
}

/**
 * Writes `script` as an executable `name` into a temp folder of its own before the tests of the
 * enclosing file or describe block, and removes the folder after them.
 */
export function standInCommand(name: string, script: string): StandInCommand {
  const folder = tempFolder(name);
  const command = { dir: '', path: '' };
  beforeAll(async () => {
    command.dir = folder.path;
    command.path = join(command.dir, name);
    await writeFile(command.path, script, { mode: 0o755 });
  });
  return command;
}

/** Sets PATH for the rest of the current test; it is put back when the test finishes. */
export function usePath(path: string): void {
  const saved = process.env.PATH;
  process.env.PATH = path;
  onTestFinished(() => {
    if (saved === undefined) delete process.env.PATH;
    else process.env.PATH = saved;
  });
}

/** Puts a stand-in command's folder first on PATH for the rest of the current test (see usePath). */
export function standInFirst(command: StandInCommand): void {
  usePath(`${command.dir}:${process.env.PATH ?? ''}`);
}

/**
 * Skips (or, under REQUIRE_TOOLS=1, fails) when a problem keeps the real components from running
 * (e.g. the Go-built binaries are missing). Call it in each test that needs them, with the
 * problem a beforeAll found (undefined: nothing missing).
 */
export function needTools(ctx: TestContext, problem: string | undefined): void {
  if (!problem) return;
  if (process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${problem}`);
  ctx.skip(problem);
}

/** A command's output inside an image (no network), for checks of what an image holds. */
export async function inImage(image: string, entrypoint: string, ...args: string[]): Promise<string> {
  const r = await execa('docker', ['run', '--rm', '--network', 'none', '--entrypoint', entrypoint, image, ...args], { all: true });
  return r.all ?? '';
}

/**
 * Skips (or, under REQUIRE_KIND_IMAGES=1, as in .ci/run, fails) unless Docker answers and these
 * images of `images:build -- --kind` are present. Their own switch, not REQUIRE_TOOLS: a runner
 * that can pull the published images (the GitHub workflow) has no reason to build them.
 */
export async function needBuiltImages(ctx: TestContext, ...images: string[]): Promise<void> {
  await needDocker(ctx);
  const missing: string[] = [];
  for (const i of images) if (!(await imagePresent(i))) missing.push(i);
  if (missing.length === 0) return;
  const problem = `not built: ${missing.join(', ')} (npm run images:build -- --kind)`;
  if (process.env.REQUIRE_KIND_IMAGES === '1') throw new Error(`REQUIRE_KIND_IMAGES=1 but ${problem}`);
  ctx.skip(problem);
}
