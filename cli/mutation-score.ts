/**
 * After `stryker run` (npm run test:mutation): the mutation score per file, of the decision
 * modules and of the whole set, from the JSON report; exits 1 when a group is under its break
 * score (stryker.config.mjs). `--markdown` prints only the table (for a GitHub job summary).
 *
 *   node --experimental-strip-types cli/mutation-score.ts [--markdown] [REPORT.json]
 */
import { belowBreak, readReport, scores, scoreTable } from './mutation-report.ts';
import { breakScores, decisionModules, jsonReport } from '../stryker.config.mjs';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const path = args.find((a) => !a.startsWith('--')) ?? jsonReport;
const result = scores(readReport(path), decisionModules);
process.stdout.write(`${scoreTable(result)}\n`);
if (!markdown) {
  const problem = belowBreak(result, breakScores);
  if (problem) {
    process.stderr.write(`${problem} (${path})\n`);
    process.exit(1);
  }
  process.stdout.write(`break scores reached: decision modules >= ${breakScores.decision}%, all >= ${breakScores.all}%\n`);
}
