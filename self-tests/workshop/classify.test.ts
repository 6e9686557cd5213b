/**
 * The workshop reader function by function, in process, on small inputs (Markdown snippets,
 * shell command lines, YAML manifests): no git, no subprocess, no whole-chapter analysis
 * (workshop-reader.test.ts does that, with a git call per analysis; workshop.test.ts through
 * `npm run workshop`). Every test takes milliseconds, so mutation testing can re-run them for
 * each mutant (vitest.mutation.config.ts). They assert values: ids, line numbers, words,
 * policies, outcomes, severities, and the values a finding names (line, flag, path, suggested
 * command), not a finding's prose.
 *
 * One file per module (workshop-parse-units, workshop-classify-units, workshop-check-units): a
 * mutant re-runs only the files whose tests reach it, in a fresh worker that imports that file's
 * modules again, so each file imports no more than its module needs.
 */
import { describe, expect, test } from 'vitest';
import {
  classify, commandPolicy, distance, incompleteDocs, interactive, interactiveFlags, isTranscriptLine, labsPath, logicalLines, nearest, normalised, outcomeOf,
  parseCommandLine, placeholdersIn, setKeys, setPairs, toolOf, yamlDocs, yamlErrors,
} from '../../workshop/classify.ts';
import { chapter, cmd } from './support.ts';


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
    // An object missing apiVersion or kind is a manifest with a problem (kubectl refuses it), not a fragment.
    expect(yamlDocs('apiVersion: v1\nname: x\n')).toEqual({ docs: [{ apiVersion: 'v1', name: 'x' }], manifest: true, incomplete: [{ line: 1, message: expect.stringContaining('no kind') }] });
    expect(yamlDocs('kind: X\n')?.incomplete?.map((p) => p.line)).toEqual([1]);
    expect(yamlDocs('metadata:\n  name: a\nspec: {}\n')?.manifest).toBe(true);
    expect(yamlDocs('metadata:\n  name: a\n')?.manifest).toBe(false);
    expect(yamlDocs('apiVersion: v1\nkind: A\n---\nfoo: 1\n')).toEqual({ docs: [{ apiVersion: 'v1', kind: 'A' }, { foo: 1 }], manifest: false });
    expect(yamlDocs('- name: a\n- name: b\n')).toEqual({ docs: [[{ name: 'a' }, { name: 'b' }]], manifest: false });
    expect(yamlDocs('a:\n')).toEqual({ docs: [{ a: null }], manifest: false });
  });
  test('YAML: empty documents (a trailing or doubled ---) are skipped, as kubectl skips them', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap' };
    expect(yamlDocs('apiVersion: v1\nkind: ConfigMap\n---\n')).toEqual({ docs: [cm], manifest: true });
    expect(yamlDocs('apiVersion: v1\nkind: ConfigMap\n---\n---\napiVersion: v1\nkind: ConfigMap\n')).toEqual({ docs: [cm, cm], manifest: true });
    expect(yamlDocs('---\napiVersion: v1\nkind: ConfigMap\n---\n# end\n')).toEqual({ docs: [cm], manifest: true });
    // A document that is only a scalar is still not YAML of a manifest.
    expect(yamlDocs('apiVersion: v1\nkind: ConfigMap\n---\n42\n')).toBeUndefined();
    expect(yamlDocs('apiVersion: v1\nkind: ConfigMap\n---\n"text"\n')).toBeUndefined();
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
      // `$ ` prompts are commands as typed; what follows them is their output, not a block of its own.
      ['p#b7', 'command', undefined, undefined],
      ['p#b8', 'output', 'p#b7', undefined],
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
    // A block is shown for the next command that applies a file, never for a later one: b1 stays unmatched.
    expect(out.map((b) => b.shownFor)).toEqual([undefined, 'p#b4', undefined, undefined, undefined, 'p#b7', undefined, undefined]);
    expect(out[1]!.reason).toContain('p#b4');
    expect(out[1]!.reason).toContain('istio-workshop-labs/a.yaml');
    expect(out[0]!.reason).not.toContain('p#');
    expect(out[7]!.reason).not.toContain('p#');
    // Without the labs files nothing is matched.
    expect(classify(chapter([1, svc('a')], [6, 'kubectl apply -f istio-workshop-labs/a.yaml'])).map((b) => b.shownFor)).toEqual([undefined, undefined]);
    // Another kind is not the file's; the same kind under another name is (renamed on one side: drift).
    expect(classify(chapter([1, svc('z')], [6, 'kubectl apply -f istio-workshop-labs/a.yaml']), (p) => files[p]).map((b) => b.shownFor)).toEqual(['p#b2', undefined]);
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
    expect(classify(chapter([1, cm], [6, 'kubectl apply -f istio-workshop-labs/a.yaml']), (p) => files[p]).map((b) => b.shownFor)).toEqual([undefined, undefined]);
  });
});

