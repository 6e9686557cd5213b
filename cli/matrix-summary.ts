/**
 * `node cli/matrix-summary.ts DIR [VERSION ...]`: the version-by-step table of runs made
 * elsewhere, for the CI job that combines the matrix legs (each leg runs `npm run matrix --
 * VERSION` and uploads its ARTIFACTS_DIR; this job downloads them all into DIR). Reads every
 * matrix run record under DIR (cli/matrix-table.ts readRuns); the VERSIONs are the legs CI
 * started, so one that left nothing is shown as a failed setup with that reason. Prints the table
 * and appends it to the GitHub job summary.
 *
 * Exit 0: the table was written (the legs' own jobs carry their failures); 1: no run found and no
 * version named; 2: bad arguments.
 */
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { allSteps } from '../scenarios/chapter.ts';
import { loadSettings } from '../helpers/run/settings.ts';
import { printedHelp } from './arguments.ts';
import { matrixTable, readRuns, runsFor } from './matrix-table.ts';

const VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/;

function main(argv: string[]): number {
  if (printedHelp('matrix-summary', argv, 'DIR [ISTIO_VERSION ...]', [
    'The version-by-step table of the matrix runs recorded under DIR (each leg\'s ARTIFACTS_DIR, as CI downloads them),',
    'in the order of the ISTIO_VERSIONs given; printed and appended to $GITHUB_STEP_SUMMARY.',
    'Exit 0: written; 1: no run found; 2: bad arguments.',
  ])) return 0;
  const [dir, ...versions] = argv;
  if (!dir || !existsSync(dir) || !statSync(dir).isDirectory()) {
    process.stderr.write(`matrix-summary: ${dir ? `${dir} is not a folder` : 'no folder given'}; valid: the folder holding the legs' artifacts, then the Istio versions of the matrix\n`);
    return 2;
  }
  const bad = versions.filter((v) => !VERSION.test(v));
  if (bad.length) {
    process.stderr.write(`matrix-summary: not an Istio version: ${bad.join(' ')}; valid: release versions x.y.z (e.g. 1.31.1)\n`);
    return 2;
  }
  const runs = runsFor(versions, readRuns(dir));
  if (runs.length === 0) {
    process.stderr.write(`matrix-summary: no matrix run under ${dir} (run.json files written by npm run matrix), and no version named\n`);
    return 1;
  }
  const table = matrixTable(runs, allSteps(loadSettings()));
  process.stdout.write(`${table}\n`);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `## Istio matrix\n\n${table}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
