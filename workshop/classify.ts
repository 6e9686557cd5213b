/**
 * What each block of the chapter is (yaml | command | output), what the suite does with it
 * (its policy), and how blocks relate: an output block is the expected outcome of the command
 * before it; a YAML block is what the reader was shown of a labs file a later command applies.
 *
 * Commands are split into shell words by `shell-quote` (quotes, `\` continuations, `&&`, `|`,
 * `<( )`), YAML by the `yaml` library; nothing here matches regexes over the whole file.
 */
import { parse as shellParse, type ParseEntry } from 'shell-quote';
import { isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Block, Chapter } from './parse.ts';

export type Kind = 'yaml' | 'command' | 'output';
export type Policy = 'run' | 'translate' | 'environment' | 'intent' | 'output' | 'skip';
export type Outcome = 'connected' | 'closed' | 'refused';

/** One simple command of a block: its words (variables kept as `$NAME`), and where it sits. */
export interface Command {
  /** 1-based file line where the command starts. */
  line: number;
  /** The logical line as written (continuations joined). */
  text: string;
  /** The program and its arguments. */
  words: string[];
  /** Commands inside `<( … )` of this one (e.g. istioctl kube-inject). */
  inner: Command[];
}

export interface Classified extends Block {
  kind: Kind;
  policy: Policy;
  /** Why this policy (shown in every report). */
  reason: string;
  /** command blocks: the commands; output blocks: the echoed command of a transcript, if any. */
  commands: Command[];
  /** yaml blocks: the documents (null for an empty document). */
  docs: unknown[];
  /** yaml blocks that are whole manifests (apiVersion + kind); false for fragments. */
  manifest: boolean;
  /** Placeholders the block uses, in order of first use (REDIS_ENDPOINT, $WORKSHOP_HOME, ...). */
  placeholders: string[];
  /** output blocks: the outcome they show, when it is a connection's. */
  expected?: Outcome;
  /** output blocks: id of the command block they are the outcome of. */
  attachedTo?: string;
  /** command blocks: labs files applied (path inside the labs checkout), and whether through kube-inject. */
  applies: { labsPath: string; inject: boolean; command: Command }[];
  /** yaml blocks: the command block that applies the labs file this block shows. */
  shownFor?: string;
}

/**
 * The placeholders the workshop uses and what stands for them at run time. Bare words are
 * replaced where they are a whole word; `$NAME` as shell variables.
 */
export const PLACEHOLDERS: Readonly<Record<string, string>> = {
  REDIS_ENDPOINT: 'the Redis instance\'s IP (the stand-in\'s on kind)',
  REDIS_ADDR: 'the Redis instance\'s IP (the stand-in\'s on kind)',
  REDIS_IP: 'the Redis instance\'s IP (the stand-in\'s on kind)',
  $REGION_ID: 'GCP_REGION',
  $ZONE_ID: 'GCP_ZONE',
  $WORKSHOP_HOME: 'the folder holding the checkouts (istio-workshop-labs, istio-$ISTIO_VERSION)',
  $ISTIO_VERSION: 'ISTIO_VERSION',
};

/** Tools the suite knows by name; a line starting with one of these is a command. */
const TOOLS = new Set([
  'kubectl', 'istioctl', 'helm', 'gcloud', 'telnet', 'nc', 'curl', 'wget', 'redis-cli',
  'export', 'cd', 'mkdir', 'git', 'chmod', 'cat', 'echo', 'source', 'sh', 'bash', 'watch', 'sleep',
  'kind', 'docker', 'grep', 'sed', 'rm', 'cp', 'mv', 'ls', 'skaffold',
]);

export function toolOf(word: string | undefined): string | undefined {
  if (!word) return undefined;
  if (word.startsWith('./')) return word;
  return TOOLS.has(word) ? word : undefined;
}

