/**
 * The workshop reader in-process (parse, classify, check): the whole analysis of each chapter
 * under self-tests/workshops/ against a recorded expectation. workshop.test.ts runs the same
 * chapters through `npm run workshop` in a subprocess and asserts the findings that matter one by
 * one; this file pins every field (block ids and lines, words, placeholders, applies, outcomes,
 * policies and reasons, every finding and note) in the test process, where mutation testing can
 * see which code it reaches (vitest.mutation.config.ts).
 *
 * The expectations are files (self-tests/workshops/expected/*.json). After a deliberate change of
 * the reader, review the new analysis and update them with `npx vitest run --project self
 * self-tests/workshop/report.test.ts -u`; git diff then shows what changed.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { frontMatter, parseChapter, slug } from '../../workshop/parse.ts';
import { DEFECTS, type KnownDefect } from '../../workshop/plan.ts';
import { addIstioctlFindings } from '../../workshop/istioctl.ts';
import {
  analyse, annotationOutput, ANNOTATIONS_PER_TYPE, DEFAULT_GOLDEN, forJobSummary, hasErrors, JOB_SUMMARY_LIMIT, toJson, toMarkdown, triage, workflowCommand, type Annotation,
} from '../../workshop/report.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');

/** The analysis as stable text: absolute paths of this checkout replaced by `<workshops>`. */
async function analysisText(name: string, withLabs: boolean): Promise<string> {
  const repo = join(WORKSHOPS, name);
  const a = await analyse({ repo, labs: withLabs ? join(repo, 'labs') : undefined, chapter: undefined });
  const { notes, blocks, findings } = a;
  return `${JSON.stringify({ file: a.chapter.file, notes, blocks, findings }, null, 2).split(WORKSHOPS).join('<workshops>')}\n`;
}

describe('the workshop reader in-process: every field of the analysis', () => {
  test('clean chapter, with its labs folder', async () => {
    await expect(await analysisText('clean', true)).toMatchFileSnapshot('../workshops/expected/clean.json');
  });
  test('commands of older releases, without labs', async () => {
    await expect(await analysisText('commands', false)).toMatchFileSnapshot('../workshops/expected/commands.json');
  });
  test('manifests and labs files, with and without the labs folder', async () => {
    await expect(await analysisText('manifests', true)).toMatchFileSnapshot('../workshops/expected/manifests.json');
    await expect(await analysisText('manifests', false)).toMatchFileSnapshot('../workshops/expected/manifests-no-labs.json');
  });
});