describe('classify: boundaries', () => {
  test('a pipe or && inside a process substitution stays inside it', () => {
    expect(parseCommandLine('diff <(a 1 | b 2) x', 1).map((c) => [c.words, c.inner.map((i) => i.words)])).toEqual([[['diff', '<(…)', 'x'], [['a', '1'], ['b', '2']]]]);
  });
  test('a transcript line is one line', () => {
    expect(isTranscriptLine('$ kubectl get\rx')).toBeUndefined();
  });
  test('YAML found after blank lines, indented comments and document markers; an error in any document is not YAML', () => {
    expect(yamlDocs('\n  \napiVersion: v1\nkind: A\n')?.manifest).toBe(true);
    expect(yamlDocs('  # c\nkind: A\napiVersion: v1\n')?.manifest).toBe(true);
    expect(yamlDocs('--- \nkind: A\napiVersion: v1\n')?.manifest).toBe(true);
    expect(yamlDocs(' - name: a\n - name: b\n')).toEqual({ docs: [[{ name: 'a' }, { name: 'b' }]], manifest: false });
    expect(yamlDocs('a: 1\n---\nb: [x\n')).toBeUndefined();
  });
  test('interactive flags: letters only, the whole word', () => {
    expect(interactiveFlags(['kubectl', 'exec', 'p', '-it'])).toEqual(['-it']);
    expect(interactiveFlags(['kubectl', 'exec', '-iq', '-t1', 'pod--tty', 'p'])).toEqual(['-iq']);
  });
  test('istioctl subcommands that install, not the same words of another tool', () => {
    expect(commandPolicy([cmd(1, 'kubectl', 'upgrade')]).policy).toBe('run');
  });
  test('command and output blocks have no documents and are not manifests', () => {
    const [c, o] = classify(chapter([1, 'kubectl get pods'], [4, 'NAME\nx\n']));
    expect([c!.docs, c!.manifest, o!.docs, o!.manifest]).toEqual([[], false, [], false]);
  });
  test('a line of only an operator, or a word that is not an assignment, makes the block output', () => {
    expect(classify(chapter([1, 'kubectl get\n;\n'])).map((b) => [b.kind, b.commands])).toEqual([['output', [{ line: 2, text: 'kubectl get', words: ['kubectl', 'get'], inner: [] }]]]);
    expect(classify(chapter([1, ';\nfoo\n'])).map((b) => [b.kind, b.commands])).toEqual([['output', []]]);
    expect(classify(chapter([1, 'FOO=bar baz\n'])).map((b) => b.kind)).toEqual(['output']);
  });
  test('a trailing # is a comment of that command, not a comment line', () => {
    expect(classify(chapter([1, 'kubectl get pods #\n']))[0]!.commands.map((c) => c.words)).toEqual([['kubectl', 'get', 'pods']]);
  });
  test('kube-inject only by istioctl, with -f or --filename', () => {
    const [b] = classify(chapter([1, 'kubectl apply -f <(x kube-inject -f istio-workshop-labs/e.yaml)\nkubectl apply -f <(istioctl kube-inject --filename istio-workshop-labs/g.yaml)']));
    expect(b!.applies.map((a) => [a.labsPath, a.inject, a.command.line])).toEqual([['g.yaml', true, 3]]);
  });
  test('output right after the first block; after a block running several tools', () => {
    expect(classify(chapter([1, 'kubectl get pods'], [4, 'NAME\nx\n'])).map((b) => b.attachedTo)).toEqual([undefined, 'p#b1']);
    expect(classify(chapter([1, 'kubectl get pods\ncurl x'], [4, '# curl x\nok\n'])).map((b) => b.attachedTo)).toEqual([undefined, 'p#b1']);
  });
  test('matched by any of a block\'s objects; fragments and objects without metadata are handled', () => {
    const labs: Record<string, unknown[]> = {
      'a.yaml': [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } }],
      'n.yaml': [{ apiVersion: 'v1', kind: 'Namespace' }],
    };
    const out = classify(chapter(
      [1, 'apiVersion: v1\nkind: Other\nmetadata:\n  name: o\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n'],
      [12, 'kind: Service\nmetadata:\n  name: a\n'],
      [16, 'apiVersion: v1\nkind: Namespace\n'],
      [19, 'kubectl apply -f istio-workshop-labs/a.yaml\nkubectl apply -f istio-workshop-labs/n.yaml'],
    ), (p) => labs[p]);
    // b2 lacks apiVersion: a manifest with a problem, matched only when no whole manifest matches.
    expect(out.map((b) => [b.kind, b.manifest, b.shownFor])).toEqual([['yaml', true, 'p#b4'], ['yaml', true, undefined], ['yaml', true, 'p#b4'], ['command', false, undefined]]);
  });
});

