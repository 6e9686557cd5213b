/**
 * Reads a workshop chapter (a Hugo page) into its code blocks, with exact line numbers.
 *
 * The Markdown is parsed by a CommonMark parser (`commonmark`), never by regexes over the file:
 * a fence inside an HTML comment is part of an HTML block for CommonMark (spec 4.6, type 2 runs
 * to the line holding `-->`), so commented-out blocks are skipped by construction. Hugo's front
 * matter is blanked line by line before parsing, so the parser's line numbers are the file's.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { Parser, type Node } from 'commonmark';
import { parse as parseYaml } from 'yaml';

export interface Block {
  /** Stable and readable: `<page>#step<N>.<k>` (k-th block of numbered step N), or `<page>#<heading-slug>.<k>`. */
  id: string;
  /** Path of the page, relative to the content checkout. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** 1-based line of the closing fence (or the last line when the fence is never closed). */
  endLine: number;
  /** What the block sits under: `step9`, or a heading's slug, or `top`. */
  anchor: string;
  /** The fence's info string (the workshop's are empty). */
  info: string;
  /** The block's content as written. */
  text: string;
  /** Set when no closing fence ends the block: it runs to `endLine` (the end of the page or of its list item). */
  unclosed?: { fence: string };
}

export interface Chapter {
  /** Path relative to the content checkout, e.g. content/09-traffic-management/08-egress-gateway.md. */
  file: string;
  /** The front matter's title ("" when none). */
  title: string;
  /** The page's name without .md: the first part of every block id. */
  page: string;
  blocks: Block[];
  /** Opening-fence lines of blocks inside HTML comments, which are not part of the chapter. */
  commented: number[];
  /** Set when the page is not text (NUL bytes, or bytes that are not UTF-8): it is not parsed. */
  notText?: true;
}

/** Whether a page read as UTF-8 is text: no NUL byte, no byte sequence UTF-8 could not decode. */
export function isText(markdown: string): boolean {
  return !/[\u0000\uFFFD]/.test(markdown);
}

/** The fence that opens a block at a line (its backticks or tildes), or undefined. */
export function openingFence(line: string): string | undefined {
  return /^\s*(?:>\s*)*(`{3,}|~{3,})/.exec(line)?.[1];
}

/** Whether a line closes a block opened by `fence` (CommonMark 4.5: the same character, at least as many, nothing after). */
export function closesFence(line: string, fence: string): boolean {
  const m = /^\s*(?:>\s*)*(`{3,}|~{3,})\s*$/.exec(line);
  return m !== null && m[1]![0] === fence[0] && m[1]!.length >= fence.length;
}

