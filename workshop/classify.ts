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
  /** `NAME=value` words written before the program (`REDIS_IP=... kubectl ...`): its environment, not its words. */
  env?: string[];
  /** The here-document of the command's line (`<<EOF` ... `EOF`): its first line in the file and its text. */
  heredoc?: Heredoc;
}

export interface Heredoc {
  /** 1-based file line of the document's first line (the one after the `<<WORD` line). */
  line: number;
  text: string;
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
  /** command blocks: manifests applied from a here-document (`kubectl apply -f - <<EOF`), checked like a YAML block. */
  inline?: { command: Command; heredoc: Heredoc }[];
  /** yaml blocks: where the YAML does not parse (file lines), as the `yaml` library reports it. */
  yamlErrors?: YamlProblem[];
  /** yaml blocks: documents that look like objects (kind, metadata, spec) but lack apiVersion or kind. */
  incomplete?: YamlProblem[];
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

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/** The nearest of `known` to `word` (case ignored), when it is close enough to be a misspelling. */
export function nearest(word: string, known: readonly string[]): string | undefined {
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 4)) ? best.k : undefined;
}

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

/** A here-document operator (`<<EOF`, `<<-'EOF'`, `<< "EOF"`), not a here-string (`<<<`). */
const HEREDOC = /(?<!<)<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_.-]*)\2/;

export interface LogicalLine {
  line: number;
  text: string;
  /** The here-document the line opens, if any (its lines are not commands). */
  heredoc?: Heredoc;
}

/**
 * Logical lines (a trailing `\` continues), with their 1-based file line. A line that opens a
 * here-document takes the lines up to its delimiter as the document's text (bash: the
 * delimiter alone on its line; with `<<-` leading tabs are dropped). `prompted`: the block is
 * written with `$ ` prompts, so a `> ` continuation prompt in front of a document line is dropped.
 */
export function logicalLines(text: string, firstLine: number, prompted = false): LogicalLine[] {
  const out: LogicalLine[] = [];
  let pending: LogicalLine | undefined;
  let doc: { opener: LogicalLine; delimiter: string; tabs: boolean; start: number; lines: string[] } | undefined;
  const raws = text.split('\n');
  raws.forEach((raw, i) => {
    const line = firstLine + i;
    if (doc) {
      const content = prompted ? raw.replace(/^> ?/, '') : raw;
      const bare = doc.tabs ? content.replace(/^\t+/, '') : content;
      if (bare.trimEnd() === doc.delimiter) {
        doc.opener.heredoc = { line: doc.start, text: doc.lines.length ? `${doc.lines.join('\n')}\n` : '' };
        doc = undefined;
      } else doc.lines.push(bare);
      return;
    }
    if (pending) {
      pending.text += ` ${raw.trim()}`;
    } else {
      pending = { line, text: raw.trim() };
    }
    if (pending.text.endsWith('\\')) {
      pending.text = pending.text.slice(0, -1).trimEnd();
      return;
    }
    if (pending.text !== '') {
      out.push(pending);
      const h = HEREDOC.exec(pending.text);
      if (h) doc = { opener: pending, delimiter: h[3]!, tabs: h[1] === '-', start: line + 1, lines: [] };
    }
    pending = undefined;
  });
  if (pending && pending.text !== '') out.push(pending);
  // A document never closed runs to the end of the block, as bash reads it (with a warning).
  if (doc) {
    while (doc.lines.length > 0 && doc.lines[doc.lines.length - 1]!.trim() === '') doc.lines.pop();
    doc.opener.heredoc = { line: doc.start, text: doc.lines.length ? `${doc.lines.join('\n')}\n` : '' };
  }
  return out;
}

