/**
 * A temp folder of their own for the tests of a file or a describe block: made before them and
 * removed after, whatever they leave in it.
 *
 * Apart from support.ts on purpose: that module loads the settings, the tool lookup and tar for
 * its Docker checks, a second of imports that the Docker-free files run by StrykerJS for every
 * mutant (vitest.mutation.config.ts) must not pay for a folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

export interface TempFolder {
  /** The folder's path; set once the tests start (in beforeAll, or beforeEach with `each`). */
  readonly path: string;
}

/**
 * Registers the hooks where it is called (a file's top level or a describe block): the folder
 * `<tmpdir>/egress-verify-<name>-XXXXXX` is made before the tests and removed after them. With
 * `each`, every test gets a fresh one.
 */
export function tempFolder(name: string, { each = false }: { each?: boolean } = {}): TempFolder {
  const folder = { path: '' };
  (each ? beforeEach : beforeAll)(async () => {
    folder.path = await mkdtemp(join(tmpdir(), `egress-verify-${name}-`));
  });
  (each ? afterEach : afterAll)(async () => {
    if (folder.path) await rm(folder.path, { recursive: true, force: true });
  });
  return folder;
}
