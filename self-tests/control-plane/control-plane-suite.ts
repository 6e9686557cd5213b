/**
 * The local control plane for one test file: started in beforeAll (with the Istio CRDs of the
 * built Istio), stopped in afterAll. A test calls `need(ctx)` first: skipped with the reason when
 * the binaries are missing (failed under REQUIRE_TOOLS=1).
 */
import { afterAll, beforeAll, type TestContext } from 'vitest';
import { Kube } from '../../helpers/cluster/kube.ts';
import { needTools } from '../plumbing/support.ts';
import { LocalControlPlane, missingBinaries, type StartedControlPlane, toolsBinDir } from './local-control-plane.ts';

export interface ControlPlaneSuite {
  need(ctx: TestContext): { cp: StartedControlPlane; kube: Kube };
}

export function controlPlaneSuite(options: { nodes?: number } = {}, ready?: (cp: StartedControlPlane, kube: Kube) => Promise<void> | void): ControlPlaneSuite {
  let cp: StartedControlPlane | undefined;
  let kube: Kube | undefined;
  let problem: string | undefined;
  beforeAll(async () => {
    problem = missingBinaries(toolsBinDir());
    if (problem) return;
    let builder = new LocalControlPlane();
    if (options.nodes !== undefined) builder = builder.withNodes(options.nodes);
    cp = await builder.start();
    const count = await cp.installIstioCrds();
    process.stdout.write(`${cp.describe()}; ${count} Istio CRDs installed\n`);
    kube = Kube.fromFile(cp.kubeconfigPath, cp.context);
    await ready?.(cp, kube);
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });
  return {
    need(ctx) {
      needTools(ctx, problem);
      if (!cp || !kube) throw new Error('the local control plane did not start (see beforeAll)');
      return { cp, kube };
    },
  };
}