/** Shell words of one logical line; operators split simple commands, `<( … )` nests. */
export function parseCommandLine(text: string, line: number): Command[] {
  // Variables stay as written: the suite substitutes the workshop's own placeholders itself.
  const entries: ParseEntry[] = shellParse(text, (name) => `$${name}`);
  const top: Command[] = [];
  // Stryker disable next-line ArrayDeclaration: entries are pushed and popped in pairs, so with one extra entry the length is still at least 2 exactly when a substitution is open
  const stack: Command[][] = [];
  let current: Command = { line, text, words: [], inner: [] };
  let list = top;
  let skipNext = false;
  const flush = () => {
    if (current.words.length > 0) list.push(normalised(current));
    current = { line, text, words: [], inner: [] };
  };
  for (const e of entries) {
    // The word after `<<` is the here-document's delimiter, not an argument.
    if (skipNext) {
      skipNext = false;
      if (typeof e === 'string') continue;
    }
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
    else if ('op' in e && (e.op === '<<' || e.op === '<<-')) skipNext = true;
    else flush();
  }
  flush();
  return top;
}

// Flags of kubectl, helm and istioctl that may come before the subcommand and take a value
// (`kubectl options`, `helm --help` "Global Flags", istioctl's root flags).
const GLOBAL_VALUE_FLAGS: Readonly<Record<string, ReadonlySet<string>>> = {
  kubectl: new Set(['-n', '--namespace', '--context', '--cluster', '--user', '--kubeconfig', '-s', '--server', '--token', '--as', '--as-group',
    '--as-uid', '--request-timeout', '--certificate-authority', '--client-certificate', '--client-key', '--tls-server-name', '--cache-dir',
    '-v', '--v', '--log-file', '--username', '--password', '--profile', '--profile-output']),
  helm: new Set(['-n', '--namespace', '--kube-context', '--kubeconfig', '--registry-config', '--repository-cache', '--repository-config',
    '--burst-limit', '--qps', '--kube-apiserver', '--kube-as-group', '--kube-as-user', '--kube-ca-file', '--kube-token', '--kube-tls-server-name',
    '--content-cache']),
  istioctl: new Set(['-n', '--namespace', '-i', '--istioNamespace', '-c', '--kubeconfig', '--context', '--vklog', '--as', '--as-group', '--as-uid']),
};

/**
 * One command as the suite reads it: `NAME=value` words before the program become its `env`
 * (also after `env`), and flags written before the subcommand (`kubectl -n ns exec ...`) move
 * after it, where these tools read them the same way; so every check sees the subcommand at
 * words[1].
 */
export function normalised(c: Command): Command {
  let words = c.words;
  let start = words[0] === 'env' ? 1 : 0;
  while (start < words.length && VAR_ASSIGN.test(words[start]!)) start++;
  const env = words.slice(words[0] === 'env' ? 1 : 0, start);
  if (start === words.length) return c;
  words = words.slice(start);
  const valueFlags = GLOBAL_VALUE_FLAGS[words[0]!];
  if (valueFlags) {
    let i = 1;
    while (i < words.length && words[i]!.startsWith('-') && words[i] !== '--' && words[i] !== '-') i += valueFlags.has(words[i]!) ? 2 : 1;
    if (i > 1 && i < words.length) words = [words[0]!, words[i]!, ...words.slice(1, i), ...words.slice(i + 1)];
  }
  return { ...c, words, ...(env.length ? { env } : {}) };
}

