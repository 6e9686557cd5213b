/**
 * The chapter read from the checkouts (never written), and its reports: text for a terminal,
 * the JSON of `npm run workshop -- --json`, and the Markdown a maintainer reads (also the
 * GitHub job summary).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pins } from '../helpers/run/pins.ts';
import { classify, type Classified } from './classify.ts';
import { checkChapter, labsReader, yamlObjects, SAMPLE_VALUES, type Finding, type PlaceholderValues } from './check.ts';
import { commitOf, compareInventory, readGolden, textAt, GOLDEN_FILE } from './inventory.ts';
import { findChapter, readChapter } from './parse.ts';

export interface WorkshopInput {
  repo: string;
  labs: string | undefined;
  /** Relative to repo; undefined: found by its title. */
  chapter: string | undefined;
  /** The golden inventory to compare with (undefined: none). */
  golden?: string | undefined;
  values?: PlaceholderValues;
}

export interface Analysis {
  chapter: { file: string; commit: string | null; repo: string };
  labs: { dir: string | null; commit: string | null };
  /** Facts for the reader that are not findings (checkouts that are not git, skipped comments). */
  notes: string[];
  blocks: Classified[];
  findings: Finding[];
}

export class WorkshopInputError extends Error {}

export async function analyse(input: WorkshopInput): Promise<Analysis> {
  if (!existsSync(input.repo)) throw new WorkshopInputError(`WORKSHOP_REPO=${input.repo} does not exist; valid values: a checkout of the workshop's Hugo site`);
  if (input.labs !== undefined && !existsSync(input.labs)) throw new WorkshopInputError(`WORKSHOP_LABS=${input.labs} does not exist; valid values: a checkout of the workshop's labs`);
  let file: string;
  try {
    file = input.chapter ?? findChapter(input.repo);
  } catch (e) {
    throw new WorkshopInputError(e instanceof Error ? e.message : String(e));
  }
  if (!existsSync(join(input.repo, file))) throw new WorkshopInputError(`WORKSHOP_CHAPTER=${file} is not a file under WORKSHOP_REPO=${input.repo}; valid values: a page path relative to WORKSHOP_REPO`);
  const notes: string[] = [];
  const commit = commitOf(input.repo);
  if (!commit) notes.push(`WORKSHOP_REPO=${input.repo} is not a git checkout: no commit recorded`);
  const labsCommit = input.labs ? commitOf(input.labs) : undefined;
  if (input.labs && !labsCommit) notes.push(`WORKSHOP_LABS=${input.labs} is not a git checkout: no commit recorded`);
  if (!input.labs) notes.push('WORKSHOP_LABS is not set: the labs files the chapter applies are neither validated nor compared');

  const chapter = readChapter(input.repo, file);
  if (chapter.commented.length > 0) notes.push(`${chapter.commented.length} block(s) inside HTML comments are not part of the chapter and were skipped (fences at lines ${chapter.commented.join(', ')})`);
  const labs = labsReader(input.labs);
  const blocks = classify(chapter, (p) => {
    const text = labs(p);
    return text === undefined ? undefined : yamlObjects(text);
  });
  const findings = await checkChapter(blocks, labs, input.labs, input.values ?? SAMPLE_VALUES);

  if (input.golden) {
    const golden = readGolden(input.golden);
    if (golden.chapter !== file) {
      notes.push(`the golden inventory is of ${golden.chapter}, not ${file}: changes since the pinned commit are not reported`);
    } else {
      findings.push(...compareInventory(golden, blocks, commit && commit !== golden.commit ? textAt(input.repo, golden.commit, file) : undefined));
      if (commit && commit !== golden.commit) notes.push(`the checkout is at ${commit.slice(0, 12)}, the golden inventory at ${golden.commit.slice(0, 12)} (helpers/run/pins.ts workshopCommit)`);
    }
  }
  return {
    chapter: { file, commit: commit ?? null, repo: input.repo },
    labs: { dir: input.labs ?? null, commit: labsCommit ?? null },
    notes, blocks, findings,
  };
}

export interface PlannedBlock {
  id: string;
  file: string;
  line: number;
  kind: string;
  policy: string;
  reason: string;
}

/** The chapter's blocks and policies, without the checks (fast; for `npm run plan`). */
export function planWorkshop(input: Pick<WorkshopInput, 'repo' | 'labs' | 'chapter'>): { file: string; commit: string | null; blocks: PlannedBlock[] } {
  const file = input.chapter ?? findChapter(input.repo);
  const labs = labsReader(input.labs);
  const blocks = classify(readChapter(input.repo, file), (p) => {
    const text = labs(p);
    return text === undefined ? undefined : yamlObjects(text);
  });
  return {
    file, commit: commitOf(input.repo) ?? null,
    blocks: blocks.map((b) => ({ id: b.id, file: b.file, line: b.line, kind: b.kind, policy: b.policy, reason: b.reason })),
  };
}

/** The default golden inventory of the pinned workshop (workshop/golden.json). */
export const DEFAULT_GOLDEN = existsSync(GOLDEN_FILE) ? GOLDEN_FILE : undefined;
export const PINNED = { content: pins.workshopCommit, labs: pins.workshopLabsCommit };

export interface JsonReport {
  chapter: { file: string; commit: string | null };
  blocks: { id: string; file: string; line: number; kind: string; policy: string }[];
  findings: Finding[];
}

