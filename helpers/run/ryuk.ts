/**
 * Ryuk, testcontainers' reaper, on machines that cannot pull it.
 *
 * testcontainers 12 (build/reaper/reaper.js, getReaper) starts a Ryuk container before the first
 * container of a process unless TESTCONTAINERS_RYUK_DISABLED is exactly "true"; it first reuses a
 * running one (label org.testcontainers.ryuk=true), else creates one from getReaperImage()
 * (RYUK_CONTAINER_IMAGE, else its pinned image, with TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX
 * applied), pulling it when it is not present. Where no registry answers, that pull fails and
 * with it every container start. So: when Ryuk would have to be created and its image is not
 * here, turn it off for this process (and the workers it starts) and say so. The suite stops
 * what it starts itself; Ryuk is only the net under a crashed run.
 */
import { execa } from 'execa';
import { getReaperImage } from 'testcontainers/build/reaper/reaper.js';
import { imagePresent } from './docker.ts';

/**
 * Sets TESTCONTAINERS_RYUK_DISABLED=true in `env` when Ryuk would be needed and its image is not
 * present locally; returns the line to print then, undefined when nothing was changed.
 */
export async function disableRyukIfUnavailable(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.TESTCONTAINERS_RYUK_DISABLED !== undefined) return undefined; // the user decided
  const running = await execa('docker', ['ps', '-q', '--filter', 'label=org.testcontainers.ryuk=true', '--filter', 'status=running'], { reject: false });
  if (running.exitCode !== 0) return undefined; // no engine: the Docker checks report that
  if (running.stdout.trim() !== '') return undefined; // testcontainers reuses it; nothing to pull
  const image = getReaperImage();
  if (await imagePresent(image)) return undefined;
  env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  return `testcontainers' reaper image ${image} is not present locally: running without it (TESTCONTAINERS_RYUK_DISABLED=true); the suite removes what it starts itself. Set TESTCONTAINERS_RYUK_DISABLED=false to require it.`;
}
