/**
 * helpers/cluster/kube.ts, loading a kubeconfig: exactly the named context is selected, in
 * memory, and an unknown context is refused. Against kubeconfig files written here; no
 * connection is made.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Kube } from '../../helpers/cluster/kube.ts';
import { writeKubeconfig } from '../plumbing/kubeconfig.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

describe('kubeconfig loading (a temp kubeconfig; no connection is made)', () => {
  const dir = tempFolder('kubeconfig');
  const savedKubeconfig = process.env.KUBECONFIG;
  let twoContexts: string;
  beforeAll(async () => {
    twoContexts = await writeKubeconfig(join(dir.path, 'two'), { current: 'kind-egress', contexts: ['kind-egress', 'gke-prod'] });
  });
  afterEach(() => {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
  });

  test('Kube.fromFile selects exactly the named context, in memory; an unknown context is refused', () => {
    const kube = Kube.fromFile(twoContexts, 'gke-prod');
    expect([kube.kubeconfigPath, kube.context, kube.config.getCurrentContext()]).toEqual([twoContexts, 'gke-prod', 'gke-prod']);
    expect(() => Kube.fromFile(twoContexts, 'kind-other')).toThrow(`context "kind-other" is not in ${twoContexts}`);
  });
  test('Kube.fromDefault reads KUBECONFIG and selects exactly the named context; an unknown context is refused', () => {
    process.env.KUBECONFIG = twoContexts;
    const kube = Kube.fromDefault('gke-prod');
    expect([kube.context, kube.config.getCurrentContext()]).toEqual(['gke-prod', 'gke-prod']);
    expect(kube.kubeconfigPath).toBe('(kubectl default: KUBECONFIG or ~/.kube/config)');
    expect(() => Kube.fromDefault('kind-other')).toThrow('context "kind-other" is not in your kubeconfig');
  });
});
