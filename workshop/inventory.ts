/**
 * The golden inventory: for the pinned workshop commit, every block's id, content hash, kind and
 * policy (no text). A checkout at another commit is compared with it, so a new, edited or removed
 * block is visible; the diff of an edited block comes from the pinned commit's own text when the
 * checkout's git history has it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createTwoFilesPatch } from 'diff';
import { ROOT_DIR } from '../helpers/run/manifests.ts';
import type { Classified, Kind, Policy } from './classify.ts';
import type { Finding } from './check.ts';
import { parseChapter } from './parse.ts';

export interface InventoryEntry {
  id: string;
  sha256: string;
  kind: Kind;
  policy: Policy;
}

export interface Inventory {
  /** The workshop commit the inventory was taken from (helpers/run/pins.ts workshopCommit). */
  commit: string;
  chapter: string;
  blocks: InventoryEntry[];
}

export const GOLDEN_FILE = join(ROOT_DIR, 'workshop', 'golden.json');

export function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function inventoryOf(commit: string, chapter: string, blocks: Classified[]): Inventory {
  return { commit, chapter, blocks: blocks.map((b) => ({ id: b.id, sha256: hashOf(b.text), kind: b.kind, policy: b.policy })) };
}

export function readGolden(file = GOLDEN_FILE): Inventory {
  return JSON.parse(readFileSync(file, 'utf8')) as Inventory;
}

/** A directory's HEAD commit, or undefined when it is not a git checkout (read only: rev-parse). */
export function commitOf(dir: string): string | undefined {
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    // Only the top of a checkout counts: a folder inside another repository is not the workshop's.
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(dir)) return undefined;
    return git('rev-parse', '--verify', '-q', 'HEAD^{commit}') || undefined;
  } catch {
    return undefined;
  }
}

/** The chapter's text at another commit of the same checkout, when its history has it (read only). */
export function textAt(dir: string, commit: string, file: string): string | undefined {
  try {
    return execFileSync('git', ['-C', dir, 'show', `${commit}:${file}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 << 20 });
  } catch {
    return undefined;
  }
}

/** New, edited, removed and re-classified blocks against the golden inventory (warnings). */
export function compareInventory(golden: Inventory, blocks: Classified[], oldText?: string): Finding[] {
  const out: Finding[] = [];
  const before = new Map(golden.blocks.map((b) => [b.id, b]));
  const oldBlocks = new Map(oldText === undefined ? [] : parseChapter(oldText, golden.chapter).blocks.map((b) => [b.id, b.text]));
  const now = new Set(blocks.map((b) => b.id));
  // A removed block is reported at the line of the first block after it that is still there.
  const lineAfter = (id: string) => {
    const i = golden.blocks.findIndex((g) => g.id === id);
    const next = golden.blocks.slice(i + 1).find((g) => now.has(g.id));
    return blocks.find((b) => b.id === next?.id)?.line ?? 1;
  };
  for (const b of blocks) {
    const g = before.get(b.id);
    if (!g) {
      out.push({ block: b.id, severity: 'warning', line: b.line, message: `new block since the pinned workshop commit ${golden.commit.slice(0, 12)} (${b.kind}, policy ${b.policy}); review it and regenerate the inventory` });
      continue;
    }
    if (g.sha256 !== hashOf(b.text)) {
      const old = oldBlocks.get(b.id);
      const diff = old === undefined ? '(the pinned commit is not in this checkout\'s history: no diff)'
        : createTwoFilesPatch(`${b.id} at ${golden.commit.slice(0, 12)}`, `${b.id} now`, old, b.text, '', '', { context: 2 }).split('\n').slice(1).join('\n').trimEnd();
      out.push({ block: b.id, severity: 'warning', line: b.line, message: `edited since the pinned workshop commit ${golden.commit.slice(0, 12)}:\n${diff}` });
    }
    if (g.policy !== b.policy || g.kind !== b.kind) {
      out.push({ block: b.id, severity: 'warning', line: b.line, message: `was ${g.kind}/${g.policy} at the pinned commit, now ${b.kind}/${b.policy}` });
    }
  }
  for (const g of golden.blocks) {
    if (!now.has(g.id)) out.push({ block: g.id, severity: 'warning', line: lineAfter(g.id), message: `removed since the pinned workshop commit ${golden.commit.slice(0, 12)} (was ${g.kind}, policy ${g.policy})` });
  }
  return out;
}
