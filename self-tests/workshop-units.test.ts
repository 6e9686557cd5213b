/**
 * The workshop reader function by function (workshop/parse.ts, classify.ts, check.ts), in
 * process, on small inputs: Markdown snippets, shell command lines, YAML manifests. No git, no
 * subprocess, no whole-chapter analysis (workshop-reader.test.ts does that, with a git call per
 * analysis, and workshop.test.ts through `npm run workshop`): every test here takes
 * milliseconds, so mutation testing can re-run them for each mutant (vitest.mutation.config.ts).
 *
 * The tests assert values: ids, line numbers, words, policies, outcomes, severities, and the
 * values a finding names (line, flag, path, suggested command), never a finding's prose.
 * Manifests use an API group no schema package knows (example.com) unless a test is about the
 * schemas: the strict field check builds a TypeScript program the first time (about half a
 * second), which only the few schema tests pay.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../helpers/manifests.ts';
import { MEMORYSTORE_REDIS_VERSIONS } from '../helpers/settings.ts';
import {
  checkChapter, deprecatedApi, flagValue, gcloudFindings, helmFindings, kubectlFindings, labsReader, manifestFindings,
  MESH_KEYS, SAMPLE_VALUES, substitute, yamlObjects, type Finding, type LabsReader,
} from '../workshop/check.ts';
import {
  classify, commandPolicy, interactive, interactiveFlags, isTranscriptLine, labsPath, logicalLines, outcomeOf,
  parseCommandLine, placeholdersIn, setKeys, setPairs, toolOf, yamlDocs, type Command,
} from '../workshop/classify.ts';
import { findChapter, frontMatter, parseChapter, readChapter, slug, type Block, type Chapter } from '../workshop/parse.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');

/** A chapter from block texts (each block's opening fence at the given line). */
function chapter(...blocks: [line: number, text: string][]): Chapter {
  const list: Block[] = blocks.map(([line, text], i) => ({
    id: `p#b${i + 1}`, file: 'content/p.md', line, endLine: line + text.split('\n').length, anchor: `b${i + 1}`, info: '', text,
  }));
  return { file: 'content/p.md', title: 'T', page: 'p', blocks: list, commented: [] };
}

function cmd(line: number, ...words: string[]): Command {
  return { line, text: words.join(' '), words, inner: [] };
}

/** A finding's block and severity (the values it names are asserted one by one). */
function brief(f: Finding): [string, string] {
  return [f.block, f.severity];
}

