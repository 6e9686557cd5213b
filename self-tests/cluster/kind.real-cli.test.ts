/**
 * The suite's kind layer against the real kind CLI (built from sigs.k8s.io/kind at the pinned
 * version by `npm run tools:build`) and the real Docker engine: its version, `get clusters`, and
 * a `create cluster` whose node image this machine cannot get, which must end in the suite's
 * own message and leave no container, cluster or kubeconfig behind. (A cluster that really
 * starts needs a node image built here: not yet.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KindCluster, NodeImageUnavailableError } from '../../helpers/cluster/kind.ts';
import { imagePresent } from '../../helpers/run/docker.ts';
import { pins } from '../../helpers/run/pins.ts';
import { reportedVersion } from '../../helpers/run/tools.ts';
import { missingBinaries, toolsBinDir } from '../control-plane/local-control-plane.ts';
import { runLabels } from '../plumbing/run-label.ts';
import { needDocker, needTools } from '../plumbing/support.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const kind = join(toolsBinDir(), 'kind');
const problem = missingBinaries(toolsBinDir(), ['kind']);
const work = tempFolder('kind-real');

describe('the real kind CLI', () => {
  test(`reports the pinned release (${pins.kind})`, async (ctx) => {
    needTools(ctx, problem);
    expect(await reportedVersion('kind', kind)).toBe(pins.kind.replace(/^v/, ''));
  });

  describe('a create whose node image cannot be had', () => {
    const name = `ev-${process.pid}`;
    const network = `egress-verify-kind-${process.pid}`;
    let savedNetwork: string | undefined;

    beforeAll(async () => {
      if (problem) return;
      // kind's node network: a labelled one of this run's, so that nothing of the machine's is used or left.
      const labels = Object.entries(runLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
      await execa('docker', ['network', 'create', ...labels, network], { reject: false });
      savedNetwork = process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
      process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK = network;
    });

    afterAll(async () => {
      if (savedNetwork === undefined) delete process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK;
      else process.env.KIND_EXPERIMENTAL_DOCKER_NETWORK = savedNetwork;
      await execa('docker', ['network', 'rm', network], { reject: false });
    });

    test('ends in the suite\'s message naming the image and what to do; no node, cluster or kubeconfig is left', async (ctx) => {
      needTools(ctx, problem);
      await needDocker(ctx);
      const image = pins.kindNodeImage;
      if (await imagePresent(image)) ctx.skip(`${image} is present locally: the create would succeed, which this test is not about`);
      const cluster = new KindCluster(kind).withName(name).withConfig(join(import.meta.dirname, '..', '..', 'kind-config.yaml'))
        .withNodeImage(image).withKubeconfig(join(work.path, 'kubeconfig')).withWait('10s');
      expect(await cluster.exists()).toBe(false);
      const e: unknown = await cluster.start().then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(NodeImageUnavailableError);
      expect((e as Error).message).toContain(image);
      expect((e as Error).message).toContain('KIND_NODE_IMAGE');
      expect(await cluster.exists()).toBe(false);
      const nodes = await execa('docker', ['ps', '-aq', '--filter', `label=io.x-k8s.kind.cluster=${name}`]);
      expect(nodes.stdout.trim()).toBe('');
      expect(existsSync(join(work.path, 'kubeconfig'))).toBe(false);
    }, 120_000);
  });
});
