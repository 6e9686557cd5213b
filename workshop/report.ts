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
import { DEFECTS, type KnownDefect } from './plan.ts';

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
  /** The labs checkout's commit; null when WORKSHOP_LABS is not set or not a git checkout (a note says which). */
  labs: { commit: string | null };
  /** What a maintainer needs to read the findings right: labs not set, a golden inventory of another chapter, what istioctl ran (or that none was found). */
  notes: string[];
  blocks: { id: string; file: string; line: number; kind: string; policy: string }[];
  /** `known`: the id of the known defect that explains the finding (it then does not fail). */
  findings: (Finding & { known?: string })[];
  /** Known defects the chapter no longer has; absent when none. */
  fixed?: { id: string; reason: string }[];
}

/** The findings sorted against the known defects (workshop/plan.ts DEFECTS). */
export interface Triage {
  /** Findings a known defect explains, by finding: reported as notices, never failing. */
  known: ReadonlyMap<Finding, KnownDefect>;
  /** Known defects of this chapter none of whose findings appear any more: the chapter fixed them. */
  fixed: KnownDefect[];
}

const pageOf = (blockId: string) => blockId.split('#')[0];

/**
 * Which findings known defects explain, and which defects are fixed. A defect is judged only on
 * the page it is of (its block ids' page): another chapter neither has nor fixes it.
 */
export function triage(a: Analysis, defects: readonly KnownDefect[] = DEFECTS): Triage {
  const known = new Map<Finding, KnownDefect>();
  const fixed: KnownDefect[] = [];
  const pages = new Set(a.blocks.map((b) => pageOf(b.id)));
  for (const d of defects) {
    const mine = a.findings.filter((f) => !known.has(f) && d.findings.some((k) => k.block === f.block && k.message.test(f.message)));
    for (const f of mine) known.set(f, d);
    if (mine.length === 0 && d.findings.length > 0 && d.findings.every((k) => pages.has(pageOf(k.block)))) fixed.push(d);
  }
  return { known, fixed };
}

export function toJson(a: Analysis, t: Triage = triage(a)): JsonReport {
  return {
    chapter: { file: a.chapter.file, commit: a.chapter.commit },
    labs: { commit: a.labs.commit },
    notes: [...a.notes],
    blocks: a.blocks.map((b) => ({ id: b.id, file: b.file, line: b.line, kind: b.kind, policy: b.policy })),
    findings: a.findings.map((f) => {
      const d = t.known.get(f);
      return { block: f.block, ...(f.line !== undefined ? { line: f.line } : {}), ...(f.file ? { file: f.file } : {}), severity: f.severity, message: f.message, ...(d ? { known: d.id } : {}) };
    }),
    ...(t.fixed.length ? { fixed: t.fixed.map((d) => ({ id: d.id, reason: d.reason })) } : {}),
  };
}

/** Errors that fail the check: those no known defect explains. */
export function hasErrors(a: Analysis, t: Triage = triage(a)): boolean {
  return a.findings.some((f) => f.severity === 'error' && !t.known.has(f));
}

/** GitHub shows at most this many annotations of each type per step; the rest go to the summary. */
export const ANNOTATIONS_PER_TYPE = 10;

export type AnnotationType = 'error' | 'warning' | 'notice';

export interface Annotation {
  type: AnnotationType;
  /** Relative to the workshop repository (the repository the workflow runs for). */
  file: string | undefined;
  line: number | undefined;
  title: string;
  message: string;
}

// Workflow command escaping (GitHub's toolkit, command.ts): data escapes %, CR and LF; property
// values also ':' and ','.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One annotation as the `::type file=...,line=...,title=...::message` line GitHub Actions reads. */
export function workflowCommand(x: Annotation): string {
  const props = [
    ...(x.file ? [`file=${escapeProperty(x.file)}`] : []),
    ...(x.line ? [`line=${x.line}`] : []),
    `title=${escapeProperty(x.title)}`,
  ];
  return `::${x.type} ${props.join(',')}::${escapeData(x.message)}`;
}

/** The line a finding is about: the command's own line when the message names it, else the block's fence. */
function lineOf(a: Analysis, f: Finding): number | undefined {
  const m = /^line (\d+):/.exec(f.message);
  if (m) return Number(m[1]);
  return a.blocks.find((b) => b.id === f.block)?.line;
}

