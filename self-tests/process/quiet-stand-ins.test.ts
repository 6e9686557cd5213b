/**
 * A passing `npm run test:self` prints nothing alarming: what the code under test logs while it
 * meets a stand-in's expected failure (kind answering "boom", gcloud timing out, a refused
 * port-forward) stays with its test (self-tests/plumbing/captured-output.ts) and is shown only
 * under a test that failed. Run as a user runs it, over the files whose stand-ins fail on purpose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { tempFolder } from '../plumbing/temp-folder.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const artifacts = tempFolder('quiet');

const FILES = [
  'self-tests/cluster/kind.stand-in.test.ts', 'self-tests/cluster/kind.lifecycle.test.ts', 'self-tests/cluster/kube-streaming.test.ts',
  'self-tests/external/gcp.lifecycle.test.ts', 'self-tests/mesh/istio-install.test.ts',
];

test('the stand-ins\' expected failures print no unmarked line in a passing run', async () => {
  const r = await execa('npm', ['run', '-s', 'test:self', '--', ...FILES], {
    cwd: ROOT, env: { ARTIFACTS_DIR: artifacts.path, FORCE_COLOR: '0' }, reject: false, all: true, timeout: 180_000,
  });
  expect(r.exitCode, r.all).toBe(0);
  const lines = r.all!.split('\n');
  // The product's progress lines, and the failures the stand-ins were made to answer with.
  expect(lines.filter((l) => l.startsWith('[egress-verify '))).toEqual([]);
  expect(lines.filter((l) => /\bERROR\b|ECONNREFUSED|\bboom\b|timed out/.test(l))).toEqual([]);
  expect(r.all).not.toContain('stderr |');
  // The JUnit report of the run, written whole at its end.
  const xml = readFileSync(join(artifacts.path, 'junit.xml'), 'utf8');
  expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8" \?>\n<testsuites name="vitest tests" tests="\d+" failures="0"/);
  expect(xml.trimEnd().endsWith('</testsuites>')).toBe(true);
});
