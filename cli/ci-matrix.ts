/**
 * `node cli/ci-matrix.ts [JSON]`: the Istio versions CI runs the scenarios on, as the JSON list a
 * workflow's `strategy.matrix` reads with fromJSON: pins.istioMatrix (helpers/run/pins.ts, the one
 * place they are written), or the JSON list given (a caller's `istio-versions` input; empty means
 * the pins). Printed, and written as the step output `istio` when GITHUB_OUTPUT is set.
 *
 * Exit 0: written; 2: the list given is not a JSON list of Istio versions.
 */
import { appendFileSync } from 'node:fs';
import { pins } from '../helpers/run/pins.ts';
import { printedHelp } from './arguments.ts';

const VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/;

/** The versions of a JSON list, or why it is not one. */
function versionsOf(text: string): string[] | string {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!Array.isArray(list) || list.length === 0) return 'not a non-empty JSON list';
  const bad = list.filter((v) => typeof v !== 'string' || !VERSION.test(v));
  return bad.length ? `not Istio versions: ${bad.map((v) => JSON.stringify(v)).join(', ')}` : (list as string[]);
}

function main(argv: string[]): number {
  if (printedHelp('ci-matrix', argv, '[JSON]', [
    `The Istio versions for CI's matrix: the pinned ${JSON.stringify(pins.istioMatrix)} (helpers/run/pins.ts), or the JSON list given.`,
    'Written as the step output `istio` when GITHUB_OUTPUT is set. Exit 0: written; 2: a bad list.',
  ])) return 0;
  const given = argv[0]?.trim();
  const versions = given ? versionsOf(given) : [...pins.istioMatrix];
  if (typeof versions === 'string') {
    process.stderr.write(`ci-matrix: istio-versions=${given} is ${versions}; valid values: a JSON list of Istio release versions, e.g. ${JSON.stringify(pins.istioMatrix)}, or empty for that pinned list\n`);
    return 2;
  }
  const json = JSON.stringify(versions);
  process.stdout.write(`${json}\n`);
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `istio=${json}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
