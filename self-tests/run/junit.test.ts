/**
 * helpers/run/junit.ts: a JUnit report is either valid or absent. vitest's own reporter creates
 * its folder and an empty file when the run starts; JUnitAtEnd touches nothing until the run
 * ends, and writes nothing for an interrupted run. A setup that fails before any test gets a
 * report naming the failure, only where the folder already exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Vitest } from 'vitest/node';
import { JUnitAtEnd, junitReportFile, setupFailureXml, writeSetupFailureReport } from '../../helpers/run/junit.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const work = tempFolder('junit');

describe('JUnitAtEnd', () => {
  test('the start of a run creates neither the folder nor the file (vitest\'s reporter makes a 0-byte one)', async () => {
    const file = join(work.path, 'not-yet', 'junit.xml');
    const reporter = new JUnitAtEnd({ outputFile: file });
    await reporter.onInit({} as Vitest);
    expect(existsSync(join(work.path, 'not-yet'))).toBe(false);
  });

  test('an interrupted run writes no report: what it would list is not a result', async () => {
    const file = join(work.path, 'interrupted', 'junit.xml');
    const reporter = new JUnitAtEnd({ outputFile: file });
    await reporter.onInit({} as Vitest);
    await reporter.onTestRunEnd([], [], 'interrupted');
    expect(existsSync(join(work.path, 'interrupted'))).toBe(false);
  });
});

describe('the report of a setup that failed before any test', () => {
  test('one failed test case named by the headline, the problems as its text, XML-escaped', () => {
    const xml = setupFailureXml('Invalid settings', ['READY_TIMEOUT="soon" is not valid; valid values: <a duration> & more', 'colour \x1b[31mred\x1b[0m'], new Date('2026-01-02T03:04:05Z'));
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="egress-verify" tests="1" failures="1" errors="0" time="0">\n')).toBe(true);
    expect(xml).toContain('<testsuite name="setup" timestamp="2026-01-02T03:04:05.000Z"');
    expect(xml).toContain('<testcase classname="setup" name="Invalid settings" time="0">');
    expect(xml).toContain('<failure message="Invalid settings" type="SetupFailure">Invalid settings:\n  - READY_TIMEOUT=&quot;soon&quot; is not valid; valid values: &lt;a duration&gt; &amp; more\n  - colour [31mred[0m</failure>');
    // Every element closed, in order; no character XML 1.0 forbids.
    expect(xml.trimEnd().endsWith('</testcase>\n  </testsuite>\n</testsuites>')).toBe(true);
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  });

  test('written where the folder exists, whole (no partial file left); never creating the folder', async () => {
    const there = join(work.path, 'ci-artifacts');
    await mkdir(there);
    expect(writeSetupFailureReport(join(there, 'junit.xml'), 'Missing prerequisites', ['kind: not found'])).toBe(true);
    expect(readdirSync(there)).toEqual(['junit.xml']);
    expect(readFileSync(join(there, 'junit.xml'), 'utf8')).toContain('name="Missing prerequisites"');
    const missing = join(work.path, 'never-made');
    expect(writeSetupFailureReport(join(missing, 'junit.xml'), 'Missing prerequisites', [])).toBe(false);
    expect(existsSync(missing)).toBe(false);
  });

  test('the report file is ARTIFACTS_DIR/junit.xml, a relative ARTIFACTS_DIR from the user\'s folder', () => {
    expect(junitReportFile({ ARTIFACTS_DIR: 'out', INIT_CWD: '/home/u/shop/sub' })).toBe('/home/u/shop/sub/out/junit.xml');
    expect(junitReportFile({ ARTIFACTS_DIR: '/abs' })).toBe('/abs/junit.xml');
    expect(junitReportFile({})).toBe(join(process.cwd(), 'artifacts', 'junit.xml'));
  });
});
