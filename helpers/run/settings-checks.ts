/**
 * Settings checked against this machine: the paths they name must be usable before the run
 * relies on them. `loadSettings` only parses; `loadCheckedSettings` parses, checks the paths and
 * collects the warnings (typos in variable names, an undigested node image), reporting every
 * problem at once as one SettingsError, so a bad path never surfaces later as a raw ENOTDIR,
 * EACCES or a hang.
 */
import { accessSync, constants, mkdirSync, realpathSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { loadSettings, type Settings, SettingsError, settingWarnings } from './settings.ts';
import { toolNeeds } from './tools.ts';

type Env = Readonly<Record<string, string | undefined>>;

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

/** Why `path` (from `setting`) is not a program this user can run, or undefined when it is. */
export function executableFileProblem(setting: string, path: string): string | undefined {
  const bad = (why: string) => `${setting}=${path} ${why}; valid values: a path to an executable file`;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return bad(errorCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${errorCode(e)})`);
  }
  if (st.isDirectory()) return bad('is a directory, not an executable file');
  if (!st.isFile()) return bad('is not a regular file');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return bad('is not executable (no execute permission for this user)');
  }
  return undefined;
}

export interface CheckedSettings {
  settings: Settings;
  /** Printed before the run; never fatal. */
  warnings: string[];
}

/**
 * Parses the settings and checks the paths they name; every problem at once, as a SettingsError.
 * Nothing is left on disk (a missing ARTIFACTS_DIR is created for the check and removed).
 */
export function loadCheckedSettings(env: Env = process.env): CheckedSettings {
  const problems: string[] = [];
  let settings: Settings | undefined;
  try {
    settings = loadSettings(env);
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    problems.push(...e.problems);
  }
  // The paths are checked even when another value is invalid: all problems in one report.
  // Stryker disable next-line MethodExpression: a blank ARTIFACTS_DIR trims to "" either way, which the next line skips
  const artifacts = settings?.artifactsDir ?? (env.ARTIFACTS_DIR?.trim() ? env.ARTIFACTS_DIR.trim() : undefined);
  // Stryker disable next-line ConditionalExpression,ArrowFunction,MethodExpression: no problem of loadSettings starts with ARTIFACTS_DIR= today (its parser never refuses a path); kept so a future ARTIFACTS_DIR rule is not reported twice
  if (artifacts && !problems.some((p) => p.startsWith('ARTIFACTS_DIR='))) {
    const p = artifactsDirProblem(artifacts.startsWith('/') ? artifacts : join(process.cwd(), artifacts));
    if (p) problems.push(p);
  }
  // Only the tools this run uses (kind for CLUSTER=kind, istioctl when the suite installs Istio);
  // when another value is invalid and the run cannot be known, every one that is set.
  const used = settings ? toolNeeds(settings).filter((n) => n.needed).map((n) => n.setting) : ['KIND_BIN', 'ISTIOCTL_BIN'];
  for (const setting of ['KIND_BIN', 'ISTIOCTL_BIN'] as const) {
    if (!used.includes(setting)) continue;
    const path = env[setting]?.trim();
    if (!path) continue;
    const p = executableFileProblem(setting, path);
    if (p) problems.push(p);
  }
  if (problems.length > 0 || !settings) throw new SettingsError(problems);
  return { settings, warnings: settingWarnings(env) };
}
