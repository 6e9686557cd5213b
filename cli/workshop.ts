/**
 * `npm run workshop [-- --json]`: the workshop's own chapter checked without a cluster. Reads
 * WORKSHOP_REPO (and WORKSHOP_LABS), never writes them; prints a report per block, writes the
 * Markdown report to ARTIFACTS_DIR/workshop-report.md (and the GitHub job summary), and exits 1
 * when any finding is an error, 2 on invalid settings.
 *
 * `-- --write-golden` (maintainers): records the golden inventory from a checkout at the pinned
 * workshop commit (helpers/run/pins.ts workshopCommit) into workshop/golden.json.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_FILE, inventoryOf } from '../workshop/inventory.ts';
import { analyse, DEFAULT_GOLDEN, hasErrors, PINNED, toJson, toMarkdown, toText, WorkshopInputError } from '../workshop/report.ts';
import { printedHelp, settingsFor } from './arguments.ts';

const VALID = ['--json', '--write-golden'];

async function main(argv: string[]): Promise<number> {
  if (printedHelp('workshop', argv, '[--json] [--write-golden]', [
    'Checks the workshop\'s chapter without a cluster: WORKSHOP_REPO (the Hugo site checkout) and WORKSHOP_LABS (its labs).',
    '--json          the findings as JSON',
    '--write-golden  record the chapter\'s blocks as the golden inventory (workshop/golden.json)',
    'Exit 0: no errors; 1: errors found; 2: bad arguments or settings.',
  ])) return 0;
  const start = settingsFor('workshop', argv, VALID);
  if (!start) return 2;
  const { settings } = start;
  if (!settings.workshopRepo) {
    process.stderr.write('workshop: WORKSHOP_REPO is not set; valid values: the path of a checkout of the workshop\'s Hugo site (and WORKSHOP_LABS: its labs checkout)\n');
    return 2;
  }
  const writeGolden = start.flags.has('--write-golden');
  let analysis;
  try {
    analysis = await analyse({
      repo: settings.workshopRepo, labs: settings.workshopLabs, chapter: settings.workshopChapter,
      golden: writeGolden ? undefined : DEFAULT_GOLDEN,
    });
  } catch (e) {
    if (e instanceof WorkshopInputError) {
      process.stderr.write(`workshop: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (writeGolden) {
    if (analysis.chapter.commit !== PINNED.content) {
      process.stderr.write(`workshop: WORKSHOP_REPO is at ${analysis.chapter.commit ?? '(not a git checkout)'}, the pinned workshop commit is ${PINNED.content}; check out the pinned commit (or change the pin first)\n`);
      return 2;
    }
    writeFileSync(GOLDEN_FILE, `${JSON.stringify(inventoryOf(PINNED.content, analysis.chapter.file, analysis.blocks), null, 2)}\n`);
    process.stdout.write(`${GOLDEN_FILE}: ${analysis.blocks.length} blocks of ${analysis.chapter.file} at ${PINNED.content}\n`);
    return 0;
  }
  const markdown = toMarkdown(analysis);
  mkdirSync(settings.artifactsDir, { recursive: true });
  writeFileSync(join(settings.artifactsDir, 'workshop-report.md'), markdown);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown);
  process.stdout.write(start.flags.has('--json') ? `${JSON.stringify(toJson(analysis), null, 2)}\n` : toText(analysis));
  return hasErrors(analysis) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