describe('classify: commands as people write them (issue 23)', () => {
  test('`$ ` prompts: the prompted lines are the commands, checked like plain ones; what they printed is not run', () => {
    const [b] = classify(chapter([10, '$ kubectl apply -f $WORKSHOP_HOME/istio-workshop-labs/se.yaml\nserviceentry.networking.istio.io/se created\n']));
    expect([b!.kind, b!.policy]).toEqual(['command', 'run']);
    expect(b!.commands.map((c) => [c.line, c.words])).toEqual([[11, ['kubectl', 'apply', '-f', '$WORKSHOP_HOME/istio-workshop-labs/se.yaml']]]);
    expect(b!.applies.map((a) => a.labsPath)).toEqual(['se.yaml']);
    const [only] = classify(chapter([1, '$ kubectl get pods\n$ kubectl -n default exec -it busybox -- sh\n']));
    expect([only!.kind, only!.policy, only!.commands.length]).toEqual(['command', 'translate', 2]);
    // A `$ ` transcript that shows a connection's outcome stays an output block, judged by its outcome.
    const [t] = classify(chapter([1, '$ telnet 10.0.0.1 6379\nConnected to 10.0.0.1\n']));
    expect([t!.kind, t!.expected, t!.commands[0]!.words]).toEqual(['output', 'connected', ['telnet', '10.0.0.1', '6379']]);
    // A `\` continuation written with a `> ` prompt is the same command.
    const [cont] = classify(chapter([1, '$ kubectl apply \\\n> -f $WORKSHOP_HOME/istio-workshop-labs/a.yaml\n']));
    expect(cont!.commands.map((c) => c.words)).toEqual([['kubectl', 'apply', '-f', '$WORKSHOP_HOME/istio-workshop-labs/a.yaml']]);
  });
  test('a here-document: its lines are the manifest the command applies, at their file lines, not commands', () => {
    const yaml = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: store\n';
    for (const [text, words] of [
      [`kubectl apply -f - <<EOF\n${yaml}EOF\n`, [['kubectl', 'apply', '-f', '-']]],
      [`cat <<'EOF' | kubectl apply -f -\n${yaml}EOF\n`, [['cat'], ['kubectl', 'apply', '-f', '-']]],
      [`$ kubectl apply -f - <<-"END"\n> ${yaml.trimEnd().split('\n').join('\n> ')}\n> END\n`, [['kubectl', 'apply', '-f', '-']]],
    ] as const) {
      const [b] = classify(chapter([20, text]));
      expect([b!.kind, b!.policy], text).toEqual(['command', 'run']);
      expect(b!.commands.map((c) => c.words), text).toEqual(words);
      expect(b!.inline?.map((i) => [i.heredoc.line, i.heredoc.text]), text).toEqual([[22, yaml]]);
    }
    // Not closed: the document runs to the end of the block.
    expect(logicalLines('kubectl apply -f - <<EOF\na: 1\n', 5)).toEqual([{ line: 5, text: 'kubectl apply -f - <<EOF', heredoc: { line: 6, text: 'a: 1\n' } }]);
    // A here-string is no here-document.
    expect(logicalLines('cat <<<x\nkubectl get pods\n', 1).map((l) => l.text)).toEqual(['cat <<<x', 'kubectl get pods']);
    expect(logicalLines('cat <<E\nE\n', 1)).toEqual([{ line: 1, text: 'cat <<E', heredoc: { line: 2, text: '' } }]);
  });
  test('flags before the subcommand and VAR=value prefixes: read as the plain command', () => {
    expect(normalised(cmd(1, 'kubectl', '-n', 'default', 'exec', '-it', 'busybox', '--', 'sh')).words).toEqual(['kubectl', 'exec', '-n', 'default', '-it', 'busybox', '--', 'sh']);
    expect(normalised(cmd(1, 'kubectl', '--context=kind', '-v', '6', 'get', 'pods')).words).toEqual(['kubectl', 'get', '--context=kind', '-v', '6', 'pods']);
    expect(normalised(cmd(1, 'helm', '--kube-context', 'k', '--debug', 'upgrade', 'istiod', 'istio/istiod')).words).toEqual(['helm', 'upgrade', '--kube-context', 'k', '--debug', 'istiod', 'istio/istiod']);
    expect(normalised(cmd(1, 'istioctl', '-i', 'istio-system', 'install', '-y')).words).toEqual(['istioctl', 'install', '-i', 'istio-system', '-y']);
    const env = normalised(cmd(1, 'REDIS_IP=10.0.0.1', 'NS=default', 'kubectl', 'get', 'pods'));
    expect([env.words, env.env]).toEqual([['kubectl', 'get', 'pods'], ['REDIS_IP=10.0.0.1', 'NS=default']]);
    expect(normalised(cmd(1, 'env', 'A=1', 'kubectl', 'get')).words).toEqual(['kubectl', 'get']);
    expect(normalised(cmd(1, 'A=1', 'B=2')).words).toEqual(['A=1', 'B=2']);
    expect(normalised(cmd(1, 'kubectl', '-n', 'x')).words).toEqual(['kubectl', '-n', 'x']);
    expect(normalised(cmd(1, 'kubectl', '--', 'x')).words).toEqual(['kubectl', '--', 'x']);
    const [shell, prefixed] = classify(chapter([1, 'kubectl -n default exec -it busybox -- /bin/sh'], [4, 'REDIS_IP=10.0.0.1 kubectl get pods']));
    // Not `run` as written: an interactive shell is translated.
    expect([shell!.kind, shell!.policy]).toEqual(['command', 'translate']);
    expect([prefixed!.kind, prefixed!.policy]).toEqual(['command', 'run']);
  });
  test('istioctl install --set of the outbound policy is the mesh-mode step (intent), like the Helm one', () => {
    for (const w of [['istioctl', 'install', '--set', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY'], ['istioctl', 'install', '-s', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY', '-y'], ['istioctl', '-i', 'istio-system', 'upgrade', '--set=meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY']]) {
      expect(commandPolicy([normalised(cmd(1, ...w))]).policy, w.join(' ')).toBe('intent');
    }
    expect(commandPolicy([cmd(1, 'istioctl', 'install', '--set', 'profile=demo')]).policy).toBe('environment');
    expect(commandPolicy([cmd(1, 'istioctl', 'analyze', '--set', 'meshConfig.outboundTrafficPolicy.mode=x')]).policy).toBe('run');
    expect(setKeys(['kubectl', '-s', 'a=b'])).toEqual([]);
    expect(setKeys(['istioctl', 'install', '-s', 'a=b'])).toEqual(['a']);
  });
});

