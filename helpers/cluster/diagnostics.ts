/**
 * Diagnostics, collected only when a step fails: pod logs (app and istio-proxy), events of the
 * test namespaces, the cart pod's proxy listeners, clusters and stats, and the ServiceEntries
 * present. Everything is written under ARTIFACTS_DIR/diagnostics/<step>/; each item is
 * collected on its own, so one failing collection does not hide the others.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Kube } from './kube.ts';
import { hasIstioSidecar } from './kube-objects.ts';
import { proxyAdmin } from '../mesh/envoy-admin.ts';

export interface DiagnosticsRequest {
  kube: Kube;
  dir: string;
  namespaces: readonly string[];
  /** Pods whose Envoy config and stats are dumped: [namespace, labelSelector]. */
  proxies: readonly (readonly [string, string])[];
}

function safe(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]+/g, '_');
}

export async function collectDiagnostics(req: DiagnosticsRequest): Promise<{ dir: string; problems: string[] }> {
  const { kube, dir } = req;
  await mkdir(dir, { recursive: true });
  const problems: string[] = [];
  const save = async (file: string, produce: () => Promise<string>) => {
    try {
      await writeFile(join(dir, safe(file)), await produce());
    } catch (e) {
      problems.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const jobs: Promise<void>[] = [];
  for (const namespace of req.namespaces) {
    jobs.push(save(`${namespace}.events.txt`, async () => {
      const ev = await kube.core.listNamespacedEvent({ namespace });
      // Timestamps arrive as Date objects (client-node 2.x); sort by time, print ISO.
      const when = (e: (typeof ev.items)[number]) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0);
      return ev.items
        .sort((a, b) => when(a).getTime() - when(b).getTime())
        .map((e) => `${when(e).toISOString()} ${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`)
        .join('\n');
    }));
    jobs.push(save(`${namespace}.serviceentries.yaml`, async () => {
      const list = await kube.custom.listNamespacedCustomObject({
        group: 'networking.istio.io', version: 'v1', namespace, plural: 'serviceentries',
      });
      return stringify(list);
    }));
    jobs.push((async () => {
      let pods;
      try {
        pods = await kube.core.listNamespacedPod({ namespace });
      } catch (e) {
        problems.push(`${namespace} pods: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      await save(`${namespace}.pods.yaml`, async () => stringify(pods.items.map((p) => ({ metadata: p.metadata, spec: p.spec, status: p.status }))));
      for (const p of pods.items) {
        const name = p.metadata?.name ?? '';
        const containers = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].map((c) => c.name);
        for (const c of containers) {
          await save(`${namespace}.${name}.${c}.log`, () => kube.logs(namespace, name, c));
        }
      }
    })());
  }
  for (const [namespace, selector] of req.proxies) {
    jobs.push((async () => {
      const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: selector }).catch(() => undefined);
      for (const p of pods?.items.filter(hasIstioSidecar) ?? []) {
        const name = p.metadata?.name ?? '';
        for (const [file, path] of [['listeners.txt', 'listeners'], ['clusters.txt', 'clusters'], ['stats.prom', 'stats/prometheus'], ['config_dump.json', 'config_dump']] as const) {
          await save(`${namespace}.${name}.proxy.${file}`, () => proxyAdmin(kube, namespace, name, path));
        }
      }
    })());
  }
  await Promise.all(jobs);
  if (problems.length > 0) await writeFile(join(dir, 'collection-problems.txt'), problems.join('\n'));
  return { dir, problems };
}