/** Every annotation of the check: new errors and warnings, known defects' findings as notices, fixed defects. */
export function annotationsOf(a: Analysis, t: Triage = triage(a)): Annotation[] {
  const out: Annotation[] = a.findings.map((f) => {
    const d = t.known.get(f);
    const file = a.blocks.find((b) => b.id === f.block)?.file ?? a.chapter.file;
    return d
      ? { type: 'notice', file, line: lineOf(a, f), title: `known defect ${d.id} (${f.block})`, message: f.message }
      : { type: f.severity === 'error' ? 'error' : 'warning', file, line: lineOf(a, f), title: `${f.severity} in ${f.block}`, message: f.message };
  });
  for (const d of t.fixed) {
    const block = a.blocks.find((b) => b.id === d.findings[0]!.block);
    out.push({
      type: 'notice', file: block?.file ?? a.chapter.file, line: block?.line, title: `known defect ${d.id} fixed`,
      message: `fixed in this chapter: ${d.reason}. Remove it from DEFECTS (egress-verify workshop/plan.ts).`,
    });
  }
  return out;
}

/**
 * The annotations GitHub will show (the first ANNOTATIONS_PER_TYPE of each type) as workflow
 * commands, and the rest as Markdown for the job summary (empty when none is left over).
 */
export function annotationOutput(list: readonly Annotation[], limit = ANNOTATIONS_PER_TYPE): { commands: string[]; overflow: string } {
  const seen = new Map<AnnotationType, number>();
  const commands: string[] = [];
  const rest: Annotation[] = [];
  for (const x of list) {
    const n = seen.get(x.type) ?? 0;
    seen.set(x.type, n + 1);
    if (n < limit) commands.push(workflowCommand(x));
    else rest.push(x);
  }
  const overflow = rest.length === 0 ? '' : [
    `### ${rest.length} more finding(s) than GitHub shows as annotations (${limit} per type)`,
    '',
    ...rest.map((x) => `- **${x.type}** ${x.file ?? ''}${x.line ? `:${x.line}` : ''} (${cell(x.title)}): ${cell(x.message.split('\n')[0]!)}`),
    '',
  ].join('\n');
  return { commands, overflow };
}

/** What the scenario found for a block (section 2), shown in the Markdown report. */
export interface BlockResult {
  /** 'expected failure': failed as a known defect does; 'fixed': a known defect's block passed. */
  verdict: 'pass' | 'fail' | 'expected failure' | 'fixed' | 'skipped';
  /** The server's or the probe's answer. */
  answer?: string;
  /** The manifest as applied, after substitution. */
  substituted?: string;
}

function verdictOf(b: Classified, findings: Finding[], t: Triage, result?: BlockResult): string {
  if (result) return result.verdict;
  const mine = findings.filter((f) => f.block === b.id);
  const known = mine.filter((f) => t.known.has(f)).length;
  const errors = mine.filter((f) => f.severity === 'error' && !t.known.has(f)).length;
  const warnings = mine.length - errors - known;
  if (errors > 0) return `FAIL (${errors} error${errors > 1 ? 's' : ''})`;
  if (known > 0) return `known defect (${known})`;
  if (warnings > 0) return `warning (${warnings})`;
  return 'ok';
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return `${'`'.repeat(longest + 1)}\n${text.endsWith('\n') ? text : `${text}\n`}${'`'.repeat(longest + 1)}`;
}

/** "N blocks, E error(s), W warning(s)", then the known defects' share and the fixed ones when there are any. */
function counts(a: Analysis, t: Triage): string {
  const known = a.findings.filter((f) => t.known.has(f)).length;
  const errors = a.findings.filter((f) => f.severity === 'error' && !t.known.has(f)).length;
  const warnings = a.findings.length - known - errors;
  return `${a.blocks.length} blocks, ${errors} error(s), ${warnings} warning(s)` +
    `${known ? `; ${known} finding(s) of known defects (not failing)` : ''}` +
    `${t.fixed.length ? `; ${t.fixed.length} known defect(s) fixed: ${t.fixed.map((d) => d.id).join(', ')}` : ''}`;
}

/** How a finding is labelled: its severity, or the known defect it belongs to. */
function label(f: Finding, t: Triage): string {
  const d = t.known.get(f);
  return d ? `known defect ${d.id} (${f.severity})` : f.severity;
}

