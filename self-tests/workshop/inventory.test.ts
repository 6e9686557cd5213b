/**
 * `npm run workshop` over chapters written for these tests (self-tests/workshops/), in the shape
 * of the workshop's pages: front matter, numbered steps, untagged fences, blocks inside HTML
 * comments, placeholders and a labs folder. The command runs for real as a subprocess; the
 * inventory and the parser are also checked in-process.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';
import { inventoryOf } from '../../workshop/inventory.ts';
import { findChapter, parseChapter } from '../../workshop/parse.ts';
import { analyse, toMarkdown, type JsonReport } from '../../workshop/report.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');
// Made when a test of this file runs (not at collection, so a filtered run leaves nothing behind).
const temp = tempFolder('workshop');

async function workshop(env: Record<string, string>, args: string[] = ['--json']) {
  return execa('npm', ['run', '-s', 'workshop', '--', ...args], {
    env: { ARTIFACTS_DIR: join(temp.path, 'artifacts'), GITHUB_STEP_SUMMARY: '', WORKSHOP_LABS: '', WORKSHOP_CHAPTER: '', ...env },
    extendEnv: true, reject: false,
  });
}

/** The 1-based line of the fence just before the first line equal to `marker` (found without the parser). */
function fenceBefore(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.indexOf(marker);
  if (i < 1) throw new Error(`marker not found: ${marker}`);
  expect(lines[i - 1]).toBe('```');
  return i; // the fence is at 0-based i-1, i.e. 1-based i
}

function findingsOf(r: JsonReport, block: string) {
  return r.findings.filter((f) => f.block === block).map((f) => `${f.severity}: ${f.message}`);
}