export function toJson(a: Analysis): JsonReport {
  return {
    chapter: { file: a.chapter.file, commit: a.chapter.commit },
    blocks: a.blocks.map((b) => ({ id: b.id, file: b.file, line: b.line, kind: b.kind, policy: b.policy })),
    findings: a.findings.map((f) => ({ block: f.block, severity: f.severity, message: f.message })),
  };
}

export function hasErrors(a: Analysis): boolean {
  return a.findings.some((f) => f.severity === 'error');
}

/** What the scenario found for a block (section 2), shown in the Markdown report. */
export interface BlockResult {
  verdict: 'pass' | 'fail' | 'expected failure' | 'skipped';
  /** The server's or the probe's answer. */
  answer?: string;
  /** The manifest as applied, after substitution. */
  substituted?: string;
}

function verdictOf(b: Classified, findings: Finding[], result?: BlockResult): string {
  if (result) return result.verdict;
  const mine = findings.filter((f) => f.block === b.id);
  const errors = mine.filter((f) => f.severity === 'error').length;
  const warnings = mine.length - errors;
  if (errors > 0) return `FAIL (${errors} error${errors > 1 ? 's' : ''})`;
  if (warnings > 0) return `warning (${warnings})`;
  return 'ok';
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return `${'`'.repeat(longest + 1)}\n${text.endsWith('\n') ? text : `${text}\n`}${'`'.repeat(longest + 1)}`;
}

export function toMarkdown(a: Analysis, results: ReadonlyMap<string, BlockResult> = new Map()): string {
  const errors = a.findings.filter((f) => f.severity === 'error').length;
  const out: string[] = [
    `## Workshop chapter: ${a.chapter.file}`,
    '',
    `Content ${a.chapter.commit ?? '(not a git checkout)'}; labs ${a.labs.dir === null ? '(not set)' : (a.labs.commit ?? '(not a git checkout)')}. ` +
      `${a.blocks.length} blocks, ${errors} error(s), ${a.findings.length - errors} warning(s).`,
    '',
    ...a.notes.map((n) => `- ${n}`),
    ...(a.notes.length ? [''] : []),
    '| block | kind | policy | verdict |',
    '|---|---|---|---|',
    ...a.blocks.map((b) => `| \`${b.id}\` (${b.file}:${b.line}) | ${b.kind} | ${b.policy} | ${cell(verdictOf(b, a.findings, results.get(b.id)))} |`),
  ];
  const failing = a.blocks.filter((b) => a.findings.some((f) => f.block === b.id) || (results.get(b.id)?.verdict ?? 'pass') !== 'pass');
  const removed = [...new Set(a.findings.map((f) => f.block))].filter((id) => !a.blocks.some((b) => b.id === id));
  for (const b of failing) {
    const result = results.get(b.id);
    if (result?.verdict === 'skipped' && !a.findings.some((f) => f.block === b.id)) continue;
    out.push('', `### \`${b.id}\` (${b.file}:${b.line}), ${b.kind}, policy ${b.policy}`, '', `Policy: ${b.reason}.`);
    if (b.placeholders.length) out.push('', `Placeholders: ${b.placeholders.map((p) => `\`${p}\``).join(', ')}.`);
    out.push('', 'As written:', '', fence(b.text));
    for (const f of a.findings.filter((x) => x.block === b.id)) {
      const [first, ...rest] = f.message.split('\n');
      out.push('', `- **${f.severity}**: ${first}`);
      if (rest.length) out.push('', fence(rest.join('\n')));
    }
    if (result?.substituted) out.push('', 'As applied:', '', fence(result.substituted));
    if (result?.answer) out.push('', `Answer (${result.verdict}):`, '', fence(result.answer));
  }
  for (const id of removed) {
    for (const f of a.findings.filter((x) => x.block === id)) out.push('', `### \`${id}\``, '', `- **${f.severity}**: ${f.message}`);
  }
  return `${out.join('\n')}\n`;
}

export function toText(a: Analysis): string {
  const out: string[] = [
    `chapter  ${a.chapter.file} in ${a.chapter.repo} at ${a.chapter.commit ?? '(not a git checkout)'}`,
    `labs     ${a.labs.dir ?? '(WORKSHOP_LABS not set)'}${a.labs.dir ? ` at ${a.labs.commit ?? '(not a git checkout)'}` : ''}`,
    ...a.notes.map((n) => `note     ${n}`),
    '',
  ];
  for (const b of a.blocks) {
    const extra = [
      b.placeholders.length ? `placeholders ${b.placeholders.join(', ')}` : '',
      b.attachedTo ? `outcome of ${b.attachedTo}` : '',
      b.expected ? `expects ${b.expected}` : '',
    ].filter(Boolean).join('; ');
    out.push(`${b.id.padEnd(36)} ${`${b.file.split('/').pop()}:${b.line}`.padEnd(26)} ${b.kind.padEnd(8)} ${b.policy.padEnd(12)} ${extra}`);
    out.push(`${' '.repeat(37)}${b.reason}`);
    for (const f of a.findings.filter((x) => x.block === b.id)) {
      out.push(...`${f.severity.toUpperCase()}: ${f.message}`.split('\n').map((l) => `${' '.repeat(39)}${l}`));
    }
  }
  for (const f of a.findings.filter((x) => !a.blocks.some((b) => b.id === x.block))) out.push(`${f.block.padEnd(36)} ${f.severity.toUpperCase()}: ${f.message}`);
  const errors = a.findings.filter((f) => f.severity === 'error').length;
  out.push('', `${a.blocks.length} blocks, ${errors} error(s), ${a.findings.length - errors} warning(s)`);
  return `${out.join('\n')}\n`;
}
