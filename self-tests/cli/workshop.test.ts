/**
 * cli/workshop.ts (`npm run workshop`) as CI runs it, over a chapter written for these tests in
 * the shape of the pinned workshop's egress page, with its known defects at their block ids
 * (self-tests/workshops/published), and chapters derived from it: with a new defect, with a known
 * defect fixed, with more findings than GitHub shows. Run for real as a subprocess: the exit
 * code, the JSON, and the annotations printed under GITHUB_ACTIONS=true.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { DEFECTS } from '../../workshop/plan.ts';
import type { JsonReport } from '../../workshop/report.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const PUBLISHED = join(ROOT_DIR, 'self-tests', 'workshops', 'published');
const PAGE = 'content/08-egress-gateway.md';
const temp = tempFolder('cli-workshop', { each: true });

/** A copy of the published-like chapter with its page text changed. */
function chapterWith(name: string, edit: (text: string) => string): string {
  const dir = join(temp.path, name);
  cpSync(PUBLISHED, dir, { recursive: true });
  const path = join(dir, PAGE);
  const text = readFileSync(path, 'utf8');
  const edited = edit(text);
  expect(edited, 'the edit changed the chapter').not.toBe(text);
  writeFileSync(path, edited);
  return dir;
}

/** The 1-based line of the first line of the page equal to `line`. */
function lineOf(repo: string, line: string): number {
  const i = readFileSync(join(repo, PAGE), 'utf8').split('\n').indexOf(line);
  expect(i, line).toBeGreaterThan(-1);
  return i + 1;
}

async function workshop(repo: string, env: Record<string, string> = {}, args: string[] = []) {
  return execa('npm', ['run', '-s', 'workshop', '--', ...args], {
    env: {
      WORKSHOP_REPO: repo, WORKSHOP_LABS: '', WORKSHOP_CHAPTER: '', ARTIFACTS_DIR: join(temp.path, 'artifacts'),
      GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '', ...env,
    },
    extendEnv: true, reject: false,
  });
}

const annotations = (out: string) => out.split('\n').filter((l) => /^::(error|warning|notice) /.test(l));