describe('parse: front matter', () => {
  test('the title and the number of lines it spans; anything else is no front matter', () => {
    expect(frontMatter('---\ntitle: "Egress Gateway"\nweight: 5\n---\n\nbody\n')).toEqual({ title: 'Egress Gateway', lines: 4 });
    expect(frontMatter('  ---  \ntitle: x\n ---\n')).toEqual({ title: 'x', lines: 3 });
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
  let repo = '';
  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'egress-verify-workshop-units-'));
    mkdirSync(join(repo, 'content', 'b', 'deep'), { recursive: true });
    mkdirSync(join(repo, 'content', 'a'), { recursive: true });
    writeFileSync(join(repo, 'content', 'a', 'one.md'), '---\ntitle: One\n---\n```\nkubectl get pods\n```\n');
    writeFileSync(join(repo, 'content', 'b', 'deep', 'two.md'), '---\ntitle: Two\n---\n');
    writeFileSync(join(repo, 'content', 'b', 'twin.md'), '---\ntitle: Twin\n---\n');
    writeFileSync(join(repo, 'content', 'b', 'deep', 'twin.md'), '+++\ntitle = "Twin"\n+++\n');
    writeFileSync(join(repo, 'content', 'b', 'Two.txt'), '---\ntitle: Text\n---\n');
  });
  afterAll(() => {
    if (repo) rmSync(repo, { recursive: true, force: true });
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

describe('classify: shell words', () => {
  test('operators split commands; a process substitution nests; comments end the line; variables stay', () => {
    const line = 'kubectl apply -f <(istioctl kube-inject -f $WORKSHOP_HOME/istio-workshop-labs/a.yaml) -n x && echo ${ISTIO_VERSION} | grep *.yaml # c';
    const cs = parseCommandLine(line, 7);
    expect(cs.map((c) => [c.line, c.text, c.words])).toEqual([
      [7, line, ['kubectl', 'apply', '-f', '<(…)', '-n', 'x']],
      [7, line, ['echo', '$ISTIO_VERSION']],
      [7, line, ['grep', '*.yaml']],
    ]);
    expect(cs[0]!.inner.map((c) => [c.line, c.words, c.inner])).toEqual([[7, ['istioctl', 'kube-inject', '-f', '$WORKSHOP_HOME/istio-workshop-labs/a.yaml'], []]]);
    expect(cs[1]!.inner).toEqual([]);
    expect(parseCommandLine('a; b || c', 1).map((c) => c.words)).toEqual([['a'], ['b'], ['c']]);
    expect(parseCommandLine('kubectl get pods )', 1).map((c) => c.words)).toEqual([['kubectl', 'get', 'pods']]);
    expect(parseCommandLine('diff <(a 1) <(b 2)', 1).map((c) => [c.words, c.inner.map((i) => i.words)])).toEqual([[['diff', '<(…)', '<(…)'], [['a', '1'], ['b', '2']]]]);
    expect(parseCommandLine('', 1)).toEqual([]);
    expect(parseCommandLine('# only', 1)).toEqual([]);
    expect(parseCommandLine('"a b" \'c\'', 3)).toEqual([{ line: 3, text: '"a b" \'c\'', words: ['a b', 'c'], inner: [] }]);
  });
  test('logical lines: continuations joined at the first line, blank lines dropped, lines trimmed', () => {
    expect(logicalLines('a \\\n  b \\\n c\n\n  d  \n', 10)).toEqual([{ line: 10, text: 'a b c' }, { line: 14, text: 'd' }]);
    expect(logicalLines('x \\', 1)).toEqual([{ line: 1, text: 'x' }]);
    expect(logicalLines('x\\\n', 1)).toEqual([{ line: 1, text: 'x ' }]);
    expect(logicalLines('\\', 1)).toEqual([]);
    expect(logicalLines('\n\n', 1)).toEqual([]);
  });
  test('tools: the known ones and ./scripts', () => {
    expect(toolOf('kubectl')).toBe('kubectl');
    expect(toolOf('./setup.sh')).toBe('./setup.sh');
    expect(toolOf('setup.sh')).toBeUndefined();
    expect(toolOf('vim')).toBeUndefined();
    expect(toolOf('')).toBeUndefined();
    expect(toolOf(undefined)).toBeUndefined();
  });
  test('a transcript line: a prompt (#, $, >), a space, and a known tool', () => {
    expect(isTranscriptLine('# telnet 10.0.0.3 6379')).toBe('telnet 10.0.0.3 6379');
    expect(isTranscriptLine('$  kubectl  get pods')).toBe('kubectl  get pods');
    expect(isTranscriptLine('> curl x')).toBe('curl x');
    expect(isTranscriptLine('# a comment')).toBeUndefined();
    expect(isTranscriptLine('#telnet x')).toBeUndefined();
    expect(isTranscriptLine('% kubectl get')).toBeUndefined();
    expect(isTranscriptLine('kubectl get')).toBeUndefined();
    expect(isTranscriptLine('x # kubectl get')).toBeUndefined();
    expect(isTranscriptLine('$ ')).toBeUndefined();
  });
});

describe('classify: YAML, outcomes, placeholders, flags', () => {
  test('YAML: documents and whether they are all manifests', () => {
    expect(yamlDocs('apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n')).toEqual({ docs: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }], manifest: true });
    expect(yamlDocs('# c\n---\nkind: A\napiVersion: v1\n')).toEqual({ docs: [{ kind: 'A', apiVersion: 'v1' }], manifest: true });
    expect(yamlDocs('spec:\n  hosts: [a]\n')).toEqual({ docs: [{ spec: { hosts: ['a'] } }], manifest: false });
    expect(yamlDocs('apiVersion: v1\nname: x\n')?.manifest).toBe(false);
    expect(yamlDocs('kind: X\n')?.manifest).toBe(false);
    expect(yamlDocs('apiVersion: v1\nkind: A\n---\nfoo: 1\n')).toEqual({ docs: [{ apiVersion: 'v1', kind: 'A' }, { foo: 1 }], manifest: false });
    expect(yamlDocs('- name: a\n- name: b\n')).toEqual({ docs: [[{ name: 'a' }, { name: 'b' }]], manifest: false });
    expect(yamlDocs('a:\n')).toEqual({ docs: [{ a: null }], manifest: false });
  });
  test('not YAML: empty, program output, unparsable, or a scalar document', () => {
    for (const text of ['', '  \n', 'Error: something: bad', 'Client: 1', 'kubectl get pods', 'NAME   READY\nfoo 1/1', 'a:b', 'key: [unclosed\n', 'a: b\n---\njust text\n', '# only\n---\n']) {
      expect(yamlDocs(text), text).toBeUndefined();
    }
  });
  test('outcomes of a connection: closed before connected; case as the tools print it', () => {
    expect(outcomeOf('Trying 10.0.0.3...\nConnected to 10.0.0.3.\nConnection closed by foreign host.')).toBe('closed');
    expect(outcomeOf('connection CLOSED by foreign host')).toBe('closed');
    expect(outcomeOf('Connected to redis.')).toBe('connected');
    expect(outcomeOf('connected to redis.')).toBeUndefined();
    expect(outcomeOf('Connected tox')).toBeUndefined();
    expect(outcomeOf('telnet: Unable to connect to remote host: Connection refused')).toBe('refused');
    expect(outcomeOf('connection refused')).toBe('refused');
    expect(outcomeOf('unable to connect')).toBe('refused');
    expect(outcomeOf('')).toBeUndefined();
  });
  test('placeholders in order of first use, whole words and shell variables only', () => {
    expect(placeholdersIn('ping REDIS_IP $ZONE_ID and ${REGION_ID} REDIS_IP')).toEqual(['REDIS_IP', '$ZONE_ID', '$REGION_ID']);
    expect(placeholdersIn('$WORKSHOP_HOME/x REDIS_ENDPOINT:6379 ${ISTIO_VERSION}x REDIS_ADDR')).toEqual(['$WORKSHOP_HOME', 'REDIS_ENDPOINT', '$ISTIO_VERSION', 'REDIS_ADDR']);
    expect(placeholdersIn('MY_REDIS_IP REDIS_IPS $REDIS_IP $ZONE_IDX ZONE_ID REDIS_IP2')).toEqual([]);
    expect(placeholdersIn('')).toEqual([]);
  });
  test('labs paths: after istio-workshop-labs/, wherever it starts', () => {
    expect(labsPath('$WORKSHOP_HOME/istio-workshop-labs/x/y.yaml')).toBe('x/y.yaml');
    expect(labsPath('istio-workshop-labs/a.yaml')).toBe('a.yaml');
    expect(labsPath('other/a.yaml')).toBeUndefined();
    expect(labsPath('istio-workshop-labs')).toBeUndefined();
  });
  test('helm --set pairs and keys, both spellings, commas separating pairs', () => {
    const words = ['helm', 'upgrade', '--set', 'a=1,b=2', '--set-string=c=3', '--setx=9', '--set-string', 'd', 'x', '--set'];
    expect(setPairs(words)).toEqual(['a=1', 'b=2', 'c=3', 'd']);
    expect(setKeys(words)).toEqual(['a', 'b', 'c', 'd']);
    expect(setPairs(['helm', '--set=k=v=w'])).toEqual(['k=v=w']);
    expect(setKeys(['helm', '--set=k=v=w'])).toEqual(['k']);
    expect(setPairs(['helm', 'install'])).toEqual([]);
  });
  test('interactive flags of kubectl exec/run/attach, before any "--"', () => {
    expect(interactiveFlags(['kubectl', 'exec', '-it', 'pod', '--', 'sh', '-i'])).toEqual(['-it']);
    expect(interactiveFlags(['kubectl', 'run', '-i', '--tty', 'x', '-n', 'y'])).toEqual(['-i', '--tty']);
    expect(interactiveFlags(['kubectl', 'attach', '--stdin=true', '-ti', '--tty=false', '--stdin=false', '--ttyx'])).toEqual(['--stdin=true', '-ti']);
    expect(interactiveFlags(['kubectl', 'exec', '--stdin', 'p', '-c', 'x'])).toEqual(['--stdin']);
    expect(interactiveFlags(['kubectl', 'get', '-it'])).toEqual([]);
    expect(interactiveFlags(['helm', 'exec', '-it'])).toEqual([]);
    expect(interactiveFlags(['kubectl'])).toEqual([]);
    expect(interactiveFlags(['kubectl', 'exec', '-n', 'x', 'pod', '--', 'ls', '-t'])).toEqual([]);
    expect(interactiveFlags(['kubectl', 'exec', '--', '-it'])).toEqual([]);
    expect(interactive(['kubectl', 'exec', '-t', 'p'])).toBe(true);
    expect(interactive(['kubectl', 'exec', 'p', '--', '-t'])).toBe(false);
  });
});

