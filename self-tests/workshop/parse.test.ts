/**
 * The workshop reader function by function, in process, on small inputs (Markdown snippets,
 * shell command lines, YAML manifests): no git, no subprocess, no whole-chapter analysis
 * (inventory.test.ts does that, with a git call per analysis, and through `npm run workshop`).
 * Every test takes milliseconds, so mutation testing can re-run them for each mutant
 * (vitest.mutation.config.ts). They assert values: ids, line numbers, words, policies,
 * outcomes, severities, and the values a finding names (line, flag, path, suggested command),
 * not a finding's prose.
 *
 * One file per module (parse.test.ts, classify.test.ts, check.test.ts): a mutant re-runs only
 * the files whose tests reach it, in a fresh worker that imports that file's modules again, so
 * each file imports no more than its module needs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { closesFence, findChapter, frontMatter, isText, openingFence, parseChapter, readChapter, slug } from '../../workshop/parse.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const WORKSHOPS = join(import.meta.dirname, '..', 'workshops');

describe('parse: front matter', () => {
  test('the title and the number of lines it spans; anything else is no front matter', () => {
    expect(frontMatter('---\ntitle: "Egress Gateway"\nweight: 5\n---\n\nbody\n')).toEqual({ title: 'Egress Gateway', lines: 4 });
    expect(frontMatter('  ---  \ntitle: x\n ---\n')).toEqual({ title: 'x', lines: 3 });
    // Front matter that is not YAML: no title, the lines still counted, no exception.
    expect(frontMatter('---\ntitle: "unclosed\nweight: [5\n---\nbody\n')).toEqual({ title: '', lines: 4 });
    expect(frontMatter('+++\nweight = 2\ntitle = "Egress Gateway"\n+++\nbody\n')).toEqual({ title: 'Egress Gateway', lines: 4 });
    expect(frontMatter('+++\nsubtitle = "x"\n  title = "y"\n+++\n')).toEqual({ title: '', lines: 4 });
    expect(frontMatter('+++\ntitle="a b"\n+++\n')).toEqual({ title: 'a b', lines: 3 });
    expect(frontMatter('---\nweight: 5\n---\n')).toEqual({ title: '', lines: 3 });
    expect(frontMatter('---\ntitle: 5\n---\n')).toEqual({ title: '', lines: 3 });
    expect(frontMatter('---\n- title\n---\n')).toEqual({ title: '', lines: 3 });
    expect(frontMatter('---\njust words\n---\n')).toEqual({ title: '', lines: 3 });
    expect(frontMatter('---\n---\n')).toEqual({ title: '', lines: 2 });
    expect(frontMatter('---\ntitle: x\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('---')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('+++\ntitle = "x"\n---\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('# Egress\n---\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('')).toEqual({ title: '', lines: 0 });
  });
  test('slugs: lower case, words joined by one dash, no dash at either end, "section" when empty', () => {
    expect(slug('Egress Gateway')).toBe('egress-gateway');
    expect(slug('  (Step 3): Redis & the Mesh!  ')).toBe('step-3-redis-the-mesh');
    expect(slug('-a-')).toBe('a');
    expect(slug('a--b')).toBe('a-b');
    expect(slug('***')).toBe('section');
    expect(slug('')).toBe('section');
  });
});

describe('parse: blocks of a chapter', () => {
  test('anchors: a level-2+ heading, a numbered step (from the list start), not a level-1 heading or a bullet', () => {
    const md = [
      '# Title', '', '```sh', 'a', '```', '',
      '## Use `kubectl` *now*', '', '```', 'h', '```', '',
      '3. x', '', '   ```', '   b', '   ```', '',
      '4. y', '', '    indented', '', '   ~~~~', '   c', '   ~~~~', '',
      '- bullet', '', '  ```', '  d', '  ```', '',
    ].join('\n');
    const c = parseChapter(md, 'content/a/page.mdx.md');
    expect(c.page).toBe('page.mdx');
    expect(c.title).toBe('');
    expect(c.commented).toEqual([]);
    expect(c.blocks.map((b) => [b.id, b.anchor, b.line, b.endLine, b.info, b.text, b.file])).toEqual([
      ['page.mdx#top.1', 'top', 3, 5, 'sh', 'a\n', 'content/a/page.mdx.md'],
      ['page.mdx#use-kubectl-now.1', 'use-kubectl-now', 9, 11, '', 'h\n', 'content/a/page.mdx.md'],
      ['page.mdx#step3.1', 'step3', 15, 17, '', 'b\n', 'content/a/page.mdx.md'],
      ['page.mdx#step4.1', 'step4', 23, 25, '', 'c\n', 'content/a/page.mdx.md'],
      ['page.mdx#step4.2', 'step4', 29, 31, '', 'd\n', 'content/a/page.mdx.md'],
    ]);
  });
  test('front matter keeps the file\'s line numbers; a repeated step number continues its count; an unclosed fence ends at the last line', () => {
    const md = ['---', 'title: Egress Gateway', '---', '1. a', '', '```', 'x', '```', '', '1. b', '', '   ```yaml', '   y: 1', '   ```', '', '```', 'open', 'still'].join('\n');
    const c = parseChapter(md, 'p.md');
    expect(c.title).toBe('Egress Gateway');
    expect(c.page).toBe('p');
    expect(c.blocks.map((b) => [b.id, b.line, b.endLine, b.text])).toEqual([
      ['p#step1.1', 6, 8, 'x\n'],
      ['p#step1.2', 12, 14, 'y: 1\n'],
      ['p#step1.3', 16, 18, 'open\nstill\n'],
    ]);
  });
  test('a list without a start number counts from 1; items before the one holding the block count', () => {
    const md = ['1. a', '2. b', '3. c', '', '   ```', '   z', '   ```', ''].join('\n');
    expect(parseChapter(md, 'p.md').blocks.map((b) => b.id)).toEqual(['p#step3.1']);
  });
  test('fences inside HTML comments are recorded by their opening line, not read as blocks', () => {
    const md = [
      'intro', '', '<!--', '```', 'e', '```', 'text', '~~~', 'f', '~~~', '-->', '',
      '<!-- ```', 'helm init', '``` -->', '', '<div>', '```', '</div>', '', '```', 'kept', '```', '',
    ].join('\n');
    const c = parseChapter(md, 'p.md');
    expect(c.commented).toEqual([4, 8, 13]);
    expect(c.blocks.map((b) => [b.id, b.line, b.text])).toEqual([['p#top.1', 21, 'kept\n']]);
  });
  test('an empty page has no blocks', () => {
    expect(parseChapter('', 'p.md')).toEqual({ file: 'p.md', title: '', page: 'p', blocks: [], commented: [] });
  });
});

describe('parse: finding the chapter in a checkout', () => {
  const folder = tempFolder('workshop-units');
  let repo = '';
  beforeAll(() => {
    repo = folder.path;
    mkdirSync(join(repo, 'content', 'b', 'deep'), { recursive: true });
    mkdirSync(join(repo, 'content', 'a'), { recursive: true });
    writeFileSync(join(repo, 'content', 'a', 'one.md'), '---\ntitle: One\n---\n```\nkubectl get pods\n```\n');
    writeFileSync(join(repo, 'content', 'b', 'deep', 'two.md'), '---\ntitle: Two\n---\n');
    writeFileSync(join(repo, 'content', 'b', 'twin.md'), '---\ntitle: Twin\n---\n');
    writeFileSync(join(repo, 'content', 'b', 'deep', 'twin.md'), '+++\ntitle = "Twin"\n+++\n');
    writeFileSync(join(repo, 'content', 'b', 'Two.txt'), '---\ntitle: Text\n---\n');
  });
  test('the page with the title, as a path relative to the checkout, in sub-folders too', () => {
    expect(findChapter(repo, 'One')).toBe('content/a/one.md');
    expect(findChapter(repo, 'Two')).toBe('content/b/deep/two.md');
    expect(findChapter(join(WORKSHOPS, 'clean'))).toBe('content/labs-chapters/05-leaving-the-mesh.md');
  });
  test('no page, several pages, or no content folder: an error naming the setting', () => {
    expect(() => findChapter(repo, 'Text')).toThrow(/WORKSHOP_CHAPTER/);
    expect(() => findChapter(repo, 'Twin')).toThrow(/content\/b\/deep\/twin\.md, content\/b\/twin\.md/);
    expect(() => findChapter(join(repo, 'content'), 'One')).toThrow(/WORKSHOP_REPO=/);
  });
  test('readChapter parses the file under the checkout', () => {
    const c = readChapter(repo, 'content/a/one.md');
    expect([c.file, c.title, c.page]).toEqual(['content/a/one.md', 'One', 'one']);
    expect(c.blocks.map((b) => [b.id, b.line, b.text])).toEqual([['one#top.1', 4, 'kubectl get pods\n']]);
  });
});

describe('parse: boundaries', () => {
  test('front matter needs its delimiter on the first line; an empty YAML body is no title', () => {
    expect(frontMatter('title = "a"\ntitle = "a"\n')).toEqual({ title: '', lines: 0 });
    expect(frontMatter('---\n~\n---\n')).toEqual({ title: '', lines: 3 });
  });
  test('a heading\'s text without its inline HTML; the blanked front matter cannot make a heading', () => {
    expect(parseChapter('## Step <b>two</b> `x`\n\n```\na\n```\n', 'p.md').blocks.map((b) => b.id)).toEqual(['p#step-two-x.1']);
    expect(parseChapter('---\ntitle: T\n---\n---\n```\nx\n```\n', 'p.md').blocks.map((b) => [b.id, b.line])).toEqual([['p#top.1', 5]]);
  });
  test('a heading inside the last step keeps its anchor for a block after the list', () => {
    expect(parseChapter('1. a\n\n   ### Sub\n\n```\nx\n```\n', 'p.md').blocks.map((b) => b.id)).toEqual(['p#sub.1']);
  });
  test('an indented code block is not a block of the chapter', () => {
    expect(parseChapter('para\n\n    indented\n', 'p.md').blocks).toEqual([]);
  });
  test('comments: indented ones count, inline ones and HTML blocks that only contain one do not', () => {
    expect(parseChapter('  <!--\n```\nx\n```\n-->\n', 'p.md').commented).toEqual([2]);
    expect(parseChapter('text <!-- ``` --> more\n', 'p.md').commented).toEqual([]);
    expect(parseChapter('<div>\n<!--\n```\nx\n```\n-->\n</div>\n', 'p.md').commented).toEqual([]);
  });
});

describe('parse: several pages with one title are named in path order', () => {
  const folder = tempFolder('workshop-units');
  let repo = '';
  beforeAll(() => {
    repo = folder.path;
    mkdirSync(join(repo, 'content'));
    for (const n of ['q', 'c', 'x', 'a', 'm', 'f', 'z', 'b']) writeFileSync(join(repo, 'content', `${n}.md`), '---\ntitle: Same\n---\n');
  });
  test('sorted', () => {
    expect(() => findChapter(repo, 'Same')).toThrow('(content/a.md, content/b.md, content/c.md, content/f.md, content/m.md, content/q.md, content/x.md, content/z.md)');
  });
});

describe('parse: input that is not a chapter (issue 23)', () => {
  test('an unclosed fence is marked with the fence that opened it; closed ones, CRLF ones and longer closings are not', () => {
    const c = parseChapter(['# P', '', '```', 'a', '```', '', '~~~~yaml', 'b', '~~~~~', '', '```', 'c', '~~~', ''].join('\n'), 'content/p.md');
    expect(c.blocks.map((b) => [b.line, b.endLine, b.unclosed])).toEqual([[3, 5, undefined], [7, 9, undefined], [11, 13, { fence: '```' }]]);
    const crlf = parseChapter('```\r\nkubectl get pods\r\n```\r\n', 'p.md');
    expect(crlf.blocks.map((b) => [b.text, b.unclosed])).toEqual([['kubectl get pods\n', undefined]]);
    expect(closesFence('  ````  ', '```')).toBe(true);
    expect(closesFence('``', '```')).toBe(false);
    expect(closesFence('~~~', '```')).toBe(false);
    expect(closesFence('``` x', '```')).toBe(false);
    expect(openingFence('   ~~~~yaml')).toBe('~~~~');
    expect(openingFence('text')).toBeUndefined();
  });
  test('a CRLF page: its front matter\'s title (a quoted one too) and its lines, as with LF', () => {
    expect(frontMatter('---\r\ntitle: "Egress Gateway"\r\n---\r\n\r\nbody\r\n')).toEqual({ title: 'Egress Gateway', lines: 3 });
    expect(frontMatter('+++\r\ntitle = "Egress Gateway"\r\n+++\r\n')).toEqual({ title: 'Egress Gateway', lines: 3 });
    const lf = ['---', 'title: "T"', '---', '', '3. Step', '', '```', 'kubectl get pods', '```', ''].join('\n');
    const crlf = parseChapter(lf.replace(/\n/g, '\r\n'), 'content/p.md');
    expect(crlf).toEqual(parseChapter(lf, 'content/p.md'));
    expect(crlf.blocks.map((b) => [b.id, b.line, b.endLine, b.text])).toEqual([['p#step3.1', 7, 9, 'kubectl get pods\n']]);
  });
  test('a page that is not text is not parsed: no blocks, marked', () => {
    const c = parseChapter('\u0089PNG\r\n\u001a\n\u0000\u0000```\nx\n```\n', 'content/image.md');
    expect([c.blocks, c.notText, c.page]).toEqual([[], true, 'image']);
    expect(isText('# t\n\n```\nx\n```\n')).toBe(true);
    expect(isText('bad \uFFFD byte')).toBe(false);
    expect(parseChapter('# t\n', 'p.md').notText).toBeUndefined();
  });
});

describe('parse: fences and pages, edge by edge (mutation survivors)', () => {
  test('an opening fence starts its line, after spaces or quote markers with any spacing', () => {
    expect(openingFence('see ```')).toBeUndefined();
    expect(openingFence('>  ```yaml')).toBe('```');
    expect(openingFence('> > ```')).toBe('```');
    expect(openingFence('>```')).toBe('```');
    expect(openingFence('- ```')).toBeUndefined();
  });
  test('a closing fence: the whole line, after quote markers, at least as long as the opening one', () => {
    expect(closesFence('text ```', '```')).toBe(false);
    expect(closesFence('>  ```', '```')).toBe(true);
    expect(closesFence('> ```', '```')).toBe(true);
    expect(closesFence('>```', '```')).toBe(true);
    expect(closesFence('```', '````')).toBe(false);
    expect(closesFence('````', '````')).toBe(true);
  });
  test('a page that is not text: exactly the empty chapter, marked', () => {
    expect(parseChapter('a\u0000b', 'content/x.md')).toEqual({ file: 'content/x.md', title: '', page: 'x', blocks: [], commented: [], notText: true });
  });
  test('a fence opened on a list bullet: the default fence, closed by a backtick fence, unclosed when none follows', () => {
    const closed = parseChapter('- ```\n  kubectl get pods\n  ```\n', 'p.md');
    expect(closed.blocks.map((b) => [b.line, b.endLine, b.text, b.unclosed])).toEqual([[1, 3, 'kubectl get pods\n', undefined]]);
    const open = parseChapter('- ```\n  kubectl get pods\n', 'p.md');
    expect(open.blocks.map((b) => [b.line, b.unclosed])).toEqual([[1, { fence: '```' }]]);
  });
  test('a fence on the last line opens an empty block that no fence closes', () => {
    const c = parseChapter('para\n\n```', 'p.md');
    expect(c.blocks.map((b) => [b.line, b.endLine, b.text, b.unclosed])).toEqual([[3, 3, '', { fence: '```' }]]);
  });
});