describe('npm run workshop: a clean chapter', () => {
  const repo = join(WORKSHOPS, 'clean');
  const page = join(repo, 'content/labs-chapters/05-leaving-the-mesh.md');
  let r: Awaited<ReturnType<typeof workshop>>;
  let report: JsonReport;
  let summary = '';
  beforeAll(async () => {
    summary = join(temp.path, 'summary.md');
    writeFileSync(summary, '## earlier step\n');
    r = await workshop({ WORKSHOP_REPO: repo, WORKSHOP_LABS: join(repo, 'labs'), GITHUB_STEP_SUMMARY: summary });
    report = JSON.parse(r.stdout) as JsonReport;
  });

  test('exit 0; the JSON has exactly the documented shape; the chapter found by its title', () => {
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Object.keys(report)).toEqual(['chapter', 'labs', 'notes', 'blocks', 'findings']);
    expect(report.chapter).toEqual({ file: 'content/labs-chapters/05-leaving-the-mesh.md', commit: null });
    expect(report.labs).toEqual({ commit: null });
    expect(report.notes).toContain(`WORKSHOP_LABS=${join(repo, 'labs')} is not a git checkout: no commit recorded`);
    for (const b of report.blocks) expect(Object.keys(b)).toEqual(['id', 'file', 'line', 'kind', 'policy']);
    // Every finding names its line (in the chapter, or in the labs file it names as `file`).
    for (const f of report.findings) expect(Object.keys(f).filter((k) => k !== 'file')).toEqual(['block', 'line', 'severity', 'message']);
  });

  test('stable ids by step, exact opening-fence lines, kinds and policies; commented blocks are not there', () => {
    expect(report.blocks.map((b) => [b.id, b.line, b.kind, b.policy])).toEqual([
      ['05-leaving-the-mesh#step1.1', fenceBefore(page, 'kubectl apply -f <(istioctl kube-inject -f $WORKSHOP_HOME/istio-workshop-labs/client.yaml)'), 'command', 'run'],
      ['05-leaving-the-mesh#step2.1', fenceBefore(page, 'kubectl exec -it client -n default -- sh'), 'command', 'translate'],
      ['05-leaving-the-mesh#step2.2', fenceBefore(page, 'telnet REDIS_ADDR 6379'), 'command', 'translate'],
      ['05-leaving-the-mesh#step2.3', fenceBefore(page, '# telnet 192.0.2.7 6379'), 'output', 'output'],
      ['05-leaving-the-mesh#step3.1', fenceBefore(page, 'apiVersion: networking.istio.io/v1'), 'yaml', 'skip'],
      ['05-leaving-the-mesh#step3.2', fenceBefore(page, 'kubectl apply -f $WORKSHOP_HOME/istio-workshop-labs/store-entry.yaml'), 'command', 'run'],
      ['05-leaving-the-mesh#step3.3', fenceBefore(page, 'telnet 192.0.2.7 6379'), 'output', 'output'],
    ]);
    // The commented-out `kubectl run --generator` and `helm init` produced nothing.
    expect(JSON.stringify(report.findings)).not.toMatch(/generator|helm init/);
  });

  test('only the interactive shell is reported (a warning); the labs copy equals the block shown', () => {
    expect(report.findings).toEqual([
      { block: '05-leaving-the-mesh#step2.1', line: 23, severity: 'warning', message: expect.stringMatching(/^line 23: interactive \(-it\): needs a terminal; translated/) },
    ]);
  });

  test('the Markdown report goes to ARTIFACTS_DIR and is appended to the job summary', () => {
    const md = readFileSync(join(temp.path, 'artifacts', 'workshop-report.md'), 'utf8');
    expect(md).toContain('| `05-leaving-the-mesh#step3.1` (content/labs-chapters/05-leaving-the-mesh.md:49) | yaml | skip | ok |');
    expect(md).toContain('| `05-leaving-the-mesh#step2.1` (content/labs-chapters/05-leaving-the-mesh.md:22) | command | translate | warning (1) |');
    expect(readFileSync(summary, 'utf8')).toBe(`## earlier step\n${md}`);
    // The command says where the report went, last, on stderr (stdout is the JSON).
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`workshop: the report with every block is in ${join(temp.path, 'artifacts', 'workshop-report.md')}`);
  });

  test('the text report names placeholders, outcomes and the skipped comment blocks', async () => {
    const text = await workshop({ WORKSHOP_REPO: repo, WORKSHOP_LABS: join(repo, 'labs') }, []);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/05-leaving-the-mesh#step2\.2 .* placeholders REDIS_ADDR/);
    expect(text.stdout).toMatch(/05-leaving-the-mesh#step2\.3 .* outcome of 05-leaving-the-mesh#step2\.2; expects connected/);
    expect(text.stdout).toMatch(/05-leaving-the-mesh#step3\.1 .* placeholders REDIS_ENDPOINT/);
    expect(text.stdout).toContain('2 block(s) inside HTML comments are not part of the chapter and were skipped (fences at lines 38, 42)');
    expect(text.stdout).toContain(`WORKSHOP_REPO=${repo} is not a git checkout: no commit recorded`);
  });
});

