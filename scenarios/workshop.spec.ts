/**
 * The workshop's own chapter on the suite's environment (kind + Istio + the Redis stand-in):
 * every block of the page, in its order, is a test named by its id (`08-egress-gateway#step9.2`),
 * so JUnit and the matrix show which of the chapter's steps broke. Placeholders are substituted
 * (REDIS_ENDPOINT / REDIS_ADDR = the Redis address the cluster reaches); each manifest is dry-run
 * server-side with strict field validation before it is applied; telnet is judged by the probe
 * from a pod placed where the chapter places its client; expected outputs are compared
 * (workshop/perform.ts). Known defects of the pinned workshop (KNOWN_DEFECTS, workshop/plan.ts)
 * are reported as expected failures, or as fixed, without failing the run: `npm run workshop`
 * reads the same list.
 *
 * The chapter starts on a mesh that still allows everything and turns REGISTRY_ONLY on at its
 * mesh-mode step; the suite does that itself (the chapter's own command does nothing: a finding).
 * The mode before and the objects the chapter applies are registered with the file's cleanup
 * before they change (the `workshop` fixture), so the end of the file, a failure or a Ctrl-C
 * put REGISTRY_ONLY back for the other scenario files and delete what the chapter left in
 * `default`.
 *
 * Without WORKSHOP_REPO every test here is reported as skipped, with that reason.
 */
import { inject } from 'vitest';
import { KNOWN_DEFECTS, readScenarioChapter } from '../workshop/plan.ts';
import { describe, test } from './fixtures.ts';

const { settings } = inject('env');
const repo = settings.workshopRepo;
const NOT_SET = 'WORKSHOP_REPO is not set: the workshop\'s own chapter runs only with WORKSHOP_REPO (and WORKSHOP_LABS) pointing at its checkouts';

/**
 * A block of the chapter as a test, named by its id once; a known defect has its reason in the
 * name (JSON and JUnit reports carry no note) and fails no test: failing as expected or fixed,
 * the verdict is in the report (workshop/perform.ts performBlock).
 */
function blockTest(id: string): void {
  const known = KNOWN_DEFECTS[id];
  test(known ? `${id} (known defect: ${known})` : id, ({ block }) => block(id));
}

if (!repo) {
  describe('the workshop\'s own chapter', () => {
    // The reason is in the title too: JSON and JUnit reports do not carry a skip note.
    test('every block of the chapter (skipped: WORKSHOP_REPO is not set)', ({ skip }) => skip(NOT_SET));
  });
} else {
  // Read at collection: the tests are the chapter's blocks.
  const chapter = readScenarioChapter({ repo, labs: settings.workshopLabs, chapter: settings.workshopChapter });
  describe(`the workshop's own chapter: ${chapter.file}`, () => {
    for (const b of chapter.blocks) blockTest(b.id);
  });
}
