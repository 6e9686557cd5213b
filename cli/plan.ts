/**
 * `npm run plan [-- --json]`: the resolved settings and the ordered steps the scenarios will
 * take, with every manifest each applies. Needs no cluster, no Docker, no network.
 */
import { stringify } from 'yaml';
import { allSteps, renderUse } from '../scenarios/chapter.ts';
import { describeSettings } from '../helpers/settings.ts';
import { settingsFor } from './arguments.ts';
import { imagePlan, planExtras } from '../helpers/plan-extras.ts';
import { planWorkshop } from '../workshop/report.ts';

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const settings = settingsFor('plan', argv, ['--json']);
  if (!settings) return 2;
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
  if (json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
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
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
