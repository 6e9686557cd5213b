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
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import {
  canonical, checkChapter, deprecatedApi, flagValue, gcloudFindings, helmChart, helmFindings, istioctlFindings, istiodValueProblem, kubectlFindings, labsReader,
  istioRules, manifestFindings, MESH_KEYS, operatorSetProblem, protocolOfName, SAMPLE_VALUES, substitute, yamlObjects, type Finding, type LabsReader, type Placed,
} from '../../workshop/check.ts';
import type { Manifest } from '../../workshop/schema.ts';
import { MEMORYSTORE_REDIS_VERSIONS } from '../../helpers/run/settings.ts';
import { classify } from '../../workshop/classify.ts';
import { parseChapter } from '../../workshop/parse.ts';
import { chapter, cmd } from './support.ts';

/*
 * A stand-in for workshop/schema.ts: the real one loads the TypeScript compiler (about a second
 * per import, for every mutant) and is tested with the schemas themselves in strict-fields and
 * workshop-reader tests. This one knows a few (apiVersion, kind) pairs, reports 'no-schema' for
 * the others, and an unknown field for every top-level key besides apiVersion, kind, metadata and
 * spec: enough to test what check.ts does with the problems (which object, which severity, which
 * prefix), not the schemas.
 */
vi.mock('../../workshop/schema.ts', () => {
  const known = new Set(['v1 Service', 'networking.istio.io/v1 Gateway', 'networking.istio.io/v1 VirtualService', 'networking.istio.io/v1 ServiceEntry',
    'security.istio.io/v1 AuthorizationPolicy', 'networking.istio.io/v1alpha3 Gateway', 'networking.istio.io/v1beta1 VirtualService',
    'networking.istio.io/v1alpha3 ServiceEntry', 'security.istio.io/v1beta1 AuthorizationPolicy', 'networking.istio.io/v1alpha3 NoV1Kind',
    'telemetry.istio.io/v1alpha1 Telemetry', 'apps/v1 Deployment', 'telemetry.istio.io/v1 Telemetry']);
  const knownKind = (apiVersion: string, kind: string) => known.has(`${apiVersion} ${kind}`);
  return {
    knownKind,
    strictProblems: async (objects: Record<string, unknown>[]) => objects.map((o) => (knownKind(String(o.apiVersion), String(o.kind))
      ? Object.keys(o).filter((k) => !['apiVersion', 'kind', 'metadata', 'spec'].includes(k)).map((k) => ({ kind: 'unknown-field', message: `unknown field "${k}"` }))
      : [{ kind: 'no-schema', message: `no schema for apiVersion ${String(o.apiVersion)} kind ${String(o.kind)}` }])),
  };
});

// check.ts needs only the Memorystore versions of helpers/run/settings.ts, whose import (its own
// imports: compat, kind, pins...) costs about a quarter of a second per mutant. The list as it
// is in settings.ts; settings-values.test.ts compares the two (importing settings.ts here, in a
// test, would make its import-time code count as covered by that test in mutation runs).
vi.mock('../../helpers/run/settings.ts', async () => ({
  MEMORYSTORE_REDIS_VERSIONS: (await import('./support.ts')).MEMORYSTORE_VERSIONS_OF_SETTINGS,
}));

const WORKSHOPS = join(import.meta.dirname, '..', 'workshops');


