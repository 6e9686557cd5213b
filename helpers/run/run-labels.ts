/**
 * Labels that whoever started this run asks for on every Docker object it creates (the Redis
 * stand-in), so that it can find and remove them whatever path the run took: a CI job's
 * sweeper, or the suite's own self-tests around a child `npm test`. Read from
 * EGRESS_VERIFY_LABELS as comma-separated `key=value` pairs (a key alone means `key=true`).
 */
export const RUN_LABELS_ENV = 'EGRESS_VERIFY_LABELS';

export function parseRunLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const pair = part.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq === 0) throw new Error(`${RUN_LABELS_ENV}: "${pair}" has no key; write key=value pairs separated by commas`);
    if (eq < 0) out[pair] = 'true';
    else out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function formatRunLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The labels this run was asked to put on what it creates. */
export function runLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return parseRunLabels(env[RUN_LABELS_ENV]);
}