const VAR_ASSIGN = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Logical lines (a trailing `\` continues), with their 1-based file line. */
export function logicalLines(text: string, firstLine: number): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = firstLine + i;
    if (pending) {
      pending.text += ` ${raw.trim()}`;
    } else {
      pending = { line, text: raw.trim() };
    }
    if (pending.text.endsWith('\\')) {
      pending.text = pending.text.slice(0, -1).trimEnd();
      return;
    }
    if (pending.text !== '') out.push(pending);
    pending = undefined;
  });
  if (pending && pending.text !== '') out.push(pending);
  return out;
}

/** Shell words of one logical line; operators split simple commands, `<( … )` nests. */
export function parseCommandLine(text: string, line: number): Command[] {
  // Variables stay as written: the suite substitutes the workshop's own placeholders itself.
  const entries: ParseEntry[] = shellParse(text, (name) => `$${name}`);
  const top: Command[] = [];
  const stack: Command[][] = [];
  let current: Command = { line, text, words: [], inner: [] };
  let list = top;
  const flush = () => {
    if (current.words.length > 0) list.push(current);
    current = { line, text, words: [], inner: [] };
  };
  for (const e of entries) {
    if (typeof e === 'string') current.words.push(e);
    else if ('comment' in e) break;
    else if ('op' in e && e.op === '<(') {
      // The process substitution belongs to the command being built.
      stack.push(list);
      const owner = current;
      list = owner.inner;
      stack.push([owner]);
      current = { line, text, words: [], inner: [] };
    } else if ('op' in e && e.op === ')' && stack.length >= 2) {
      flush();
      const [owner] = stack.pop()!;
      list = stack.pop()!;
      current = owner!;
      current.words.push('<(…)');
    } else if ('op' in e && e.op === 'glob') current.words.push(e.pattern);
    else flush();
  }
  flush();
  return top;
}

export function isTranscriptLine(text: string): string | undefined {
  // "# telnet 10.0.0.3 6379" or "$ kubectl get pods": a prompt, then a known tool.
  const m = /^[#$>]\s+(\S.*)$/.exec(text);
  if (!m) return undefined;
  // Stryker disable next-line Regex: m[1] starts with a non-space, so one or more spaces split off the same first word
  const first = m[1]!.split(/\s+/)[0];
  return toolOf(first) ? m[1] : undefined;
}

function commandLines(block: Block): { line: number; text: string }[] {
  // The opening fence is `line`; the content starts on the next line.
  return logicalLines(block.text, block.line + 1);
}

export function yamlDocs(text: string): { docs: unknown[]; manifest: boolean } | undefined {
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral: a blank text has no first line, and the key test below rejects it as well
  if (text.trim() === '') return undefined;
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#') && l.trim() !== '---') ?? '';
  // Kubernetes-style keys are lower camel case; "Error: ..." or "Client: ..." is program output.
  if (!/^-?\s*[a-z][A-Za-z0-9]*:(\s|$)/.test(first.trim())) return undefined;
  const parsed = parseAllDocuments(text);
  if (!Array.isArray(parsed) || parsed.some((d) => d.errors.length > 0)) return undefined;
  // An empty document (a trailing or doubled `---`, as kubectl accepts) is a null Scalar in yaml 2:
  // skipped, like kubectl skips it. Any other scalar document is not a manifest.
  const empty = (c: unknown) => c === null || (isScalar(c) && c.value === null);
  if (!parsed.every((d) => empty(d.contents) || isMap(d.contents) || isSeq(d.contents))) return undefined;
  const docs = parsed.filter((d) => !empty(d.contents)).map((d) => d.toJS() as unknown);
  const manifest = docs.length > 0 && docs.every((d) => typeof d === 'object' && d !== null && 'apiVersion' in d && 'kind' in d);
  return { docs, manifest };
}

export function outcomeOf(text: string): Outcome | undefined {
  if (/Connection closed by foreign host/i.test(text)) return 'closed';
  if (/Connected to /.test(text)) return 'connected';
  if (/Connection refused|Unable to connect/i.test(text)) return 'refused';
  return undefined;
}

/** Placeholders a text uses, in order of first use. */
export function placeholdersIn(text: string): string[] {
  const found: { at: number; name: string }[] = [];
  for (const name of Object.keys(PLACEHOLDERS)) {
    const re = name.startsWith('$')
      ? new RegExp(`\\$(?:\\{${name.slice(1)}\\}|${name.slice(1)}(?![A-Za-z0-9_]))`, 'g')
      : new RegExp(`(?<![A-Za-z0-9_$])${name}(?![A-Za-z0-9_])`, 'g');
    const m = re.exec(text);
    if (m) found.push({ at: m.index, name });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.name);
}

const LABS_DIR = 'istio-workshop-labs/';

/** The labs-relative path of a file argument, when it points into the labs checkout. */
export function labsPath(arg: string): string | undefined {
  const i = arg.indexOf(LABS_DIR);
  return i >= 0 ? arg.slice(i + LABS_DIR.length) : undefined;
}

function flagValues(words: string[], ...names: string[]): string[] {
  const out: string[] = [];
  words.forEach((w, i) => {
    for (const n of names) {
      if (w === n && words[i + 1] !== undefined) out.push(words[i + 1]!);
      else if (w.startsWith(`${n}=`)) out.push(w.slice(n.length + 1));
    }
  });
  return out;
}

/** `key=value` pairs of helm's --set / --set-string (both `--set k=v` and `--set=k=v`; commas separate pairs). */
export function setPairs(words: string[]): string[] {
  return flagValues(words, '--set', '--set-string').flatMap((v) => v.split(','));
}

export function setKeys(words: string[]): string[] {
  return setPairs(words).map((kv) => kv.split('=')[0]!);
}

/** kubectl exec/run with a terminal attached (-it, -ti, -i --tty, ...). */
export function interactive(words: string[]): boolean {
  return interactiveFlags(words).length > 0;
}

/** The flags that attach a terminal or stdin (kubectl exec/run/attach: -i, -t, -it, --tty, --stdin). */
export function interactiveFlags(words: string[]): string[] {
  if (words[0] !== 'kubectl' || !['exec', 'run', 'attach'].includes(words[1] ?? '')) return [];
  const dd = words.indexOf('--');
  // Stryker disable next-line EqualityOperator: words[0] is kubectl, so "--" is never at index 0
  const flags = dd >= 0 ? words.slice(0, dd) : words;
  return flags.filter((w) => /^-[a-zA-Z]*[it][a-zA-Z]*$/.test(w) || /^--(tty|stdin)(=true)?$/.test(w));
}

export function commandPolicy(commands: Command[]): { policy: Policy; reason: string } {
  const tools = commands.map((c) => c.words[0] ?? '');
  if (tools.includes('telnet')) {
    return { policy: 'translate', reason: 'telnet from the client pod: judged by the probe from a pod in the same place (connected / closed)' };
  }
  const shell = commands.find((c) => interactive(c.words));
  if (shell) {
    return { policy: 'translate', reason: 'an interactive shell: the commands after it run in that pod, so the probe is placed where it is' };
  }
  const helm = commands.find((c) => c.words[0] === 'helm');
  if (helm && setKeys(helm.words).some((k) => /outboundtrafficpolicy/i.test(k))) {
    return { policy: 'intent', reason: 'sets the mesh\'s outbound policy: the suite installs the mesh in REGISTRY_ONLY itself so the later steps still run; the command\'s own findings stay' };
  }
  if (tools.includes('gcloud')) {
    return { policy: 'environment', reason: 'GCP: on kind the Redis stand-in replaces Memorystore (arguments still checked); run for real with REDIS_BACKEND=memorystore' };
  }
  if (helm || commands.some((c) => c.words[0] === 'istioctl' && ['install', 'manifest', 'upgrade', 'operator'].includes(c.words[1] ?? ''))) {
    return { policy: 'environment', reason: 'installs or changes the mesh: the suite installs Istio with istioctl at ISTIO_VERSION' };
  }
  if (tools.length > 0 && tools.every((t) => t === 'kubectl' || t === 'istioctl')) return { policy: 'run', reason: 'run as written, with the placeholders substituted' };
  return { policy: 'skip', reason: `workstation setup (${[...new Set(tools)].join(', ')}): the suite provides the checkouts and the tools` };
}

function objectKeys(docs: unknown[]): Set<string> {
  const keys = new Set<string>();
  for (const d of docs) {
    const o = d as { kind?: unknown; metadata?: { name?: unknown } };
    keys.add(`${String(o.kind)}/${String(o.metadata?.name)}`);
  }
  return keys;
}

/**
 * Classifies every block. `labsDocs` gives the parsed documents of a labs file (undefined when
 * it cannot be read), so that a YAML block can be matched to the file it shows.
 */
export function classify(chapter: Chapter, labsDocs: (path: string) => unknown[] | undefined = () => undefined): Classified[] {
  const out: Classified[] = chapter.blocks.map((b) => {
    const base = { ...b, commands: [], docs: [], manifest: false, placeholders: placeholdersIn(b.text), applies: [] };
    const yaml = yamlDocs(b.text);
    if (yaml) {
      return {
        ...base, kind: 'yaml', policy: 'skip', docs: yaml.docs, manifest: yaml.manifest,
        reason: yaml.manifest ? 'a manifest no command of the chapter applies' : 'a fragment of a manifest, not applied by itself',
      } satisfies Classified;
    }
    const lines = commandLines(b);
    const echoed = lines[0] ? isTranscriptLine(lines[0].text) : undefined;
    const isCommand = (l: { text: string }) => {
      const words = parseCommandLine(l.text, 0)[0]?.words ?? [];
      return toolOf(words[0]) !== undefined || (words.length > 0 && words.every((w) => VAR_ASSIGN.test(w)));
    };
    if (!echoed && lines.length > 0 && lines.filter((l) => !l.text.startsWith('#')).every(isCommand)) {
      const commands = lines.filter((l) => !l.text.startsWith('#')).flatMap((l) => parseCommandLine(l.text, l.line));
      const applies: Classified['applies'] = [];
      for (const c of commands) {
        if (c.words[0] !== 'kubectl' || !['apply', 'create', 'replace'].includes(c.words[1] ?? '')) continue;
        for (const f of flagValues(c.words, '-f', '--filename')) {
          const p = labsPath(f);
          if (p) applies.push({ labsPath: p, inject: false, command: c });
        }
        for (const inner of c.inner) {
          if (inner.words[0] === 'istioctl' && inner.words[1] === 'kube-inject') {
            for (const f of flagValues(inner.words, '-f', '--filename')) {
              const p = labsPath(f);
              if (p) applies.push({ labsPath: p, inject: true, command: c });
            }
          }
        }
      }
      return { ...base, kind: 'command', commands, applies, ...commandPolicy(commands) } satisfies Classified;
    }
    // Output: a transcript (prompt + command, or a command line followed by what it printed) or plain output.
    const firstWords = lines[0] ? parseCommandLine(echoed ?? lines[0].text, lines[0].line)[0]?.words ?? [] : [];
    const transcript = echoed !== undefined || (lines.length > 1 && toolOf(firstWords[0]) !== undefined);
    const expected = outcomeOf(b.text);
    return {
      ...base, kind: 'output', policy: 'output',
      commands: transcript && lines[0] ? [{ line: lines[0].line, text: echoed ?? lines[0].text, words: firstWords, inner: [] }] : [],
      ...(expected ? { expected } : {}),
      reason: expected ? `expected outcome: ${expected}` : 'what the command printed (not compared)',
    } satisfies Classified;
  });

  // Output blocks: the outcome of the command before them (of the echoed tool when a transcript).
  out.forEach((b, i) => {
    if (b.kind !== 'output') return;
    const tool = b.commands[0]?.words[0];
    let target: Classified | undefined;
    for (let j = i - 1; j >= 0 && !target; j--) {
      const c = out[j]!;
      if (c.kind !== 'command') continue;
      if (!tool || c.commands.some((cmd) => cmd.words[0] === tool)) target = c;
    }
    if (target) b.attachedTo = target.id;
  });

  // YAML blocks: shown for the labs file a later command applies (matched by kind and name).
  for (const c of out) {
    for (const a of c.applies) {
      const docs = labsDocs(a.labsPath);
      if (!docs) continue;
      const keys = objectKeys(docs);
      const idx = out.indexOf(c);
      for (let j = idx - 1; j >= 0; j--) {
        const y = out[j]!;
        if (y.kind !== 'yaml' || !y.manifest || y.shownFor) continue;
        if ([...objectKeys(y.docs)].some((k) => keys.has(k))) {
          y.shownFor = c.id;
          y.reason = `shown to the reader; ${c.id} applies ${LABS_DIR}${a.labsPath}, checked equal to it`;
          break;
        }
      }
    }
  }
  return out;
}
