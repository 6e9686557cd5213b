/**
 * `npm run workshop [-- --json]`: the workshop's own chapter checked without a cluster. Reads
 * WORKSHOP_REPO (and WORKSHOP_LABS), never writes them; prints a report per block, writes the
 * Markdown report to ARTIFACTS_DIR/workshop-report.md (and the GitHub job summary), and exits 1
 * when an error is found that no known defect of the pinned workshop explains (workshop/plan.ts
 * DEFECTS: those are notices, and a fixed one is reported as fixed), 2 on invalid settings.
 * Under GitHub Actions (GITHUB_ACTIONS=true) each finding also annotates the chapter's line.
 *
 * `-- --write-golden` (maintainers): records the golden inventory from a checkout at the pinned
 * workshop commit (helpers/run/pins.ts workshopCommit) into workshop/golden.json.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GOLDEN_FILE, inventoryOf } from '../workshop/inventory.ts';
import {
  analyse, annotationOutput, annotationsOf, DEFAULT_GOLDEN, forJobSummary, hasErrors, PINNED, toJson, toMarkdown, toText, triage, WorkshopInputError,
} from '../workshop/report.ts';
import { printedHelp, settingsFor } from './arguments.ts';

const VALID = ['--json', '--write-golden'];

async function main(argv: string[]): Promise<number> {
  if (printedHelp('workshop', argv, '[--json] [--write-golden]', [
    'Checks the workshop\'s chapter without a cluster: WORKSHOP_REPO (the Hugo site checkout) and WORKSHOP_LABS (its labs).',
    '--json          the findings as JSON',
    '--write-golden  record the chapter\'s blocks as the golden inventory (workshop/golden.json)',
    'Findings of the pinned workshop\'s known defects are notices; a known defect the chapter fixed is reported as fixed.',
    'Under GitHub Actions each finding annotates its line of the chapter (ten per type; the rest in the job summary).',
    'Exit 0: no new errors; 1: an error no known defect explains; 2: bad arguments or settings.',
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
  // Istio's own analysis when an istioctl is at hand (or a note that there is none), before the known defects are sorted.
  await (await import('../workshop/istioctl.ts')).addIstioctlFindings(analysis);
  const known = triage(analysis);
  const markdown = toMarkdown(analysis, new Map(), known);
  mkdirSync(settings.artifactsDir, { recursive: true });
  const reportFile = join(settings.artifactsDir, 'workshop-report.md');
  writeFileSync(reportFile, markdown);
  // Under GitHub Actions: an annotation per finding on the chapter's line (the first ten of each
  // type; GitHub shows no more per step), the rest listed in the job summary. With --json they go
  // to stderr, which the runner reads for workflow commands too, so stdout stays JSON.
  const annotations = process.env.GITHUB_ACTIONS === 'true' ? annotationOutput(annotationsOf(analysis, known)) : { commands: [], overflow: '' };
  // Capped below GitHub's 1 MiB per step, which would otherwise drop the whole summary; the file has it all.
  if (process.env.GITHUB_STEP_SUMMARY) {
    const summary = `${markdown}${annotations.overflow ? `\n${annotations.overflow}` : ''}`;
    appendFileSync(process.env.GITHUB_STEP_SUMMARY, forJobSummary(summary, `\`${basename(reportFile)}\` in this run's artifacts (written to \`${reportFile}\`)`));
  }
  const json = start.flags.has('--json');
  process.stdout.write(json ? `${JSON.stringify(toJson(analysis, known), null, 2)}\n` : toText(analysis, known));
  if (annotations.commands.length) (json ? process.stderr : process.stdout).write(`${annotations.commands.join('\n')}\n`);
  // Last, and on stderr (stdout may be JSON): where the full report is.
  process.stderr.write(`workshop: the report with every block is in ${reportFile}\n`);
  return hasErrors(analysis, known) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