describe('npm run workshop: commands of older releases', () => {
  const repo = join(WORKSHOPS, 'commands');
  let r: Awaited<ReturnType<typeof workshop>>;
  let report: JsonReport;
  beforeAll(async () => {
    r = await workshop({ WORKSHOP_REPO: repo });
    report = JSON.parse(r.stdout) as JsonReport;
  });
  const id = (s: string) => `02-egress#${s}`;

  test('exit 1 when a finding is an error', () => {
    expect(r.exitCode).toBe(1);
  });
  test('gcloud redis instances create: unknown flags, --redis-version against Memorystore\'s list, --size, --region', () => {
    expect(findingsOf(report, id('step1.1'))).toEqual([
      'error: line 14: gcloud redis instances create has no flag --tiers',
      'error: line 14: --redis-version=redis_9_9 is not a Memorystore version; valid values: redis_3_2, redis_4_0, redis_5_0, redis_6_x, redis_7_0, redis_7_2',
    ]);
    expect(findingsOf(report, id('step1.2'))).toEqual([
      'error: line 19: --size=0 must be a whole number of GiB, at least 1',
      'error: line 19: gcloud redis instances create needs --region',
    ]);
  });
  test('kubectl run --generator and kubectl exec without "--" are errors; the current form is not', () => {
    expect(findingsOf(report, id('step2.1'))).toEqual([
      expect.stringMatching(/^error: line 25: kubectl run --generator was removed in kubectl 1\.21/),
      'warning: line 25: interactive (-i --tty): needs a terminal; translated to the probe in the same place',
    ]);
    expect(findingsOf(report, id('step2.2'))[0]).toMatch(/^error: line 29: "kubectl exec POD COMMAND" without "--" was removed in kubectl 1\.31 .*; write kubectl exec -it -n default client -- sh$/);
    expect(findingsOf(report, id('step2.3'))).toEqual([]);
  });
  test('Helm 2: helm init, --name and install/kubernetes/helm chart paths', () => {
    expect(findingsOf(report, id('step3.1'))).toEqual(['error: line 39: helm init was removed in Helm 3 (no Tiller); nothing to initialise']);
    expect(findingsOf(report, id('step3.2'))).toEqual([
      expect.stringMatching(/^error: line 43: helm --name was removed in Helm 3/),
      expect.stringMatching(/^error: line 43: \$WORKSHOP_HOME\/istio-\$ISTIO_VERSION\/install\/kubernetes\/helm\/istio: Istio's Helm 2 charts/),
    ]);
  });
  test('helm --set keys against the mesh\'s names: the workshop\'s typo is an error, the real keys are not', () => {
    expect(findingsOf(report, id('step3.3'))).toEqual([
      'error: line 47: --set global.outboundTrafficPolicymode: the istiod chart has no value global.outboundTrafficPolicymode (did you mean meshConfig.outboundTrafficPolicy.mode?); Helm ignores values no template reads, so this changes nothing',
    ]);
    expect(findingsOf(report, id('step3.4'))).toEqual([]);
    // The istiod chart has no global.outboundTrafficPolicy (that was Istio 1.4's Helm 2 chart).
    expect(findingsOf(report, id('step3.5'))).toEqual([expect.stringMatching(/^error: line 55: --set global\.outboundTrafficPolicy\.mode: the istiod chart has no value global\.outboundTrafficPolicy \(did you mean meshConfig\.outboundTrafficPolicy\.mode\?\)/)]);
    expect(findingsOf(report, id('step3.6'))).toEqual(['error: line 59: --set meshConfig.outboundTrafficPolicy.mode=DENY_ALL: valid values are ALLOW_ANY, REGISTRY_ONLY']);
    // The `--set=key=value` spelling is read too.
    expect(findingsOf(report, id('step3.7'))).toEqual([expect.stringMatching(/^error: line 63: --set global\.outboundTrafficPolicymode: the istiod chart has no value global\.outboundTrafficPolicymode/)]);
  });
  test('policies: gcloud is environment, interactive kubectl translate, the mesh-mode step intent, Helm installs environment', () => {
    const policy = Object.fromEntries(report.blocks.map((b) => [b.id, b.policy]));
    expect(policy).toEqual({
      [id('step1.1')]: 'environment', [id('step1.2')]: 'environment',
      [id('step2.1')]: 'translate', [id('step2.2')]: 'translate', [id('step2.3')]: 'run',
      [id('step3.1')]: 'environment', [id('step3.2')]: 'environment',
      [id('step3.3')]: 'intent', [id('step3.4')]: 'intent', [id('step3.5')]: 'intent', [id('step3.6')]: 'intent', [id('step3.7')]: 'intent',
    });
  });
});

describe('npm run workshop: manifests and labs files', () => {
  const repo = join(WORKSHOPS, 'manifests');
  let report: JsonReport;
  let exitCode: number | undefined;
  beforeAll(async () => {
    const r = await workshop({ WORKSHOP_REPO: repo, WORKSHOP_LABS: join(repo, 'labs') });
    exitCode = r.exitCode;
    report = JSON.parse(r.stdout) as JsonReport;
  });
  const id = (s: string) => `07-egress#${s}`;

  test('strict schemas: an unknown field is an error (the Gateway\'s servers[].addresses)', () => {
    expect(exitCode).toBe(1);
    // With an istioctl at hand, its validate's confirmation is appended to the message.
    expect(findingsOf(report, id('step2.1'))).toContainEqual(expect.stringMatching(/^error: Gateway store-gateway \(networking\.istio\.io\/v1\): unknown field "spec\.servers\[0\]\.addresses" \(strict field validation refuses it\)( \[confirmed by istioctl validate: .*\])?$/));
  });
  test('API versions: v1alpha3 where v1 exists is a warning, one no longer served an error', () => {
    expect(findingsOf(report, id('step1.1'))).toEqual(['warning: ServiceEntry store (networking.istio.io/v1alpha3): networking.istio.io/v1alpha3 is deprecated: ServiceEntry is served as networking.istio.io/v1 (since Istio 1.22)']);
    expect(findingsOf(report, id('step3.1'))).toEqual(['error: ClusterRoleBinding store-admin (rbac.authorization.k8s.io/v1beta1): rbac.authorization.k8s.io/v1beta1 is no longer served since Kubernetes 1.22; use rbac.authorization.k8s.io/v1']);
  });
  test('drift: the labs copy differs from the block shown; the error carries the diff', () => {
    const drift = findingsOf(report, id('step1.2'))[0]!;
    expect(drift.split('\n')).toEqual(expect.arrayContaining([
      'error: istio-workshop-labs/store-entry.yaml differs from the block the reader was shown (07-egress#step1.1):',
      '-  - number: 6379',
      '+  - number: 6380',
    ]));
    expect(drift).toContain('--- chapter content/mesh/07-egress.md:');
  });
  test('a labs file the chapter applies but the labs checkout lacks is an error', () => {
    expect(findingsOf(report, id('step3.2'))).toEqual([expect.stringMatching(/^error: line 77: applies istio-workshop-labs\/not-there\.yaml, which is not in WORKSHOP_LABS=/)]);
  });
  test('a Gateway no VirtualService binds is a warning (traffic bypasses it)', () => {
    expect(findingsOf(report, id('step2.1'))).toContainEqual(expect.stringMatching(/^warning: Gateway store-gateway: no VirtualService of the chapter binds it \(spec\.gateways\), so no traffic is routed through it; the sidecars still connect straight to the destination\. Fix: a VirtualService with gateways: \[mesh, store-gateway\]/));
  });
  test('output with no command before it is a warning; a fragment is skipped without schema findings', () => {
    expect(report.blocks[0]).toMatchObject({ id: id('top.1'), kind: 'output', policy: 'output' });
    expect(findingsOf(report, id('top.1'))).toEqual(['warning: shows an outcome (closed) but no command comes before it']);
    expect(report.blocks.find((b) => b.id === id('step4.1'))).toMatchObject({ kind: 'yaml', policy: 'skip' });
    expect(findingsOf(report, id('step4.1'))).toEqual([]);
  });
  test('without WORKSHOP_LABS the applied files are named as not checked (warning)', async () => {
    const a = await analyse({ repo, labs: undefined, chapter: undefined });
    expect(a.findings.filter((f) => f.block === id('step1.2'))).toEqual([
      { block: id('step1.2'), severity: 'warning', line: 35, message: 'line 35: applies istio-workshop-labs/store-entry.yaml; WORKSHOP_LABS is not set, so it is neither validated nor compared with the chapter' },
    ]);
  });
  test('the Markdown report shows a failing block as written, with its findings', async () => {
    const md = toMarkdown(await analyse({ repo, labs: join(repo, 'labs'), chapter: undefined }));
    expect(md).toContain('| `07-egress#step2.1` (content/mesh/07-egress.md:40) | yaml | skip | FAIL (1 error) |');
    expect(md).toMatch(/### `07-egress#step2\.1` \(content\/mesh\/07-egress\.md:40\), yaml, policy skip\n\nPolicy: a manifest no command of the chapter applies\.\n\nPlaceholders: `REDIS_ENDPOINT`\.\n\nAs written:\n\n```\napiVersion: networking\.istio\.io\/v1\nkind: Gateway\n/);
    expect(md).toContain('- **error**: Gateway store-gateway (networking.istio.io/v1): unknown field "spec.servers[0].addresses"');
  });
});

describe('npm run workshop: settings and refusals', () => {
  test('WORKSHOP_REPO unset: exit 2 naming the setting', async () => {
    const r = await workshop({ WORKSHOP_REPO: '' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/WORKSHOP_REPO is not set; valid values: the path of a checkout/);
  });
  test('a WORKSHOP_CHAPTER that is not there: exit 2 naming the setting', async () => {
    const r = await workshop({ WORKSHOP_REPO: join(WORKSHOPS, 'clean'), WORKSHOP_CHAPTER: 'content/nope.md' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/WORKSHOP_CHAPTER=content\/nope\.md is not a file under WORKSHOP_REPO=/);
  });
  test('two pages with the title: the choice is asked for', () => {
    const dir = join(temp.path, 'two');
    cpSync(join(WORKSHOPS, 'clean'), dir, { recursive: true });
    cpSync(join(dir, 'content/labs-chapters/05-leaving-the-mesh.md'), join(dir, 'content/labs-chapters/06-again.md'));
    expect(() => findChapter(dir)).toThrow(/several pages .* have the title "Egress Gateway" .*; set WORKSHOP_CHAPTER to one of them/);
  });
});

describe('commits and the golden inventory (temporary git repositories)', () => {
  const git = (dir: string, ...args: string[]) => execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...args]);
  const page = 'content/labs-chapters/05-leaving-the-mesh.md';
  let dir: string;
  let first: string;
  beforeAll(async () => {
    dir = join(temp.path, 'git-workshop');
    cpSync(join(WORKSHOPS, 'clean'), dir, { recursive: true });
    await git(dir, 'init', '-q');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'first');
    first = (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
  });

  test('the checkout\'s commit is recorded (read with git rev-parse, nothing written)', async () => {
    const status = async () => (await git(dir, 'status', '--porcelain', '--ignored')).stdout;
    const before = await status();
    const r = await workshop({ WORKSHOP_REPO: dir, WORKSHOP_LABS: join(dir, 'labs') });
    expect((JSON.parse(r.stdout) as JsonReport).chapter).toEqual({ file: page, commit: first });
    expect(await status()).toBe(before);
  });

  test('new, edited and removed blocks against the inventory, with the diff from the pinned commit', async () => {
    const golden = join(temp.path, 'golden.json');
    const a = await analyse({ repo: dir, labs: join(dir, 'labs'), chapter: undefined });
    writeFileSync(golden, JSON.stringify(inventoryOf(first, a.chapter.file, a.blocks)));
    expect((await analyse({ repo: dir, labs: join(dir, 'labs'), chapter: undefined, golden })).findings.filter((f) => /pinned/.test(f.message))).toEqual([]);

    const path = join(dir, page);
    const text = readFileSync(path, 'utf8')
      .replace('telnet REDIS_ADDR 6379', 'telnet REDIS_ADDR 6380')
      .replace('```\ntelnet 192.0.2.7 6379\nConnected to 192.0.2.7\n```\n', '')
      .concat('\n4. Look at the routes:\n\n```\nistioctl proxy-config routes client -n default\n```\n');
    writeFileSync(path, text);
    await git(dir, 'commit', '-qam', 'second');

    const b = await analyse({ repo: dir, labs: join(dir, 'labs'), chapter: undefined, golden });
    const changes = b.findings.filter((f) => /pinned workshop commit/.test(f.message));
    expect(changes.map((f) => [f.block, f.message.split('\n')[0]])).toEqual([
      ['05-leaving-the-mesh#step2.2', `edited since the pinned workshop commit ${first.slice(0, 12)}:`],
      ['05-leaving-the-mesh#step4.1', `new block since the pinned workshop commit ${first.slice(0, 12)} (command, policy run); review it and regenerate the inventory`],
      ['05-leaving-the-mesh#step3.3', `removed since the pinned workshop commit ${first.slice(0, 12)} (was output, policy output)`],
    ]);
    expect(changes[0]!.message.split('\n')).toEqual(expect.arrayContaining(['-telnet REDIS_ADDR 6379', '+telnet REDIS_ADDR 6380']));
    expect(b.notes).toContain(`the checkout is at ${(await git(dir, 'rev-parse', 'HEAD')).stdout.trim().slice(0, 12)}, the golden inventory at ${first.slice(0, 12)} (helpers/run/pins.ts workshopCommit)`);
  });
});

describe('the chapter parser', () => {
  test('front matter blanked, not cut: lines stay the file\'s; fences in list items and in comments', () => {
    const md = [
      '+++', 'title = "Egress Gateway"', '+++', '', '## Setup', '', '```', 'kubectl get pods', '```', '',
      '1. First:', '', '   ```', '   kubectl get ns', '   ```', '', '<!--', '```', 'helm init', '```', '-->', '',
      '2. Second', '', '```', 'kubectl get svc', '```', '',
    ].join('\n');
    const c = parseChapter(md, 'content/x/09-page.md');
    expect(c.title).toBe('Egress Gateway');
    expect(c.blocks.map((b) => [b.id, b.line, b.endLine, b.text])).toEqual([
      ['09-page#setup.1', 7, 9, 'kubectl get pods\n'],
      ['09-page#step1.1', 13, 15, 'kubectl get ns\n'],
      ['09-page#step2.1', 25, 27, 'kubectl get svc\n'],
    ]);
    expect(c.commented).toEqual([18]);
  });
  test('repeated step numbers continue the count (ids stay unique)', () => {
    const c = parseChapter('1. a\n\n```\nx\n```\n\n1. b\n\n```\ny\n```\n', 'p.md');
    expect(c.blocks.map((b) => b.id)).toEqual(['p#step1.1', 'p#step1.2']);
  });
});

describe('the golden inventory of the pinned workshop', () => {
  test('taken at the pinned commit; ids unique; hashes only (no text)', async () => {
    const { pins } = await import('../../helpers/run/pins.ts');
    const { readGolden } = await import('../../workshop/inventory.ts');
    const g = readGolden();
    expect(g.commit).toBe(pins.workshopCommit);
    expect(g.chapter).toBe('content/09-traffic-management/08-egress-gateway.md');
    expect(new Set(g.blocks.map((b) => b.id)).size).toBe(g.blocks.length);
    for (const b of g.blocks) expect(Object.keys(b)).toEqual(['id', 'sha256', 'kind', 'policy']);
    expect(g.blocks.find((b) => b.id === '08-egress-gateway#step6.1')).toMatchObject({ kind: 'command', policy: 'intent' });
    expect(g.blocks.find((b) => b.id === '08-egress-gateway#step9.1')).toMatchObject({ kind: 'yaml', policy: 'skip' });
  });
});

describe('npm run plan with WORKSHOP_REPO: the chapter\'s blocks and their policies', () => {
  const repo = join(WORKSHOPS, 'clean');
  const plan = (env: Record<string, string>, args: string[]) =>
    execa('npm', ['run', '-s', 'plan', '--', ...args], { env: { WORKSHOP_LABS: '', WORKSHOP_CHAPTER: '', ...env, DOCKER_HOST: 'unix:///nonexistent.sock' }, reject: false });

  test('--json has a workshop section with every block in order', async () => {
    const r = await plan({ WORKSHOP_REPO: repo, WORKSHOP_LABS: join(repo, 'labs') }, ['--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as { workshop?: { file: string; blocks: { id: string; line: number; policy: string; reason: string }[] } };
    expect(p.workshop?.file).toBe('content/labs-chapters/05-leaving-the-mesh.md');
    expect(p.workshop?.blocks.map((b) => `${b.id} ${b.policy}`)).toEqual([
      '05-leaving-the-mesh#step1.1 run', '05-leaving-the-mesh#step2.1 translate', '05-leaving-the-mesh#step2.2 translate',
      '05-leaving-the-mesh#step2.3 output', '05-leaving-the-mesh#step3.1 skip', '05-leaving-the-mesh#step3.2 run', '05-leaving-the-mesh#step3.3 output',
    ]);
    expect(p.workshop?.blocks[4]?.reason).toBe('shown to the reader; 05-leaving-the-mesh#step3.2 applies istio-workshop-labs/store-entry.yaml, checked equal to it');
  });
  test('the text form lists them after the steps; without WORKSHOP_REPO there is no such section', async () => {
    const withRepo = await plan({ WORKSHOP_REPO: repo }, []);
    expect(withRepo.stdout).toMatch(/Workshop chapter content\/labs-chapters\/05-leaving-the-mesh\.md at \(not a git checkout\)\n {2}05-leaving-the-mesh#step1\.1 +line 16 +command +run /);
    const without = await plan({ WORKSHOP_REPO: '' }, ['--json']);
    expect(JSON.parse(without.stdout)).not.toHaveProperty('workshop');
  });
});

describe('the reader on a chapter of misses (issue 23): every group found, at its line', () => {
  test('commands as written, mesh-mode keys, YAML that does not parse, no apiVersion, Istio\'s rules, drift, an unclosed fence', async () => {
    const repo = join(WORKSHOPS, 'misses');
    const a = await analyse({ repo, labs: join(repo, 'labs'), chapter: undefined });
    const step = (s: string) => `09-egress#${s}`;
    expect(a.blocks.map((b) => [b.id, b.kind, b.policy])).toEqual([
      [step('step1.1'), 'command', 'intent'], [step('step2.1'), 'command', 'intent'], [step('step3.1'), 'command', 'translate'],
      [step('step4.1'), 'command', 'run'], [step('step5.1'), 'yaml', 'skip'], [step('step6.1'), 'yaml', 'skip'], [step('step7.1'), 'yaml', 'skip'],
      [step('step7.2'), 'command', 'run'], [step('step8.1'), 'command', 'run'],
    ]);
    const found = (block: string, pattern: RegExp) => a.findings.filter((f) => f.block === step(block) && pattern.test(f.message)).map((f) => [f.severity, f.line, f.file]);
    expect(found('step1.1', /meshConfig\.outboundTrafficPolicymode: MeshConfig has no field .*did you mean meshConfig\.outboundTrafficPolicy\.mode/)).toEqual([['error', 14, undefined]]);
    expect(found('step2.1', /the istiod chart has no value global\.outboundTrafficPolicy \(did you mean meshConfig\.outboundTrafficPolicy\.mode\?\)/)).toEqual([['error', 21, undefined]]);
    expect(found('step3.1', /interactive \(-it\)/)).toEqual([['warning', 27, undefined]]);
    expect(found('step4.1', /^here-document of line 33: ServiceEntry store: port tcp-store is named for TCP but declares protocol HTTP/)).toEqual([['error', 34, undefined]]);
    expect(found('step4.1', /resolution DNS without endpoints: .*store\.domain resolves nowhere/)).toEqual([['error', 34, undefined]]);
    expect(found('step4.1', /location MESH_INTERNAL .*MESH_EXTERNAL/)).toEqual([['error', 34, undefined]]);
    expect(found('step5.1', /^line 62: the YAML does not parse \(BAD_INDENT/)).toEqual([['error', 62, undefined]]);
    expect(found('step6.1', /no apiVersion.*VirtualService is apiVersion: networking\.istio\.io\/v1/)).toEqual([['error', 70, undefined]]);
    expect(found('step7.1', /selector \{istio: egress\} matches no gateway.*istio-egressgateway's labels are app: istio-egressgateway, istio: egressgateway/)).toEqual([['error', 84, undefined]]);
    expect(found('step7.2', /differs from the block the reader was shown \(09-egress#step7\.1\)/)).toEqual([['error', 101, undefined]]);
    expect(found('step7.2', /selector \{istio: egress\}/)).toEqual([['error', 1, 'istio-workshop-labs/gateway.yaml']]);
    expect(found('step8.1', /the fence ``` opened here is never closed/)).toEqual([['error', 106, undefined]]);
    expect(a.findings.filter((f) => f.line === undefined)).toEqual([]);
  });
});
