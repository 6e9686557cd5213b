/**
 * The pure logic of `images/tools/build-tools.ts`: version ldflags, the stamp that decides a
 * rebuild, the wrapper go.mod reading and the command line. No Go and no Docker needed.
 */
import { describe, expect, test } from 'vitest';
import { pins } from '../../helpers/run/pins.ts';
import {
  computeStamp,
  etcdLdflags,
  goBuildArgs,
  goVersionProblem,
  infoFile,
  isStampedFile,
  kindLdflags,
  kubeLdflags,
  kwokLdflags,
  linkerFlags,
  majorMinor,
  parseArgs,
  parseModuleOrigin,
  requiredVersion,
  shellQuote,
  stampedArgs,
  tail,
  TOOL_NAMES,
  TOOLS,
  UNKNOWN_BUILD_DATE,
  versionLine,
  type StampInputs,
} from '../../images/tools/go-builds.ts';

const KUBE = { version: 'v1.36.1', time: '2026-05-12T09:51:33Z', commit: '756939600b9a7180fc2df6550a4585b638875e67' };

describe('kubeLdflags', () => {
  test('sets every version variable in component-base and in client-go', () => {
    const flags = kubeLdflags(KUBE);
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      expect(flags).toContain(`-X ${pkg}.gitVersion=v1.36.1`);
      expect(flags).toContain(`-X ${pkg}.gitMajor=1`);
      expect(flags).toContain(`-X ${pkg}.gitMinor=36`);
      expect(flags).toContain(`-X ${pkg}.gitCommit=${KUBE.commit}`);
      expect(flags).toContain(`-X ${pkg}.gitTreeState=clean`);
      expect(flags).toContain(`-X ${pkg}.buildDate=2026-05-12T09:51:33Z`);
    }
    expect(flags).toHaveLength(12);
  });

  test('without a known commit leaves gitCommit alone and uses the fixed build date', () => {
    const flags = kubeLdflags({ version: 'v1.37.2' });
    expect(flags.some((f) => f.includes('gitCommit'))).toBe(false);
    expect(flags).toContain(`-X k8s.io/component-base/version.buildDate=${UNKNOWN_BUILD_DATE}`);
    expect(flags).toContain('-X k8s.io/client-go/pkg/version.gitMinor=37');
  });

  test('refuses a version that is not semantic', () => {
    expect(() => kubeLdflags({ version: '1.36' })).toThrow(/not a semantic version/);
  });
});

describe('majorMinor', () => {
  test.each([
    ['v1.36.1', '1', '36'],
    ['v1.38.0-beta.0', '1', '38'],
    ['v0.8.0+incompatible', '0', '8'],
  ])('%s', (version, major, minor) => {
    expect(majorMinor(version)).toEqual({ major, minor });
  });

  test.each(['1.36.1', 'v1.36', 'vx.y.z', ''])('refuses %j', (version) => {
    expect(() => majorMinor(version)).toThrow();
  });
});

describe('the other tools’ ldflags', () => {
  test('etcd: the short commit when known, nothing otherwise', () => {
    expect(etcdLdflags({ version: 'v3.6.16', commit: 'abcdef0123456789abcdef0123456789abcdef01' })).toEqual(['-X go.etcd.io/etcd/api/v3/version.GitSHA=abcdef0']);
    expect(etcdLdflags({ version: 'v3.6.16' })).toEqual([]);
  });

  test('kwok: none (its source holds the version at a tag)', () => {
    expect(kwokLdflags({ version: 'v0.8.0', commit: 'c'.repeat(40) })).toEqual([]);
  });

  test('kind: the commit only', () => {
    expect(kindLdflags({ version: 'v0.32.0', commit: 'c'.repeat(40) })).toEqual([`-X sigs.k8s.io/kind/pkg/cmd/kind/version.gitCommit=${'c'.repeat(40)}`]);
    expect(kindLdflags({ version: 'v0.32.0' })).toEqual([]);
  });

  test('linkerFlags strips symbols and then adds the version flags, as one argument', () => {
    expect(linkerFlags(TOOLS.kind, { version: 'v0.32.0', commit: 'c'.repeat(40) })).toBe(`-s -w -X sigs.k8s.io/kind/pkg/cmd/kind/version.gitCommit=${'c'.repeat(40)}`);
    expect(linkerFlags(TOOLS.kwok, { version: 'v0.8.0' })).toBe('-s -w');
  });
});

