/**
 * The reachability probe (helpers/external/probe.mjs) from the test process or inside a pod.
 * In a pod it runs as `node /probe/probe.mjs HOST PORT` in container `probe` (fixtures/probe.yaml),
 * the chapter's `kubectl exec busybox -- telnet <redis-ip> 6379`, with a classified outcome.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Kube } from '../cluster/kube.ts';
import type { ProbeResult } from './probe.mjs';

export type { ProbeOutcome, ProbeResult } from './probe.mjs';

export const PROBE_SCRIPT_PATH = fileURLToPath(new URL('./probe.mjs', import.meta.url));

/** The script's text, for the probe ConfigMap. */
export function probeScript(): string {
  return readFileSync(PROBE_SCRIPT_PATH, 'utf8');
}

export interface ProbePod {
  kube: Kube;
  namespace: string;
  pod: string;
}

/** Parses the probe's one JSON line; anything else is an error quoting what came back. */
export function parseProbeOutput(stdout: string, stderr = ''): ProbeResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const r = JSON.parse(line) as ProbeResult;
    if (typeof r.outcome === 'string') return r;
  } catch {
    /* fall through */
  }
  throw new Error(`the probe printed no result: stdout=${JSON.stringify(stdout.slice(0, 300))} stderr=${JSON.stringify(stderr.slice(0, 300))}`);
}

/** Runs the probe in the pod's `probe` container; with `hgetall`, also reads that HASH. */
export async function probeFromPod(p: ProbePod, host: string, port: number, timeoutMs = 3000, hgetall?: string): Promise<ProbeResult> {
  const r = await p.kube.exec(p.namespace, p.pod, 'probe',
    ['node', '/probe/probe.mjs', host, String(port), '--timeout-ms', String(timeoutMs), ...(hgetall ? ['--hgetall', hgetall] : [])],
    timeoutMs + 30_000);
  if (r.exitCode !== 0) throw new Error(`probe in ${p.namespace}/${p.pod} exited ${r.exitCode}: ${r.stderr.trim()}`);
  return parseProbeOutput(r.stdout, r.stderr);
}
