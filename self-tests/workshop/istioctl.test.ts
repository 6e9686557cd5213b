/**
 * workshop/istioctl.ts: where istioctl is found, which files it is given, how its analyze and
 * validate output becomes findings at the chapter's lines, and how a finding that confirms the
 * reader's own is folded into it. The last test runs the istioctl built from istio.io/istio
 * (`npm run tools:build`) over a small chapter; without it, that test is skipped with the reason.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { needTools } from '../plumbing/support.ts';
import { ROOT_DIR } from '../../helpers/run/manifests.ts';
import { pins } from '../../helpers/run/pins.ts';
import { checkChapter } from '../../workshop/check.ts';
import { classify } from '../../workshop/classify.ts';
import { analyzeFindings, findIstioctl, fold, istioctlReview, manifestFiles, validateFindings, type ManifestFile } from '../../workshop/istioctl.ts';
import { chapter } from './support.ts';

const BUILT = join(ROOT_DIR, '.tools', 'istio', pins.istioBuild.version, 'bin', 'istioctl');

describe('istioctl: where it is found', () => {
  test('ISTIOCTL_BIN first (and only), then PATH, then the build under TOOLS_DIR/../istio/<version>/bin', () => {
    const has = (...paths: string[]) => (p: string) => paths.includes(p);
    expect(findIstioctl({ ISTIOCTL_BIN: '/x/istioctl', PATH: '/bin' }, has('/x/istioctl', '/bin/istioctl'))).toEqual({ path: '/x/istioctl', source: 'ISTIOCTL_BIN' });
    expect(findIstioctl({ ISTIOCTL_BIN: '/x/istioctl', PATH: '/bin' }, has('/bin/istioctl'))).toBeUndefined();
    expect(findIstioctl({ PATH: '/a:/bin' }, has('/bin/istioctl'))).toEqual({ path: '/bin/istioctl', source: 'PATH' });
    const built = `/t/istio/${pins.istioBuild.version}/bin/istioctl`;
    expect(findIstioctl({ PATH: '/a', TOOLS_DIR: '/t/bin' }, has(built))).toEqual({ path: built, source: 'built by npm run tools:build' });
    expect(findIstioctl({ PATH: '' , TOOLS_DIR: '/t/bin' }, has())).toBeUndefined();
  });
});

describe('istioctl: its output as findings', () => {
  const files: ManifestFile[] = [
    { name: 'm1.yaml', block: 'p#b1', first: 11, text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs\n' },
    { name: 'm2.yaml', block: 'p#b2', first: 1, file: 'istio-workshop-labs/g.yaml', text: '# c\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n' },
  ];
  test('analyze: Error and Warning at the referenced line of the file\'s block; Info left out; unknown files left out', () => {
    const out = analyzeFindings([
      { code: 'IST0101', level: 'Error', message: 'Referenced gateway not found: "x"', origin: 'VirtualService default/vs', reference: '/tmp/d/m1.yaml:3' },
      { code: 'IST0132', level: 'Warning', message: 'w', origin: 'Gateway default/gw', reference: 'm2.yaml:2' },
      { code: 'IST0102', level: 'Info', message: 'i', origin: 'Namespace default', reference: 'm1.yaml:1' },
      { code: 'IST0106', level: 'Error', message: 'no reference', origin: 'Gateway gw' },
      { code: 'IST0106', level: 'Error', message: 'elsewhere', origin: 'Gateway other', reference: 'm9.yaml:1' },
    ], files);
    expect(out.map((x) => [x.finding.block, x.finding.severity, x.finding.line, x.finding.file, x.object, x.code])).toEqual([
      ['p#b1', 'error', 13, undefined, 'VirtualService vs', 'IST0101'],
      ['p#b2', 'warning', 2, 'istio-workshop-labs/g.yaml', 'Gateway gw', 'IST0132'],
      ['p#b2', 'error', 1, 'istio-workshop-labs/g.yaml', 'Gateway gw', 'IST0106'],
    ]);
    expect(out[0]!.finding.message).toBe('istioctl analyze IST0101: VirtualService default/vs: Referenced gateway not found: "x"');
  });
  test('validate: each refused object at its line', () => {
    const out = validateFindings('Error: 2 errors occurred:\n\t* Gateway//gw: cannot parse proto message: unknown field "addresses"\n\t* ServiceEntry/ns/nowhere: x\n', files);
    expect(out.map((x) => [x.finding.block, x.finding.line, x.finding.file, x.object])).toEqual([['p#b2', 2, 'istio-workshop-labs/g.yaml', 'Gateway gw']]);
    expect(out[0]!.finding.message).toContain('istioctl validate: Gateway gw (istio-workshop-labs/g.yaml): cannot parse proto message');
  });
  test('fold: a confirmation joins the reader\'s finding about the same object (its IST code first); the rest is returned', () => {
    const reader = [
      { block: 'p#b1', severity: 'warning' as const, line: 11, message: 'VirtualService vs (networking.istio.io/v1alpha3): deprecated' },
      { block: 'p#b1', severity: 'error' as const, line: 11, message: 'VirtualService vs: names the Gateway x (istioctl analyze: IST0101)\nmore' },
      { block: 'p#b2', severity: 'error' as const, line: 2, file: 'istio-workshop-labs/g.yaml', message: 'Gateway gw: unknown field' },
    ];
    const extra = [
      { object: 'VirtualService vs', code: 'IST0101', finding: { block: 'p#b1', severity: 'error' as const, line: 13, message: 'istioctl analyze IST0101: a' } },
      { object: 'Gateway gw', finding: { block: 'p#b2', severity: 'error' as const, line: 2, file: 'istio-workshop-labs/g.yaml', message: 'istioctl validate: b' } },
      { object: 'Gateway gw', finding: { block: 'p#b2', severity: 'error' as const, line: 2, message: 'istioctl validate: not the labs file' } },
      { object: 'Gateway zz', code: 'IST0104', finding: { block: 'p#b2', severity: 'warning' as const, line: 2, file: 'istio-workshop-labs/g.yaml', message: 'istioctl analyze IST0104: c' } },
    ];
    const rest = fold(reader, extra);
    expect(reader.map((r) => r.message)).toEqual([
      'VirtualService vs (networking.istio.io/v1alpha3): deprecated',
      'VirtualService vs: names the Gateway x (istioctl analyze: IST0101) [confirmed by istioctl analyze IST0101: a]\nmore',
      'Gateway gw: unknown field [confirmed by istioctl validate: b]',
    ]);
    expect(rest.map((r) => r.message)).toEqual(['istioctl validate: not the labs file', 'istioctl analyze IST0104: c']);
  });
  test('the files: manifest blocks, here-documents and labs files, substituted; a labs file equal to its block is left out', () => {
    const se = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: REDIS_IP\n';
    const blocks = classify(chapter([1, se], [7, 'kubectl apply -f istio-workshop-labs/a.yaml\nkubectl apply -f istio-workshop-labs/b.yaml'], [11, `kubectl apply -f - <<EOF\n${se}EOF`], [18, 'spec: {}\n']),
      (p) => (p === 'a.yaml' ? [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'REDIS_IP' } }] : undefined));
    const files = manifestFiles(blocks, (p) => ({ 'a.yaml': se, 'b.yaml': 'kind: X\n' } as Record<string, string>)[p]);
    expect(files.map((f) => [f.name, f.block, f.first, f.file])).toEqual([['m1.yaml', 'p#b1', 2, undefined], ['m2.yaml', 'p#b2', 1, 'istio-workshop-labs/b.yaml'], ['m3.yaml', 'p#b3', 13, undefined]]);
    expect(files[0]!.text).toContain('name: 192.0.2.10');
  });
});

describe('istioctl: the real one, built from istio.io/istio', () => {
  const skip = findIstioctl(process.env) ? undefined : `no istioctl (ISTIOCTL_BIN, PATH, or ${BUILT}): build it with npm run tools:build`;
  test('analyze and validate confirm the reader\'s findings at the chapter\'s lines', async (ctx) => {
    // Skipped with the reason when there is no istioctl; under REQUIRE_TOOLS=1 (CI) that fails.
    needTools(ctx, skip);
    const gw = 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: egress\nspec:\n  selector: {istio: egressgateway}\n  servers:\n  - port: {number: 443, name: tls, protocol: TLS}\n    hosts: [a.example.com]\n    addresses: [REDIS_IP]\n';
    const vs = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: v\nspec:\n  hosts: [a.example.com]\n  gateways: [mesh, egres]\n  tls:\n  - match: [{sniHosts: [a.example.com]}]\n    route: [{destination: {host: a.example.com}}]\n';
    const blocks = classify(chapter([10, gw], [30, vs]));
    const files = manifestFiles(blocks, () => undefined);
    const { findings, note } = await istioctlReview(findIstioctl(process.env)!.path, files);
    expect(note).toContain('2 manifest file(s)');
    const seen = findings.map((x) => [x.finding.block, x.finding.line, x.code ?? 'validate', x.object]);
    expect(seen).toContainEqual(['p#b1', 11, 'validate', 'Gateway egress']);
    expect(seen).toContainEqual(['p#b2', 37, 'IST0101', 'VirtualService v']);
    // Both are the reader's own findings too: folded in, nothing left over for these two.
    const reader = await checkChapter(blocks, () => undefined, undefined);
    const rest = fold(reader, findings.filter((x) => x.code === 'IST0101' || x.code === undefined));
    expect(rest).toEqual([]);
    expect(reader.filter((r) => r.message.includes('[confirmed by istioctl')).map((r) => r.block).sort()).toEqual(['p#b1', 'p#b2']);
  });
});