describe('TOOLS', () => {
  test('one spec per tool name; one wrapper folder per upstream module (Istio\'s three commands share one)', () => {
    expect(Object.keys(TOOLS).sort()).toEqual([...TOOL_NAMES].sort());
    for (const name of TOOL_NAMES) expect(TOOLS[name].name).toBe(name);
    const byDir = new Map<string, Set<string>>();
    for (const n of TOOL_NAMES) byDir.set(TOOLS[n].dir, (byDir.get(TOOLS[n].dir) ?? new Set()).add(TOOLS[n].module));
    for (const modules of byDir.values()) expect(modules.size).toBe(1);
    expect([...byDir.keys()].sort()).toEqual(['etcd', 'istio', 'kind', 'kubernetes', 'kwok']);
  });

  test('Istio\'s commands: the build tags of its Makefile, the version ldflags, their own folder, and the CRDs beside the tools', () => {
    expect(goBuildArgs(TOOLS['pilot-agent'], { version: 'v0' }, 'out')).toEqual(expect.arrayContaining(['-tags', 'vtprotobuf,disable_pgv,agent']));
    expect(goBuildArgs(TOOLS.istioctl, { version: 'v0' }, 'out')).toEqual(expect.arrayContaining(['-tags', 'vtprotobuf,disable_pgv']));
    expect(goBuildArgs(TOOLS.kube, { version: 'v1.36.1' }, 'out')).not.toContain('-tags');
    expect(linkerFlags(TOOLS.istioctl, { version: 'v0' })).toContain(`-X istio.io/istio/pkg/version.buildVersion=${pins.istioBuild.version}`);
    expect(linkerFlags(TOOLS.istioctl, { version: 'v0' })).toContain(`-X istio.io/istio/pkg/version.buildGitRevision=${pins.istioBuild.commit}`);
    expect(TOOLS['pilot-discovery'].outDir).toBe(`../istio/${pins.istioBuild.version}/bin`);
    expect(TOOLS.istioctl.data).toEqual([{ to: 'istio-crds.yaml', from: ['manifests/charts/base/files/crd-all.gen.yaml'] }]);
    expect(TOOLS.kwok.data?.[0]?.to).toBe('kwok-stages.yaml');
  });

  test('the control plane is one binary linked under the three component names', () => {
    expect(TOOLS.kube.links).toEqual(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    expect(TOOLS.kube.links).not.toContain(TOOLS.kube.binary);
  });

  test('expected versions: etcd prints no leading v, the others do', () => {
    expect(TOOLS.etcd.expectedVersion({ version: 'v3.6.16' })).toBe('3.6.16');
    expect(TOOLS.kube.expectedVersion(KUBE)).toBe('v1.36.1');
    expect(TOOLS.kind.expectedVersion({ version: 'v0.32.0' })).toBe('v0.32.0');
  });

  test('goBuildArgs: trimpath, readonly modules, the output, the package last', () => {
    const args = goBuildArgs(TOOLS.etcd, { version: 'v3.6.16' }, '/out/etcd');
    expect(args).toEqual(['build', '-trimpath', '-mod=readonly', '-ldflags', '-s -w', '-o', '/out/etcd', 'go.etcd.io/etcd/server/v3']);
  });
});

describe('requiredVersion', () => {
  const goMod = [
    '// comment require k8s.io/kubernetes v9.9.9',
    'module egress-verify/images/kubernetes',
    '',
    'go 1.26.0',
    '',
    'require (',
    '\tgithub.com/spf13/cobra v1.10.2',
    '\tk8s.io/kubernetes v1.36.1 // the build',
    ')',
    '',
    'require sigs.k8s.io/kind v0.32.0',
    '',
    'replace (',
    '\tk8s.io/api => k8s.io/api v0.36.1',
    ')',
    'replace k8s.io/client-go => k8s.io/client-go v0.36.2',
  ].join('\n');

  test('finds a module in a require block and on a require line', () => {
    expect(requiredVersion(goMod, 'k8s.io/kubernetes')).toBe('v1.36.1');
    expect(requiredVersion(goMod, 'sigs.k8s.io/kind')).toBe('v0.32.0');
  });

  test('ignores replace lines, comments and prefixes of other paths', () => {
    expect(requiredVersion(goMod, 'k8s.io/api')).toBeUndefined();
    expect(requiredVersion(goMod, 'k8s.io/client-go')).toBeUndefined();
    expect(requiredVersion(goMod, 'k8s.io/kube')).toBeUndefined();
  });
});

describe('parseModuleOrigin', () => {
  // What `go mod download -json` prints: no Time; Origin only when the proxy knows the commit.
  const download = JSON.stringify({
    Path: 'k8s.io/kubernetes', Version: 'v1.36.1', Info: '/cache/k8s.io/kubernetes/@v/v1.36.1.info', Dir: '/x',
    Origin: { VCS: 'git', Hash: KUBE.commit, Ref: 'refs/tags/v1.36.1' },
  });
  const info = JSON.stringify({ Version: 'v1.36.1', Time: KUBE.time, Origin: { VCS: 'git', Hash: KUBE.commit } });

  test('version and commit from the download JSON, time from the .info file', () => {
    expect(parseModuleOrigin(download, info)).toEqual(KUBE);
    expect(infoFile(download)).toBe('/cache/k8s.io/kubernetes/@v/v1.36.1.info');
  });

  test('without the .info file there is no time', () => {
    expect(parseModuleOrigin(download)).toEqual({ version: 'v1.36.1', commit: KUBE.commit });
  });

  test('the commit may come from the .info file alone', () => {
    const bare = JSON.stringify({ Version: 'v1.36.1', Info: '/i' });
    expect(parseModuleOrigin(bare, info)).toEqual(KUBE);
  });

  test('no Origin: no commit; a malformed hash or time is dropped', () => {
    expect(parseModuleOrigin('{"Version":"v3.6.16"}', '{"Version":"v3.6.16","Time":"2026-10-22T22:52:36Z"}')).toEqual({ version: 'v3.6.16', time: '2026-10-22T22:52:36Z' });
    expect(parseModuleOrigin('{"Version":"v3.6.16","Origin":{"Hash":"short"}}', '{"Time":"yesterday"}')).toEqual({ version: 'v3.6.16' });
    expect(infoFile('{"Version":"v3.6.16"}')).toBeUndefined();
  });

  test('go’s Error field and a missing Version are errors', () => {
    expect(() => parseModuleOrigin('{"Path":"x","Error":"unknown revision v9"}')).toThrow('unknown revision v9');
    expect(() => parseModuleOrigin('{"Path":"x"}')).toThrow(/no Version/);
    expect(() => parseModuleOrigin('null')).toThrow(/not an object/);
    expect(() => parseModuleOrigin('{"Version":"v1.0.0"}', '[]')).toThrow(/v1\.0\.0\.info: not an object/);
  });
});

describe('computeStamp', () => {
  const base = (): StampInputs => ({
    files: new Map([['go.mod', 'module a\n'], ['go.sum', 'x h1:abc\n'], ['main.go', 'package main\n']]),
    goArgs: ['build', '-trimpath', '-ldflags', '-s -w', '.'],
    env: { CGO_ENABLED: '0' },
    goVersion: 'go1.26.8',
  });

  test('is a sha-256 hex digest, the same for the same inputs', () => {
    expect(computeStamp(base())).toMatch(/^[0-9a-f]{64}$/);
    expect(computeStamp(base())).toBe(computeStamp(base()));
  });

  test('does not depend on the order the files were read in', () => {
    const reversed = base();
    reversed.files = new Map([...base().files].reverse());
    expect(computeStamp(reversed)).toBe(computeStamp(base()));
  });

  test.each<[string, (i: StampInputs) => void]>([
    ['go.sum changes', (i) => (i.files as Map<string, string>).set('go.sum', 'x h1:abd\n')],
    ['go.mod changes', (i) => (i.files as Map<string, string>).set('go.mod', 'module b\n')],
    ['a .go file is added', (i) => (i.files as Map<string, string>).set('tools.go', '')],
    ['a file is renamed', (i) => {
      const m = i.files as Map<string, string>;
      m.set('cmd.go', m.get('main.go')!);
      m.delete('main.go');
    }],
    ['ldflags change', (i) => (i.goArgs = ['build', '-trimpath', '-ldflags', '-s -w -X a.b=c', '.'])],
    ['the Go version changes', (i) => (i.goVersion = 'go1.26.9')],
    ['the build environment changes', (i) => (i.env = { CGO_ENABLED: '1' })],
    ['text moves from one file to the next', (i) => {
      const m = i.files as Map<string, string>;
      m.set('go.mod', 'module a\nx');
      m.set('go.sum', ' h1:abc\n');
    }],
  ])('changes when %s', (_what, change) => {
    const changed = base();
    change(changed);
    expect(computeStamp(changed)).not.toBe(computeStamp(base()));
  });
});

describe('stamp helpers', () => {
  test('stampedArgs drops -o and its value only', () => {
    expect(stampedArgs(['build', '-o', '/tmp/x.123', '-trimpath', '.'])).toEqual(['build', '-trimpath', '.']);
    expect(stampedArgs(['build', '.'])).toEqual(['build', '.']);
  });

  test.each([
    ['go.mod', true], ['go.sum', true], ['main.go', true], ['tools.go', true],
    ['README.md', false], ['go.work', false], ['main.go.orig', false],
  ])('isStampedFile(%s) is %s', (name, stamped) => {
    expect(isStampedFile(name)).toBe(stamped);
  });
});

describe('goVersionProblem', () => {
  test.each(['go1.26.0', 'go1.26.8', 'go1.27rc1', 'go2.0', 'devel go1.27-abcdef'])('%s is enough', (v) => {
    expect(goVersionProblem(v)).toBeUndefined();
  });

  test.each([['go1.25.7', /found go1\.25\.7, need Go >= 1\.26/], ['go1.9', /need Go >= 1\.26/], ['garbage', /cannot read/]])('%s is not', (v, why) => {
    expect(goVersionProblem(v)).toMatch(why);
  });
});

describe('parseArgs', () => {
  test('no arguments builds everything, in the fixed order', () => {
    expect(parseArgs([])).toEqual({ kind: 'build', only: ['kube', 'etcd', 'kwok', 'kind', 'istioctl', 'pilot-discovery', 'pilot-agent'] });
  });

  test('--only LIST and --only=LIST, in the fixed order whatever the order given', () => {
    expect(parseArgs(['--only', 'kind,etcd'])).toEqual({ kind: 'build', only: ['etcd', 'kind'] });
    expect(parseArgs(['--only=kwok'])).toEqual({ kind: 'build', only: ['kwok'] });
    expect(parseArgs(['--only', 'kube', '--only', 'kind'])).toEqual({ kind: 'build', only: ['kube', 'kind'] });
  });

  test('--help wins', () => {
    expect(parseArgs(['--only', 'kube', '--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-h'])).toEqual({ kind: 'help' });
  });

  test('a bad --only value names the flag, the bad value and the valid ones', () => {
    const r = parseArgs(['--only', 'kube,kubectl']);
    expect(r.kind).toBe('error');
    if (r.kind !== 'error') return;
    expect(r.message).toContain('--only');
    expect(r.message).toContain('"kubectl"');
    expect(r.message).not.toContain('"kube"');
    expect(r.message).toContain('kube, etcd, kwok, kind');
    expect(r.message).not.toContain('\n');
  });

  test.each([[['--only']], [['--only=']], [['--only', ' ']]])('%j: --only needs a value', (argv) => {
    expect(parseArgs(argv)).toEqual({ kind: 'error', message: expect.stringMatching(/^--only needs a value; valid: kube, etcd, kwok, kind/) });
  });

  test('an unknown argument is an error naming it', () => {
    expect(parseArgs(['--force'])).toEqual({ kind: 'error', message: expect.stringContaining('"--force"') });
  });
});

describe('output helpers', () => {
  test('shellQuote quotes only what the shell would split or expand', () => {
    expect(shellQuote(['go', 'build', '-ldflags', '-s -w -X a.b=c', '-o', '/x/y', '.'])).toBe("go build -ldflags '-s -w -X a.b=c' -o /x/y .");
    expect(shellQuote(["it's", '$HOME'])).toBe(`'it'\\''s' '$HOME'`);
    expect(shellQuote([''])).toBe("''");
  });

  test('tail keeps the last non-empty lines', () => {
    expect(tail('a\n\nb\nc\n\n', 2)).toBe('b\nc');
    expect(tail('only', 5)).toBe('only');
  });

  test('versionLine finds the version as a whole word', () => {
    expect(versionLine('etcd Version: 3.6.16\nGit SHA: abc\nGo Version: go1.26.8\n', '3.6.16')).toEqual({ line: 'etcd Version: 3.6.16', matches: true });
    expect(versionLine('Kubernetes v1.36.1\n', 'v1.36.1')).toEqual({ line: 'Kubernetes v1.36.1', matches: true });
    expect(versionLine('kind v0.32.0 go1.26.8 linux/amd64', 'v0.32.0').matches).toBe(true);
    expect(versionLine('Kubernetes v1.36.10\n', 'v1.36.1')).toEqual({ line: 'Kubernetes v1.36.10', matches: false });
    expect(versionLine('Kubernetes v1.36.1-dirty\n', 'v1.36.1').matches).toBe(false);
    expect(versionLine('kind v0.32.0-alpha+abc go1.26.8', 'v0.32.0').matches).toBe(false);
    expect(versionLine('kwok version v0.8.0.', 'v0.8.0').matches).toBe(true);
    expect(versionLine('etcd Version: 13.6.16', '3.6.16').matches).toBe(false);
    expect(versionLine('', 'v1').line).toBe('');
  });
});
