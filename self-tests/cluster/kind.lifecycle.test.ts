/**
 * The kind cluster's safety rules against a STAND-IN for the kind CLI (a POSIX shell script
 * answering the commands helpers/cluster/kind.ts runs, as kind v0.32.0 does: `get clusters` prints one
 * name per line, `create cluster --kubeconfig PATH` writes only PATH, `get kubeconfig` prints
 * it): a cluster this run did not create is never touched unless reuse is asked, a reused or
 * kept one is never deleted, and a failed create is cleaned up.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { createClusterArgs, KindCluster } from '../../helpers/cluster/kind.ts';
import { standInCommand } from '../plumbing/support.ts';

const STAND_IN = `#!/bin/sh
# STAND-IN for kind (test only). State: $KS_DIR/clusters (one name per line); calls logged.
echo "$*" >> "$KS_DIR/calls"
name=""; kubeconfig=""; prev=""
for a in "$@"; do
  [ "$prev" = --name ] && name="$a"
  [ "$prev" = --kubeconfig ] && kubeconfig="$a"
  prev="$a"
done
case "$1 $2" in
  "get clusters") [ -f "$KS_DIR/clusters" ] && cat "$KS_DIR/clusters"; exit 0 ;;
  "get kubeconfig") printf 'apiVersion: v1\\nkind: Config\\ncurrent-context: kind-%s\\n' "$name"; exit 0 ;;
  "create cluster")
    printf 'Creating cluster "%s" ...\\n\\n ✓ Ensuring node image\\n' "$name" >&2
    if [ "$KS_CREATE_FAIL" = 1 ]; then echo "ERROR: failed to create cluster: node did not become ready" >&2; exit 1; fi
    echo "$name" >> "$KS_DIR/clusters"
    mkdir -p "$(dirname "$kubeconfig")"; printf 'apiVersion: v1\\nkind: Config\\n' > "$kubeconfig"; exit 0 ;;
  "delete cluster")
    if [ "$KS_DELETE_FAIL" = 1 ]; then echo "ERROR: failed to delete cluster" >&2; exit 1; fi
    [ -f "$KS_DIR/clusters" ] && grep -vx "$name" "$KS_DIR/clusters" > "$KS_DIR/rest"; mv -f "$KS_DIR/rest" "$KS_DIR/clusters" 2>/dev/null; exit 0 ;;
  "load docker-image"|"export logs") exit 0 ;;
esac
echo "ERROR: unknown command: $*" >&2; exit 2
`;

const kindStandIn = standInCommand('kind', STAND_IN);
let n = 0;

/** A stand-in state with these clusters already there; `calls()` lists what kind was asked. */
async function world(existing: string[] = [], createFails = false, deleteFails = false) {
  const dir = join(kindStandIn.dir, `w${++n}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  if (existing.length) await writeFile(join(dir, 'clusters'), `${existing.join('\n')}\n`);
  process.env.KS_DIR = dir;
  process.env.KS_CREATE_FAIL = createFails ? '1' : '0';
  process.env.KS_DELETE_FAIL = deleteFails ? '1' : '0';
  const calls = async () => (existsSync(join(dir, 'calls')) ? (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n') : []);
  const clusters = async () => (existsSync(join(dir, 'clusters')) ? (await readFile(join(dir, 'clusters'), 'utf8')).split('\n').filter(Boolean) : []);
  const kubeconfig = join(dir, 'out', 'run-1', 'kubeconfig');
  const cluster = () => new KindCluster(kindStandIn.path).withName('egress-verify').withConfig('/repo/kind-config.yaml')
    .withNodeImage('kindest/node:v1.36.1').withKubeconfig(kubeconfig).withWait('90s');
  return { dir, calls, clusters, kubeconfig, cluster };
}

afterAll(() => {
  delete process.env.KS_DIR;
  delete process.env.KS_CREATE_FAIL;
  delete process.env.KS_DELETE_FAIL;
});

/** Lines logged (stderr) while `fn` runs, without the time prefix. */
async function logsOf(fn: () => Promise<unknown>): Promise<string[]> {
  const logged: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logged.push(String(chunk).replace(/^\[egress-verify [0-9:]+\] /, '').trimEnd());
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return logged;
}

describe('kind cluster defaults and logging', () => {
  test('defaults: the suite\'s cluster name and config, kind waits 120 s, neither reused nor kept', () => {
    expect(new KindCluster(kindStandIn.path).options).toEqual({
      name: 'egress-verify', configPath: 'kind-config.yaml', nodeImage: '', kubeconfigPath: '', wait: '120s', reuse: false, keep: false,
    });
  });

  test('kind\'s progress lines are logged trimmed, blank ones dropped; reuse and keep say what happens', async () => {
    const w = await world();
    let started: Awaited<ReturnType<KindCluster['start']>> | undefined;
    expect(await logsOf(async () => { started = await w.cluster().keep(true).start(); })).toEqual([
      '  kind: Creating cluster "egress-verify" ...', '  kind: ✓ Ensuring node image',
    ]);
    expect(await logsOf(() => started!.stop())).toEqual([
      `KEEP_CLUSTER: kind cluster "egress-verify" kept; kubeconfig ${w.kubeconfig}; delete with: kind delete cluster --name egress-verify`,
    ]);
    const reused = await logsOf(async () => { started = await w.cluster().reuseExisting(true).start(); await started.stop(); });
    expect(reused).toEqual(['reusing kind cluster "egress-verify"', 'kind cluster "egress-verify" was reused: left as it is']);
  });

  test('a failed create whose cleanup also fails: the create\'s error is the one thrown', async () => {
    const w = await world([], true, true);
    await expect(w.cluster().start()).rejects.toThrow(/node did not become ready/);
    expect((await w.calls()).at(-1)).toMatch(/^delete cluster --name egress-verify/);
  });
});

describe('kind cluster lifecycle (kind CLI stand-in)', () => {
  test('without a node image or a kubeconfig path nothing is run', async () => {
    const w = await world();
    await expect(new KindCluster(kindStandIn.path).withKubeconfig(w.kubeconfig).start()).rejects.toThrow('KindCluster: withNodeImage() and withKubeconfig() are required');
    await expect(new KindCluster(kindStandIn.path).withNodeImage('kindest/node:v1.36.1').start()).rejects.toThrow(/are required/);
    expect(await w.calls()).toEqual([]);
  });

  test('a new cluster: created with the options given, deleted at the end with the same kubeconfig', async () => {
    const w = await world(['egress-verify-2', 'other']);
    const c = w.cluster();
    const started = await c.start();
    expect(started.created).toBe(true);
    expect(started.context).toBe('kind-egress-verify');
    expect(started.network).toBe('kind');
    expect(started.kubeconfigPath).toBe(w.kubeconfig);
    expect(await w.calls()).toEqual(['get clusters', createClusterArgs(c.options).join(' ')]);
    expect(c.options).toMatchObject({ wait: '90s', configPath: '/repo/kind-config.yaml', reuse: false, keep: false });
    await started.stop();
    expect((await w.calls()).at(-1)).toBe(`delete cluster --name egress-verify --kubeconfig ${w.kubeconfig}`);
    expect(await w.clusters()).toEqual(['egress-verify-2', 'other']);
  });

  test('KEEP_CLUSTER: the created cluster is left running', async () => {
    const w = await world();
    const started = await w.cluster().keep(true).start();
    await started.stop();
    expect((await w.calls()).some((c) => c.startsWith('delete'))).toBe(false);
    expect(await w.clusters()).toEqual(['egress-verify']);
  });

  test('a cluster of that name that this run did not create: refused, and never touched', async () => {
    const w = await world(['  egress-verify  ']);
    await expect(w.cluster().start()).rejects.toThrow('a kind cluster named "egress-verify" already exists and was not created by this run; set REUSE_CLUSTER=true to use it, or CLUSTER_NAME to another name');
    expect(await w.calls()).toEqual(['get clusters']);
  });

  test('REUSE_CLUSTER: its kubeconfig is written (owner-only) to our path, and it is never deleted', async () => {
    const w = await world(['egress-verify']);
    const started = await w.cluster().reuseExisting(true).start();
    expect(started.created).toBe(false);
    expect(await readFile(w.kubeconfig, 'utf8')).toBe('apiVersion: v1\nkind: Config\ncurrent-context: kind-egress-verify');
    expect((await stat(w.kubeconfig)).mode & 0o777).toBe(0o600);
    await started.stop();
    expect(await w.calls()).toEqual(['get clusters', 'get kubeconfig --name egress-verify']);
  });

  test('REUSE_CLUSTER without such a cluster: one is created (and deleted at the end)', async () => {
    const w = await world();
    const started = await w.cluster().reuseExisting(true).start();
    expect(started.created).toBe(true);
    await started.stop();
    expect(await w.clusters()).toEqual([]);
  });

  test('a create that fails: the half-made cluster is deleted and the error is kind\'s', async () => {
    const w = await world([], true);
    await expect(w.cluster().start()).rejects.toThrow(/node did not become ready/);
    expect((await w.calls()).at(-1)).toBe(`delete cluster --name egress-verify --kubeconfig ${w.kubeconfig}`);
  });

  test('images are loaded by name into this cluster only when there are any; logs exported there', async () => {
    const w = await world();
    const started = await w.cluster().start();
    await started.loadImages([]);
    await started.loadImages(['a:1', 'b:2']);
    await started.exportLogs('/tmp/logs-x');
    expect((await w.calls()).slice(2)).toEqual(['load docker-image a:1 --name egress-verify', 'load docker-image b:2 --name egress-verify', 'export logs /tmp/logs-x --name egress-verify']);
    await started.stop();
  });
});
