/**
 * The scenario files run in the chapter's order (issue 10, section 2), proven with vitest's own
 * machinery: the suite's real config and spec files, and a real vitest run.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BaseSequencer, createVitest, startVitest, type TestModule, type TestSequencerConstructor, type TestSpecification } from 'vitest/node';
import { describe, expect, test } from 'vitest';
import { MUTATION_RUN } from '../plumbing/mutation-run.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { SCENARIO_ORDER } from '../../scenarios/chapter.ts';
import { ChapterSequencer, inChapterOrder, ScenarioOrderError } from '../../scenarios/sequencer.ts';

const rel = (spec: TestSpecification) => relative(ROOT_DIR, spec.moduleId);

describe('the scenario files run in the chapter\'s order', () => {
  // Skipped in mutation runs (EGRESS_VERIFY_MUTATION=1): loading the real vitest config in a test
  // imports settings.ts, manifests.ts and chapter.ts there, so their import-time code (tables,
  // patterns) would count as covered by this test and be mutated, though it checks none of it.
  // The sequencer's decisions are tested below on plain lists.
  test.skipIf(MUTATION_RUN)('the configured sequencer puts the suite\'s real scenario specs in the plan\'s order; the default would not', async () => {
    const vitest = await createVitest({ config: join(ROOT_DIR, 'vitest.config.ts'), root: ROOT_DIR, watch: false, project: ['scenarios'] }, {}, {});
    try {
      const specs = await vitest.globTestSpecifications();
      expect(specs.map(rel).sort()).toEqual([...SCENARIO_ORDER].sort());
      // The sequencer vitest itself will use for this config (what Vitest.getSequencer builds).
      const sequencer = new vitest.config.sequence.sequencer(vitest);
      // (The config is bundled when loaded, so its class is a copy of ours: compare by name.)
      expect(sequencer.constructor.name).toBe(ChapterSequencer.name);
      // Whatever order the files were found in.
      expect((await sequencer.sort([...specs])).map(rel)).toEqual(SCENARIO_ORDER);
      expect((await sequencer.sort([...specs].reverse())).map(rel)).toEqual(SCENARIO_ORDER);
      // Why it is needed: vitest's default runs the larger gateway file first.
      expect((await new BaseSequencer(vitest).sort([...specs])).map(rel)).not.toEqual(SCENARIO_ORDER);
    } finally {
      await vitest.close();
    }
  });

  test('a scenario file missing from the order fails loudly, naming the file and where to add it', () => {
    const order = ['scenarios/a.spec.ts'];
    const path = (s: string) => (s.startsWith('scenarios/') ? s : undefined);
    expect(() => inChapterOrder(['scenarios/a.spec.ts', 'scenarios/new.spec.ts'], path, order)).toThrow(ScenarioOrderError);
    expect(() => inChapterOrder(['scenarios/new.spec.ts'], path, order)).toThrow(/scenarios\/new\.spec\.ts .*scenarioFiles in scenarios\/chapter\.ts/);
  });

  test('files of other projects keep their places; scenario files fill theirs in the chapter\'s order', () => {
    const order = ['scenarios/1.spec.ts', 'scenarios/2.spec.ts', 'scenarios/3.spec.ts'];
    const path = (s: string) => (s.startsWith('scenarios/') ? s : undefined);
    const items = ['self/x.test.ts', 'scenarios/3.spec.ts', 'self/y.test.ts', 'scenarios/1.spec.ts', 'scenarios/2.spec.ts'];
    expect(inChapterOrder(items, path, order)).toEqual(['self/x.test.ts', 'scenarios/1.spec.ts', 'self/y.test.ts', 'scenarios/2.spec.ts', 'scenarios/3.spec.ts']);
  });

  // Skipped in mutation runs (EGRESS_VERIFY_MUTATION=1, vitest.mutation.config.ts): a whole vitest
  // run of its own, seconds long, that would be repeated for every mutant of the code it reaches.
  test.skipIf(MUTATION_RUN)('a real vitest run with the sequencer starts throwaway scenario files in the chapter\'s order; without it, not', async () => {
    // Throwaway spec files with the scenario files' names, the later one larger (as in the suite,
    // so the default order is reversed); a reporter records the order they start in.
    const dir = await mkdtemp(join(tmpdir(), 'egress-verify-order-'));
    try {
      await mkdir(join(dir, 'scenarios'));
      let filler = '';
      for (const [i, file] of SCENARIO_ORDER.entries()) {
        filler += `// ${'x'.repeat(2000)}\n`;
        await writeFile(join(dir, file), `${filler}test('file ${i}', () => { expect(${i}).toBe(${i}); });\n`);
      }
      const run = async (sequencer: TestSequencerConstructor) => {
        const started: string[] = [];
        const reporter = { onTestModuleStart: (m: TestModule) => { started.push(relative(dir, m.moduleId)); } };
        const vitest = await startVitest('test', [], {
          root: dir, config: false, watch: false, globals: true, reporters: [reporter], cache: false,
          sequence: { sequencer },
          projects: [{ test: { name: 'scenarios', include: ['scenarios/**/*.spec.ts'], fileParallelism: false, globals: true } }],
        });
        try {
          expect(vitest.state.getCountOfFailedTests()).toBe(0);
          expect(started).toHaveLength(SCENARIO_ORDER.length);
          return started;
        } finally {
          await vitest.close();
        }
      };
      expect(await run(ChapterSequencer)).toEqual(SCENARIO_ORDER);
      expect(await run(BaseSequencer)).toEqual([...SCENARIO_ORDER].reverse());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