export function isTranscriptLine(text: string): string | undefined {
  // "# telnet 10.0.0.3 6379" or "$ kubectl get pods": a prompt, then a known tool.
  const m = /^[#$>]\s+(\S.*)$/.exec(text);
  if (!m) return undefined;
  // Stryker disable next-line Regex: m[1] starts with a non-space, so one or more spaces split off the same first word
  const first = m[1]!.split(/\s+/)[0];
  return toolOf(first) ? m[1] : undefined;
}

/** Where a YAML text goes wrong: a 1-based line of the text and what is wrong there. */
export interface YamlProblem {
  line: number;
  message: string;
}

/** The YAML library's errors of a text, each at its 1-based line (codes such as BAD_INDENT kept: they name the rule). */
export function yamlErrors(text: string): YamlProblem[] {
  return parseAllDocuments(text).flatMap((d) => d.errors).map((e) => ({
    // Stryker disable next-line OptionalChaining: the yaml library sets linePos on every parse error it reports
    line: e.linePos?.[0].line ?? 1,
    message: `${e.code}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
  }));
}

/** Keys of an object document: the ones a Kubernetes object has at the top. */
const OBJECT_KEYS = ['apiVersion', 'kind'] as const;

/** Documents that look like a Kubernetes object (apiVersion, kind, or metadata with spec) but lack apiVersion or kind. */
export function incompleteDocs(text: string): YamlProblem[] {
  const out: YamlProblem[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0 || !isMap(d.contents)) continue;
    const has = (k: string) => d.contents !== null && isMap(d.contents) && d.contents.has(k);
    const object = has('apiVersion') || has('kind') || (has('metadata') && has('spec'));
    const missing = OBJECT_KEYS.filter((k) => !has(k));
    if (!object || missing.length === 0) continue;
    const [start] = d.contents.range;
    const line = text.slice(0, start).split('\n').length;
    out.push({ line, message: `a document with no ${missing.join(' and no ')}: kubectl refuses an object without ${missing.length > 1 ? 'them' : 'it'}` });
  }
  return out;
}

/**
 * The YAML of a block: its documents and whether they are objects to apply. A text whose first
 * line is not a lower-camel-case key is not YAML (program output). A text that fails to parse is
 * YAML with errors when it names an object (an `apiVersion:` or `kind:` line): a manifest with a
 * bad indent; otherwise it is taken for output.
 */
export function yamlDocs(text: string): { docs: unknown[]; manifest: boolean; errors?: YamlProblem[]; incomplete?: YamlProblem[] } | undefined {
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral: a blank text has no first line, and the key test below rejects it as well
  if (text.trim() === '') return undefined;
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#') && l.trim() !== '---') ?? '';
  // Kubernetes-style keys are lower camel case; "Error: ..." or "Client: ..." is program output.
  if (!/^-?\s*[a-z][A-Za-z0-9]*:(\s|$)/.test(first.trim())) return undefined;
  const parsed = parseAllDocuments(text);
  if (!Array.isArray(parsed)) return undefined;
  if (parsed.some((d) => d.errors.length > 0)) {
    if (!/^\s*(apiVersion|kind):/m.test(text)) return undefined;
    return { docs: [], manifest: true, errors: yamlErrors(text) };
  }
  // An empty document (a trailing or doubled `---`, as kubectl accepts) is a null Scalar in yaml 2:
  // skipped, like kubectl skips it. Any other scalar document is not a manifest.
  const empty = (c: unknown) => c === null || (isScalar(c) && c.value === null);
  if (!parsed.every((d) => empty(d.contents) || isMap(d.contents) || isSeq(d.contents))) return undefined;
  const docs = parsed.filter((d) => !empty(d.contents)).map((d) => d.toJS() as unknown);
  const incomplete = incompleteDocs(text);
  const whole = (d: unknown) => typeof d === 'object' && d !== null && 'apiVersion' in d && 'kind' in d;
  const manifest = docs.length > 0 && (incomplete.length > 0 || docs.every(whole));
  return { docs, manifest, ...(incomplete.length ? { incomplete } : {}) };
}

/** Lines of a command block: `$ ` prompts (and `> ` continuation prompts) as the reader types them, dropped. */
function promptedLines(block: Block): { lines: LogicalLine[]; prompted: LogicalLine[] } {
  const raw = block.text.split('\n');
  const prompt = /^\s*\$\s+/;
  if (!raw.some((l) => prompt.test(l))) return { lines: logicalLines(block.text, block.line + 1), prompted: [] };
  // A `$ ` line is a command; a line after one that ends with `\` continues it; the rest is what the commands printed.
  const marked = raw.map((l, i) => (prompt.test(l) ? l.replace(prompt, '') : /\\\s*$/.test(raw[i - 1] ?? '') ? l.replace(/^\s*> ?/, '') : l));
  const lines = logicalLines(marked.join('\n'), block.line + 1, true);
  const starts = new Set(raw.flatMap((l, i) => (prompt.test(l) ? [block.line + 1 + i] : [])));
  return { lines, prompted: lines.filter((l) => starts.has(l.line)) };
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

/**
 * `key=value` pairs of helm's --set / --set-string and istioctl's --set / -s (both `--set k=v` and
 * `--set=k=v`; commas separate helm's pairs). `-s` is istioctl's only: kubectl's is --server.
 */
export function setPairs(words: string[]): string[] {
  return flagValues(words, '--set', '--set-string', ...(words[0] === 'istioctl' ? ['-s'] : [])).flatMap((v) => v.split(','));
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

/** istioctl's subcommands that install or change the mesh (and take --set). */
export const ISTIOCTL_INSTALL = ['install', 'manifest', 'upgrade', 'operator'];

/** A command that sets the mesh's outbound policy: helm or an istioctl install with a --set key naming it. */
export function setsOutboundPolicy(c: Command): boolean {
  const installs = c.words[0] === 'helm' || (c.words[0] === 'istioctl' && ISTIOCTL_INSTALL.includes(c.words[1] ?? ''));
  return installs && setKeys(c.words).some((k) => /outboundtrafficpolicy/i.test(k));
}

export function commandPolicy(commands: Command[]): { policy: Policy; reason: string } {
  // `cat <<EOF | kubectl apply -f -` only hands its here-document on: the block is kubectl's.
  const tools = commands.filter((c) => !(c.heredoc && c.words.length === 1 && c.words[0] === 'cat')).map((c) => c.words[0] ?? '');
  if (tools.includes('telnet')) {
    return { policy: 'translate', reason: 'telnet from the client pod: judged by the probe from a pod in the same place (connected / closed)' };
  }
  const shell = commands.find((c) => interactive(c.words));
  if (shell) {
    return { policy: 'translate', reason: 'an interactive shell: the commands after it run in that pod, so the probe is placed where it is' };
  }
  const helm = commands.find((c) => c.words[0] === 'helm');
  if (commands.some(setsOutboundPolicy)) {
    return { policy: 'intent', reason: 'sets the mesh\'s outbound policy: the suite installs the mesh in REGISTRY_ONLY itself so the later steps still run; the command\'s own findings stay' };
  }
  if (tools.includes('gcloud')) {
    return { policy: 'environment', reason: 'GCP: on kind the Redis stand-in replaces Memorystore (arguments still checked); run for real with REDIS_BACKEND=memorystore' };
  }
  if (helm || commands.some((c) => c.words[0] === 'istioctl' && ISTIOCTL_INSTALL.includes(c.words[1] ?? ''))) {
    return { policy: 'environment', reason: 'installs or changes the mesh: the suite installs Istio with istioctl at ISTIO_VERSION' };
  }
  if (tools.length > 0 && tools.every((t) => t === 'kubectl' || t === 'istioctl')) return { policy: 'run', reason: 'run as written, with the placeholders substituted' };
  return { policy: 'skip', reason: `workstation setup (${[...new Set(tools)].join(', ')}): the suite provides the checkouts and the tools` };
}

/** The kinds of a list of documents, sorted and joined: equal for the same kinds in any order. */
function kindsOf(docs: unknown[]): string {
  return docs.map((d) => String((d as { kind?: unknown }).kind)).sort().join(',');
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
      // Problems are reported at file lines: the block's text starts on the line after its fence.
      const at = (p: YamlProblem): YamlProblem => ({ line: b.line + p.line, message: p.message });
      const reason = yaml.errors ? 'YAML that does not parse: nothing of it can be applied'
        : yaml.manifest ? 'a manifest no command of the chapter applies' : 'a fragment of a manifest, not applied by itself';
      return {
        ...base, kind: 'yaml', policy: 'skip', docs: yaml.docs, manifest: yaml.manifest, reason,
        ...(yaml.errors ? { yamlErrors: yaml.errors.map(at) } : {}),
        ...(yaml.incomplete ? { incomplete: yaml.incomplete.map(at) } : {}),
      } satisfies Classified;
    }
    const { lines, prompted } = promptedLines(b);
    const echoed = lines[0] && prompted.length === 0 ? isTranscriptLine(lines[0].text) : undefined;
    const isCommand = (l: { text: string }) => {
      // Stryker disable next-line ArrayDeclaration: no word of a line that is not a command is a tool or an assignment, so [] and ["Stryker was here"] both fail the test
      const words = parseCommandLine(l.text, 0)[0]?.words ?? [];
      return toolOf(words[0]) !== undefined || (words.length > 0 && words.every((w) => VAR_ASSIGN.test(w)));
    };
    // Written with `$ ` prompts: the prompted lines are the commands, the others what they printed.
    // A transcript that shows a connection's outcome stays output (the outcome is judged).
    const promptedCommands = prompted.length > 0 && prompted.every(isCommand) && (prompted.length === lines.length || outcomeOf(b.text) === undefined);
    const commandLinesOf = promptedCommands ? prompted : lines.filter((l) => !l.text.startsWith('#'));
    if (promptedCommands || (prompted.length === 0 && !echoed && lines.length > 0 && commandLinesOf.every(isCommand))) {
      const commands = commandLinesOf.flatMap((l) => parseCommandLine(l.text, l.line).map((c) => (l.heredoc ? { ...c, heredoc: l.heredoc } : c)));
      const applies: Classified['applies'] = [];
      const inline: NonNullable<Classified['inline']> = [];
      for (const c of commands) {
        if (c.words[0] !== 'kubectl' || !['apply', 'create', 'replace'].includes(c.words[1] ?? '')) continue;
        for (const f of flagValues(c.words, '-f', '--filename')) {
          const p = labsPath(f);
          if (p) applies.push({ labsPath: p, inject: false, command: c });
          else if (f === '-' && c.heredoc) inline.push({ command: c, heredoc: c.heredoc });
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
      return { ...base, kind: 'command', commands, applies, ...(inline.length ? { inline } : {}), ...commandPolicy(commands) } satisfies Classified;
    }
    // Output: a transcript (prompt + command, or a command line followed by what it printed) or plain output.
    const head = prompted[0] ?? lines[0];
    const shown = prompted[0]?.text ?? echoed;
    const firstWords = head ? parseCommandLine(shown ?? head.text, head.line)[0]?.words ?? [] : [];
    const transcript = shown !== undefined || (lines.length > 1 && toolOf(firstWords[0]) !== undefined);
    const expected = outcomeOf(b.text);
    return {
      ...base, kind: 'output', policy: 'output',
      commands: transcript && head ? [{ line: head.line, text: shown ?? head.text, words: firstWords, inner: [] }] : [],
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

  // YAML blocks: shown for the labs file a later command applies. The file decides: among the
  // manifests since the previous command that applied something, the one with an object of the
  // same kind and name, else (renamed on one side) the nearest one with the same kinds.
  let since = 0;
  out.forEach((c, idx) => {
    if (c.applies.length === 0) return;
    for (const a of c.applies) {
      const docs = labsDocs(a.labsPath);
      if (!docs) continue;
      const keys = objectKeys(docs);
      const kinds = kindsOf(docs);
      // Nearest first; whole manifests before ones that lack apiVersion or kind.
      const candidates = out.slice(since, idx).filter((y) => y.kind === 'yaml' && y.manifest && !y.shownFor).reverse()
        .sort((x, y) => Number(x.incomplete !== undefined) - Number(y.incomplete !== undefined));
      const y = candidates.find((x) => [...objectKeys(x.docs)].some((k) => keys.has(k)))
        ?? candidates.find((x) => kindsOf(x.docs) === kinds);
      if (y) {
        y.shownFor = c.id;
        y.reason = `shown to the reader; ${c.id} applies ${LABS_DIR}${a.labsPath}, checked equal to it`;
      }
    }
    since = idx + 1;
  });
  return out;
}
