/**
 * The run order of the scenario files is the chapter's order (SCENARIO_ORDER in chapter.ts),
 * by construction. vitest 5's default sequencer (BaseSequencer in vitest/node) runs files of
 * one project larger-first, or previously-failed and slower first, so without this the
 * gateway file (the larger one) would run before the egress file.
 *
 * vitest 5 takes `sequence.sequencer` from the root config only and uses it for every
 * project's files (resolveConfig: "`seed` and `sequencer` drive cross-project file ordering"),
 * so this keeps BaseSequencer's order for everything else and only reorders the files of the
 * `scenarios` project, in the slots they already held.
 */
import { relative, sep } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { SCENARIO_ORDER } from './chapter.ts';

export const SCENARIOS_PROJECT = 'scenarios';

export class ScenarioOrderError extends Error {
  constructor(file: string, order: readonly string[]) {
    super(`${file} is a scenario file that is not in the chapter's order; add it to scenarioFiles in scenarios/chapter.ts `
      + `(today: ${order.join(', ')})`);
    this.name = 'ScenarioOrderError';
  }
}

/**
 * Puts the items that `pathOf` names (a path from the repository root; undefined: not a
 * scenario file) in the order of `order`, in the positions scenario files already held; the
 * rest keep their place. Throws for a scenario file that `order` does not list.
 */
export function inChapterOrder<T>(items: readonly T[], pathOf: (item: T) => string | undefined, order: readonly string[] = SCENARIO_ORDER): T[] {
  const slots: number[] = [];
  const scenario: { item: T; rank: number }[] = [];
  items.forEach((item, i) => {
    const path = pathOf(item);
    if (path === undefined) return;
    const rank = order.indexOf(path);
    if (rank < 0) throw new ScenarioOrderError(path, order);
    slots.push(i);
    scenario.push({ item, rank });
  });
  scenario.sort((a, b) => a.rank - b.rank);
  const out = [...items];
  slots.forEach((slot, k) => { out[slot] = scenario[k]!.item; });
  return out;
}

/** A spec's path from its project's root, with forward slashes, if it belongs to the scenarios project. */
export function scenarioPath(spec: TestSpecification): string | undefined {
  if (spec.project.name !== SCENARIOS_PROJECT) return undefined;
  return relative(spec.project.config.root, spec.moduleId).split(sep).join('/');
}

export class ChapterSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return inChapterOrder(await super.sort(files), scenarioPath);
  }
}
