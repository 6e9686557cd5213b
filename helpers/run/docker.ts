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
