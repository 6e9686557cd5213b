/**
 * What the self-tests need from the machine, and how they say when it is missing.
 *
 * A Docker-backed test calls `needDocker(ctx)`: without an engine (or the local images) it is
 * reported as skipped with the reason. With REQUIRE_DOCKER=1 (set by .ci/run) a missing engine
 * fails the test instead, so CI can never go green by skipping.
 */
import { execa } from 'execa';
import type { TestContext } from 'vitest';
import { imagePresent } from '../helpers/docker.ts';
import { dockerServerVersion, PrerequisitesError } from '../helpers/tools.ts';

export const PROBE_IMAGE = 'egress-verify/probe:local';

let engine: Promise<string | undefined> | undefined;

/** undefined when the engine answers; otherwise why not (the suite's own prerequisite message). */
function dockerProblem(): Promise<string | undefined> {
  engine ??= dockerServerVersion().then(
    () => undefined,
    (e: unknown) => (e instanceof PrerequisitesError ? e.problems.join('; ') : String(e)),
  );
  return engine;
}

async function imageProblem(image: string): Promise<string | undefined> {
  return (await imagePresent(image)) ? undefined : `image ${image} is not present locally; run \`npm run images:build\``;
}

/** True when an engine answers (for beforeAll, which cannot skip; the tests then call needDocker). */
export async function dockerAvailable(): Promise<boolean> {
  return (await dockerProblem()) === undefined;
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