describe('the chapter parser: front matter and step ids', () => {
  test('front matter: the title and the number of lines it takes', () => {
    expect(frontMatter('---\ntitle: "Egress Gateway"\nweight: 5\n---\n\nbody\n')).toEqual({ title: 'Egress Gateway', lines: 4 });
    expect(frontMatter('  ---  \ntitle: x\n---\n')).toEqual({ title: 'x', lines: 3 });
    expect(frontMatter('+++\nweight = 2\ntitle = "Egress Gateway"\n+++\nbody\n')).toEqual({ title: 'Egress Gateway', lines: 4 });
    expect(frontMatter('+++\nsubtitle = "x"\n+++\n')).toEqual({ title: '', lines: 3 });
    // No title, a title that is not a string, an unclosed block, no front matter at all.
    expect(frontMatter('---\nweight: 5\n---\n')).toEqual({ title: '', lines: 3 });
    expect(frontMatter('---\ntitle: 5\n---\n')).toEqual({ title: '', lines: 3 });
    expect(frontMatter('---\n---\n')).toEqual({ title: '', lines: 2 });
    expect(frontMatter('---\ntitle: x\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('+++\ntitle = "x"\n---\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('# Egress\n---\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('')).toEqual({ title: '', lines: 0 });
  });
  test('slugs are lower case, words joined by one dash, no dash at either end', () => {
    expect(slug('Egress Gateway')).toBe('egress-gateway');
    expect(slug('  (Step 3): Redis & the Mesh!  ')).toBe('step-3-redis-the-mesh');
    expect(slug('-a-')).toBe('a');
    expect(slug('***')).toBe('section');
    expect(slug('')).toBe('section');
  });
  test('blocks get ids by heading or step and their opening-fence line; a repeated step number continues the count', () => {
    const md = [
      '---', 'title: Egress Gateway', '---', '', '## Before You Begin', '', '~~~', 'kubectl get pods', '~~~', '',
      '1. a', '', '```', 'x', '```', '', '1. b', '', '   ```yaml', '   y: 1', '   ```', '', '<!-- ```', 'helm init', '``` -->', '',
    ].join('\n');
    const c = parseChapter(md, 'content/p/07-page.md');
    expect(c.title).toBe('Egress Gateway');
    expect(c.file).toBe('content/p/07-page.md');
    expect(c.blocks.map((b) => [b.id, b.line, b.endLine, b.info, b.text])).toEqual([
      ['07-page#before-you-begin.1', 7, 9, '', 'kubectl get pods\n'],
      ['07-page#step1.1', 13, 15, '', 'x\n'],
      ['07-page#step1.2', 19, 21, 'yaml', 'y: 1\n'],
    ]);
    expect(c.commented).toEqual([23]);
  });
});

describe('known defects, annotations (workshop/report.ts triage, annotationsOf, annotationOutput)', () => {
  const published = () => analyse({ repo: join(WORKSHOPS, 'published'), labs: undefined, chapter: undefined });
  const defect = (id: string, block: string, message: RegExp, scenario?: string): KnownDefect => ({ id, reason: `reason ${id}`, findings: [{ block, message }], scenario });

  test('a finding is known only for its block and a matching message; other errors still fail', async () => {
    const a = await published();
    const t = triage(a, [defect('key', '08-egress-gateway#step6.1', /outboundTrafficPolicymode/), defect('elsewhere', '08-egress-gateway#step4.2', /outboundTrafficPolicymode/)]);
    expect([...t.known.entries()].map(([f, d]) => [f.block, d.id])).toEqual([['08-egress-gateway#step6.1', 'key']]);
    // The same message on another block is not the defect: that defect counts as fixed.
    expect(t.fixed.map((d) => d.id)).toEqual(['elsewhere']);
    expect(hasErrors(a, t)).toBe(true);
    expect(hasErrors(a)).toBe(false);
  });

  test('a defect of another page is neither found nor fixed', async () => {
    const a = await published();
    const t = triage(a, [defect('other-page', '09-other#step1.1', /anything/)]);
    expect(t.known.size).toBe(0);
    expect(t.fixed).toEqual([]);
  });

  test('the defects\' findings, the JSON and the Markdown of the published-like chapter', async () => {
    const a = await published();
    const t = triage(a);
    expect(t.fixed).toEqual([]);
    expect(new Set(t.known.values())).toEqual(new Set(DEFECTS));
    const json = toJson(a, t);
    expect(json.findings.filter((f) => f.known).map((f) => `${f.block} ${f.known}`)).toEqual([
      '08-egress-gateway#step4.2 kubectl-exec-without-dashes',
      '08-egress-gateway#step6.1 helm2-chart-path',
      '08-egress-gateway#step6.1 mesh-mode-key',
      '08-egress-gateway#step7.1 kubectl-exec-without-dashes',
      '08-egress-gateway#step9.1 gateway-addresses',
      '08-egress-gateway#step9.1 gateway-not-bound',
    ]);
    expect(json).not.toHaveProperty('fixed');
    const md = toMarkdown(a, new Map(), t);
    expect(md).toContain('| `08-egress-gateway#step6.1` (content/08-egress-gateway.md:27) | command | intent | known defect (2) |');
    expect(md).toContain('- **known defect mesh-mode-key (error)**: line 28: --set global.outboundTrafficPolicymode');
  });

  test('a workflow command: properties and message escaped as GitHub reads them', () => {
    expect(workflowCommand({ type: 'error', file: 'content/a,b:c.md', line: 7, title: 'error in p#s1.1', message: '100% broken\r\nsecond line' }))
      .toBe('::error file=content/a%2Cb%3Ac.md,line=7,title=error in p#s1.1::100%25 broken%0D%0Asecond line');
    expect(workflowCommand({ type: 'notice', file: undefined, line: undefined, title: 't', message: 'm' })).toBe('::notice title=t::m');
  });

  test('ten annotations of each type at most; the rest as a list for the job summary', () => {
    const x = (type: Annotation['type'], n: number): Annotation => ({ type, file: 'c.md', line: n, title: `${type} ${n}`, message: `m${n}\nmore` });
    const list = [...Array.from({ length: 12 }, (_, i) => x('warning', i + 1)), ...Array.from({ length: 3 }, (_, i) => x('error', i + 1))];
    const out = annotationOutput(list);
    expect(out.commands.filter((c) => c.startsWith('::warning '))).toHaveLength(10);
    expect(out.commands.filter((c) => c.startsWith('::error '))).toHaveLength(3);
    expect(out.overflow).toBe([
      '### 2 more finding(s) than GitHub shows as annotations (10 per type)', '',
      '- **warning** c.md:11 (warning 11): m11', '- **warning** c.md:12 (warning 12): m12', '',
    ].join('\n'));
    expect(annotationOutput(list.slice(0, 10)).overflow).toBe('');
    expect(ANNOTATIONS_PER_TYPE).toBe(10);
  });
});

describe('findings a maintainer can act on: the JSON\'s notes and labs commit, the job summary\'s size', () => {
  test('the JSON carries the notes: labs not set, a golden inventory of another chapter, that no istioctl was found', async () => {
    const a = await analyse({ repo: join(WORKSHOPS, 'manifests'), labs: undefined, chapter: undefined, golden: DEFAULT_GOLDEN });
    await addIstioctlFindings(a, { ISTIOCTL_BIN: join(WORKSHOPS, 'no-istioctl-here') });
    const json = toJson(a);
    expect(Object.keys(json)).toEqual(['chapter', 'labs', 'notes', 'blocks', 'findings']);
    expect(json.labs).toEqual({ commit: null });
    expect(json.notes).toEqual([
      expect.stringMatching(/ is not a git checkout: no commit recorded$/),
      'WORKSHOP_LABS is not set: the labs files the chapter applies are neither validated nor compared',
      expect.stringMatching(/^the golden inventory is of content\/.+, not content\/mesh\/07-egress\.md: changes since the pinned commit are not reported$/),
      expect.stringMatching(/^no istioctl found \(ISTIOCTL_BIN, PATH, or /),
    ]);
    // A copy: the analysis's own list is not the report's.
    expect(json.notes).not.toBe(a.notes);
  });

  test('the labs commit beside the chapter\'s', () => {
    const a = { chapter: { file: 'c.md', commit: 'c0ffee', repo: '/r' }, labs: { dir: '/l', commit: 'beef01' }, notes: ['n'], blocks: [], findings: [] };
    expect(toJson(a)).toEqual({ chapter: { file: 'c.md', commit: 'c0ffee' }, labs: { commit: 'beef01' }, notes: ['n'], blocks: [], findings: [] });
  });

  test('the job summary: unchanged below the limit; above it, whole lines up to the limit in bytes and where the full report is', () => {
    const md = ['## Report', '', '| a | b |', '|---|---|', ...Array.from({ length: 40 }, (_, i) => `| row ${i} | ${'é'.repeat(20)} |`), ''].join('\n');
    expect(forJobSummary(md, 'r.md', Buffer.byteLength(md))).toBe(md);
    const cut = forJobSummary(md, '`r.md` in the artifacts', 1000);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1000);
    // Counting characters instead of bytes would keep more rows than fit.
    expect(Buffer.byteLength(cut)).toBeGreaterThan(900);
    const [kept, note] = cut.split('\n---\n');
    expect(md.startsWith(kept!)).toBe(true);
    const shown = kept!.trimEnd().split('\n').length;
    expect(note).toBe(`\n**This summary is cut after line ${shown} of 45: GitHub shows at most 1 MiB per step. The full report is \`r.md\` in the artifacts.**\n`);
  });

  test('a cut inside a fenced block closes it, so the note is not read as code', () => {
    const md = ['### b', '', 'As written:', '', '````', ...Array.from({ length: 60 }, (_, i) => `line ${i} \`\`\``), '````', '', '- **error**: x', ''].join('\n');
    const cut = forJobSummary(md, 'r.md', 400);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(400);
    const lines = cut.split('\n');
    expect(lines.filter((l) => l === '````')).toHaveLength(2);
    expect(lines.indexOf('````', 5)).toBe(lines.indexOf('---') - 2);
    // Cut after the fence closed: nothing to close.
    const after = forJobSummary(`${md}${'- more\n'.repeat(100)}`, 'r.md', Buffer.byteLength(md) + 200);
    expect(after.split('\n').filter((l) => l === '````')).toHaveLength(2);
    expect(after.startsWith(md)).toBe(true);
  });

  test('by default below GitHub\'s 1 MiB per step', async () => {
    expect(JOB_SUMMARY_LIMIT).toBe(1024 * 1024);
    const a = await analyse({ repo: join(WORKSHOPS, 'published'), labs: undefined, chapter: undefined });
    const md = toMarkdown(a);
    expect(forJobSummary(md, 'r.md')).toBe(md);
    const big = md.repeat(Math.ceil((JOB_SUMMARY_LIMIT * 1.5) / md.length));
    const cut = forJobSummary(big, 'r.md');
    expect(Buffer.byteLength(cut)).toBeLessThan(JOB_SUMMARY_LIMIT);
    expect(Buffer.byteLength(cut)).toBeGreaterThan(JOB_SUMMARY_LIMIT - 8192);
    expect(cut).toMatch(/The full report is r\.md\.\*\*\n$/);
  });
});
