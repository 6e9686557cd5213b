/**
 * The start every settings-reading command shares: its arguments checked against the valid ones,
 * then the settings loaded and checked (helpers/run/settings-checks.ts), their warnings printed. On
 * a problem the message is written to stderr and the result is undefined (the command exits 2,
 * the code for invalid settings).
 */
import { SettingsError, type Settings } from '../helpers/run/settings.ts';
import { loadCheckedSettings } from '../helpers/run/settings-checks.ts';

export interface CommandStart {
  settings: Settings;
  /** The flags given, e.g. `--json`. */
  flags: ReadonlySet<string>;
  /** The options given with their value: `--output FILE` or `--output=FILE`. */
  values: ReadonlyMap<string, string>;
}

/** `flags` take no value; `options` take one. */
export function settingsFor(command: string, argv: readonly string[], flags: readonly string[], options: readonly string[] = []): CommandStart | undefined {
  const valid = [...flags, ...options.map((o) => `${o} FILE`)].join(', ');
  const given = new Set<string>();
  const values = new Map<string, string>();
  const unknown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (flags.includes(a)) given.add(a);
    else if (options.includes(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (!value) {
        process.stderr.write(`${command}: ${name} needs a file name; valid: ${valid}\n`);
        return undefined;
      }
      values.set(name, value);
    } else unknown.push(a);
  }
  if (unknown.length > 0) {
    process.stderr.write(`${command}: unknown argument ${unknown.join(' ')}; valid: ${valid}\n`);
    return undefined;
  }
  try {
    const checked = loadCheckedSettings();
    for (const w of checked.warnings) process.stderr.write(`WARNING: ${w}\n`);
    return { settings: checked.settings, flags: given, values };
  } catch (e) {
    if (e instanceof SettingsError) {
      process.stderr.write(`${e.message}\n`);
      return undefined;
    }
    throw e;
  }
}

/**
 * `--help` (or `-h`) anywhere in the arguments: the command's usage, for stdout (exit 0).
 * undefined when help was not asked for.
 */
export function helpText(command: string, argv: readonly string[], usage: string, lines: readonly string[]): string | undefined {
  if (!argv.includes('--help') && !argv.includes('-h')) return undefined;
  return `usage: npm run ${command}${usage ? ` -- ${usage}` : ''}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Prints the usage when `--help` or `-h` was given (helpText); true when it did, and the command should exit 0. */
export function printedHelp(command: string, argv: readonly string[], usage: string, lines: readonly string[]): boolean {
  const help = helpText(command, argv, usage, lines);
  if (help) process.stdout.write(help);
  return help !== undefined;
}