describe('npm run workshop and the pinned workshop\'s known defects', () => {
  test('the published chapter: exit 0, every error explained by a known defect, each known defect found', async () => {
    const r = await workshop(PUBLISHED, {}, ['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    const errors = report.findings.filter((f) => f.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((f) => f.known === undefined)).toEqual([]);
    expect(new Set(report.findings.flatMap((f) => (f.known ? [f.known] : [])))).toEqual(new Set(DEFECTS.map((d) => d.id)));
    expect(report.fixed).toBeUndefined();
  });

  test('the text report counts the known defects apart from the errors', async () => {
    const r = await workshop(PUBLISHED);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\d+ blocks, 0 error\(s\), \d+ warning\(s\); 6 finding\(s\) of known defects \(not failing\)$/);
    expect(r.stdout).toContain('KNOWN ERROR (mesh-mode-key): line 28: --set global.outboundTrafficPolicymode');
  });

  test('a new defect fails (exit 1) and is annotated as an error on its line; the known ones stay notices', async () => {
    const repo = chapterWith('new-defect', (t) => `${t}\n11. A pod to look around:\n\n\`\`\`\nkubectl run probe --generator=run-pod/v1 --image=busybox\n\`\`\`\n`);
    const r = await workshop(repo, { GITHUB_ACTIONS: 'true' });
    expect(r.exitCode, r.stdout).toBe(1);
    const line = lineOf(repo, 'kubectl run probe --generator=run-pod/v1 --image=busybox');
    const errors = annotations(r.stdout).filter((l) => l.startsWith('::error '));
    expect(errors).toEqual([
      expect.stringMatching(new RegExp(`^::error file=content/08-egress-gateway\\.md,line=${line},title=error in 08-egress-gateway#step11\\.1::line ${line}: kubectl run --generator was removed`)),
    ]);
    expect(annotations(r.stdout).filter((l) => l.startsWith('::notice ')).length).toBe(6);
  });

  test('a fixed known defect is reported as fixed, not failed: exit 0, in the JSON, the text and a notice', async () => {
    const repo = chapterWith('fixed', (t) => t.replace('global.outboundTrafficPolicymode=REGISTRY_ONLY', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY'));
    const json = await workshop(repo, { GITHUB_ACTIONS: 'true' }, ['--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report.fixed).toEqual([{ id: 'mesh-mode-key', reason: DEFECTS.find((d) => d.id === 'mesh-mode-key')!.reason }]);
    // The chart path of the same block is still a known defect.
    expect(report.findings.filter((f) => f.block === '08-egress-gateway#step6.1').map((f) => f.known)).toEqual(['helm2-chart-path']);
    // With --json the annotations go to stderr: stdout stays JSON.
    expect(annotations(json.stderr)).toContain(
      `::notice file=content/08-egress-gateway.md,line=${lineOf(repo, '6. Only destinations the mesh knows:') + 2},title=known defect mesh-mode-key fixed::` +
      `fixed in this chapter: ${DEFECTS.find((d) => d.id === 'mesh-mode-key')!.reason}. Remove it from DEFECTS (egress-verify workshop/plan.ts).`,
    );
    const text = await workshop(repo);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^fixed {4}known defect mesh-mode-key: /m);
    expect(text.stdout).toMatch(/; 1 known defect\(s\) fixed: mesh-mode-key$/);
  });
});

describe('annotations under GitHub Actions', () => {
  test('none without GITHUB_ACTIONS=true', async () => {
    const r = await workshop(PUBLISHED);
    expect(annotations(r.stdout)).toEqual([]);
    expect(annotations(r.stderr)).toEqual([]);
  });

  test('each finding on its line of the chapter, the path relative to the workshop repository', async () => {
    const r = await workshop(PUBLISHED, { GITHUB_ACTIONS: 'true' });
    const exec = lineOf(PUBLISHED, 'kubectl exec -it busybox /bin/sh -n default');
    expect(annotations(r.stdout)).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^::notice file=content/08-egress-gateway\\.md,line=${exec},title=known defect kubectl-exec-without-dashes \\(08-egress-gateway#step4\\.2\\)::line ${exec}: `)),
      expect.stringMatching(new RegExp(`^::warning file=content/08-egress-gateway\\.md,line=${exec},title=warning in 08-egress-gateway#step4\\.2::line ${exec}: interactive`)),
    ]));
    for (const a of annotations(r.stdout)) expect(a).not.toContain(PUBLISHED);
  });

  test('at most ten of a type; the rest are listed in the job summary', async () => {
    const many = Array.from({ length: 12 }, (_, i) => `${i + 1}. Shell ${i + 1}:\n\n\`\`\`\nkubectl exec -it pod${i + 1} -- sh\n\`\`\`\n`).join('\n');
    const repo = chapterWith('many', () => `---\ntitle: "Egress Gateway"\n---\n\n${many}`);
    const summary = join(temp.path, 'summary.md');
    writeFileSync(summary, '## an earlier step\n');
    const r = await workshop(repo, { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary });
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = annotations(r.stdout).filter((l) => l.startsWith('::warning '));
    expect(warnings).toHaveLength(10);
    expect(warnings.at(-1)).toContain(`line=${lineOf(repo, 'kubectl exec -it pod10 -- sh')},`);
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('## an earlier step\n## Workshop chapter: content/08-egress-gateway.md')).toBe(true);
    expect(text).toContain('### 2 more finding(s) than GitHub shows as annotations (10 per type)');
    expect(text).toContain(`- **warning** content/08-egress-gateway.md:${lineOf(repo, 'kubectl exec -it pod11 -- sh')} (warning in 08-egress-gateway#step11.1): line`);
    expect(text).toContain(`content/08-egress-gateway.md:${lineOf(repo, 'kubectl exec -it pod12 -- sh')} `);
  });
});
