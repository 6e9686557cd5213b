/** The arguments every command shares: `--help` answered before anything else, unknown ones refused. */
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { helpText } from '../../cli/arguments.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';

describe('helpText', () => {
  test('--help or -h anywhere: the usage line and the lines given, indented', () => {
    const want = 'usage: npm run plan -- [--json]\n  one\n  two\n';
    expect(helpText('plan', ['--help'], '[--json]', ['one', 'two'])).toBe(want);
    expect(helpText('plan', ['--json', '-h'], '[--json]', ['one', 'two'])).toBe(want);
  });

  test('not asked for: undefined, whatever else is there', () => {
    expect(helpText('plan', [], '[--json]', ['one'])).toBeUndefined();
    expect(helpText('plan', ['--json', '--helpme', 'h'], '[--json]', ['one'])).toBeUndefined();
  });
});

describe('--help on the commands (issue 24: `matrix -- --help` was read as an Istio version)', () => {
  for (const command of ['matrix', 'plan', 'workshop']) {
    test(`${command} --help prints its usage and exits 0, with no settings checked`, async () => {
      const r = await execa('node', ['--experimental-strip-types', '--no-warnings', join(ROOT_DIR, 'cli', `${command}.ts`), '--help'], {
        reject: false, env: { ISTIO_VERSION: 'not-a-version' },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^usage: npm run ${command} -- `));
      expect(r.exitCode).toBe(0);
    });
  }
});
