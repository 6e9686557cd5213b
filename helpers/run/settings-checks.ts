/**
 * Settings checked against this machine: the paths they name must be usable before the run
 * relies on them. `loadSettings` only parses; `loadCheckedSettings` parses, checks the paths and
 * collects the warnings (typos in variable names, an undigested node image), reporting every
 * problem at once as one SettingsError, so a bad path never surfaces later as a raw ENOTDIR,
 * EACCES or a hang.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { artifactsDirProblem, userPath } from './paths.ts';
import { loadSettings, type Settings, SettingsError, settingWarnings } from './settings.ts';
import { toolNeeds } from './tools.ts';

type Env = Readonly<Record<string, string | undefined>>;

export { artifactsDirProblem };

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
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
    const p = artifactsDirProblem(userPath(artifacts, env));
    if (p) problems.push(p);
  }
  // Only the tools this run uses (kind for CLUSTER=kind, istioctl when the suite installs Istio);
  // when another value is invalid and the run cannot be known, every one that is set.
  const used = settings ? toolNeeds(settings).filter((n) => n.needed).map((n) => n.setting) : ['KIND_BIN', 'ISTIOCTL_BIN'];
  for (const setting of ['KIND_BIN', 'ISTIOCTL_BIN'] as const) {
    if (!used.includes(setting)) continue;
    const path = env[setting]?.trim();
    if (!path) continue;
    const p = executableFileProblem(setting, userPath(path, env));
    if (p) problems.push(p);
  }
  if (problems.length > 0 || !settings) throw new SettingsError(problems);
  return { settings, warnings: settingWarnings(env) };
}