const FENCE = /^ {0,3}(?:<!--\s*)?(`{3,}|~{3,})/;

/** Front matter (`---` YAML or `+++` TOML) as its title and the number of lines it spans. */
export function frontMatter(markdown: string): { title: string; lines: number } {
  // CRLF pages: a title line ending in CR is not YAML the parser takes (after a quoted scalar).
  const lines = markdown.split(/\r?\n/);
  // Stryker disable next-line OptionalChaining: split() always returns at least one element
  const delimiter = lines[0]?.trim();
  if (delimiter !== '---' && delimiter !== '+++') return { title: '', lines: 0 };
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === delimiter);
  // Stryker disable next-line EqualityOperator: findIndex returns -1 or an index above 0 (i > 0), never 0
  if (end < 0) return { title: '', lines: 0 };
  const body = lines.slice(1, end).join('\n');
  let title = '';
  if (delimiter === '---') {
    // Front matter that is not YAML leaves the page without a title (the chapter is then not
    // found by it, which is reported), rather than ending the whole check with a parse error.
    let data: unknown;
    try {
      data = parseYaml(body);
    } /* Stryker disable next-line BlockStatement: data is still undefined when parseYaml throws */ catch {
      data = undefined;
    }
    if (data && typeof data === 'object' && typeof (data as { title?: unknown }).title === 'string') title = (data as { title: string }).title;
  } else {
    // TOML front matter: only the title is needed, a one-line `title = "..."`.
    const m = /^title\s*=\s*"([^"]*)"/m.exec(body);
    title = m?.[1] ?? '';
  }
  return { title, lines: end + 1 };
}

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'section';
}

function textOf(node: Node): string {
  let out = '';
  const walker = node.walker();
  let e;
  while ((e = walker.next())) if (e.entering && (e.node.type === 'text' || e.node.type === 'code')) out += e.node.literal ?? '';
  return out;
}

/** The chapter's blocks in document order. `file` is only recorded (ids use its base name). */
export function parseChapter(markdown: string, file: string): Chapter {
  const page = basename(file).replace(/\.md$/, '');
  if (!isText(markdown)) return { file, title: '', page, blocks: [], commented: [], notText: true };
  const fm = frontMatter(markdown);
  const lines = markdown.split('\n');
  // Blank the front matter instead of cutting it: line numbers stay the file's.
  const body = lines.map((l, i) => (i < fm.lines ? '' : l)).join('\n');
  const doc = new Parser().parse(body);
  const blocks: Block[] = [];
  const commented: number[] = [];
  const perAnchor = new Map<string, number>();
  let anchor = 'top';
  const walker = doc.walker();
  let e;
  while ((e = walker.next())) {
    const node = e.node;
    if (!e.entering) continue;
    // Stryker disable OptionalChaining: a list item always has its list as parent (node.parent?.listType below)
    if (node.type === 'heading' && node.level > 1) anchor = slug(textOf(node));
    else if (node.type === 'item' && node.parent?.listType === 'ordered') {
      // A numbered step: its number is the list's start plus the item's position.
      let n = node.parent.listStart ?? 1;
      for (let sib = node.parent.firstChild; sib && sib !== node; sib = sib.next) n++;
      anchor = `step${n}`;
    } else if (node.type === 'code_block' && node.info !== null /* fenced; indented blocks have no info string */) {
      const [[start], [end]] = node.sourcepos;
      const k = (perAnchor.get(anchor) ?? 0) + 1;
      perAnchor.set(anchor, k);
      const fence = openingFence(lines[start - 1] ?? '') ?? '```';
      // Stryker disable next-line StringLiteral: the block's last line is a line of the page, never undefined
      const closed = end > start && closesFence(lines[end - 1] ?? '', fence);
      blocks.push({
        id: `${page}#${anchor}.${k}`, file, line: start, endLine: end, anchor,
        // Stryker disable next-line StringLiteral: a fenced block's info and literal are strings ("" when empty), never null
        info: node.info ?? '', text: node.literal ?? '', ...(closed ? {} : { unclosed: { fence } }),
      });
    } else if (node.type === 'html_block' && /^\s*<!--/.test(node.literal ?? '')) {
      // Fences inside a comment: record where they open, for the report.
      const [[start]] = node.sourcepos;
      let open = false;
      (node.literal ?? '').split('\n').forEach((l, i) => {
        if (FENCE.test(l)) {
          if (!open) commented.push(start + i);
          open = !open;
        }
      });
    }
  }
  // Stryker restore OptionalChaining
  return { file, title: fm.title, page, blocks, commented };
}

export function readChapter(repo: string, file: string): Chapter {
  return parseChapter(readFileSync(join(repo, file), 'utf8'), file);
}

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

export const DEFAULT_CHAPTER_TITLE = 'Egress Gateway';

/** The page under `content/` whose front-matter title is `title` (path relative to the repo). */
export function findChapter(repo: string, title = DEFAULT_CHAPTER_TITLE): string {
  const content = join(repo, 'content');
  let files: string[];
  try {
    files = markdownFiles(content);
  } catch {
    throw new Error(`WORKSHOP_REPO=${repo} has no content/ folder; valid values: a checkout of the workshop's Hugo site`);
  }
  const hits = files.filter((f) => frontMatter(readFileSync(f, 'utf8')).title === title);
  if (hits.length === 0) throw new Error(`no page under ${content} has the title "${title}"; set WORKSHOP_CHAPTER to the chapter's path`);
  if (hits.length > 1) throw new Error(`several pages under ${content} have the title "${title}" (${hits.map((h) => relative(repo, h)).join(', ')}); set WORKSHOP_CHAPTER to one of them`);
  return relative(repo, hits[0]!).split(sep).join('/');
}