export function toMarkdown(a: Analysis, results: ReadonlyMap<string, BlockResult> = new Map(), t: Triage = triage(a)): string {
  const out: string[] = [
    `## Workshop chapter: ${a.chapter.file}`,
    '',
    `Content ${a.chapter.commit ?? '(not a git checkout)'}; labs ${a.labs.dir === null ? '(not set)' : (a.labs.commit ?? '(not a git checkout)')}. ` +
      `${counts(a, t)}.`,
    '',
    ...a.notes.map((n) => `- ${n}`),
    ...t.fixed.map((d) => `- **fixed** known defect \`${d.id}\`: ${d.reason}. Remove it from DEFECTS (egress-verify workshop/plan.ts).`),
    ...(a.notes.length || t.fixed.length ? [''] : []),
    '| block | kind | policy | verdict |',
    '|---|---|---|---|',
    ...a.blocks.map((b) => `| \`${b.id}\` (${b.file}:${b.line}) | ${b.kind} | ${b.policy} | ${cell(verdictOf(b, a.findings, t, results.get(b.id)))} |`),
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
      out.push('', `- **${label(f, t)}**: ${first}`);
      if (rest.length) out.push('', fence(rest.join('\n')));
    }
    if (result?.substituted) out.push('', 'As applied:', '', fence(result.substituted));
    if (result?.answer) out.push('', `Answer (${result.verdict}):`, '', fence(result.answer));
  }
  for (const id of removed) {
    for (const f of a.findings.filter((x) => x.block === id)) out.push('', `### \`${id}\``, '', `- **${label(f, t)}**: ${f.message}`);
  }
  return `${out.join('\n')}\n`;
}

/** GitHub's limit on what one step writes to the job summary (1 MiB); a larger summary is not shown at all. */
export const JOB_SUMMARY_LIMIT = 1024 * 1024;

/**
 * Markdown for the job summary, at most `limit` bytes (UTF-8): whole lines, cut before the first
 * line that would not fit, a fence left open by the cut closed again, and a last line saying the
 * report was cut and where the full one is (`fullReport`). Unchanged when it fits. The default
 * leaves 4 KiB of the step's limit for what else the step writes there (the scenario run's timings).
 */
export function forJobSummary(markdown: string, fullReport: string, limit: number = JOB_SUMMARY_LIMIT - 4096): string {
  if (Buffer.byteLength(markdown) <= limit) return markdown;
  const lines = markdown.split('\n');
  const total = lines.length;
  const note = (shown: number, fence: string | undefined) => `${fence ? `${fence}\n` : ''}\n---\n\n**This summary is cut after line ${shown} of ${total}: GitHub shows at most 1 MiB per step. The full report is ${fullReport}.**\n`;
  const kept: string[] = [];
  // The fence the kept lines leave open (report.ts writes fences as a line of backticks only, closed by the same line).
  let open: string | undefined;
  let bytes = 0;
  for (const line of lines) {
    const nextOpen = /^`{3,}$/.test(line) ? (open === undefined ? line : line === open ? undefined : open) : open;
    // Room for this line, its newline, and the note that may have to close the fence it leaves open.
    if (bytes + Buffer.byteLength(line) + 1 + Buffer.byteLength(note(total, nextOpen)) > limit) break;
    kept.push(line);
    bytes += Buffer.byteLength(line) + 1;
    open = nextOpen;
  }
  return `${kept.join('\n')}\n${note(kept.length, open)}`;
}

export function toText(a: Analysis, t: Triage = triage(a)): string {
  const out: string[] = [
    `chapter  ${a.chapter.file} in ${a.chapter.repo} at ${a.chapter.commit ?? '(not a git checkout)'}`,
    `labs     ${a.labs.dir ?? '(WORKSHOP_LABS not set)'}${a.labs.dir ? ` at ${a.labs.commit ?? '(not a git checkout)'}` : ''}`,
    ...a.notes.map((n) => `note     ${n}`),
    ...t.fixed.map((d) => `fixed    known defect ${d.id}: ${d.reason}; remove it from DEFECTS (workshop/plan.ts)`),
    '',
  ];
  const tag = (f: Finding) => (t.known.has(f) ? `KNOWN ${f.severity.toUpperCase()} (${t.known.get(f)!.id})` : f.severity.toUpperCase());
  for (const b of a.blocks) {
    const extra = [
      b.placeholders.length ? `placeholders ${b.placeholders.join(', ')}` : '',
      b.attachedTo ? `outcome of ${b.attachedTo}` : '',
      b.expected ? `expects ${b.expected}` : '',
    ].filter(Boolean).join('; ');
    out.push(`${b.id.padEnd(36)} ${`${b.file.split('/').pop()}:${b.line}`.padEnd(26)} ${b.kind.padEnd(8)} ${b.policy.padEnd(12)} ${extra}`);
    out.push(`${' '.repeat(37)}${b.reason}`);
    for (const f of a.findings.filter((x) => x.block === b.id)) {
      out.push(...`${tag(f)}: ${f.message}`.split('\n').map((l) => `${' '.repeat(39)}${l}`));
    }
  }
  for (const f of a.findings.filter((x) => !a.blocks.some((b) => b.id === x.block))) out.push(`${f.block.padEnd(36)} ${tag(f)}: ${f.message}`);
  out.push('', counts(a, t));
  return `${out.join('\n')}\n`;
}