describe('classify: YAML that does not parse, objects without apiVersion (issue 23)', () => {
  test('a manifest with a bad indent is a YAML block with its error at the file line, not output', () => {
    const text = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: s\nspec:\n  hosts:\n  - a\n ports:\n  - number: 1\n';
    const [b] = classify(chapter([30, text]));
    expect([b!.kind, b!.manifest]).toEqual(['yaml', true]);
    // The fence is line 30, so the text's line 8 (` ports:`) is the file's line 38.
    expect(b!.yamlErrors?.map((e) => e.line)).toEqual([38]);
    expect(b!.yamlErrors?.[0]!.message).toMatch(/^[A-Z_]+: /);
    expect(yamlErrors('kind: A\nspec:\n  a: 1\n b: 2\n')).toEqual([{ line: 4, message: 'BAD_INDENT: All mapping items must start at the same column' }]);
    expect(yamlErrors('a: 1\n')).toEqual([]);
    // Output that fails to parse and names no object stays output.
    expect(classify(chapter([1, 'error: could not find\n  x: y\n z']))[0]!.kind).toBe('output');
  });
  test('a document with kind but no apiVersion (or the reverse) is a manifest with a problem at its line', () => {
    const [b] = classify(chapter([1, 'apiVersion: v1\nkind: Namespace\n---\nkind: ServiceEntry\nmetadata:\n  name: s\n']));
    expect([b!.kind, b!.manifest]).toEqual(['yaml', true]);
    expect(b!.incomplete).toEqual([{ line: 5, message: expect.stringContaining('no apiVersion') }]);
    expect(incompleteDocs('apiVersion: v1\n')[0]!.message).toContain('no kind');
    expect(incompleteDocs('metadata: {}\nspec: {}\n')[0]!.message).toContain('no apiVersion and no kind');
    expect(incompleteDocs('env:\n- name: A\n')).toEqual([]);
  });
  test('did you mean: the nearest known word, when close enough', () => {
    expect(nearest('ServiceEntri', ['Gateway', 'ServiceEntry'])).toBe('ServiceEntry');
    expect(nearest('serviceentry', ['ServiceEntry'])).toBe('ServiceEntry');
    expect(nearest('Widget', ['Gateway', 'ServiceEntry'])).toBeUndefined();
    expect(nearest('x', [])).toBeUndefined();
  });
});

