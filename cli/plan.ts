/**
 * `npm run plan [-- --json] [-- --output FILE]`: the resolved settings and the ordered steps the
 * scenarios will take, with every manifest each applies. Needs no cluster, no Docker, no network.
 * `--output FILE` writes the plan to FILE instead of stdout, so that npm's banner (printed on
 * stdout unless `npm run -s`) can never get mixed into the JSON.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { allSteps, renderUse } from '../scenarios/chapter.ts';
import { userPath } from '../helpers/run/paths.ts';
import { describeSettings } from '../helpers/run/settings.ts';
import { printedHelp, settingsFor } from './arguments.ts';
import { imagePlan, planExtras } from './plan-extras.ts';
import { planWorkshop } from '../workshop/report.ts';

async function main(argv: string[]): Promise<number> {
  if (printedHelp('plan', argv, '[--json] [--output FILE]', [
    'The resolved settings, the tools the run would use and its ordered steps with every manifest; no cluster is touched.',
    '--json         { settings, steps: [{ id, title, manifests }] } instead of text',
    '--output FILE  write it to FILE (relative to the current folder) instead of stdout',
    'Settings come from the environment: see the README, "Settings".',
  ])) return 0;
  const start = settingsFor('plan', argv, ['--json'], ['--output']);
  if (!start) return 2;
  const { settings } = start;
  const json = start.flags.has('--json');
  const output = start.values.get('--output');
  const steps = allSteps(settings).map((step) => ({
    id: step.id,
    title: step.title,
    manifests: step.manifests.map((use) => ({
      file: use.file,
      action: use.action,
      objects: renderUse(use, settings, undefined, 'plan'),
    })),
  }));
  let workshop: ReturnType<typeof planWorkshop> | undefined;
  if (settings.workshopRepo) {
    try {
      workshop = planWorkshop({ repo: settings.workshopRepo, labs: settings.workshopLabs, chapter: settings.workshopChapter });
    } catch (e) {
      process.stderr.write(`plan: WORKSHOP_REPO=${settings.workshopRepo}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  }
  const plan = { settings: describeSettings(settings), ...planExtras(settings), images: await imagePlan(settings), steps, ...(workshop ? { workshop } : {}) };
  const emit = (text: string): number => {
    if (output === undefined) {
      process.stdout.write(text);
      return 0;
    }
    // npm runs scripts in the package's folder; a relative name is meant from where npm was run
    // (the rule of every path the user writes: helpers/run/paths.ts).
    const file = userPath(output);
    try {
      writeFileSync(file, text);
    } catch (e) {
      process.stderr.write(`plan: cannot write --output ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return 2;
    }
    process.stderr.write(`plan written to ${file}\n`);
    return 0;
  };
  if (json) return emit(`${JSON.stringify(plan, null, 2)}\n`);
  const out: string[] = ['Settings'];
  for (const [k, v] of Object.entries(plan.settings)) out.push(`  ${k.padEnd(26)} ${v ?? '(not set)'}`);
  for (const [title, lines] of Object.entries({ ...planExtras(settings), images: plan.images })) {
    out.push('', title.replace(/^./, (c) => c.toUpperCase()));
    for (const l of lines as string[]) out.push(`  ${l}`);
  }
  out.push('', 'Steps');
  steps.forEach((step, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. [${step.id}] ${step.title}`);
    for (const m of step.manifests) {
      out.push(`      ${m.action} ${m.file}`);
      for (const o of m.objects) {
        out.push(stringify(o).trimEnd().split('\n').map((l) => `        ${l}`).join('\n'));
        out.push('        ---');
      }
    }
  });
  if (workshop) {
    // The chapter's own blocks, in its order: what `npm test` runs with WORKSHOP_REPO set.
    out.push('', `Workshop chapter ${workshop.file} at ${workshop.commit ?? '(not a git checkout)'}`);
    for (const b of workshop.blocks) out.push(`  ${b.id.padEnd(34)} line ${String(b.line).padEnd(4)} ${b.kind.padEnd(8)} ${b.policy.padEnd(12)} ${b.reason}`);
  }
  return emit(`${out.join('\n')}\n`);
}

process.exitCode = await main(process.argv.slice(2));
