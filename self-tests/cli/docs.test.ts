/**
 * cli/docs.ts (`npm run docs`): the settings table it writes into the README, the command itself,
 * and the README as it stands: its table is the one the code generates, and it gives the
 * commands for a fresh machine.
 */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { MUTATION_RUN } from '../plumbing/mutation-run.ts';
import { BEGIN, END, settingsTable, withTable } from '../../cli/docs.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { settingDocs } from '../../helpers/run/settings.ts';

const readme = () => readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');

describe('the settings table', () => {
  test('one row per setting, in the settings\' order; pipes escaped, an empty default shown as "(not set)"', () => {
    const rows = settingsTable().split('\n');
    expect(rows.slice(0, 2)).toEqual(['| Variable | What it does | Default | Valid values |', '|---|---|---|---|']);
    expect(rows.slice(2).map((r) => /^\| `([A-Z_]+)` \|/.exec(r)?.[1])).toEqual(settingDocs().map((d) => d.env));
    expect(rows.find((r) => r.startsWith('| `GCP_ZONE` |'))).toMatch(/ \| \(not set\) \| /);
    expect(rows.find((r) => r.startsWith('| `CLUSTER` |'))).toMatch(/ \| `kind` \| kind, existing \|$/);
    for (const r of rows.slice(2)) expect(r.replaceAll('\\|', '').split('|'), r).toHaveLength(6);
  });

  test('written between the markers, the rest of the text kept; without the markers: an error naming them', () => {
    const doc = `# Title\n\nbefore\n${BEGIN}\nold table\n${END}\nafter\n`;
    expect(withTable(doc)).toBe(`# Title\n\nbefore\n${BEGIN}\n${settingsTable()}\n${END}\nafter\n`);
    expect(withTable(withTable(doc))).toBe(withTable(doc));
    for (const broken of ['no markers', `${END}\n${BEGIN}`, `${BEGIN} only`]) {
      expect(() => withTable(broken), broken).toThrow(`README.md lacks the markers ${BEGIN} … ${END}`);
    }
  });
});

describe('README', () => {
  test('the settings table is the one the code generates (npm run docs)', () => {
    expect(withTable(readme())).toBe(readme());
  });
  test('gives the two commands for a fresh machine', () => {
    expect(readme()).toContain('npm ci && npm test');
    expect(readme()).toContain('npm run test:self');
  });
});

// Skipped in mutation runs (EGRESS_VERIFY_MUTATION=1, vitest.mutation.config.ts): a child
// process, whose coverage StrykerJS cannot see.
describe.skipIf(MUTATION_RUN)('npm run docs', () => {
  test('says "unchanged" and leaves README.md alone when the table is current', async () => {
    const readme = join(ROOT_DIR, 'README.md');
    const before = await stat(readme);
    const r = await execa('npm', ['run', '-s', 'docs'], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('README.md settings table unchanged');
    expect((await stat(readme)).mtimeMs).toBe(before.mtimeMs);
  });
});
