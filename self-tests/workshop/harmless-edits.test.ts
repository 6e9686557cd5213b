/**
 * Edits that change how a chapter is written but not what it says: manifest keys in another
 * order, YAML comments, other fence language tags, CRLF line endings, fenced blocks indented into
 * their list item. Each is applied to every chapter of the test set (self-tests/workshops/), and
 * the reader must find exactly what it finds in the unedited chapter: the same blocks (id, kind,
 * policy) and the same findings, at the same lines once the lines the edit added are counted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments, visit } from 'yaml';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { checkChapter, labsReader, yamlObjects, type Finding } from '../../workshop/check.ts';
import { classify, type Classified } from '../../workshop/classify.ts';
import { compareInventory, inventoryOf } from '../../workshop/inventory.ts';
import { findChapter, parseChapter } from '../../workshop/parse.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');

/** The test set's chapters, with their labs folder when they have one. */
const CHAPTERS = [
  { name: 'published', labs: false },
  { name: 'clean', labs: true },
  { name: 'commands', labs: false },
  { name: 'manifests', labs: true },
  { name: 'misses', labs: true },
] as const;

async function read(markdown: string, file: string, labsDir: string | undefined): Promise<{ blocks: Classified[]; findings: Finding[] }> {
  const labs = labsReader(labsDir);
  const blocks = classify(parseChapter(markdown, file), (p) => {
    const text = labs(p);
    return text === undefined ? undefined : yamlObjects(text);
  });
  return { blocks, findings: await checkChapter(blocks, labs, labsDir) };
}

/** An edited page, and where each line of the original page is in it (1-based). */
interface Edited {
  markdown: string;
  line: (original: number) => number;
  /** How many places the edit changed: 0 means it does not apply to this chapter. */
  changes: number;
  /** Whether the blocks' texts stay as they were (then multi-line messages, such as diffs, must be equal too). */
  sameText: boolean;
}

/** Lines inserted after original lines (0: before the first), and lines replaced one for one. */
function edit(markdown: string, inserts: ReadonlyMap<number, string[]>, replaced: ReadonlyMap<number, string>, sameText: boolean): Edited {
  const lines = markdown.split('\n');
  const out: string[] = [...(inserts.get(0) ?? [])];
  lines.forEach((l, i) => out.push(replaced.get(i + 1) ?? l, ...(inserts.get(i + 1) ?? [])));
  const after = [...inserts].flatMap(([at, added]) => added.map(() => at));
  return {
    markdown: out.join('\n'),
    line: (n) => n + after.filter((at) => at < n).length,
    changes: [...inserts.values()].reduce((n, x) => n + x.length, 0) + replaced.size,
    sameText,
  };
}

/** The file lines of a block's content (the lines between its fences). */
const contentLines = (b: Classified) => Array.from({ length: b.text.split('\n').length - 1 }, (_, i) => b.line + 1 + i);

/** YAML texts of the chapter that parse: YAML blocks and here-documents, as their first file line and text. */
function yamlTexts(blocks: Classified[]): { first: number; text: string }[] {
  return blocks.flatMap((b) => [
    ...(b.kind === 'yaml' && !b.yamlErrors ? [{ first: b.line + 1, text: b.text }] : []),
    ...(b.inline ?? []).map((x) => ({ first: x.heredoc.line, text: x.heredoc.text })),
  ]);
}

