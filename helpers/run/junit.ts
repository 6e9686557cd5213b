/**
 * The JUnit report CI jobs upload "always": either a valid report or none at all.
 *
 * vitest's own JUnit reporter creates its folder and opens (empties) the file when the run
 * starts, and fills it only at the end; a run that ends early (a setup failure, Ctrl-C) leaves a
 * 0-byte file that no JUnit reader parses, in a folder created after the run said "Nothing was
 * created". JUnitAtEnd opens the file only when there is a report to write.
 *
 * A setup that fails before any test runs has no test results: `setupFailureReport` is the
 * report that names that failure instead, written only where the folder already exists.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { JUnitReporter, type JUnitOptions, type TestModule, type TestRunEndReason, type Vitest } from 'vitest/node';
import { userPath } from './paths.ts';

/** vitest's JUnit reporter, with nothing on disk until the run's end. */
export class JUnitAtEnd extends JUnitReporter {
  #ctx: Vitest | undefined;

  constructor(options: JUnitOptions & { outputFile: string }) {
    super(options);
  }

  override async onInit(ctx: Vitest): Promise<void> {
    this.#ctx = ctx;
  }

  /** An interrupted run (Ctrl-C) writes none: what it would list is not a result. */
  override async onTestRunEnd(
    testModules: ReadonlyArray<TestModule>, unhandledErrors?: Parameters<JUnitReporter['onTestRunEnd']>[1], reason?: TestRunEndReason,
  ): Promise<void> {
    if (reason === 'interrupted') return;
    if (this.#ctx) await super.onInit(this.#ctx);
    await super.onTestRunEnd(testModules, unhandledErrors);
  }
}

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    // Characters XML 1.0 does not allow at all (terminal colour codes are among them).
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** A JUnit document with one failed test case: the setup, and why it failed. */
export function setupFailureXml(headline: string, problems: readonly string[], now: Date = new Date()): string {
  const text = xmlAttr([`${headline}:`, ...problems.map((p) => `  - ${p}`)].join('\n'));
  return [
    '<?xml version="1.0" encoding="UTF-8" ?>',
    '<testsuites name="egress-verify" tests="1" failures="1" errors="0" time="0">',
    `  <testsuite name="setup" timestamp="${now.toISOString()}" hostname="${xmlAttr(hostname())}" tests="1" failures="1" errors="0" skipped="0" time="0">`,
    `    <testcase classname="setup" name="${xmlAttr(headline)}" time="0">`,
    `      <failure message="${xmlAttr(headline)}" type="SetupFailure">${text}</failure>`,
    '    </testcase>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/**
 * Writes the setup failure's report to `file` when its folder exists (a CI job makes it, or the
 * run did before failing); never creates the folder. Written whole under another name and then
 * renamed, so a reader never sees half of it. Returns whether it was written.
 */
export function writeSetupFailureReport(file: string, headline: string, problems: readonly string[]): boolean {
  const dir = dirname(file);
  if (!existsSync(dir)) return false;
  const partial = join(dir, `.junit-${process.pid}.partial`);
  try {
    writeFileSync(partial, setupFailureXml(headline, problems));
    renameSync(partial, file);
    return true;
  } catch {
    return false;
  }
}

/** Where the run's JUnit report goes: ARTIFACTS_DIR/junit.xml (as helpers/run/settings.ts reads ARTIFACTS_DIR). */
export function junitReportFile(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const dir = env.ARTIFACTS_DIR?.trim();
  return join(dir ? userPath(dir, env) : resolve('artifacts'), 'junit.xml');
}
