/**
 * Paths the user writes, and the folder the reports go to. Kept free of anything but Node's own
 * modules: vitest.config.ts imports it, and must load on a Node too old for the dependencies to
 * say so in one line (cli/require-node.mjs) instead of crashing.
 *
 * The rule for a relative path the user writes (a setting such as WORKSHOP_REPO=../x, an option
 * such as `plan --output p.json`) is the one every command-line tool keeps: it is meant from the
 * folder the user ran the command in. npm runs its scripts in the package's folder and says where
 * it was started in INIT_CWD; outside npm the current folder is that folder.
 */
import { mkdirSync, realpathSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** The folder the user ran the command in (see above). */
export function userFolder(env: Env = process.env): string {
  const init = env.INIT_CWD?.trim();
  return init && isAbsolute(init) ? init : process.cwd();
}

/** `path` as the user meant it: absolute as written, a relative one from the user's folder. */
export function userPath(path: string, env: Env = process.env): string {
  return isAbsolute(path) ? path : resolve(userFolder(env), path);
}

// Kernel pseudo-filesystems: writing there is never a report, and some files block (/proc).
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];
// statfs f_type of the same, wherever mounted (linux/magic.h: PROC_SUPER_MAGIC, SYSFS_MAGIC,
// DEVPTS_SUPER_MAGIC, and devtmpfs reports TMPFS only under /dev, caught by the path above).
const PSEUDO_FS_TYPES = new Set([0x9fa0, 0x62656572, 0x1cd1]);

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** The path itself if it exists, else its nearest existing ancestor. */
function nearestExisting(path: string): string {
  let p = path;
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch (e) {
      if (errorCode(e) !== 'ENOENT' && errorCode(e) !== 'ENOTDIR') return p;
      const up = dirname(p);
      // Stryker disable next-line ConditionalExpression: reached only if stat("/") fails with ENOENT/ENOTDIR, which cannot happen
      if (up === p) return p;
      p = up;
    }
  }
}

function underPseudoFs(path: string): string | undefined {
  let real = path;
  try {
    real = realpathSync(path);
  } catch { /* the error is reported by the checks that follow */ }
  const root = PSEUDO_ROOTS.find((r) => real === r || real.startsWith(`${r}${sep}`));
  if (root) return root;
  try {
    if (PSEUDO_FS_TYPES.has(statfsSync(real).type)) return real;
  } catch { /* as above */ }
  return undefined;
}

/**
 * Why `dir` cannot hold the run's reports, or undefined when it can: it must be (or become) a
 * directory on a real filesystem in which a file can be created. A missing directory is created
 * for the check and removed again, so this leaves nothing behind.
 */
export function artifactsDirProblem(dir: string, setting = 'ARTIFACTS_DIR'): string | undefined {
  const bad = (why: string) => `${setting}=${dir} ${why}; valid values: a writable directory path on a real filesystem (not under /proc, /sys or /dev)`;
  const existing = nearestExisting(dir);
  const pseudo = underPseudoFs(existing);
  if (pseudo) return bad(`is on the kernel's pseudo-filesystem ${pseudo}, where reports cannot be written`);
  let createdTop: string | undefined;
  try {
    try {
      createdTop = mkdirSync(dir, { recursive: true });
    } catch (e) {
      const code = errorCode(e);
      if (code === 'ENOTDIR' || code === 'EEXIST') return bad(`cannot be a directory: ${existing} is a file`);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return bad(`cannot be created: ${existing} is not writable (${code})`);
      return bad(`cannot be created (${code})`);
    }
    // Stryker disable next-line ConditionalExpression: unreachable today (a recursive mkdir over a non-directory fails with EEXIST, handled above); kept as a guard
    if (!statSync(dir).isDirectory()) return bad('is a file, not a directory');
    // Stryker disable next-line StringLiteral: the probe's name is never observable (created and removed at once)
    const probe = join(dir, `.egress-verify-write-check-${process.pid}`);
    try {
      // Stryker disable next-line StringLiteral: the probe's content is never read (removed at once)
      writeFileSync(probe, '');
      unlinkSync(probe);
    } catch (e) {
      return bad(`is not writable (${errorCode(e)})`);
    }
    return undefined;
  } finally {
    // Stryker disable next-line BooleanLiteral: createdTop was just created by this call, so `force` (ignore a missing path) changes nothing
    if (createdTop) rmSync(createdTop, { recursive: true, force: true });
  }
}

