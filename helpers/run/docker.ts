/** The local Docker engine, for what testcontainers does not cover: which images are present. */
import { execa } from 'execa';

export async function imagePresent(image: string): Promise<boolean> {
  const r = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { reject: false });
  return r.exitCode === 0;
}

/** Splits images into those present in the local engine and those the cluster must pull. */
export async function partitionByPresence(images: readonly string[]): Promise<{ present: string[]; absent: string[] }> {
  const flags = await Promise.all(images.map(imagePresent));
  return {
    present: images.filter((_, i) => flags[i]),
    absent: images.filter((_, i) => !flags[i]),
  };
}

/**
 * Removes a Docker network nothing is attached to any more; one still in use (Docker: "has active
 * endpoints") is left, and so said. For the `kind` network kind makes on its first create and never
 * removes (kind's delete removes only the nodes).
 */
export async function removeNetworkIfUnused(name: string): Promise<string> {
  const r = await execa('docker', ['network', 'rm', name], { reject: false, all: true });
  if (r.exitCode === 0) return `removed the Docker network ${name}`;
  if (/active endpoints/i.test(r.all ?? '')) return `the Docker network ${name} is still in use by other containers: left`;
  if (/not found|no such network/i.test(r.all ?? '')) return `the Docker network ${name} was already gone`;
  throw new Error(`docker network rm ${name} failed: ${(r.all ?? '').trim() || `exit code ${r.exitCode ?? '?'}`}`);
}
