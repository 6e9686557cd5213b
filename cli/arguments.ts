/**
 * The start every settings-reading command shares: its arguments checked against the valid ones,
 * then the settings loaded. On a problem the message is written to stderr and the result is
 * undefined (the command exits 2, the code for invalid settings).
 */
import { loadSettings, SettingsError, type Settings } from '../helpers/settings.ts';

export function settingsFor(command: string, argv: readonly string[], valid: readonly string[]): Settings | undefined {
  const unknown = argv.filter((a) => !valid.includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`${command}: unknown argument ${unknown.join(' ')}; valid: ${valid.join(', ')}\n`);
    return undefined;
  }
  try {
    return loadSettings();
  } catch (e) {
    if (e instanceof SettingsError) {
      process.stderr.write(`${e.message}\n`);
      return undefined;
    }
    throw e;
  }
}
