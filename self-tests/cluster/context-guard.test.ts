/**
 * helpers/cluster/context-guard.ts: with CLUSTER=existing the suite changes only the current
 * context that ALLOW_CONTEXT names. Against kubeconfig files written here (reading one makes no
 * connection), and one whose server is a loopback listener that counts connections: a refused
 * context must not cause one.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ContextGuardError, guardExistingContext } from '../../helpers/cluster/context-guard.ts';
import { UserFacingError } from '../../helpers/run/user-facing.ts';
import { writeKubeconfig } from '../plumbing/kubeconfig.ts';
import { countingListener } from '../plumbing/loopback.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const dir = tempFolder('context-guard');


/** The ContextGuardError `f` throws (fails the test when it throws nothing, or something else). */
function guardError(f: () => unknown): ContextGuardError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ContextGuardError);
    return e as ContextGuardError;
  }
  throw new Error('no ContextGuardError');
}

describe('the context guard reads the current context (a temp kubeconfig; no connection is made)', () => {
  const savedKubeconfig = process.env.KUBECONFIG;
  let twoContexts: string;
  let noCurrent: string;
  beforeAll(async () => {
    twoContexts = await writeKubeconfig(join(dir.path, 'two'), { current: 'kind-egress', contexts: ['kind-egress', 'gke-prod'] });
    noCurrent = await writeKubeconfig(join(dir.path, 'none'), { contexts: ['kind-egress'] });
  });
  afterEach(() => {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
  });

  test('the current context named in ALLOW_CONTEXT is allowed, from the file or from KUBECONFIG', () => {
    expect(guardExistingContext('kind-egress', twoContexts)).toBe('kind-egress');
    process.env.KUBECONFIG = twoContexts;
    expect(guardExistingContext('kind-egress')).toBe('kind-egress');
  });
  test('refused: no ALLOW_CONTEXT (unset or empty), another context, or no current context', () => {
    for (const allow of [undefined, '']) {
      const e = guardError(() => guardExistingContext(allow, twoContexts));
      expect(e).toBeInstanceOf(UserFacingError);
      expect([e.name, e.headline]).toEqual(['ContextGuardError', 'Refusing the current kubeconfig context']);
      expect(e.problems).toHaveLength(1);
      expect(e.problems[0]).toBe(e.message);
      expect(e.message).toContain(`ALLOW_CONTEXT=kind-egress`);
      expect(e.message).toContain(twoContexts);
    }
    const other = guardError(() => guardExistingContext('gke-prod', twoContexts));
    expect(other.message).toContain('ALLOW_CONTEXT=gke-prod');
    expect(other.message).toContain('"kind-egress"');
    const none = guardError(() => guardExistingContext('kind-egress', noCurrent));
    expect(none.message).toContain(noCurrent);
    expect(none.message).not.toContain('ALLOW_CONTEXT=kind-egress;');
  });
  test('without a file argument the refusal names KUBECONFIG\'s value', () => {
    process.env.KUBECONFIG = twoContexts;
    expect(guardError(() => guardExistingContext(undefined)).message).toContain(`(${twoContexts})`);
  });
});

describe('context guard: no connection is made', () => {
  const server = countingListener();
  let kubeconfig: string;
  beforeAll(async () => {
    kubeconfig = await writeKubeconfig(join(dir.path, 'config'), {
      current: 'gke_prod_europe-west1_shop', contexts: ['gke_prod_europe-west1_shop', 'kind-sandbox'],
      server: `https://127.0.0.1:${server.port}`,
    });
  });

  test('without ALLOW_CONTEXT: refused, naming the context and the setting; no connection made', () => {
    expect(() => guardExistingContext(undefined, kubeconfig)).toThrow(ContextGuardError);
    expect(() => guardExistingContext(undefined, kubeconfig)).toThrow(/current context "gke_prod_europe-west1_shop" .* set ALLOW_CONTEXT=gke_prod_europe-west1_shop/);
    expect(server.connections).toBe(0);
  });
  test('ALLOW_CONTEXT naming another context: refused', () => {
    expect(() => guardExistingContext('kind-sandbox', kubeconfig)).toThrow(/the current context is "gke_prod_europe-west1_shop", but ALLOW_CONTEXT=kind-sandbox; refusing/);
    expect(server.connections).toBe(0);
  });
  test('ALLOW_CONTEXT naming the current context: allowed', () => {
    expect(guardExistingContext('gke_prod_europe-west1_shop', kubeconfig)).toBe('gke_prod_europe-west1_shop');
    expect(server.connections).toBe(0);
  });
});

describe('no kubeconfig to read: one block naming the file and what to do', () => {
  test('KUBECONFIG naming a file that does not exist: named, with what to do (not a raw ENOENT)', () => {
    const missing = join(dir.path, 'no-such-kubeconfig');
    const e = guardError(() => guardExistingContext('shop', undefined, { KUBECONFIG: missing, HOME: dir.path }));
    expect(e.headline).toBe('No kubeconfig for CLUSTER=existing');
    expect(e.problems).toEqual([expect.stringContaining(`KUBECONFIG=${missing}: no such file; point KUBECONFIG at your cluster's kubeconfig file`)]);
    expect(e.message).toContain('CLUSTER unset');
  });

  test('KUBECONFIG listing files of which one exists: that one is read, as kubectl reads it', async () => {
    const present = await writeKubeconfig(join(dir.path, 'listed'), { current: 'shop', contexts: ['shop'] });
    const list = [join(dir.path, 'gone-1'), present].join(':');
    expect(guardExistingContext('shop', undefined, { KUBECONFIG: list })).toBe('shop');
    const none = guardError(() => guardExistingContext('shop', undefined, { KUBECONFIG: [join(dir.path, 'gone-1'), join(dir.path, 'gone-2')].join(':') }));
    expect(none.message).toContain('none of these files exists');
  });

  test('no KUBECONFIG and no ~/.kube/config: said so, naming the file (no made-up "loaded-context")', () => {
    const e = guardError(() => guardExistingContext(undefined, undefined, { HOME: dir.path }));
    expect(e.headline).toBe('No kubeconfig for CLUSTER=existing');
    expect(e.message).toContain(`KUBECONFIG is not set and ${join(dir.path, '.kube', 'config')} does not exist`);
    expect(e.message).not.toContain('loaded-context');
    expect(e.message).not.toContain('ALLOW_CONTEXT');
  });

  test('no KUBECONFIG, ~/.kube/config present: that file is read and named', async () => {
    const home = join(dir.path, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    const config = await writeKubeconfig(join(home, '.kube', 'config'), { current: 'dev', contexts: ['dev'] });
    expect(guardError(() => guardExistingContext(undefined, undefined, { HOME: home })).message).toContain(`(${config})`);
    expect(guardExistingContext('dev', undefined, { HOME: home })).toBe('dev');
  });
});