/** A finding's block and severity (the values it names are asserted one by one). */
function brief(f: Finding): [string, string] {
  return [f.block, f.severity];
}

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
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] }, bogus: 1 };
    const f = await manifestFindings('b3', [gateway, service]);
    expect(f.map(brief)).toEqual([['b3', 'warning'], ['b3', 'error']]);
    expect(f[0]!.message).toContain('Gateway g (networking.istio.io/v1alpha3)');
    expect(f[0]!.message).toContain('networking.istio.io/v1 ');
    expect(f[1]!.message).toContain('Service s (v1)');
    expect(f[1]!.message).toContain('"bogus"');
  });
  test('deprecatedApi: networking/security v1alpha3 and v1beta1 of a kind v1 serves', () => {
    expect(deprecatedApi('networking.istio.io/v1beta1', 'VirtualService')).toContain('networking.istio.io/v1 ');
    expect(deprecatedApi('networking.istio.io/v1alpha3', 'ServiceEntry')).toContain('networking.istio.io/v1alpha3 ');
    expect(deprecatedApi('security.istio.io/v1beta1', 'AuthorizationPolicy')).toContain('security.istio.io/v1 ');
    for (const [api, kind] of [
      ['networking.istio.io/v1', 'Gateway'], ['networking.istio.io/v1alpha3', 'NoSuchKind'], ['networking.istio.io/v1alpha3', 'NoV1Kind'], ['xnetworking.istio.io/v1alpha3', 'Gateway'],
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
    // Today's charts and IstioOperator read meshConfig.outboundTrafficPolicy.mode: the fix to suggest for any misspelling.
    expect(near('--set', 'global.outboundTrafficPolicymode=REGISTRY_ONLY')).toBe('meshConfig.outboundTrafficPolicy.mode');
    expect(near('--set=meshConfig.outboundTrafficPolicymode=REGISTRY_ONLY')).toBe('meshConfig.outboundTrafficPolicy.mode');
    expect(near('--set', 'Global.OutboundTrafficPolicy.Mode=ALLOW_ANY')).toBe('meshConfig.outboundTrafficPolicy.mode');
    expect(near('--set', 'x.outbound=1')).toBe('meshConfig.outboundTrafficPolicy.mode');
    expect(near('--set', 'x.OUTBOUND')).toBe('meshConfig.outboundTrafficPolicy.mode');
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

describe('check: boundaries', () => {
  test('every occurrence of a shell variable is substituted', () => {
    expect(substitute('$ZONE_ID ${ZONE_ID} $ZONE_ID', SAMPLE_VALUES)).toBe('us-central1-a us-central1-a us-central1-a');
  });
  test('a value flag at the end of kubectl exec takes an empty value', () => {
    expect(kubectlFindings('b', cmd(1, 'kubectl', 'exec', 'pod', 'ls', '-c'))[0]!.message).toContain('write kubectl exec -c  pod -- ls');
  });
  test('the valid values are listed', () => {
    expect(helmFindings('b', cmd(1, 'helm', '--set', 'meshConfig.outboundTrafficPolicy.mode=X'))[0]!.message).toContain('ALLOW_ANY, REGISTRY_ONLY');
    expect(helmFindings('b', cmd(1, 'helm', '--set', '=outbound'))).toEqual([]);
    const v = gcloudFindings('b', cmd(1, 'gcloud', 'redis', 'instances', 'create', 's', '--region=r', '--redis-version=x'));
    expect(v[0]!.message).toContain(MEMORYSTORE_REDIS_VERSIONS.join(', '));
  });
  test('the instance name: the first word not after a bare --flag', () => {
    const f = (...w: string[]) => gcloudFindings('b', cmd(1, 'gcloud', 'redis', 'instances', 'create', ...w)).length;
    expect(f('--labels=a--b', 'Bad', '--region=r')).toBe(1);
    expect(f('--size=1', 'Bad', '--region=r')).toBe(1);
  });
  test('every tool\'s findings in a block; a `$ ` prompt is checked like the plain command; a transcript (# prompt), output and fragments are not', async () => {
    const blocks = classify(chapter([1, 'kubectl run --generator=x y'], [4, '$ kubectl run --generator=x y\nok\n'], [8, 'Error: boom\n'], [11, 'spec:\n  name: f\n'], [14, '# kubectl run --generator=x y\nok\n']));
    expect((await checkChapter(blocks, () => undefined, undefined)).map(brief)).toEqual([['p#b1', 'error'], ['p#b2', 'error']]);
  });
  test('a YAML block shown for nothing is not compared with a labs file', async () => {
    const blocks = classify(chapter([1, 'spec:\n  a: 1\n'], [5, 'kubectl apply -f istio-workshop-labs/b.yaml']));
    const f = await checkChapter(blocks, (p) => (p === 'b.yaml' ? 'apiVersion: example.com/v1\nkind: Widget\n' : undefined), undefined);
    expect(f.map(brief)).toEqual([['p#b2', 'error']]);
    expect(f[0]!.message.startsWith('istio-workshop-labs/b.yaml: ')).toBe(true);
  });
  test('an output block without an outcome and without a command is not reported', async () => {
    expect(await checkChapter(classify(chapter([1, 'plain\n'])), () => undefined, undefined)).toEqual([]);
  });
  test('gateways: bound only by a VirtualService\'s list; not by fragments or other kinds', async () => {
    const y = (kind: string, name: string, spec = '') => `apiVersion: example.com/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${spec}`;
    const blocks = classify(chapter(
      [1, y('Gateway', 'm')], [7, y('Gateway', 'dr')], [13, y('Gateway', 'frag')],
      [19, y('VirtualService', 'v1', 'spec:\n  gateways: mesh\n')], [26, y('VirtualService', 'v2')],
      [31, y('DestinationRule', 'd', 'spec:\n  gateways: [dr]\n')], [38, 'kind: VirtualService\nspec:\n  gateways: [frag]\n'],
      [43, 'kind: Gateway\nmetadata:\n  name: fragment-gw\n'],
    ));
    const f = (await checkChapter(blocks, () => undefined, undefined)).filter((x) => x.severity === 'warning');
    expect(f.map((x) => [x.block, /Gateway (\S+):/.exec(x.message)?.[1]])).toEqual([['p#b1', 'm'], ['p#b2', 'dr'], ['p#b3', 'frag']]);
  });
});


describe('check: issue 23, each group of misses', () => {
  const none = () => undefined;
  const labs = (files: Record<string, string>): LabsReader => (p) => files[p];
  const se = (spec: string, name = 'store') => `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
  const rules = async (...texts: string[]) => (await checkChapter(classify(chapter(...texts.map((t, i): [number, string] => [1 + i * 40, t]))), none, undefined));

  test('YAML that does not parse: an error at its file line, in the chapter and in a labs file (no schema findings from a garbled object)', async () => {
    const bad = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: s\nspec:\n  hosts: [a]\n ports: []\n';
    const f = await rules(bad);
    expect(f.map((x) => [x.block, x.severity, x.line])).toEqual([['p#b1', 'error', 8]]);
    expect(f[0]!.message).toContain('line 8: the YAML does not parse (');
    const l = await checkChapter(classify(chapter([5, 'kubectl apply -f istio-workshop-labs/s.yaml'])), labs({ 's.yaml': `# labs\n${bad}` }), '/labs');
    expect(l.map((x) => [x.severity, x.line, x.file])).toEqual([['error', 8, 'istio-workshop-labs/s.yaml']]);
    expect(l[0]!.message).toContain('line 8 of istio-workshop-labs/s.yaml: the YAML does not parse');
  });
  test('a document without apiVersion is an error naming the version that serves its kind', async () => {
    const f = await rules('kind: Gateway\nmetadata:\n  name: g\nspec: {}\n');
    expect(f.map((x) => [x.severity, x.line])).toEqual([['error', 2]]);
    expect(f[0]!.message).toContain('no apiVersion');
    expect(f[0]!.message).toContain('Gateway is apiVersion: networking.istio.io/v1');
  });
  test('a here-document\'s manifest is checked like a block, at its own lines', async () => {
    const f = await rules(`kubectl apply -f - <<EOF\n${se('  hosts: [a]\n  ports:\n  - {number: 1, name: tcp-a, protocol: TCPX}\n')}EOF\n`);
    expect(f.map((x) => [x.block, x.severity, x.line])).toEqual([['p#b1', 'error', 3]]);
    expect(f[0]!.message).toContain('here-document of line 2: ServiceEntry store:');
    expect(f[0]!.message).toContain('"TCPX"');
  });
  test('ServiceEntry: protocols Istio refuses or that contradict the port name, bad addresses, endpoints with NONE', async () => {
    const f = await rules(se('  hosts: [redis.example.com]\n  addresses: [REDIS_IP, redis.internal]\n  ports:\n  - {number: 6379, name: tcp-redis, protocol: HTTP}\n  - {number: 1, name: Bad_Name, protocol: tcp}\n  - {number: 2, name: x, protocol: SMTP}\n  endpoints:\n  - address: 10.0.0.1\n'));
    const msgs = f.map((x) => x.message);
    expect(f.every((x) => x.severity === 'error' && x.line === 2)).toBe(true);
    expect(msgs).toEqual([
      expect.stringMatching(/port tcp-redis is named for TCP but declares protocol HTTP/),
      expect.stringMatching(/port name "Bad_Name" is not a DNS label/),
      expect.stringMatching(/protocol "SMTP" is not one Istio knows .*valid values: TCP, UDP, GRPC/),
      expect.stringMatching(/address "redis\.internal" is not an IP address/),
      expect.stringMatching(/resolution NONE \(the default\) takes no endpoints/),
    ]);
    expect(await rules(se('  hosts: [a.example.com]\n  addresses: [10.0.0.0/24]\n  ports:\n  - {number: 80, name: http-web, protocol: HTTP2}\n  - {number: 6379, name: redis, protocol: TCP}\n  location: MESH_EXTERNAL\n'))).toEqual([]);
    expect(protocolOfName('grpc-web-x')).toBe('GRPC-Web');
    expect(protocolOfName('tcp')).toBe('TCP');
    expect(protocolOfName('store')).toBeUndefined();
  });
  test('ServiceEntry: DNS without endpoints whose hosts resolve nowhere; MESH_INTERNAL for a service outside the mesh', async () => {
    const dns = await rules(se('  hosts: [redis.domain]\n  addresses: [REDIS_IP]\n  ports: [{number: 6379, name: tcp, protocol: TCP}]\n  resolution: DNS\n'));
    expect(dns.map((x) => x.severity)).toEqual(['error']);
    expect(dns[0]!.message).toContain('the host redis.domain');
    expect(dns[0]!.message).toContain('not to the addresses (192.0.2.10)');
    expect(await rules(se('  hosts: [redis.example.com]\n  ports: [{number: 6379, name: tcp, protocol: TCP}]\n  resolution: DNS\n'))).toEqual([]);
    expect(await rules(se('  hosts: [redis.domain]\n  ports: [{number: 6379, name: tcp, protocol: TCP}]\n  resolution: DNS\n  endpoints: [{address: REDIS_IP}]\n'))).toEqual([]);
    expect((await rules(se('  hosts: [redis]\n  ports: [{number: 6379, name: tcp, protocol: TCP}]\n  resolution: DNS_ROUND_ROBIN\n'))).length).toBe(1);
    const internal = await rules(se('  hosts: [redis.domain]\n  addresses: [REDIS_IP]\n  ports: [{number: 6379, name: tcp, protocol: TCP}]\n  location: MESH_INTERNAL\n'));
    expect(internal.map((x) => x.message)).toEqual([expect.stringContaining('location: MESH_EXTERNAL')]);
    expect(await rules(se('  hosts: [vm.mesh]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  endpoints: [{address: 10.0.0.2, labels: {app: vm}}]\n'))).toEqual([]);
  });
  test('Gateway selector and ports against the install; a VirtualService naming a Gateway that does not exist', async () => {
    const gw = (selector: string, port = 443, name = 'egress') => `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: ${name}\nspec:\n  selector: {${selector}}\n  servers:\n  - port: {number: ${port}, name: tls, protocol: TLS}\n    hosts: [a.example.com]\n`;
    const vs = (gateways: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: v\nspec:\n  hosts: [a.example.com]\n  gateways: [${gateways}]\n`;
    const nomatch = await rules(gw('istio: egress-gateway'), vs('mesh, egress'));
    expect(nomatch.map((x) => [x.block, x.severity])).toEqual([['p#b1', 'error']]);
    expect(nomatch[0]!.message).toContain('selector {istio: egress-gateway} matches no gateway');
    expect(nomatch[0]!.message).toContain('istio: egressgateway');
    const port = await rules(gw('istio: egressgateway', 6379), vs('mesh, egress'));
    expect(port.map((x) => [x.severity, x.message.includes('port 6379 is not a port of the istio-egressgateway Service')])).toEqual([['warning', true]]);
    expect(await rules(gw('istio: egressgateway', 8443), vs('mesh, istio-system/egress'))).toEqual([]);
    expect(await rules(gw('app: istio-ingressgateway', 15021), vs('egress'))).toEqual([]);
    // A pod of the chapter is a gateway too.
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: gw\n  labels: {role: my-gateway}\nspec: {}\n';
    // (The stand-in schema knows no Pod: its no-schema finding is left aside.)
    expect((await rules(gw('role: my-gateway', 6379), vs('egress'), pod)).filter((x) => !x.message.startsWith('Pod gw'))).toEqual([]);
    const missing = await rules(gw('istio: egressgateway'), vs('mesh, egres'));
    expect(missing.map((x) => [x.block, x.severity])).toEqual([['p#b2', 'error'], ['p#b1', 'warning']]);
    expect(missing[0]!.message).toContain('names the Gateway egres, which the chapter does not create');
    expect(missing[0]!.message).toContain('(did you mean egress?)');
    expect(missing[1]!.message).toContain('Fix: a VirtualService with gateways: [mesh, egress]');
  });
  test('helm --set against the chart it names: the istiod chart has no global.outboundTrafficPolicy', () => {
    const f = (...w: string[]) => helmFindings('b', cmd(3, 'helm', ...w));
    const g = f('upgrade', '--install', 'istiod', 'istio/istiod', '-n', 'istio-system', '--set', 'global.outboundTrafficPolicy.mode=REGISTRY_ONLY');
    expect(g.map((x) => [x.severity, x.line])).toEqual([['error', 3]]);
    expect(g[0]!.message).toContain('the istiod chart has no value global.outboundTrafficPolicy (did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(f('upgrade', 'istiod', 'istio/istiod', '--set', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY,env.X=1,global.proxy.privileged=true')).toEqual([]);
    expect(f('upgrade', 'istiod', 'istio/istiod', '--set', 'meshConfig.outboundTrafficPolicy.mode=DENY')[0]!.message).toContain('--set meshConfig.outboundTrafficPolicy.mode=DENY: valid values are ALLOW_ANY, REGISTRY_ONLY');
    expect(f('upgrade', 'istiod', 'istio/istiod', '--set', 'meshConfig.accesLogFile=/dev/stdout')[0]!.message).toContain('(did you mean meshConfig.accessLogFile?)');
    expect(f('upgrade', 'istiod', 'istio/istiod', '--set', 'meshconfig.x=1')[0]!.message).toContain('(did you mean meshConfig?)');
    expect(f('upgrade', 'istiod', 'istio/istiod', '--set', 'meshConfig.outboundTrafficPolicy.mod=ALLOW_ANY')[0]!.message).toContain('outboundTrafficPolicy has no field mod');
    // The chart is the second word after the subcommand (the first with --generate-name), flags and their values aside.
    expect(helmChart(['helm', 'install', '-n', 'istio-system', 'istiod', './charts/istio-discovery/'])).toBe('istio-discovery');
    expect(helmChart(['helm', 'install', '--generate-name', 'istio/istiod'])).toBe('istiod');
    expect(helmChart(['helm', 'template', 'istio/base'])).toBe('base');
    expect(helmChart(['helm', 'list'])).toBeUndefined();
    expect(f('upgrade', 'istio-base', 'istio/base', '--set', 'global.whatever=1')).toEqual([]);
    // The istiod chart's values are flat: pilot.* is the IstioOperator's values.pilot.*.
    expect(f('upgrade', 'istiod', 'istio/istiod', '--set', 'pilot.env.X=1')[0]!.message).toContain('the istiod chart has no value pilot');
  });
  test('istioctl install --set against the IstioOperator spec and MeshConfig', () => {
    const f = (...w: string[]) => istioctlFindings('b', cmd(7, 'istioctl', ...w));
    expect(f('install', '--set', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY', '--set', 'profile=demo', '-s', 'values.global.proxy.privileged=true', '--set', 'components.egressGateways[0].enabled=true')).toEqual([]);
    const typo = f('install', '--set', 'meshConfig.outboundTrafficPolicymode=REGISTRY_ONLY');
    expect(typo.map((x) => [x.severity, x.line])).toEqual([['error', 7]]);
    expect(typo[0]!.message).toContain('(did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(typo[0]!.message).toContain('does not check MeshConfig');
    const values = f('install', '--set', 'values.global.outboundTrafficPolicy.mode=REGISTRY_ONLY');
    expect(values[0]!.message).toContain('(did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(values[0]!.message).toContain('istioctl refuses it');
    expect(f('install', '--set', 'profile=demox')[0]!.message).toContain('--set profile=demox: valid values are ambient, default, demo');
    expect(f('install', '--set', 'componets.pilot.enabled=true')[0]!.message).toContain('(did you mean components?)');
    expect(f('install', '--set', 'components.gateway.enabled=true')[0]!.message).toContain('no component gateway');
    expect(f('install', '--set', 'values.meshConfig.outboundTrafficPolicy.mode=X')[0]!.message).toContain('valid values are ALLOW_ANY, REGISTRY_ONLY');
    expect(f('version', '--set', 'x=1')).toEqual([]);
    expect(operatorSetProblem('spec.meshConfig.accessLogFile', '/dev/stdout')).toBeUndefined();
    expect(istiodValueProblem('global.outboundTrafficPolicymode', 'x')).toContain('did you mean meshConfig.outboundTrafficPolicy.mode?');
  });
  test('drift is decided by the file applied and compares objects: reordered keys are the same, a rename on one side is drift', async () => {
    const shown = 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  a: 1\n  b: 2\n';
    const reordered = '# the labs copy\nkind: Widget\napiVersion: example.com/v1\nspec:\n  b: 2\n  a: 1\nmetadata:\n  name: w\n';
    const renamed = shown.replace('name: w', 'name: w2');
    const run = (labsText: string) => {
      const docs = () => yamlObjects(labsText);
      return checkChapter(classify(chapter([1, shown], [12, 'kubectl apply -f istio-workshop-labs/w.yaml']), docs), labs({ 'w.yaml': labsText }), '/labs');
    };
    expect((await run(reordered)).filter((x) => x.message.includes('differs from the block'))).toEqual([]);
    const drift = (await run(renamed)).filter((x) => x.message.includes('differs from the block'));
    expect(drift.map((x) => [x.block, x.line])).toEqual([['p#b2', 13]]);
    expect(drift[0]!.message).toContain('+  name: w2');
    expect(canonical({ b: [{ d: 1, c: 2 }], a: null })).toBe(canonical({ a: null, b: [{ c: 2, d: 1 }] }));
  });
  test('input that is not a chapter: no blocks is an error; an unclosed fence names its fence and lines', async () => {
    const empty = await checkChapter([], none, undefined);
    expect(empty.map((x) => [x.block, x.severity, x.line])).toEqual([['(page)', 'error', 1]]);
    const blocks = classify(chapter([4, 'kubectl get pods\n']));
    blocks[0]!.unclosed = { fence: '~~~' };
    const f = await checkChapter(blocks, none, undefined);
    expect(f.map((x) => [x.severity, x.line])).toEqual([['error', 4]]);
    expect(f[0]!.message).toContain('the fence ~~~ opened here is never closed, so lines 5-6');
  });
  test('every finding has a line', async () => {
    const blocks = classify(chapter(
      [1, 'Connected to x\n'], [4, 'kubectl exec -it a sh\nhelm init\ngcloud redis instances create s --size=0'],
      [9, 'kubectl apply -f istio-workshop-labs/a.yaml\nkubectl apply -f istio-workshop-labs/b.yaml'], [13, se('  hosts: [a]\n  ports: [{number: 1, name: a, protocol: X}]\n')],
    ));
    const f = await checkChapter(blocks, labs({ 'a.yaml': 'apiVersion: v9\nkind: Q\n' }), '/labs');
    expect(f.length).toBeGreaterThan(6);
    expect(f.filter((x) => !Number.isInteger(x.line) || x.line! < 1)).toEqual([]);
  });
});

describe('check: harmless edits give no finding (issue 23)', () => {
  const page = (yaml: string, fenceInfo = '', eol = '\n') => [
    '---', 'title: Egress Gateway', '---', '', '1. Declare the store:', '', `   \`\`\`${fenceInfo}`, ...yaml.trimEnd().split('\n').map((l) => `   ${l}`), '   ```', '',
    '2. Apply it:', '', '   ```', '   kubectl apply -f $WORKSHOP_HOME/istio-workshop-labs/store.yaml', '   ```', '',
  ].join(eol);
  const store = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: store\nspec:\n  hosts:\n  - store.example.com\n  addresses:\n  - REDIS_IP\n  ports:\n  - number: 6379\n    name: tcp-store\n    protocol: TCP\n  location: MESH_EXTERNAL\n';
  const findings = async (markdown: string) => {
    const files = { 'store.yaml': store };
    const blocks = classify(parseChapter(markdown, 'content/p.md'), (p) => (p in files ? yamlObjects(files[p as 'store.yaml']) : undefined));
    return (await checkChapter(blocks, (p) => files[p as 'store.yaml'], '/labs')).map((f) => f.message);
  };
  test('reordered keys, comments, a fence language, CRLF, a list written with deeper indentation: nothing to report', async () => {
    expect(await findings(page(store))).toEqual([]);
    const edits = [
      page(store.replace('  location: MESH_EXTERNAL\n', '').replace('spec:\n', 'spec:\n  location: MESH_EXTERNAL\n')),
      page(store.replace('  name: store\n', '  name: store # the store\n').replace('spec:', '# declared for the cart\nspec:')),
      page(store, 'yaml'),
      page(store, '', '\r\n'),
      page(store.replace('  hosts:\n  - store.example.com', '  hosts:\n    - store.example.com')),
    ];
    for (const md of edits) expect(await findings(md), md).toEqual([]);
  });
});

describe('check: edge by edge (mutation survivors)', () => {
  const labs = (files: Record<string, string>): LabsReader => (p) => files[p];
  const rules = async (...texts: string[]) => (await checkChapter(classify(chapter(...texts.map((t, i): [number, string] => [1 + i * 40, t]))), () => undefined, undefined));
  const widget = (name: string) => `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: ${name}\n`;
  const noSchema = 'no schema for apiVersion example.com/v1 kind Widget';
  const istio = (kind: string, name: string, spec: unknown, line = 1, extra: Partial<Placed> = {}): Placed => ({
    block: 'b', object: { apiVersion: 'networking.istio.io/v1', kind, metadata: { name }, spec } as Manifest, line, ...extra,
  });
  const messages = (fs: Finding[]) => fs.map((f) => f.message);

  test('manifestFindings: each object at its own line, else the first line, else line 1; in the file when one is given', async () => {
    const w = (name: string): Manifest => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name } });
    const at = (fs: Finding[]) => fs.map((f) => [f.line, f.file ?? 'chapter']);
    expect(at(await manifestFindings('b', [w('a')]))).toEqual([[1, 'chapter']]);
    expect(at(await manifestFindings('b', [w('a'), w('b')], '', { lines: [5, 9] }))).toEqual([[5, 'chapter'], [9, 'chapter']]);
    expect(at(await manifestFindings('b', [w('a'), w('b')], '', { lines: [5], file: 'f.yaml' }))).toEqual([[5, 'f.yaml'], [5, 'f.yaml']]);
  });
  test('an object whose kind is not a string is not checked as an object', async () => {
    expect(await rules('apiVersion: v1\nkind: 5\nmetadata:\n  name: x\n')).toEqual([]);
  });
  test('MeshConfig keys: the exact problem, or none', () => {
    expect(istiodValueProblem('meshConfig', 'x')).toBeUndefined();
    expect(istiodValueProblem('meshConfig.out.bound', '1')).toBe('MeshConfig has no field out');
    expect(istiodValueProblem('meshConfig.accesLogFile', 'x')).toBe('MeshConfig has no field accesLogFile (did you mean meshConfig.accessLogFile?)');
    expect(istiodValueProblem('meshConfig.outboundTrafficPolicyx', 'x')).toBe('MeshConfig has no field outboundTrafficPolicyx (did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(istiodValueProblem('meshConfig.accessLogFile.x', '1')).toBeUndefined();
    expect(istiodValueProblem('meshConfig.outboundTrafficPolicy', 'x')).toBeUndefined();
    expect(istiodValueProblem('meshConfig.outboundTrafficPolicy.egressProxy', 'x')).toBeUndefined();
    expect(istiodValueProblem('meshConfig.outboundTrafficPolicy.mod', 'x')).toBe('outboundTrafficPolicy has no field mod (did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(istiodValueProblem('meshConfig.outboundTrafficPolicy.mode', 'DENY')).toBe('valid values are ALLOW_ANY, REGISTRY_ONLY');
  });
  test('istiod chart values: the exact problem, or none', () => {
    expect(istiodValueProblem('zzzzzzzz', '1')).toBe('the istiod chart has no value zzzzzzzz');
    expect(istiodValueProblem('replicaCont', '1')).toBe('the istiod chart has no value replicaCont (did you mean replicaCount?)');
    expect(istiodValueProblem('global', 'x')).toBeUndefined();
    expect(istiodValueProblem('global.istioNamespac', 'x')).toBe('the istiod chart has no value global.istioNamespac (did you mean global.istioNamespace?)');
    expect(istiodValueProblem('global.zzzzzzzzzz', 'x')).toBe('the istiod chart has no value global.zzzzzzzzzz');
    expect(istiodValueProblem('global.outboundTrafficPolicy.mode', 'x')).toBe('the istiod chart has no value global.outboundTrafficPolicy (did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(istiodValueProblem('global.imagePullSecrets[0]', 'x')).toBeUndefined();
  });
  test('IstioOperator paths: the exact problem, or none', () => {
    expect(operatorSetProblem('zzzzzzzz', '1')).toBe('the IstioOperator spec has no field zzzzzzzz');
    expect(operatorSetProblem('meshConfig.accesLogFile', 'x')).toBe('MeshConfig has no field accesLogFile (did you mean meshConfig.accessLogFile?)');
    expect(operatorSetProblem('components', 'x')).toBeUndefined();
    expect(operatorSetProblem('components.gateway.enabled', 'true')).toBe('IstioOperator has no component gateway (components are base, pilot, cni, ztunnel, istiodRemote, ingressGateways, egressGateways)');
    expect(operatorSetProblem('values', 'x')).toBeUndefined();
    expect(operatorSetProblem('values.meshConfig.accesLogFile', 'x')).toBe('MeshConfig has no field accesLogFile (did you mean values.meshConfig.accessLogFile?)');
    expect(operatorSetProblem('values.zzzzzz', 'x')).toBe('the install\'s values have no zzzzzz');
    expect(operatorSetProblem('values.outboundTrafficPolicy.mode', 'x')).toBe('the install\'s values have no outboundTrafficPolicy (did you mean meshConfig.outboundTrafficPolicy.mode?)');
    expect(operatorSetProblem('values.pilot.zzzzzz', 'x')).toBeUndefined();
    expect(operatorSetProblem('values.global', 'x')).toBeUndefined();
    expect(operatorSetProblem('values.global.istioNamespac', 'x')).toBe('the install\'s values have no global.istioNamespac (did you mean values.global.istioNamespace?)');
    expect(operatorSetProblem('values.global.zzzzzzzzzz', 'x')).toBe('the install\'s values have no global.zzzzzzzzzz');
    expect(operatorSetProblem('values.global.outboundTrafficPolicy.mode', 'x')).toBe('the install\'s values have no global.outboundTrafficPolicy (did you mean meshConfig.outboundTrafficPolicy.mode?)');
  });
  test('helmChart: only install/upgrade/template, up to "--", -g like --generate-name, one positional only for template, trailing slashes dropped', () => {
    expect(helmChart(['helm', 'status', 'a', 'b'])).toBeUndefined();
    expect(helmChart(['helm', 'install', 'x', '--', 'y', 'z'])).toBeUndefined();
    expect(helmChart(['helm', 'install', '-g', 'istio/istiod'])).toBe('istiod');
    expect(helmChart(['helm', 'install', 'istio/istiod'])).toBeUndefined();
    expect(helmChart(['helm', 'template', 'rel', 'istio/istiod'])).toBe('istiod');
    expect(helmChart(['helm', 'install', 'istiod', './charts/istiod//'])).toBe('istiod');
  });
  test('helm findings: their messages, and the istio-discovery chart read as istiod', () => {
    expect(messages(helmFindings('b', cmd(5, 'helm', 'init')))).toEqual(['line 5: helm init was removed in Helm 3 (no Tiller); nothing to initialise']);
    expect(messages(helmFindings('b', cmd(6, 'helm', 'install', 'x', '--name=y')))).toEqual(['line 6: helm --name was removed in Helm 3; the release name is the first argument (helm install NAME CHART)']);
    expect(messages(helmFindings('b', cmd(3, 'helm', 'install', 'istiod', './charts/istio-discovery', '--set', 'zzzzzzzz=1'))))
      .toEqual(['line 3: --set zzzzzzzz: the istiod chart has no value zzzzzzzz; Helm ignores values no template reads, so this changes nothing']);
  });
  test('istioctl findings: the value shown only for value problems; MeshConfig field names are what istioctl does not check', () => {
    const f = (kv: string) => messages(istioctlFindings('b', cmd(7, 'istioctl', 'install', '--set', kv)));
    expect(f('meshConfig.outboundTrafficPolicy.mode=X')).toEqual(['line 7: --set meshConfig.outboundTrafficPolicy.mode=X: valid values are ALLOW_ANY, REGISTRY_ONLY; istioctl refuses it']);
    expect(f('zmeshConfig.x=1')).toEqual(['line 7: --set zmeshConfig.x: the IstioOperator spec has no field zmeshConfig (did you mean meshConfig?); istioctl refuses it']);
    expect(f('componets.pilot.enabled=true')).toEqual(['line 7: --set componets.pilot.enabled: the IstioOperator spec has no field componets (did you mean components?); istioctl refuses it']);
    expect(f('spec.meshConfig.accesLogFile=x')).toEqual(['line 7: --set spec.meshConfig.accesLogFile: MeshConfig has no field accesLogFile (did you mean meshConfig.accessLogFile?); istioctl does not check MeshConfig\'s field names, so it installs the mesh without this setting']);
  });
  test('a chapter\'s istioctl commands are checked', async () => {
    const f = await rules('istioctl install --set profile=demox');
    expect(f.map((x) => [x.block, x.severity, x.line])).toEqual([['p#b1', 'error', 2]]);
    expect(f[0]!.message).toContain('--set profile=demox: valid values are');
  });
  test('canonical: lists keep their order, objects are sorted', () => {
    expect(canonical([2, 1])).toBe('[2,1]');
    expect(canonical({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
  });
  test('incomplete documents: at their file line, in the chapter and in a labs file, with the version that serves the kind when one does', async () => {
    expect(messages(await rules('apiVersion: v1\nmetadata:\n  name: x\nspec: {}\n'))).toEqual(['line 2: a document with no kind: kubectl refuses an object without it']);
    expect(messages(await rules('kind: Widget\nmetadata:\n  name: w\n'))).toEqual(['line 2: a document with no apiVersion: kubectl refuses an object without it']);
    for (const [kind, api] of [['AuthorizationPolicy', 'security.istio.io/v1'], ['Service', 'v1'], ['Deployment', 'apps/v1'], ['Telemetry', 'telemetry.istio.io/v1'], ['Gateway', 'networking.istio.io/v1']]) {
      expect(messages(await rules(`kind: ${kind}\nmetadata:\n  name: n\n`)), kind).toEqual([`line 2: a document with no apiVersion: kubectl refuses an object without it; ${kind} is apiVersion: ${api}`]);
    }
    expect(messages(await rules('apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\nkind: Gateway\nmetadata:\n  name: g\n')))
      .toEqual(['line 7: a document with no apiVersion: kubectl refuses an object without it; Gateway is apiVersion: networking.istio.io/v1']);
    const l = await checkChapter(classify(chapter([5, 'kubectl apply -f istio-workshop-labs/x.yaml'])), labs({ 'x.yaml': '# c\nkind: Widget\nmetadata:\n  name: w\n' }), '/labs');
    expect(l.map((x) => [x.line, x.file, x.message])).toEqual([[2, 'istio-workshop-labs/x.yaml', 'istio-workshop-labs/x.yaml: line 2 of istio-workshop-labs/x.yaml: a document with no apiVersion: kubectl refuses an object without it']]);
  });
  test('objects of a block, a labs file and a here-document: findings at each object\'s file line', async () => {
    const block = await rules(`${widget('a')}---\n${widget('b')}`);
    expect(block.map((x) => [x.line, x.file, x.message])).toEqual([[2, undefined, `Widget a (example.com/v1): ${noSchema}`], [7, undefined, `Widget b (example.com/v1): ${noSchema}`]]);
    const later = await checkChapter(classify(chapter([10, `${widget('a')}---\n${widget('b')}`])), () => undefined, undefined);
    expect(later.map((x) => x.line)).toEqual([11, 16]);
    const file = await checkChapter(classify(chapter([5, 'kubectl apply -f istio-workshop-labs/b.yaml'])), labs({ 'b.yaml': `# c\n${widget('b')}` }), '/labs');
    expect(file.map((x) => [x.line, x.file])).toEqual([[2, 'istio-workshop-labs/b.yaml']]);
    const heredoc = await rules(`kubectl apply -f - <<EOF\n${widget('w')}EOF\n`);
    expect(heredoc.map((x) => [x.line, x.message])).toEqual([[3, `here-document of line 2: Widget w (example.com/v1): ${noSchema}`]]);
  });
  test('a command block is not read as YAML; the page without blocks says so', async () => {
    expect(await rules('echo status: ok\nkubectl get pods\n')).toEqual([]);
    expect(await rules('kubectl get pods\necho status: ok\n')).toEqual([]);
    expect((await checkChapter([], () => undefined, undefined))[0]!.message).toContain('the page has no code blocks');
  });
  test('a labs file or a shown block that does not parse is not compared', async () => {
    const bad = `${widget('w')} bad: 1\n`;
    const docs = () => [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }];
    const badLabs = classify(chapter([1, widget('w')], [8, 'kubectl apply -f istio-workshop-labs/a.yaml']), docs);
    expect(badLabs[0]!.shownFor).toBe('p#b2');
    const f = await checkChapter(badLabs, labs({ 'a.yaml': bad }), '/labs');
    expect(f.map((x) => [x.block, x.severity, x.line, x.file])).toEqual([['p#b1', 'error', 2, undefined], ['p#b2', 'error', 5, 'istio-workshop-labs/a.yaml']]);
    expect(f[1]!.message).toContain('the YAML does not parse');
    const badShown = classify(chapter([1, bad], [9, 'kubectl apply -f istio-workshop-labs/a.yaml']), () => []);
    expect(badShown[0]!.shownFor).toBe('p#b2');
    const g = await checkChapter(badShown, labs({ 'a.yaml': widget('w') }), '/labs');
    expect(g.map((x) => [x.block, x.line, x.file])).toEqual([['p#b1', 6, undefined], ['p#b2', 1, 'istio-workshop-labs/a.yaml']]);
    expect(g.filter((x) => x.message.includes('differs'))).toEqual([]);
  });
  test('a Gateway of a labs file that nothing binds: the warning is in the file', async () => {
    const gw = 'apiVersion: example.com/v1\nkind: Gateway\nmetadata:\n  name: lonely\n';
    const f = (await checkChapter(classify(chapter([1, 'kubectl apply -f istio-workshop-labs/g.yaml'])), labs({ 'g.yaml': `# c\n${gw}` }), undefined)).filter((x) => x.severity === 'warning');
    expect(f.map((x) => [x.block, x.line, x.file])).toEqual([['p#b1', 2, 'istio-workshop-labs/g.yaml']]);
  });
  test('port names: a grpc-web prefix only at the start', () => {
    expect(protocolOfName('x-grpc-web')).toBeUndefined();
    expect(protocolOfName('GRPC-Web-api')).toBe('GRPC-Web');
  });
  test('istioRules: the object\'s where, its file, and a name when there is none', () => {
    const bad = { hosts: ['a.example.com'], addresses: ['x'] };
    expect(istioRules([istio('ServiceEntry', 's', bad, 4)])).toEqual([{ block: 'b', severity: 'error', line: 4, message: 'ServiceEntry s: address "x" is not an IP address or CIDR block; istiod refuses it' }]);
    expect(istioRules([istio('ServiceEntry', 's', bad, 4, { file: 'istio-workshop-labs/s.yaml', where: 'istio-workshop-labs/s.yaml: ' })]))
      .toEqual([{ block: 'b', severity: 'error', line: 4, file: 'istio-workshop-labs/s.yaml', message: 'istio-workshop-labs/s.yaml: ServiceEntry s: address "x" is not an IP address or CIDR block; istiod refuses it' }]);
    const nameless: Placed = { block: 'b', object: { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', spec: bad }, line: 1 };
    expect(messages(istioRules([nameless]))).toEqual(['ServiceEntry (no name): address "x" is not an IP address or CIDR block; istiod refuses it']);
    const gw = istio('Gateway', 'g', { selector: { istio: 'nope' } }, 3, { file: 'istio-workshop-labs/g.yaml', where: 'here-document of line 2: ' });
    const g = istioRules([gw]);
    expect(g.map((x) => [x.line, x.file])).toEqual([[3, 'istio-workshop-labs/g.yaml']]);
    expect(g[0]!.message.startsWith('here-document of line 2: Gateway g: selector {istio: nope}')).toBe(true);
    expect(istioRules([istio('Gateway', 'g', { selector: { istio: 'nope' } })])[0]!.message.startsWith('Gateway g: selector')).toBe(true);
  });
  test('istioRules: only networking.istio.io objects; ServiceEntry rules only for ServiceEntries; a spec that is null is empty', () => {
    const other = (apiVersion: unknown): Placed => ({ block: 'b', object: { apiVersion, kind: 'Gateway', metadata: { name: 'g' }, spec: { selector: { istio: 'nope' } } } as Manifest, line: 1 });
    expect(istioRules([other('example.com/v1')])).toEqual([]);
    expect(istioRules([other(undefined)])).toEqual([]);
    expect(istioRules([istio('VirtualService', 'v', { hosts: ['a.example.com'], addresses: ['x'] })])).toEqual([]);
    expect(istioRules([istio('ServiceEntry', 's', null)])).toEqual([]);
  });
  test('ServiceEntry ports: no name and no protocol are fine; a protocol that is not a string is none; the contradiction says which way', () => {
    const ports = (...p: unknown[]) => messages(istioRules([istio('ServiceEntry', 's', { hosts: ['a.example.com'], ports: p, location: 'MESH_EXTERNAL' })]));
    expect(ports({ number: 80 })).toEqual([]);
    expect(ports({ number: 80, name: 'http', protocol: 443 })).toEqual([]);
    expect(ports({ number: 80, name: 'http-web', protocol: 'TCP' })).toEqual(['ServiceEntry s: port http-web is named for HTTP but declares protocol TCP: Istio uses the declared protocol, so the sidecar passes it on as raw TCP; make the name\'s prefix and the protocol agree']);
    expect(ports({ number: 6379, name: 'tcp-redis', protocol: 'http' })).toEqual(['ServiceEntry s: port tcp-redis is named for TCP but declares protocol http: Istio uses the declared protocol, so the sidecar parses the connection as HTTP; make the name\'s prefix and the protocol agree']);
  });
  test('ServiceEntry addresses: an IP, or an IP and a prefix length of digits only', () => {
    const f = istioRules([istio('ServiceEntry', 's', { hosts: ['a.example.com'], addresses: ['10.0.0.0/x', '10.0.0.0/x1', '10.0.0.0/1x', '10.0.0.0/24', '10.0.0.1', '::1'] })]);
    expect(messages(f)).toEqual(['10.0.0.0/x', '10.0.0.0/x1', '10.0.0.0/1x'].map((a) => `ServiceEntry s: address "${a}" is not an IP address or CIDR block; istiod refuses it`));
  });
  test('ServiceEntry DNS without endpoints: a two-label public name resolves; the message names the host and the addresses', () => {
    const dns = (hosts: string[], addresses?: string[]) => messages(istioRules([istio('ServiceEntry', 's', { hosts, ...(addresses ? { addresses } : {}), resolution: 'DNS' })]));
    expect(dns(['example.com'])).toEqual([]);
    expect(dns(['redis.local'])).toEqual(['ServiceEntry s: resolution DNS without endpoints: Envoy connects to what the host redis.local resolves to in DNS, and redis.local resolves nowhere (.local is not a public domain). Use resolution: STATIC with endpoints: [{address: ...}], or NONE']);
    expect(dns(['redis.local'], ['10.0.0.1', '10.0.0.2'])).toEqual(['ServiceEntry s: resolution DNS without endpoints: Envoy connects to what the host redis.local resolves to in DNS, not to the addresses (10.0.0.1, 10.0.0.2), which only select the traffic, and redis.local resolves nowhere (.local is not a public domain). Use resolution: STATIC with endpoints: [{address: ...}], or NONE']);
  });
  test('ServiceEntry MESH_INTERNAL: a workload selector, endpoint labels, a service account or a network say it is in the mesh', () => {
    const internal = (extra: Record<string, unknown>) => istioRules([istio('ServiceEntry', 's', { hosts: ['vm.example.com'], location: 'MESH_INTERNAL', resolution: 'STATIC', ...extra })]).length;
    expect(internal({ endpoints: [{ address: '10.0.0.1' }] })).toBe(1);
    expect(internal({ workloadSelector: { labels: { app: 'vm' } } })).toBe(0);
    expect(internal({ endpoints: [{ address: '10.0.0.1', labels: { app: 'vm' } }] })).toBe(0);
    expect(internal({ endpoints: [{ address: '10.0.0.1', serviceAccount: 'vm' }] })).toBe(0);
    expect(internal({ endpoints: [{ address: '10.0.0.1', network: 'vm-net' }] })).toBe(0);
  });
  test('Gateway selectors: a pod template\'s labels are the workload\'s (not the Deployment\'s own); every selector label must match', () => {
    const deployment = (own: Record<string, string>, pod: Record<string, string>): Placed => ({
      block: 'b', line: 1, object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', labels: own }, spec: { template: { metadata: { labels: pod } } } },
    });
    const gw = istio('Gateway', 'g', { selector: { role: 'gw' } });
    expect(istioRules([gw, deployment({}, { role: 'gw' })])).toEqual([]);
    expect(istioRules([gw, deployment({ role: 'gw' }, { role: 'other' })]).length).toBe(1);
    expect(istioRules([istio('Gateway', 'g', { selector: { istio: 'egressgateway', app: 'wrong' } })]).length).toBe(1);
    expect(istioRules([istio('Gateway', 'g', { servers: [{ port: { number: 6379 } }] })])).toEqual([]);
  });
  test('Gateway selectors that match nothing: the install\'s gateway they come near, if any', () => {
    const nomatch = (selector: Record<string, string>) => messages(istioRules([istio('Gateway', 'g', { selector })]))[0];
    const head = (shown: string) => `Gateway g: selector {${shown}} matches no gateway of the install (istio: egressgateway, istio: ingressgateway) nor any pod of the chapter, so no proxy serves this Gateway (istioctl analyze: IST0101)`;
    const egress = '; istio-egressgateway\'s labels are app: istio-egressgateway, istio: egressgateway';
    const ingress = '; istio-ingressgateway\'s labels are app: istio-ingressgateway, istio: ingressgateway';
    expect(nomatch({ istio: 'egress' })).toBe(head('istio: egress') + egress);
    expect(nomatch({ istio: 'my-egressgateway-x' })).toBe(head('istio: my-egressgateway-x') + egress);
    expect(nomatch({ istio: 'egresgateway' })).toBe(head('istio: egresgateway') + egress);
    expect(nomatch({ istio: 'ingress' })).toBe(head('istio: ingress') + ingress);
    expect(nomatch({ istio: 'foo' })).toBe(head('istio: foo'));
    expect(nomatch({ role: 'egressgateway' })).toBe(head('role: egressgateway'));
    expect(nomatch({ app: 'x', istio: 'egressgatewayy' })).toBe(head('app: x, istio: egressgatewayy') + egress);
  });
  test('a Gateway server port the install\'s Service does not expose: the ports it does', () => {
    const f = istioRules([istio('Gateway', 'g', { selector: { istio: 'egressgateway' }, servers: [{ port: { number: 6379 } }] })]);
    expect(f.map((x) => [x.severity, x.message])).toEqual([['warning', 'Gateway g: port 6379 is not a port of the istio-egressgateway Service (80->8080, 443->8443), so nothing reaches this server through it (istioctl analyze: IST0104); use one of those ports or add 6379 to the gateway\'s Service']]);
  });
  test('VirtualService gateways: in spec.gateways and in http, tcp and tls matches; only Gateways count; mesh and non-strings are skipped', () => {
    const vs = (spec: unknown) => messages(istioRules([istio('VirtualService', 'v', spec)]));
    const missing = (g: string) => `VirtualService v: names the Gateway ${g}, which the chapter does not create, so the routes bound to it apply nowhere (istioctl analyze: IST0101)`;
    expect(vs({ gateways: ['v'] })).toEqual([missing('v')]);
    expect(vs({ gateways: ['mesh', 5] })).toEqual([]);
    expect(vs({ http: [{ match: [{ gateways: ['gh'] }] }], tcp: [{ match: [{ gateways: ['gt'] }] }], tls: [{ match: [{ gateways: ['gs'] }] }] })).toEqual([missing('gh'), missing('gt'), missing('gs')]);
  });
});