describe('classify: edge by edge (mutation survivors)', () => {
  test('edit distance counts every character of both words', () => {
    expect(distance('ab', '')).toBe(2);
    expect(distance('abc', 'abc')).toBe(0);
    expect(distance('', 'abc')).toBe(3);
    expect(distance('kitten', 'sitting')).toBe(3);
  });
  test('nearest: the first of equally near words; a distance equal to the limit is near; long words allow a quarter of their length', () => {
    expect(nearest('ab', ['ac', 'ad'])).toBe('ac');
    expect(nearest('abcd', ['abxy'])).toBe('abxy');
    expect(nearest('abcd', ['axyz'])).toBeUndefined();
    expect(nearest('abcdefghijkl', ['abcdefghixyz'])).toBe('abcdefghixyz');
  });
  test('here-documents: `> ` prompts dropped only when prompted and only in front; tabs dropped only with <<- and only in front; the delimiter may have trailing spaces', () => {
    const doc = (text: string, prompted?: boolean) => logicalLines(text, 1, prompted).map((l) => [l.line, l.text, l.heredoc?.text]);
    expect(doc('cat <<E\n> a: 1\nE\n')).toEqual([[1, 'cat <<E', '> a: 1\n']]);
    expect(doc('cat <<E\n> a: 1\nx > y\n>b\nE\n', true)).toEqual([[1, 'cat <<E', 'a: 1\nx > y\nb\n']]);
    expect(doc('cat <<-E\n\t\ta:\tb\nc:\td\n\tE\n')).toEqual([[1, 'cat <<-E', 'a:\tb\nc:\td\n']]);
    expect(doc('cat <<E\n\ta: 1\nE\n')).toEqual([[1, 'cat <<E', '\ta: 1\n']]);
    expect(doc('cat <<E\na: 1\n\tE\nE\n')).toEqual([[1, 'cat <<E', 'a: 1\n\tE\n']]);
    expect(doc('kubectl apply -f - <<EOF\na: 1\nEOF  \nkubectl get pods\n')).toEqual([[1, 'kubectl apply -f - <<EOF', 'a: 1\n'], [4, 'kubectl get pods', undefined]]);
  });
  test('an unclosed here-document drops its trailing blank lines (spaces too); one with no lines is empty', () => {
    expect(logicalLines('cat <<E\na: 1\n  \n\n', 1)).toEqual([{ line: 1, text: 'cat <<E', heredoc: { line: 2, text: 'a: 1\n' } }]);
    expect(logicalLines('cat <<E\na: 1\nb: 2\n', 1)).toEqual([{ line: 1, text: 'cat <<E', heredoc: { line: 2, text: 'a: 1\nb: 2\n' } }]);
    expect(logicalLines('cat <<E\n\n', 1)).toEqual([{ line: 1, text: 'cat <<E', heredoc: { line: 2, text: '' } }]);
    expect(logicalLines('cat <<E', 1)).toEqual([{ line: 1, text: 'cat <<E', heredoc: { line: 2, text: '' } }]);
  });
  test('normalised: only the words after env are its environment; tools without global flags keep their order; a lone "-" ends the flags', () => {
    expect(normalised(cmd(1, 'env', 'A=1', 'kubectl', 'get')).env).toEqual(['A=1']);
    expect(normalised(cmd(1, 'curl', '-s', 'http://x')).words).toEqual(['curl', '-s', 'http://x']);
    expect(normalised(cmd(1, 'kubectl', '-', 'get')).words).toEqual(['kubectl', '-', 'get']);
  });
  test('YAML errors keep the library\'s first line without its position, also at lines and columns of two digits', () => {
    const text = `${Array.from({ length: 11 }, (_, i) => `k${i}: 1`).join('\n')}\n           bad: 1\n          also: 2\n`;
    expect(yamlErrors(text)).toEqual([
      { line: 11, message: 'BLOCK_AS_IMPLICIT_KEY: Nested mappings are not allowed in compact mappings' },
      { line: 11, message: 'MULTILINE_IMPLICIT_KEY: Implicit keys need to be on a single line' },
      { line: 12, message: 'BLOCK_AS_IMPLICIT_KEY: Nested mappings are not allowed in compact mappings' },
      { line: 12, message: 'MULTILINE_IMPLICIT_KEY: Implicit keys need to be on a single line' },
    ]);
  });
  test('incomplete documents: one that does not parse is left to the parse errors; the message says what is missing', () => {
    expect(incompleteDocs('kind: A\nspec:\n  a: 1\n b: 2\n')).toEqual([]);
    expect(incompleteDocs('apiVersion: v1\n')).toEqual([{ line: 1, message: 'a document with no kind: kubectl refuses an object without it' }]);
    expect(incompleteDocs('a: 1\n---\nmetadata: {}\nspec: {}\n')).toEqual([{ line: 3, message: 'a document with no apiVersion and no kind: kubectl refuses an object without them' }]);
  });
  test('yamlDocs: the first key after a --- line; errors only for text naming an object at a line start; maps and lists without apiVersion and kind are no manifest', () => {
    expect(yamlDocs('---\napiVersion: v1\nkind: Namespace\n')).toEqual({ docs: [{ apiVersion: 'v1', kind: 'Namespace' }], manifest: true });
    expect(yamlDocs('error: could not find\n  the kind: y\n z')).toBeUndefined();
    expect(yamlDocs('metadata:\n  name: x\n  kind: Foo\n bad: 1\n')).toEqual({ docs: [], manifest: true, errors: [{ line: 4, message: 'BAD_INDENT: All mapping items must start at the same column' }] });
    expect(yamlDocs('spec:\n  a: 1\n')).toEqual({ docs: [{ spec: { a: 1 } }], manifest: false });
    expect(yamlDocs('- name: a\n')).toEqual({ docs: [[{ name: 'a' }]], manifest: false });
    expect(yamlDocs('apiVersion: v1\nkind: A\n---\nb: 1\n')).toEqual({ docs: [{ apiVersion: 'v1', kind: 'A' }, { b: 1 }], manifest: false });
  });
  test('prompted blocks: an indented `$ ` is a prompt, a `$ ` inside a line is not; continuation prompts dropped in front only, with or without a space', () => {
    const words = (text: string) => classify(chapter([1, text]))[0]!.commands.map((c) => c.words);
    const [indented] = classify(chapter([1, '  $ kubectl get pods\nNAME READY\n']));
    expect([indented!.kind, indented!.commands.map((c) => c.words)]).toEqual(['command', [['kubectl', 'get', 'pods']]]);
    expect(classify(chapter([1, 'kubectl get pods\necho a $ b\n']))[0]!.commands.map((c) => c.words)).toEqual([['kubectl', 'get', 'pods'], ['echo', 'a', '$', 'b']]);
    expect(words('$ kubectl apply \\\n  > -f $WORKSHOP_HOME/istio-workshop-labs/a.yaml\n')).toEqual([['kubectl', 'apply', '-f', '$WORKSHOP_HOME/istio-workshop-labs/a.yaml']]);
    expect(words('$ kubectl apply \\\n>-f $WORKSHOP_HOME/istio-workshop-labs/a.yaml\n')).toEqual([['kubectl', 'apply', '-f', '$WORKSHOP_HOME/istio-workshop-labs/a.yaml']]);
    expect(words('$ kubectl apply \\ \n> -f $WORKSHOP_HOME/istio-workshop-labs/a.yaml\n')).toEqual([['kubectl', 'apply', '-f', '$WORKSHOP_HOME/istio-workshop-labs/a.yaml']]);
    expect(words('$ kubectl get pods \\\n-o yaml > out.yaml\n')).toEqual([['kubectl', 'get', 'pods', '-o', 'yaml'], ['out.yaml']]);
    // Without `$ ` prompts a here-document's `> ` lines are its text as written.
    expect(classify(chapter([1, 'kubectl apply -f - <<EOF\n> a: 1\nEOF\n']))[0]!.inline?.map((i) => i.heredoc.text)).toEqual(['> a: 1\n']);
  });
  test('placeholders: none in a text without them', () => {
    expect(placeholdersIn('kubectl get pods -n default')).toEqual([]);
    expect(placeholdersIn('ping REDIS_IP')).toEqual(['REDIS_IP']);
    expect(placeholdersIn('cd $WORKSHOP_HOME')).toEqual(['$WORKSHOP_HOME']);
  });
  test('the outbound policy is set by helm and istioctl installs only; a cat with a here-document hands it on, other cats and one-word commands count', () => {
    expect(commandPolicy([cmd(1, 'kubectl', 'upgrade', '--set', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY')]).policy).toBe('run');
    const heredoc = { line: 2, text: 'a: 1\n' };
    expect(commandPolicy([cmd(1, 'cat', 'notes.txt')]).reason).toContain('(cat)');
    expect(commandPolicy([cmd(1, 'cat')]).reason).toContain('(cat)');
    expect(commandPolicy([cmd(1, 'ls')]).reason).toContain('(ls)');
    expect(commandPolicy([{ ...cmd(1, 'cat', '-n'), heredoc }]).reason).toContain('(cat)');
    expect(commandPolicy([{ ...cmd(1, 'tee'), heredoc }]).reason).toContain('(tee)');
    expect(commandPolicy([{ ...cmd(1, 'cat'), heredoc }, cmd(1, 'kubectl', 'apply', '-f', '-')]).policy).toBe('run');
  });
  test('a YAML block that does not parse says so', () => {
    const [b] = classify(chapter([1, 'apiVersion: v1\nkind: A\nspec:\n  a: 1\n b: 2\n']));
    expect(b!.reason).toBe('YAML that does not parse: nothing of it can be applied');
  });
  test('command or output: every word must be a tool or all assignments; every prompted line a command; a command that prints an outcome is still a command', () => {
    expect(classify(chapter([1, 'frobnicate A=1\n']))[0]!.kind).toBe('output');
    expect(classify(chapter([1, 'A=1 B=2\n']))[0]!.kind).toBe('command');
    expect(classify(chapter([1, '$ kubectl get pods\n$ frobnicate\n']))[0]!.kind).toBe('output');
    const [echo] = classify(chapter([1, '$ echo "Connected to x"\n']));
    expect([echo!.kind, echo!.commands.map((c) => c.words)]).toEqual(['command', [['echo', 'Connected to x']]]);
    expect(classify(chapter([1, '$ telnet x 1\necho Connected to x\n']))[0]!.kind).toBe('output');
  });
  test('the word after << is the delimiter only when it is a word: an operator there still splits', () => {
    expect(parseCommandLine('cat <<; kubectl get pods', 1).map((c) => c.words)).toEqual([['cat'], ['kubectl', 'get', 'pods']]);
  });
  test('a here-document goes inline only with -f -', () => {
    const [b] = classify(chapter([1, 'kubectl apply -f ./local.yaml <<EOF\na: 1\nEOF\n']));
    expect([b!.kind, b!.inline, b!.applies]).toEqual(['command', undefined, []]);
  });
  test('matched by kinds among manifests that all lack apiVersion: the nearest', () => {
    const part = (name: string) => `kind: A\nmetadata:\n  name: ${name}\n`;
    const blocks = classify(chapter([1, part('p1')], [8, part('p2')], [14, 'kubectl apply -f istio-workshop-labs/a.yaml']), () => [{ kind: 'A', metadata: { name: 'z' } }]);
    expect(blocks.map((b) => b.shownFor)).toEqual([undefined, 'p#b3', undefined]);
  });
  test('a prompted comment heading output: a transcript of no words', () => {
    expect(classify(chapter([1, '$ # note\nhello\n']))[0]!.commands.map((c) => [c.line, c.words])).toEqual([[2, []]]);
  });
  test('kubectl apply -f - without a here-document applies nothing inline', () => {
    const [b] = classify(chapter([1, 'kubectl apply -f -\n']));
    expect([b!.kind, b!.inline, b!.applies]).toEqual(['command', undefined, []]);
  });
  test('matching a manifest to a labs file: kinds compared in any order, whole names only; only manifests before the command, since the previous applying command', () => {
    const y = (kind: string, name: string) => `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;
    const docsOf = (files: Record<string, unknown[]>) => (p: string) => files[p];
    // Renamed on one side: matched by kinds, in any order.
    const reordered = classify(chapter([1, `${y('A', 'x')}---\n${y('BC', 'y')}`], [20, 'kubectl apply -f istio-workshop-labs/a.yaml']),
      docsOf({ 'a.yaml': [{ kind: 'BC', metadata: { name: 'y2' } }, { kind: 'A', metadata: { name: 'x2' } }] }));
    expect(reordered[0]!.shownFor).toBe('p#b2');
    // A,BC is not AB,C.
    const joined = classify(chapter([1, `${y('A', 'x')}---\n${y('BC', 'y')}`], [20, 'kubectl apply -f istio-workshop-labs/a.yaml']),
      docsOf({ 'a.yaml': [{ kind: 'AB', metadata: { name: 'x2' } }, { kind: 'C', metadata: { name: 'y2' } }] }));
    expect(joined[0]!.shownFor).toBeUndefined();
    // A manifest after the command is not what it applies.
    const after = classify(chapter([1, 'kubectl apply -f istio-workshop-labs/a.yaml'], [4, y('A', 'x')]), docsOf({ 'a.yaml': [{ kind: 'A', metadata: { name: 'x' } }] }));
    expect(after[1]!.shownFor).toBeUndefined();
    // Before the previous applying command: not a candidate for the next one.
    const earlier = classify(chapter([1, y('A', 'x')], [8, 'kubectl apply -f istio-workshop-labs/g.yaml'], [11, 'kubectl apply -f istio-workshop-labs/a.yaml']),
      docsOf({ 'g.yaml': [{ kind: 'G', metadata: { name: 'g' } }], 'a.yaml': [{ kind: 'A', metadata: { name: 'x' } }] }));
    expect(earlier[0]!.shownFor).toBeUndefined();
    // A fragment is never the file.
    const fragment = classify(chapter([1, 'spec:\n  a: 1\n'], [5, 'kubectl apply -f istio-workshop-labs/a.yaml']), docsOf({ 'a.yaml': [{ spec: { a: 1 } }] }));
    expect([fragment[0]!.manifest, fragment[0]!.shownFor]).toEqual([false, undefined]);
    // Two files of one command with the same objects: the first one takes the block.
    const twice = classify(chapter([1, y('A', 'x')], [8, 'kubectl apply -f istio-workshop-labs/a.yaml -f istio-workshop-labs/b.yaml']),
      docsOf({ 'a.yaml': [{ kind: 'A', metadata: { name: 'x' } }], 'b.yaml': [{ kind: 'A', metadata: { name: 'x' } }] }));
    expect([twice[0]!.shownFor, twice[0]!.reason]).toEqual(['p#b2', 'shown to the reader; p#b2 applies istio-workshop-labs/a.yaml, checked equal to it']);
  });
  test('matched by kinds: a whole manifest before one that lacks apiVersion, whichever is nearer', () => {
    const whole = 'apiVersion: v1\nkind: A\nmetadata:\n  name: w\n';
    const part = 'kind: A\nmetadata:\n  name: p\n';
    const docs = () => [{ kind: 'A', metadata: { name: 'z' } }];
    const nearFirst = classify(chapter([1, whole], [8, part], [14, 'kubectl apply -f istio-workshop-labs/a.yaml']), docs);
    expect(nearFirst.map((b) => b.shownFor)).toEqual(['p#b3', undefined, undefined]);
    const farFirst = classify(chapter([1, part], [8, whole], [14, 'kubectl apply -f istio-workshop-labs/a.yaml']), docs);
    expect(farFirst.map((b) => b.shownFor)).toEqual([undefined, 'p#b3', undefined]);
  });
});
