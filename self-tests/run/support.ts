/** What the settings tests share (settings.test.ts, settings.rules.test.ts, settings-checks.test.ts). */
import { loadSettings, SettingsError } from '../../helpers/run/settings.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The SettingsError of an env that must be refused: by loadSettings, or by the loader given
 * (loadCheckedSettings). Any other error is thrown as it is; an env that is accepted fails the test.
 */
export function refusalOf(env: Env, load: (env: Env) => unknown = loadSettings): SettingsError {
  try {
    load(env);
  } catch (e) {
    if (e instanceof SettingsError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** The problems of an env that must be refused (see refusalOf). */
export function problemsOf(env: Env, load?: (env: Env) => unknown): readonly string[] {
  return refusalOf(env, load).problems;
}
