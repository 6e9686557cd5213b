/**
 * A run interrupted while `kind create cluster` is under way (the node image pull, on a first
 * run). argv: <kind stand-in path> <cluster name> <kubeconfig path>. Registers the cluster's
 * cleanup the way scenarios/environment.ts does, then waits in start() until the signal comes.
 * self-tests/cluster/kind.stand-in.test.ts sends it SIGINT and checks that the create was ended and
 * `kind delete cluster` was run.
 */
import { Cleanup } from '../../helpers/run/cleanup.ts';
import { KindCluster } from '../../helpers/cluster/kind.ts';

const [kindPath, name, kubeconfig] = process.argv.slice(2) as [string, string, string];
const cleanup = new Cleanup();
cleanup.onSignals();
await new KindCluster(kindPath).withName(name).withNodeImage('kindest/node:v0.0.0').withKubeconfig(kubeconfig)
  .start((c) => cleanup.add(`kind cluster ${name}`, () => c.stop()))
  .catch((e: unknown) => process.stdout.write(`START FAILED ${e instanceof Error ? e.message : String(e)}\n`));
setInterval(() => {}, 1 << 30);
