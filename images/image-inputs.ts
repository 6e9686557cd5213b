/**
 * The cache of the images built here: each image carries a label with the hash of everything it
 * was built from (scripts, files, the binaries' build stamps); a build whose inputs hash to the
 * label of the image present is skipped. No stamp files to go stale: the engine's image is the record.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { $ } from 'zx';
import { toolsBinDir } from '../helpers/run/tools.ts';

export const INPUTS_LABEL = 'egress-verify.inputs';

/** Every file under `paths` (folders walked, sorted), by path relative to `root` and content; plus `extra` strings. */
export async function inputsHash(root: string, paths: readonly string[], extra: readonly string[] = []): Promise<string> {
  const h = createHash('sha256');
  const files: string[] = [];
  const walk = async (p: string): Promise<void> => {
    if ((await stat(p)).isDirectory()) {
      for (const e of (await readdir(p)).sort()) await walk(join(p, e));
    } else {
      files.push(p);
    }
  };
  for (const p of paths) await walk(join(root, p));
  for (const f of files) h.update(`${relative(root, f)}\0`).update(await readFile(f)).update('\0');
  for (const e of extra) h.update(`${e}\0`);
  return h.digest('hex').slice(0, 32);
}

/** The inputs label of a local image, or undefined when the image is absent or unlabelled. */
export async function labelOf(image: string): Promise<string | undefined> {
  const r = await $({ nothrow: true, quiet: true })`docker image inspect --format ${`{{index .Config.Labels "${INPUTS_LABEL}"}}`} ${image}`;
  const v = r.stdout.trim();
  return r.exitCode === 0 && v && v !== '<no value>' ? v : undefined;
}

/** Adds the inputs label to a built image (a one-line build on top of it: no layer, seconds). */
export async function setLabel(image: string, hash: string): Promise<void> {
  await $({ quiet: true, input: `FROM ${image}\nLABEL ${INPUTS_LABEL}=${hash}\n`, env: { ...process.env, DOCKER_BUILDKIT: '0' } })`docker build --quiet --tag ${image} -`;
}

/** Images are fresh when each carries the label `hash`. */
export async function fresh(images: readonly string[], hash: string): Promise<boolean> {
  const labels = await Promise.all(images.map(labelOf));
  return labels.every((l) => l === hash);
}

/** The build stamp `npm run tools:build` wrote for a tool (the hash of its inputs), as an image input. */
export async function toolStamp(name: string): Promise<string> {
  try {
    return (await readFile(join(toolsBinDir(), `${name}.stamp`), 'utf8')).trim();
  } catch {
    throw new Error(`${join(toolsBinDir(), `${name}.stamp`)} is missing: build the tools first (npm run tools:build)`);
  }
}