const EDITS: Record<string, (markdown: string, blocks: Classified[]) => Edited> = {
  'manifest keys in reverse order, at every level': (markdown, blocks) => {
    const replaced = new Map<number, string>();
    for (const { first, text } of yamlTexts(blocks)) {
      const docs = parseAllDocuments(text);
      if (!Array.isArray(docs)) continue;
      for (const d of docs) visit(d, { Map: (_, map) => void map.items.reverse() });
      const reordered = docs.map((d) => d.toString({ lineWidth: 0 })).join('---\n');
      const was = text.replace(/\n$/, '').split('\n');
      const now = reordered.replace(/\n$/, '').split('\n');
      // A reorder moves lines within the text; it adds none.
      expect(now.length, reordered).toBe(was.length);
      now.forEach((l, i) => {
        if (l !== was[i]) replaced.set(first + i, l);
      });
    }
    return edit(markdown, new Map(), replaced, false);
  },
  'YAML comments: a first line, after each kind, before each spec': (markdown, blocks) => {
    const lines = markdown.split('\n');
    const inserts = new Map<number, string[]>();
    const replaced = new Map<number, string>();
    for (const b of blocks) {
      if (b.kind !== 'yaml') continue;
      inserts.set(b.line, ['# What the reader applies in this step']);
      for (const n of contentLines(b)) {
        if (/^kind: \S+$/.test(lines[n - 1]!)) replaced.set(n, `${lines[n - 1]}  # the object's type`);
        if (/^spec:$/.test(lines[n - 1]!)) inserts.set(n - 1, [...(inserts.get(n - 1) ?? []), '# what it does:']);
      }
    }
    for (const b of blocks) for (const x of b.inline ?? []) inserts.set(x.heredoc.line - 1, ['# the object applied from the here-document']);
    return edit(markdown, inserts, replaced, false);
  },
  ...Object.fromEntries([['yaml', 'bash', 'text'], ['yml', 'shell', 'console']].map((tags) => [
    `fence language tags (${tags.join(', ')})`,
    (markdown: string, blocks: Classified[]) => {
      const lines = markdown.split('\n');
      const tag = { yaml: tags[0], command: tags[1], output: tags[2] };
      return edit(markdown, new Map(), new Map(blocks.map((b) => [b.line, `${lines[b.line - 1]!.trimEnd()}${tag[b.kind]}`])), true);
    },
  ])),
  'CRLF line endings for the whole page': (markdown) => ({ markdown: markdown.replace(/\n/g, '\r\n'), line: (n) => n, changes: markdown.split('\n').length, sameText: true }),
  ...Object.fromEntries([undefined, 4].map((spaces) => [
    `fenced blocks indented into their numbered item (${spaces === undefined ? 'to its text' : `${spaces} spaces`})`,
    (markdown: string, blocks: Classified[]) => {
      const lines = markdown.split('\n');
      const inBlock = (n: number) => blocks.some((b) => n >= b.line && n <= b.endLine);
      const items = lines.flatMap((l, i) => {
        const m = /^(\d+)[.)] +/.exec(l);
        return m && !inBlock(i + 1) ? [{ line: i + 1, n: Number(m[1]), width: m[0].length }] : [];
      });
      const replaced = new Map<number, string>();
      for (const b of blocks) {
        const item = items.filter((x) => x.line < b.line).at(-1);
        const next = items.find((x) => x.line > b.line);
        // Only where the page still shows the same numbers: CommonMark numbers one list from its first
        // item, so indenting the blocks between items 4 and 6 would show 6 as 5 (another page).
        if (!item || (next && next.n !== item.n + 1)) continue;
        // Only blocks of the item: after a paragraph at the margin the list has ended, and four
        // spaces there would make the fence an indented code block (another page too).
        if (lines.slice(item.line, b.line - 1).some((l, i) => /^\S/.test(l) && !inBlock(item.line + 1 + i))) continue;
        const indent = ' '.repeat(spaces ?? item.width);
        for (let n = b.line; n <= b.endLine; n++) if (lines[n - 1] !== '') replaced.set(n, `${indent}${lines[n - 1]}`);
      }
      return edit(markdown, new Map(), replaced, true);
    },
  ])),
};

/** Lines named in a chapter finding's message ("line 23", "lines 24-30"), moved as the edit moved them. */
function moved(f: Finding, line: (n: number) => number, whole: boolean): unknown {
  const [first, ...rest] = f.message.split('\n');
  const headline = f.file ? first! : first!.replace(/\b(lines? )(\d+)(?:-(\d+))?/g, (_, w: string, a: string, b?: string) => `${w}${line(Number(a))}${b ? `-${line(Number(b))}` : ''}`);
  return {
    block: f.block, severity: f.severity, file: f.file, line: f.file || f.line === undefined ? f.line : line(f.line),
    message: headline, ...(whole ? { rest } : { more: rest.length > 0 }),
  };
}

describe('no harmless edit gives a finding: the findings are those of the unedited chapter', () => {
  for (const c of CHAPTERS) {
    const repo = join(WORKSHOPS, c.name);
    const file = findChapter(repo);
    const original = readFileSync(join(repo, file), 'utf8');
    const labsDir = c.labs ? join(repo, 'labs') : undefined;
    for (const [name, apply] of Object.entries(EDITS)) {
      test(`${c.name}: ${name}`, async () => {
        const before = await read(original, file, labsDir);
        const edited = apply(original, before.blocks);
        // An edit that finds nothing to change in this chapter has nothing to show.
        if (edited.changes === 0) return;
        expect(edited.markdown).not.toBe(original);
        const after = await read(edited.markdown, file, labsDir);
        expect(after.blocks.map((b) => [b.id, b.kind, b.policy, b.line])).toEqual(before.blocks.map((b) => [b.id, b.kind, b.policy, edited.line(b.line)]));
        const same = (n: number) => n;
        expect(after.findings.map((f) => moved(f, same, edited.sameText))).toEqual(before.findings.map((f) => moved(f, edited.line, edited.sameText)));
        // Blocks whose text stays the same are not edited blocks for the golden inventory either.
        if (edited.sameText) expect(compareInventory(inventoryOf('0'.repeat(40), file, before.blocks), after.blocks)).toEqual([]);
      });
    }
  }

  test('each edit changes some chapter of the set (none is a no-op everywhere)', async () => {
    for (const [name, apply] of Object.entries(EDITS)) {
      let changed = 0;
      for (const c of CHAPTERS) {
        const repo = join(WORKSHOPS, c.name);
        const file = findChapter(repo);
        const original = readFileSync(join(repo, file), 'utf8');
        changed += apply(original, (await read(original, file, undefined)).blocks).changes > 0 ? 1 : 0;
      }
      expect(changed, name).toBeGreaterThanOrEqual(3);
    }
  });
});