describe('classify: policies of command blocks', () => {
  const policy = (...cs: string[][]) => commandPolicy(cs.map((w) => cmd(1, ...w)));
  test('each policy, with a reason', () => {
    const cases: [string[][], string][] = [
      [[['kubectl', 'get', 'pods'], ['telnet', 'x', '1']], 'translate'],
      [[['kubectl', 'exec', '-it', 'p', '--', 'sh']], 'translate'],
      [[['helm', 'upgrade', '--set', 'meshConfig.OutboundTrafficPolicy.mode=REGISTRY_ONLY']], 'intent'],
      [[['gcloud', 'redis', 'instances', 'list']], 'environment'],
      [[['helm', 'install', 'x', 'y']], 'environment'],
      [[['istioctl', 'install', '-y']], 'environment'],
      [[['istioctl', 'manifest', 'apply']], 'environment'],
      [[['istioctl', 'upgrade']], 'environment'],
      [[['istioctl', 'operator', 'init']], 'environment'],
      [[['kubectl', 'apply', '-f', 'x'], ['istioctl', 'kube-inject', '-f', 'y']], 'run'],
      [[['istioctl']], 'run'],
      [[['kubectl', 'get', 'pods'], ['echo', 'x']], 'skip'],
      [[], 'skip'],
    ];
    for (const [cs, expected] of cases) {
      const p = policy(...cs);
      expect(p.policy, JSON.stringify(cs)).toBe(expected);
      expect(p.reason.length, JSON.stringify(cs)).toBeGreaterThan(20);
    }
  });
  test('the order decides: telnet, then a shell, then the outbound policy, then GCP, then the mesh', () => {
    expect(policy(['kubectl', 'exec', '-it', 'p'], ['telnet', 'x']).policy).toBe('translate');
    expect(policy(['helm', 'upgrade', '--set', 'global.outboundTrafficPolicy.mode=X'], ['kubectl', 'run', '-i', 'p']).policy).toBe('translate');
    expect(policy(['gcloud', 'x'], ['helm', 'upgrade', '--set', 'global.outboundTrafficPolicy.mode=X']).policy).toBe('intent');
    expect(policy(['helm', 'upgrade', '--set', 'pilot.x=1'], ['gcloud', 'x']).policy).toBe('environment');
    expect(policy(['helm', 'upgrade', '--set', 'pilot.x=1'], ['gcloud', 'x']).reason).not.toBe(policy(['helm', 'upgrade']).reason);
    expect(policy(['gcloud', 'x'], ['kubectl', 'get']).policy).toBe('environment');
    expect(policy(['istioctl', 'install'], ['kubectl', 'get']).policy).toBe('environment');
  });
  test('the reasons differ by case; workstation setup names its tools once each', () => {
    const reasons = [
      policy(['telnet']), policy(['kubectl', 'exec', '-it', 'p']), policy(['helm', '--set', 'a.outboundtrafficpolicy=1']),
      policy(['gcloud']), policy(['helm']), policy(['kubectl']), policy(['cd', 'x'], ['git', 'clone'], ['cd', 'y']),
    ].map((p) => p.reason);
    expect(new Set(reasons).size).toBe(reasons.length);
    expect(reasons[6]).toContain('(cd, git)');
    expect(policy().reason).toContain('()');
  });
});

