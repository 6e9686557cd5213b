/**
 * helpers/cluster/diagnostics.ts: what a failed step leaves under ARTIFACTS_DIR, through a Kube
 * double that answers only the reads collectDiagnostics makes (events, ServiceEntries, pods,
 * logs, and the proxies' admin pages through exec). Each item is collected on its own: a read
 * that fails is named in collection-problems.txt and hides nothing else.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { collectDiagnostics } from '../../helpers/cluster/diagnostics.ts';
import type { Kube } from '../../helpers/cluster/kube.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';

const pod = (name: string, containers: string[], init: { name: string; restartPolicy?: string }[] = []): V1Pod => ({
  metadata: { name, namespace: 'mesh', labels: { app: name.split('-')[0]! } },
  spec: { containers: containers.map((c) => ({ name: c })), initContainers: init },
  status: { phase: 'Running' },
});
const event = (at: string, reason: string, name: string): CoreV1Event => ({
  metadata: { name: `${name}.1` }, involvedObject: { kind: 'Pod', name }, reason, message: `${reason} ${name}`, type: 'Normal', lastTimestamp: new Date(at),
});

interface Answers {
  events?: CoreV1Event[];
  pods?: V1Pod[];
  failing?: string[];
}

/** A Kube answering from `answers`; a read whose name is in `failing` rejects. */
function kubeWith(a: Answers) {
  const execs: string[] = [];
  const fail = (what: string) => {
    if (a.failing?.includes(what)) throw new Error(`${what} refused`);
  };
  const kube = {
    core: {
      listNamespacedEvent: async ({ namespace }: { namespace: string }) => { fail(`events ${namespace}`); return { items: structuredClone(a.events ?? []) }; },
      listNamespacedPod: async ({ namespace, labelSelector }: { namespace: string; labelSelector?: string }) => {
        fail(`pods ${namespace}`);
        const items = (a.pods ?? []).filter((p) => !labelSelector || labelSelector === `app=${p.metadata!.labels!.app}`);
        return { items };
      },
    },
    custom: {
      listNamespacedCustomObject: async ({ namespace, plural }: { namespace: string; plural: string }) => {
        fail(`${plural} ${namespace}`);
        return { items: [{ kind: 'ServiceEntry', metadata: { name: 'redis', namespace } }] };
      },
    },
    logs: async (namespace: string, name: string, container: string) => { fail(`logs ${name} ${container}`); return `log of ${namespace}/${name}/${container}\n`; },
    exec: async (namespace: string, name: string, container: string, cmd: string[]) => {
      execs.push(`${namespace}/${name} ${container}: ${cmd.join(' ')}`);
      return { exitCode: 0, stdout: `${cmd[3]} of ${name}`, stderr: '' };
    },
  } as unknown as Kube;
  return { kube, execs };
}

describe('collectDiagnostics', () => {
  const artifacts = tempFolder('diagnostics');

  test('per namespace: events in time order, ServiceEntries and pods as YAML, each container\'s log; per proxy: its admin pages', async () => {
    const { kube, execs } = kubeWith({
      events: [event('2026-11-27T10:00:05Z', 'Started', 'cart-1'), event('2026-11-27T10:00:01Z', 'Scheduled', 'cart-1')],
      pods: [pod('cart-1', ['server', 'istio-proxy']), pod('probe-1', ['probe'], [{ name: 'istio-proxy', restartPolicy: 'Always' }])],
    });
    const dir = join(artifacts.path, 'step one');
    expect(await collectDiagnostics({ kube, dir, namespaces: ['mesh'], proxies: [['mesh', 'app=cart']] })).toEqual({ dir, problems: [] });
    expect((await readdir(dir)).sort()).toEqual([
      'mesh.cart-1.istio-proxy.log', 'mesh.cart-1.proxy.clusters.txt', 'mesh.cart-1.proxy.config_dump.json', 'mesh.cart-1.proxy.listeners.txt',
      'mesh.cart-1.proxy.stats.prom', 'mesh.cart-1.server.log', 'mesh.events.txt', 'mesh.pods.yaml',
      'mesh.probe-1.istio-proxy.log', 'mesh.probe-1.probe.log', 'mesh.serviceentries.yaml',
    ]);
    const read = (file: string) => readFile(join(dir, file), 'utf8');
    expect(await read('mesh.events.txt')).toBe([
      '2026-11-27T10:00:01.000Z Normal Scheduled Pod/cart-1: Scheduled cart-1',
      '2026-11-27T10:00:05.000Z Normal Started Pod/cart-1: Started cart-1',
    ].join('\n'));
    expect(parse(await read('mesh.serviceentries.yaml'))).toEqual({ items: [{ kind: 'ServiceEntry', metadata: { name: 'redis', namespace: 'mesh' } }] });
    expect((parse(await read('mesh.pods.yaml')) as V1Pod[]).map((p) => p.metadata?.name)).toEqual(['cart-1', 'probe-1']);
    expect(await read('mesh.probe-1.probe.log')).toBe('log of mesh/probe-1/probe\n');
    expect(await read('mesh.cart-1.proxy.stats.prom')).toBe('stats/prometheus of cart-1');
    expect(execs.sort()).toEqual(['clusters', 'config_dump', 'listeners', 'stats/prometheus']
      .map((page) => `mesh/cart-1 istio-proxy: pilot-agent request GET ${page}`));
    expect(existsSync(join(dir, 'collection-problems.txt'))).toBe(false);
  });

  test('a read that fails is named, in collection-problems.txt too; the other items are still written', async () => {
    const { kube, execs } = kubeWith({
      pods: [pod('cart-1', ['server', 'istio-proxy'])],
      failing: ['events mesh', 'logs cart-1 server', 'pods outside'],
    });
    const dir = join(artifacts.path, 'step two');
    const { problems } = await collectDiagnostics({ kube, dir, namespaces: ['mesh', 'outside'], proxies: [['outside', 'app=cart']] });
    expect(problems.sort()).toEqual([
      'mesh.cart-1.server.log: logs cart-1 server refused', 'mesh.events.txt: events mesh refused', 'outside pods: pods outside refused',
    ]);
    expect((await readFile(join(dir, 'collection-problems.txt'), 'utf8')).split('\n').sort()).toEqual(problems);
    const files = await readdir(dir);
    expect(files).toContain('mesh.cart-1.istio-proxy.log');
    expect(files).toContain('outside.events.txt');
    expect(files).not.toContain('mesh.events.txt');
    // The proxies of a namespace whose pods cannot be listed are skipped, not an error.
    expect(execs).toEqual([]);
  });

  test('pods without a sidecar get no proxy pages; odd pod names are made safe as file names', async () => {
    const { kube, execs } = kubeWith({ pods: [pod('cart-1', ['server']), pod('cart/../x y', ['server'])] });
    const dir = join(artifacts.path, 'step three');
    await collectDiagnostics({ kube, dir, namespaces: ['mesh'], proxies: [['mesh', 'app=cart']] });
    expect(execs).toEqual([]);
    expect(await readdir(dir)).toContain('mesh.cart_.._x_y.server.log');
  });
});
