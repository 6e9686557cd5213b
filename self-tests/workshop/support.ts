/** Small chapters and commands built in code, for the workshop reader's per-function tests. */
import type { Command } from '../../workshop/classify.ts';
import type { Block, Chapter } from '../../workshop/parse.ts';

/** A chapter from block texts (each block's opening fence at the given line). */
export function chapter(...blocks: [line: number, text: string][]): Chapter {
  const list: Block[] = blocks.map(([line, text], i) => ({
    id: `p#b${i + 1}`, file: 'content/p.md', line, endLine: line + text.split('\n').length, anchor: `b${i + 1}`, info: '', text,
  }));
  return { file: 'content/p.md', title: 'T', page: 'p', blocks: list, commented: [] };
}

/** A parsed command line of the given words, at a line of the block. */
export function cmd(line: number, ...words: string[]): Command {
  return { line, text: words.join(' '), words, inner: [] };
}

/** helpers/run/settings.ts's MEMORYSTORE_REDIS_VERSIONS, for tests that must not import settings.ts (settings-values.test.ts keeps the two equal). */
export const MEMORYSTORE_VERSIONS_OF_SETTINGS = ['redis_3_2', 'redis_4_0', 'redis_5_0', 'redis_6_x', 'redis_7_0', 'redis_7_2'] as const;