describe('classify: blocks of a chapter', () => {
  test('a manifest, a fragment: yaml, skipped, with their documents and placeholders', () => {
    const [m, f] = classify(chapter([3, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: REDIS_IP\n'], [9, 'spec:\n  host: $ZONE_ID\n']));
    expect([m!.kind, m!.policy, m!.manifest, m!.docs, m!.placeholders, m!.commands, m!.applies]).toEqual(['yaml', 'skip', true, [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'REDIS_IP' } }], ['REDIS_IP'], [], []]);
    expect([f!.kind, f!.policy, f!.manifest, f!.placeholders]).toEqual(['yaml', 'skip', false, ['$ZONE_ID']]);
    expect(m!.reason).not.toBe(f!.reason);
    expect(m!.reason.length).toBeGreaterThan(10);
    expect(f!.reason.length).toBeGreaterThan(10);
    expect(m!.shownFor).toBeUndefined();
    expect([m!.id, m!.line, m!.file]).toEqual(['p#b1', 3, 'content/p.md']);
  });
  test('a command block: comments and blank lines left out, continuations joined, lines from the fence', () => {
    const [b] = classify(chapter([20, '# set up\nexport NS=x\n\nFOO=bar BAZ=1\nkubectl get pods \\\n  -n $NS\n./run.sh\n']));
    expect([b!.kind, b!.policy]).toEqual(['command', 'skip']);
    expect(b!.commands.map((c) => [c.line, c.words])).toEqual([
      [22, ['export', 'NS=x']], [24, ['FOO=bar', 'BAZ=1']], [25, ['kubectl', 'get', 'pods', '-n', '$NS']], [27, ['./run.sh']],
    ]);
    expect(b!.reason).toContain('(export, FOO=bar, kubectl, ./run.sh)');
    expect(b!.expected).toBeUndefined();
    expect(b!.attachedTo).toBeUndefined();
  });
  test('only comments: a command block with no commands', () => {
    const [b] = classify(chapter([1, '# note\n']));
    expect([b!.kind, b!.commands, b!.policy]).toEqual(['command', [], 'skip']);
  });
  test('files applied from the labs checkout, directly or through kube-inject', () => {
    const text = [
      'kubectl apply -f $WORKSHOP_HOME/istio-workshop-labs/a.yaml',
      'kubectl create --filename=istio-workshop-labs/b.yaml -n x',
      'kubectl replace -f istio-workshop-labs/r.yaml',
      'kubectl delete -f istio-workshop-labs/d.yaml',
      'kubectl apply -f local.yaml',
      'kubectl apply -f <(istioctl kube-inject -f istio-workshop-labs/c.yaml)',
      'kubectl apply -f <(istioctl kube-inject -f other/c.yaml)',
      'kubectl apply -f <(istioctl x -f istio-workshop-labs/e.yaml)',
      'istioctl apply -f istio-workshop-labs/f.yaml',
      'kubectl',
    ].join('\n');
    const [b] = classify(chapter([1, text]));
    expect(b!.kind).toBe('command');
    expect(b!.policy).toBe('run');
    expect(b!.applies.map((a) => [a.labsPath, a.inject, a.command.line, a.command.words[0]])).toEqual([
      ['a.yaml', false, 2, 'kubectl'], ['b.yaml', false, 3, 'kubectl'], ['r.yaml', false, 4, 'kubectl'], ['c.yaml', true, 7, 'kubectl'],
    ]);
  });
  test('output: plain, a transcript (prompt, or a command followed by what it printed), an outcome', () => {
    const [plain, echoed, after, single, empty] = classify(chapter(
      [1, 'NAME   READY\nfoo 1/1\n'],
      [5, '$ telnet 10.0.0.1 6379\nTrying...\nConnected to 10.0.0.1.\n'],
      [10, 'kubectl get pods\nNAME READY\n'],
      [14, '# kubectl get pods\n'],
      [17, ''],
    ));
    expect([plain!.kind, plain!.policy, plain!.commands, plain!.expected]).toEqual(['output', 'output', [], undefined]);
    expect([echoed!.kind, echoed!.expected, echoed!.commands]).toEqual(['output', 'connected', [{ line: 6, text: 'telnet 10.0.0.1 6379', words: ['telnet', '10.0.0.1', '6379'], inner: [] }]]);
    expect(echoed!.reason).toContain('connected');
    expect(plain!.reason).not.toBe(echoed!.reason);
    expect(plain!.reason.length).toBeGreaterThan(10);
    expect('expected' in plain!).toBe(false);
    expect([after!.kind, after!.commands]).toEqual(['output', [{ line: 11, text: 'kubectl get pods', words: ['kubectl', 'get', 'pods'], inner: [] }]]);
    expect([single!.kind, single!.commands.map((c) => [c.line, c.words])]).toEqual(['output', [[15, ['kubectl', 'get', 'pods']]]]);
    expect([empty!.kind, empty!.commands]).toEqual(['output', []]);
    expect(classify(chapter([1, 'vim x\n']))[0]!.commands).toEqual([]);
    expect(classify(chapter([1, 'NAME\nkubectl get\n']))[0]!.commands).toEqual([]);
  });
  test('an output block belongs to the command block before it (the one running its echoed tool)', () => {
    const out = classify(chapter(
      [1, 'Connected to x.\n'],
      [4, 'telnet 10.0.0.1 6379\n'],
      [7, 'kubectl get pods\n'],
      [10, 'apiVersion: v1\nkind: Service\n'],
      [14, 'Connection refused\n'],
      [17, '# telnet 10.0.0.1 6379\nConnection closed by foreign host.\n'],
      [21, '$ curl x\nok\n'],
      [25, 'more\n'],
    ));
    expect(out.map((b) => [b.id, b.kind, b.attachedTo, b.expected])).toEqual([
      ['p#b1', 'output', undefined, 'connected'],
      ['p#b2', 'command', undefined, undefined],
      ['p#b3', 'command', undefined, undefined],
      ['p#b4', 'yaml', undefined, undefined],
      ['p#b5', 'output', 'p#b3', 'refused'],
      ['p#b6', 'output', 'p#b2', 'closed'],
      ['p#b7', 'output', undefined, undefined],
      ['p#b8', 'output', 'p#b3', undefined],
    ]);
  });
  test('a manifest shown before a command is matched to the labs file it applies, by kind and name', () => {
    const svc = (name: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n`;
    const files: Record<string, unknown[]> = {
      'a.yaml': [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }],
      'b.yaml': [{ apiVersion: 'v1', kind: 'ServiceEntry', metadata: { name: 'x' } }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b' } }],
    };
    const out = classify(chapter(
      [1, svc('a')],
      [6, svc('a')],
      [11, 'spec:\n  x: 1\n'],
      [14, 'kubectl apply -f istio-workshop-labs/a.yaml'],
      [17, 'kubectl apply -f istio-workshop-labs/a.yaml\nkubectl apply -f istio-workshop-labs/missing.yaml'],
      [21, svc('b')],
      [26, 'kubectl apply -f istio-workshop-labs/b.yaml'],
      [29, svc('b')],
    ), (p) => files[p]);
    expect(out.map((b) => b.shownFor)).toEqual(['p#b5', 'p#b4', undefined, undefined, undefined, 'p#b7', undefined, undefined]);
    expect(out[1]!.reason).toContain('p#b4');
    expect(out[1]!.reason).toContain('istio-workshop-labs/a.yaml');
    expect(out[0]!.reason).toContain('p#b5');
    expect(out[7]!.reason).not.toContain('p#');
    // Without the labs files nothing is matched.
    expect(classify(chapter([1, svc('a')], [6, 'kubectl apply -f istio-workshop-labs/a.yaml'])).map((b) => b.shownFor)).toEqual([undefined, undefined]);
    // Another kind or name is not the file's.
    expect(classify(chapter([1, svc('z')], [6, 'kubectl apply -f istio-workshop-labs/a.yaml']), (p) => files[p]).map((b) => b.shownFor)).toEqual([undefined, undefined]);
  });
});

describe('check: placeholders and YAML objects', () => {
  test('substitute replaces whole words and shell variables only, values taken literally', () => {
    expect(substitute('host REDIS_IP:6379 $ZONE_ID ${REGION_ID} $WORKSHOP_HOME/x MY_REDIS_IP $ZONE_IDX REDIS_IPS', SAMPLE_VALUES))
      .toBe('host 192.0.2.10:6379 us-central1-a us-central1 /workshop/x MY_REDIS_IP $ZONE_IDX REDIS_IPS');
    expect(substitute('REDIS_ENDPOINT REDIS_ADDR istio-$ISTIO_VERSION', SAMPLE_VALUES)).toBe('192.0.2.10 192.0.2.10 istio-1.30.5');
    expect(substitute('REDIS_IP and REDIS_IP $ZONE_ID', { REDIS_IP: '$&x' })).toBe('$&x and $&x $ZONE_ID');
    expect(substitute('REDIS_IP', {})).toBe('REDIS_IP');
  });
  test('yamlObjects keeps the documents that are objects', () => {
    expect(yamlObjects('a: 1\n---\n- x\n---\nfoo\n---\n---\nb: 2\n')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(yamlObjects('')).toEqual([]);
  });
});

describe('check: manifests', () => {
  test('a removed API version is one error, and nothing else about that object', async () => {
    const f = await manifestFindings('b1', [{ apiVersion: 'rbac.istio.io/v1alpha1', kind: 'ServiceRole', metadata: { name: 'r' } }]);
    expect(f.map(brief)).toEqual([['b1', 'error']]);
    expect(f[0]!.message).toContain('ServiceRole r (rbac.istio.io/v1alpha1)');
    expect(f[0]!.message).toContain('Istio 1.6');
  });
  test('an API version no schema package knows: one error, prefixed by where the object comes from', async () => {
    const f = await manifestFindings('b2', [{ apiVersion: 'example.com/v1', kind: 'Widget' }, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 7 } }], 'labs/x.yaml: ');
    expect(f.map(brief)).toEqual([['b2', 'error'], ['b2', 'error']]);
    expect(f[0]!.message.startsWith('labs/x.yaml: Widget (no name) (example.com/v1): ')).toBe(true);
    expect(f[1]!.message.startsWith('labs/x.yaml: Gadget (no name) (example.com/v1): ')).toBe(true);
    expect((await manifestFindings('b', [{ apiVersion: 'example.com/v1', kind: 'W', metadata: { name: 'n' } }]))[0]!.message.startsWith('W n (example.com/v1): ')).toBe(true);
    expect(await manifestFindings('b', [])).toEqual([]);
  });
  test('deprecated Istio versions: a warning; unknown fields: an error naming the path, for the object it belongs to', async () => {
    const gateway = { apiVersion: 'networking.istio.io/v1alpha3', kind: 'Gateway', metadata: { name: 'g' }, spec: { selector: { istio: 'egressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] } };
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }], bogus: 1 } };
    const f = await manifestFindings('b3', [gateway, service]);
    expect(f.map(brief)).toEqual([['b3', 'warning'], ['b3', 'error']]);
    expect(f[0]!.message).toContain('Gateway g (networking.istio.io/v1alpha3)');
    expect(f[0]!.message).toContain('networking.istio.io/v1 ');
    expect(f[1]!.message).toContain('Service s (v1)');
    expect(f[1]!.message).toContain('"spec.bogus"');
  });
  test('deprecatedApi: networking/security v1alpha3 and v1beta1 of a kind v1 serves', () => {
    expect(deprecatedApi('networking.istio.io/v1beta1', 'VirtualService')).toContain('networking.istio.io/v1 ');
    expect(deprecatedApi('networking.istio.io/v1alpha3', 'ServiceEntry')).toContain('networking.istio.io/v1alpha3 ');
    expect(deprecatedApi('security.istio.io/v1beta1', 'AuthorizationPolicy')).toContain('security.istio.io/v1 ');
    for (const [api, kind] of [
      ['networking.istio.io/v1', 'Gateway'], ['networking.istio.io/v1alpha3', 'NoSuchKind'], ['xnetworking.istio.io/v1alpha3', 'Gateway'],
      ['networking.istio.io/v1alpha3x', 'Gateway'], ['telemetry.istio.io/v1alpha1', 'Telemetry'], ['networking.istio.io/v1alpha2', 'Gateway'],
    ] as const) expect(deprecatedApi(api, kind), `${api} ${kind}`).toBeUndefined();
  });
});

describe('check: commands', () => {
  test('flagValue: "--flag value" or "--flag=value", the first one', () => {
    expect(flagValue(['x', '--size', '3'], '--size')).toBe('3');
    expect(flagValue(['x', '--size=3'], '--size')).toBe('3');
    expect(flagValue(['x', '--size=1', '--size', '2'], '--size')).toBe('1');
    expect(flagValue(['x', '--size'], '--size')).toBeUndefined();
    expect(flagValue(['x', '--sizes=3', '--siz', '4'], '--size')).toBeUndefined();
    expect(flagValue([], '--size')).toBeUndefined();
  });
  test('kubectl run --generator: an error', () => {
    for (const w of [['kubectl', 'run', '--generator=run-pod/v1', 'x'], ['kubectl', 'run', 'x', '--generator', 'g']]) {
      const f = kubectlFindings('b', cmd(12, ...w));
      expect(f.map(brief)).toEqual([['b', 'error']]);
      expect(f[0]!.message).toContain('line 12:');
    }
    expect(kubectlFindings('b', cmd(1, 'kubectl', 'get', '--generator=x'))).toEqual([]);
    expect(kubectlFindings('b', cmd(1, 'kubectl', 'run', '--generators'))).toEqual([]);
  });
  test('kubectl exec without "--": an error with the command written with it', () => {
    const f = kubectlFindings('b', cmd(30, 'kubectl', 'exec', '-it', 'client', 'sh', '-n', 'default'));
    expect(f.map(brief)).toEqual([['b', 'error'], ['b', 'warning']]);
    expect(f[0]!.message).toContain('line 30:');
    expect(f[0]!.message).toContain('write kubectl exec -it -n default client -- sh');
    expect(f[1]!.message).toContain('line 30:');
    expect(f[1]!.message).toContain('(-it)');
    const g = kubectlFindings('b', cmd(2, 'kubectl', 'exec', 'pod', '--namespace=x', '-c', 'box', 'ls', '/'));
    expect(g.map(brief)).toEqual([['b', 'error']]);
    expect(g[0]!.message).toContain('write kubectl exec --namespace=x -c box pod -- ls /');
    for (const w of [['kubectl', 'exec', 'client', '-n', 'default', '--', 'nslookup', 'x'], ['kubectl', 'exec', 'client'], ['kubectl', 'exec', '-c'], ['kubectl', 'exec', '-n', 'ns', 'pod'], ['kubectl', 'get', 'a', 'b']]) {
      expect(kubectlFindings('b', cmd(1, ...w)), w.join(' ')).toEqual([]);
    }
  });
  test('an interactive kubectl: a warning naming its flags', () => {
    const f = kubectlFindings('b', cmd(4, 'kubectl', 'run', '-i', '--tty', 'x', '--image=busybox', '--', 'sh'));
    expect(f.map(brief)).toEqual([['b', 'warning']]);
    expect(f[0]!.message).toContain('line 4:');
    expect(f[0]!.message).toContain('(-i --tty)');
  });
  test('helm 2: init, --name, and the old chart path are errors', () => {
    const init = helmFindings('b', cmd(5, 'helm', 'init', '--service-account', 'tiller'));
    expect(init.map(brief)).toEqual([['b', 'error']]);
    expect(init[0]!.message).toContain('line 5:');
    for (const w of [['helm', 'install', 'x', '--name', 'istio'], ['helm', 'install', 'x', '--name=istio']]) {
      const f = helmFindings('b', cmd(6, ...w));
      expect(f.map(brief)).toEqual([['b', 'error']]);
      expect(f[0]!.message).toContain('line 6:');
    }
    const chart = helmFindings('b', cmd(7, 'helm', 'install', '/w/istio-1.4/install/kubernetes/helm/istio', '--namespace', 'istio-system'));
    expect(chart.map(brief)).toEqual([['b', 'error']]);
    expect(chart[0]!.message).toContain('line 7: /w/istio-1.4/install/kubernetes/helm/istio:');
    expect(helmFindings('b', cmd(1, 'helm', 'install', 'istiod', 'istio/istiod', '--namespace', 'istio-system', '--namespace=x'))).toEqual([]);
    expect(helmFindings('b', cmd(1, 'helm', 'install', 'i', '--name', 'n', 'install/kubernetes/helm/x')).map(brief)).toEqual([['b', 'error'], ['b', 'error']]);
  });
  test('helm --set of the outbound policy: unknown keys name the nearest known one, values must be a mode', () => {
    const one = (...w: string[]) => helmFindings('b', cmd(9, 'helm', 'upgrade', ...w));
    const near = (...w: string[]) => {
      const f = one(...w);
      expect(f.map(brief)).toEqual([['b', 'error']]);
      expect(f[0]!.message).toContain('line 9:');
      return MESH_KEYS.find((k) => f[0]!.message.includes(`did you mean ${k}?`));
    };
    expect(near('--set', 'global.outboundTrafficPolicymode=REGISTRY_ONLY')).toBe('global.outboundTrafficPolicy.mode');
    expect(near('--set=meshConfig.outboundTrafficPolicymode=REGISTRY_ONLY')).toBe('meshConfig.outboundTrafficPolicy.mode');
    expect(near('--set', 'Global.OutboundTrafficPolicy.Mode=ALLOW_ANY')).toBe('global.outboundTrafficPolicy.mode');
    expect(near('--set', 'x.outbound=1')).toBe('global.outboundTrafficPolicy.mode');
    expect(near('--set', 'x.OUTBOUND')).toBe('global.outboundTrafficPolicy.mode');
    expect(one('--set', 'x.outbound=1')[0]!.message).toContain('--set x.outbound:');
    const bad = (kv: string, shown: string) => {
      const f = one('--set', kv);
      expect(f.map(brief)).toEqual([['b', 'error']]);
      expect(f[0]!.message).toContain(`--set ${shown}:`);
    };
    bad('meshConfig.outboundTrafficPolicy.mode=DENY_ALL', 'meshConfig.outboundTrafficPolicy.mode=DENY_ALL');
    bad('global.outboundTrafficPolicy.mode=ALLOW_ANY=1', 'global.outboundTrafficPolicy.mode=ALLOW_ANY=1');
    bad('meshConfig.outboundTrafficPolicy.mode', 'meshConfig.outboundTrafficPolicy.mode=');
    bad('meshConfig.outboundTrafficPolicy.mode=', 'meshConfig.outboundTrafficPolicy.mode=');
    bad('global.outboundTrafficPolicy.mode=registry_only', 'global.outboundTrafficPolicy.mode=registry_only');
    expect(one('--set', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY,global.outboundTrafficPolicy.mode=ALLOW_ANY,pilot.x=1')).toEqual([]);
    expect(one('--set', 'a=1,meshConfig.outboundTrafficPolicy.mode=X,b.outbound=2').map(brief)).toEqual([['b', 'error'], ['b', 'error']]);
  });
  test('gcloud redis instances create: flags, version, size, region and name are checked', () => {
    const f = (...w: string[]) => gcloudFindings('b', cmd(3, 'gcloud', 'redis', 'instances', 'create', ...w));
    const ok = ['--region=r', '--size=1'];
    expect(f('store-1', ...ok, '--zone', 'z', '--redis-version', 'redis_7_0', '--tier=basic', '-q', '--async')).toEqual([]);
    const flags = f('store-1', ...ok, '--tiers=basic', '--colour', 'x');
    expect(flags.map(brief)).toEqual([['b', 'error'], ['b', 'error']]);
    expect(flags[0]!.message).toContain('line 3:');
    expect(flags[0]!.message.endsWith(' --tiers')).toBe(true);
    expect(flags[1]!.message.endsWith(' --colour')).toBe(true);
    for (const v of MEMORYSTORE_REDIS_VERSIONS) expect(f('s', ...ok, `--redis-version=${v}`)).toEqual([]);
    const version = f('s', ...ok, '--redis-version=redis_9_9');
    expect(version.map(brief)).toEqual([['b', 'error']]);
    expect(version[0]!.message).toContain('line 3: --redis-version=redis_9_9 ');
    for (const size of ['0', '01', '1.5', 'x', '', '-1']) {
      const s = f('s', '--region=r', `--size=${size}`);
      expect(s.map(brief), size).toEqual([['b', 'error']]);
      expect(s[0]!.message).toContain(`line 3: --size=${size} `);
    }
    for (const size of ['1', '10', '300']) expect(f('s', '--region=r', `--size=${size}`), size).toEqual([]);
    expect(f('s', '--region=r')).toEqual([]);
    const region = f('s', '--size=1', '--zone=z');
    expect(region.map(brief)).toEqual([['b', 'error']]);
    expect(region[0]!.message).toContain('line 3:');
    for (const name of ['Store', 'store-', '1abc', 'a'.repeat(41), 'st_re']) {
      const n = f(name, ...ok);
      expect(n.map(brief), name).toEqual([['b', 'error']]);
      expect(n[0]!.message).toContain(`line 3: instance name ${name}:`);
    }
    for (const name of ['s', 'a'.repeat(40), 'store-1-a']) expect(f(name, ...ok), name).toEqual([]);
    // A value after a flag is not the name.
    expect(f('--region', 'R', '--size=1', 'store')).toEqual([]);
    expect(f('--size=1', '--region', 'r')).toEqual([]);
    // All at once, in this order: flags, version, size, region, name.
    const all = f('Bad', '--size=0', '--redis-version=x', '--nope');
    expect(all.map((x) => x.message.slice(0, 12))).toEqual(['line 3: gclo', 'line 3: --re', 'line 3: --si', 'line 3: gclo', 'line 3: inst']);
    expect(all[0]!.message).not.toBe(all[3]!.message);
    // Other gcloud commands are not checked.
    expect(gcloudFindings('b', cmd(1, 'gcloud', 'redis', 'instances', 'describe', 'Bad', '--nope'))).toEqual([]);
    expect(gcloudFindings('b', cmd(1, 'gcloud', 'compute', 'instances', 'create', 'Bad', '--nope'))).toEqual([]);
    expect(gcloudFindings('b', cmd(1, 'gcloud', 'redis', 'clusters', 'create', 'Bad', '--nope'))).toEqual([]);
  });
});

describe('check: a chapter', () => {
  const labs = (files: Record<string, string>): LabsReader => (p) => files[p];
  const widget = (name: string, extra = '') => `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: ${name}\n${extra}`;

  test('a YAML manifest block is checked with the placeholders substituted; fragments are not', async () => {
    const blocks = classify(chapter([1, widget('REDIS_IP')], [7, 'spec:\n  a: 1\n']));
    const f = await checkChapter(blocks, labs({}), undefined, { REDIS_IP: 'redis-9' });
    expect(f.map(brief)).toEqual([['p#b1', 'error']]);
    expect(f[0]!.message.startsWith('Widget redis-9 (example.com/v1): ')).toBe(true);
    const d = await checkChapter(blocks, labs({}), undefined);
    expect(d[0]!.message.startsWith('Widget 192.0.2.10 (example.com/v1): ')).toBe(true);
  });
  test('commands of a block and of its process substitutions are checked', async () => {
    const blocks = classify(chapter([4, 'kubectl get pods\nhelm init\nkubectl apply -f <(helm template x --name y)\ngcloud redis instances create s --size=1']));
    const f = await checkChapter(blocks, labs({}), undefined);
    expect(f.map(brief)).toEqual([['p#b1', 'error'], ['p#b1', 'error'], ['p#b1', 'error']]);
    expect(f.map((x) => x.message.slice(0, 8))).toEqual(['line 6: ', 'line 7: ', 'line 8: ']);
  });
  test('a labs file the chapter applies: missing is an error with WORKSHOP_LABS, a warning without', async () => {
    const blocks = classify(chapter([10, 'kubectl apply -f istio-workshop-labs/a.yaml']));
    const missing = await checkChapter(blocks, labs({}), '/labs');
    expect(missing.map(brief)).toEqual([['p#b1', 'error']]);
    expect(missing[0]!.message).toContain('line 11: ');
    expect(missing[0]!.message).toContain('istio-workshop-labs/a.yaml');
    expect(missing[0]!.message).toContain('WORKSHOP_LABS=/labs');
    const unset = await checkChapter(blocks, labs({}), undefined);
    expect(unset.map(brief)).toEqual([['p#b1', 'warning']]);
    expect(unset[0]!.message).toContain('line 11: ');
    expect(unset[0]!.message).toContain('istio-workshop-labs/a.yaml');
  });
  test('a labs file equal to the block shown for it adds nothing; a different one is an error with the diff', async () => {
    const files = { 'a.yaml': `# from the labs\n${widget('REDIS_IP', 'spec:\n  size: 1\n')}` };
    const reader = labs(files);
    const docs = (p: string) => (files[p as 'a.yaml'] === undefined ? undefined : yamlObjects(files[p as 'a.yaml']));
    const same = classify(chapter([1, widget('REDIS_IP', 'spec: {size: 1}\n')], [9, 'kubectl apply -f istio-workshop-labs/a.yaml']), docs);
    expect(same[0]!.shownFor).toBe('p#b2');
    const f = await checkChapter(same, reader, '/labs');
    // Only the shown block's own finding (no schema for example.com): the labs file is the same objects.
    expect(f.map(brief)).toEqual([['p#b1', 'error']]);

    const other = classify(chapter([1, widget('REDIS_IP', 'spec:\n  size: 2\n')], [9, 'kubectl apply -f istio-workshop-labs/a.yaml']), docs);
    const g = await checkChapter(other, reader, '/labs');
    expect(g.map(brief)).toEqual([['p#b1', 'error'], ['p#b2', 'error'], ['p#b2', 'error']]);
    const diff = g[1]!.message.split('\n');
    expect(diff[0]).toContain('istio-workshop-labs/a.yaml');
    expect(diff[0]).toContain('(p#b1)');
    expect(diff.slice(1)).toEqual([
      '--- chapter content/p.md:1', '+++ labs a.yaml', '@@ -1,2 +1,3 @@', '+# from the labs', ' apiVersion: example.com/v1', ' kind: Widget',
      '@@ -4,3 +5,3 @@', '   name: REDIS_IP', ' spec:', '-  size: 2', '+  size: 1',
    ]);
    expect(g[2]!.message.startsWith('istio-workshop-labs/a.yaml: Widget 192.0.2.10 (example.com/v1): ')).toBe(true);
  });
  test('a labs file with no block shown for it: its manifests are checked; a labs text without a final newline diffs the same', async () => {
    const blocks = classify(chapter([1, 'kubectl apply -f istio-workshop-labs/b.yaml']));
    const f = await checkChapter(blocks, labs({ 'b.yaml': widget('b') }), undefined);
    expect(f.map(brief)).toEqual([['p#b1', 'error']]);
    expect(f[0]!.message.startsWith('istio-workshop-labs/b.yaml: Widget b (example.com/v1): ')).toBe(true);
    const text = 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: c';
    const shown = classify(chapter([1, widget('d')], [7, 'kubectl apply -f istio-workshop-labs/c.yaml']), () => [{ kind: 'Widget', metadata: { name: 'd' } }]);
    const g = await checkChapter(shown, labs({ 'c.yaml': text }), undefined);
    expect(g.map(brief)).toEqual([['p#b1', 'error'], ['p#b2', 'error'], ['p#b2', 'error']]);
    expect(g[1]!.message.split('\n').slice(-2)).toEqual(['-  name: d', '+  name: c']);
  });
  test('an outcome with no command before it: a warning', async () => {
    const f = await checkChapter(classify(chapter([1, 'Connected to x.\n'], [4, 'telnet x 1'], [7, 'Connection refused'], [10, 'plain'])), labs({}), undefined);
    expect(f.map(brief)).toEqual([['p#b1', 'warning']]);
    expect(f[0]!.message).toContain('(connected)');
  });
  test('a Gateway no VirtualService binds: one warning per name, on the block that first shows it', async () => {
    const gw = (name: string) => `apiVersion: example.com/v1\nkind: Gateway\nmetadata:\n  name: ${name}\n`;
    const vs = (gateways: string) => `apiVersion: example.com/v1\nkind: VirtualService\nmetadata:\n  name: v\nspec:\n  gateways: ${gateways}\n`;
    const blocks = classify(chapter(
      [1, gw('egress')], [7, gw('lonely')], [13, gw('lonely')], [19, vs('[mesh, istio-system/egress, 5]')],
      [27, 'kubectl apply -f istio-workshop-labs/g.yaml'], [30, 'apiVersion: example.com/v1\nkind: Gateway\n'], [33, vs('mesh')],
    ));
    const files = { 'g.yaml': `${gw('from-labs')}---\n${gw('egress')}` };
    const f = (await checkChapter(blocks, labs(files), undefined)).filter((x) => x.severity === 'warning');
    expect(f.map(brief)).toEqual([['p#b2', 'warning'], ['p#b5', 'warning']]);
    expect(f[0]!.message).toContain('Gateway lonely:');
    expect(f[1]!.message).toContain('Gateway from-labs:');
    // Bound from a labs file too; a VirtualService in a fragment does not count.
    const bound = classify(chapter([1, gw('a')], [7, 'kubectl apply -f istio-workshop-labs/v.yaml'], [10, 'spec:\n  gateways: [b]\n'], [14, gw('b')]));
    const g = await checkChapter(bound, labs({ 'v.yaml': vs('[a]') }), undefined);
    expect(g.filter((x) => x.severity === 'warning').map(brief)).toEqual([['p#b4', 'warning']]);
  });
});

describe('check: the labs folder', () => {
  test('a file of the folder as text; undefined without a folder or file', () => {
    const read = labsReader(join(WORKSHOPS, 'clean', 'labs'));
    expect(read('client.yaml')).toContain('kind:');
    expect(read('no-such.yaml')).toBeUndefined();
    expect(labsReader(undefined)('client.yaml')).toBeUndefined();
    expect(labsReader('')('self-tests/workshops/clean/labs/client.yaml')).toBeUndefined();
  });
});
