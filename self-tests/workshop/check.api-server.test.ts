/**
 * The workshop reader's offline verdict on each manifest against the real API server's: every
 * YAML manifest block of the chapters written for the self-tests (self-tests/workshops/*), and
 * every labs file they apply, substituted with the sample values, is dry-run (server-side apply,
 * dryRun=All, fieldValidation=Strict) through the suite's Kube against the local control plane
 * with Istio's CRDs; a manifest the reader finds errors in must be refused by the server, and
 * one it finds none in must be accepted. Where they disagree, the test names the block, the
 * reader's findings and the server's words.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Kube } from '../../helpers/cluster/kube.ts';
import { ManifestRefusedError } from '../../helpers/cluster/kube-errors.ts';
import { type KubeObject, ROOT_DIR } from '../../helpers/run/manifests.ts';
import { manifestFindings, SAMPLE_VALUES, substitute, yamlObjects } from '../../workshop/check.ts';
import { classify } from '../../workshop/classify.ts';
import { parseChapter } from '../../workshop/parse.ts';
import { controlPlaneSuite } from '../control-plane/control-plane-suite.ts';

const WORKSHOPS = join(ROOT_DIR, 'self-tests', 'workshops');

interface Case {
  id: string;
  objects: KubeObject[];
}

function files(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

/** Every manifest block of every chapter, and every labs file, with the sample values in. */
function cases(): Case[] {
  const out: Case[] = [];
  for (const workshop of readdirSync(WORKSHOPS).filter((w) => existsSync(join(WORKSHOPS, w, 'content')))) {
    for (const md of files(join(WORKSHOPS, workshop, 'content'), '.md')) {
      const chapter = parseChapter(readFileSync(md, 'utf8'), relative(join(WORKSHOPS, workshop), md));
      for (const b of classify(chapter)) {
        if (b.kind !== 'yaml' || !b.manifest) continue;
        out.push({ id: `${workshop}: ${b.id} (line ${b.line})`, objects: yamlObjects(substitute(b.text, SAMPLE_VALUES)) as KubeObject[] });
      }
    }
    for (const labs of files(join(WORKSHOPS, workshop, 'labs'), '.yaml')) {
      out.push({ id: `${workshop}: labs ${relative(join(WORKSHOPS, workshop), labs)}`, objects: yamlObjects(substitute(readFileSync(labs, 'utf8'), SAMPLE_VALUES)) as KubeObject[] });
    }
  }
  return out;
}

const all = cases();
let kube: Kube;
const suite = controlPlaneSuite({ nodes: 0 }, async (_cp, k) => {
  kube = k;
  // The namespaces the chapters' objects name must exist for a dry run to judge the objects.
  const namespaces = new Set(all.flatMap((c) => c.objects.map((o) => o.metadata.namespace).filter((n): n is string => typeof n === 'string')));
  await kube.apply([...namespaces].filter((n) => n !== 'default').map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
});

describe('the reader\'s findings and the API server agree on every manifest of the test chapters', () => {
  test('there are manifests to judge, some the reader refuses and some it accepts', async () => {
    expect(all.length).toBeGreaterThan(3);
    const verdicts = await Promise.all(all.map(async (c) => (await manifestFindings(c.id, c.objects)).some((f) => f.severity === 'error')));
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
  });

  for (const c of all) {
    test(c.id, async (ctx) => {
      suite.need(ctx);
      const errors = (await manifestFindings(c.id, c.objects)).filter((f) => f.severity === 'error').map((f) => f.message);
      const refusal: unknown = await kube.dryRunApply(c.objects).then(() => undefined, (e: unknown) => e);
      if (refusal !== undefined && !(refusal instanceof ManifestRefusedError)) throw refusal;
      const server = refusal instanceof ManifestRefusedError ? refusal.refusals : [];
      const why = `reader: ${errors.length > 0 ? errors.join('; ') : 'no errors'}\nAPI server: ${server.length > 0 ? server.join('; ') : 'accepted'}`;
      expect(errors.length > 0, why).toBe(server.length > 0);
    });
  }
});
