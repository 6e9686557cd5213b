/**
 * The workshop scenario's plan (scenarios/workshop.spec.ts): the chapter's blocks as actions on a
 * cluster, one per block, in the chapter's order. Building it runs nothing: it is pure (from the
 * classified blocks), so `npm run test:self` checks it without a cluster. The actions are carried
 * out by workshop/perform.ts.
 */
import { labsReader, MESH_KEYS, MESH_MODE_KEY, yamlObjects, type LabsReader } from './check.ts';
import { classify, interactiveFlags, ISTIOCTL_INSTALL, setKeys, setPairs, type Classified, type Command, type Outcome } from './classify.ts';
import { findChapter, readChapter } from './parse.ts';

export type Action =
  /** Server-side dry run (strict field validation), then apply, of a labs file (after kube-inject when the chapter does it). */
  | { type: 'apply'; labsPath: string; inject: boolean }
  /** An interactive shell in a pod: where the chapter's next commands run. */
  | { type: 'shell'; pod: string; namespace: string }
  /** telnet HOST PORT from the current place, judged by the probe; the outcome the chapter shows, if any. */
  | { type: 'probe'; host: string; port: number; expected: Outcome | undefined }
  /** An expected outcome shown after another command: probe again from the current place. */
  | { type: 'reprobe'; expected: Outcome; host: string; port: number }
  /** An outcome already judged by the command it follows. */
  | { type: 'compare'; expected: Outcome; of: string }
  /** The mesh-mode step: the suite sets the mode itself; the chapter's command must say the same. */
  | { type: 'mesh-mode'; mode: 'REGISTRY_ONLY'; keys: string[] }
  | { type: 'skip'; reason: string };

export interface PlannedTest {
  id: string;
  block: Classified;
  action: Action;
  /** A known defect of the pinned workshop: the test is expected to fail, for this reason. */
  knownDefect: string | undefined;
}

/**
 * A defect of the pinned workshop (helpers/run/pins.ts workshopCommit), known and accepted: both
 * checks of the chapter read this one list, so `npm run workshop` and the kind scenario agree.
 * Its findings are reported as notices without failing; a finding no defect explains fails; a
 * defect none of whose findings (nor its scenario failure) appears any more is reported as fixed,
 * without failing, so that a pull request fixing the chapter is green and says what to remove.
 */
export interface KnownDefect {
  /** A short name for reports and annotations. */
  id: string;
  /** What is wrong, as the reports say it. */
  reason: string;
  /** The offline findings (`npm run workshop`) it explains: a finding of this block whose message matches. */
  findings: readonly { block: string; message: RegExp }[];
  /** The block whose test fails on kind because of it (scenarios/workshop.spec.ts), if any. */
  scenario: string | undefined;
}

export const DEFECTS: readonly KnownDefect[] = [
  {
    id: 'kubectl-exec-without-dashes',
    reason: 'kubectl exec POD COMMAND without "--" is refused since kubectl 1.31; on kind the shell is translated to a probe placed beside the pod, so only the offline check sees it',
    findings: [
      { block: '08-egress-gateway#step4.2', message: /^line \d+: "kubectl exec POD COMMAND" without "--" was removed/ },
      { block: '08-egress-gateway#step7.1', message: /^line \d+: "kubectl exec POD COMMAND" without "--" was removed/ },
    ],
    scenario: undefined,
  },
  {
    id: 'helm2-chart-path',
    reason: 'the mesh-mode step installs from install/kubernetes/helm/istio, a Helm 2 chart path no current Istio release has (the suite installs Istio itself)',
    findings: [{ block: '08-egress-gateway#step6.1', message: /install\/kubernetes\/helm/ }],
    scenario: undefined,
  },
  {
    id: 'mesh-mode-key',
    reason: 'the --set key global.outboundTrafficPolicymode does not exist (global.outboundTrafficPolicy.mode / meshConfig.outboundTrafficPolicy.mode do): Helm ignores it and the mesh stays ALLOW_ANY',
    findings: [{ block: '08-egress-gateway#step6.1', message: /--set global\.outboundTrafficPolicymode: no such value/ }],
    scenario: '08-egress-gateway#step6.1',
  },
  {
    id: 'gateway-addresses',
    reason: 'redis-egress.yaml\'s Gateway has servers[].addresses, which is not a Gateway field: strict field validation refuses it',
    findings: [{ block: '08-egress-gateway#step9.1', message: /unknown field "spec\.servers\[0\]\.addresses"/ }],
    scenario: '08-egress-gateway#step9.2',
  },
  {
    id: 'gateway-not-bound',
    reason: 'no VirtualService binds the Gateway: the connection goes straight to Redis, not through istio-egressgateway',
    findings: [{ block: '08-egress-gateway#step9.1', message: /no VirtualService of the chapter binds it/ }],
    scenario: '08-egress-gateway#step10.1',
  },
];

/**
 * The defects whose kind test is expected to fail, by block id, with their reason: the test
 * passes either way (a failure for this reason is the known defect, a pass is its fix), and the
 * report gives the verdict.
 */
export const KNOWN_DEFECTS: Readonly<Record<string, string>> = Object.fromEntries(
  DEFECTS.flatMap((d) => (d.scenario ? [[d.scenario, d.reason]] : [])),
);

/** The pod the chapter opens a shell in: `kubectl exec -it POD [-n NS] ...`. */
function shellTarget(words: string[]): { pod: string; namespace: string } | undefined {
  let namespace = 'default';
  let pod: string | undefined;
  const end = words.indexOf('--') < 0 ? words.length : words.indexOf('--');
  for (let i = 2; i < end; i++) {
    const w = words[i]!;
    if (w === '-n' || w === '--namespace') namespace = words[++i] ?? namespace;
    else if (w.startsWith('--namespace=')) namespace = w.slice('--namespace='.length);
    else if (w === '-c' || w === '--container') i++;
    else if (!w.startsWith('-') && pod === undefined) pod = w;
  }
  return pod ? { pod, namespace } : undefined;
}

function telnetTarget(words: string[], substitute: (s: string) => string): { host: string; port: number } | undefined {
  const args = words.slice(1).filter((w) => !w.startsWith('-'));
  if (args.length < 1) return undefined;
  return { host: substitute(args[0]!), port: Number(args[1] ?? 23) };
}

/** One test per block, in the chapter's order. `substitute` replaces the placeholders with run-time values. */
export function planScenario(blocks: Classified[], substitute: (s: string) => string, defects: Readonly<Record<string, string>> = KNOWN_DEFECTS): PlannedTest[] {
  const byId = new Map(blocks.map((b) => [b.id, b]));
  return blocks.map((b, i): PlannedTest => {
    const t = (action: Action): PlannedTest => ({ id: b.id, block: b, action, knownDefect: defects[b.id] });
    if (b.kind === 'yaml') return t({ type: 'skip', reason: b.reason });
    if (b.kind === 'output') {
      if (!b.expected) return t({ type: 'skip', reason: 'what the command printed: not compared' });
      if (!b.attachedTo) return t({ type: 'skip', reason: 'an outcome with no command before it' });
      const previous = blocks[i - 1];
      if (previous?.id === b.attachedTo && previous.commands.some((c) => c.words[0] === 'telnet')) {
        return t({ type: 'compare', expected: b.expected, of: b.attachedTo });
      }
      const telnet = (b.commands[0]?.words[0] === 'telnet' ? b.commands[0] : byId.get(b.attachedTo)?.commands.find((c) => c.words[0] === 'telnet'));
      const target = telnet && telnetTarget(byId.get(b.attachedTo)?.commands.find((c) => c.words[0] === 'telnet')?.words ?? telnet.words, substitute);
      if (!target) return t({ type: 'skip', reason: `the outcome of ${b.attachedTo}, which is not a connection` });
      return t({ type: 'reprobe', expected: b.expected, ...target });
    }
    switch (b.policy) {
      case 'run': {
        const applies = b.applies;
        if (applies.length === 1) return t({ type: 'apply', labsPath: applies[0]!.labsPath, inject: applies[0]!.inject });
        return t({ type: 'skip', reason: applies.length === 0 ? 'the suite runs only `kubectl apply -f` of labs files; nothing to check here' : 'several files in one block: not supported yet' });
      }
      case 'translate': {
        const shell = b.commands.find((c) => interactiveFlags(c.words).length > 0);
        const target = shell && shellTarget(shell.words);
        if (shell && target && shell.words[1] === 'exec') return t({ type: 'shell', ...target });
        const telnet = b.commands.find((c) => c.words[0] === 'telnet');
        const hp = telnet && telnetTarget(telnet.words, substitute);
        if (hp) {
          const next = blocks[i + 1];
          const expected = next?.kind === 'output' && next.attachedTo === b.id ? next.expected : undefined;
          return t({ type: 'probe', ...hp, expected });
        }
        return t({ type: 'skip', reason: 'an interactive command the suite cannot translate' });
      }
      case 'intent': {
        const keys = b.commands.flatMap((c) => (meshInstaller(c) ? setKeys(c.words) : []));
        return t({ type: 'mesh-mode', mode: 'REGISTRY_ONLY', keys });
      }
      case 'environment':
        return t({ type: 'skip', reason: `${b.reason}` });
      default:
        return t({ type: 'skip', reason: b.reason });
    }
  });
}

/** Which tool a command changes the mesh with, when it takes --set keys for it: helm, or istioctl install/upgrade/manifest. */
function meshInstaller(c: Command): 'helm' | 'istioctl' | undefined {
  if (c.words[0] === 'helm') return 'helm';
  return c.words[0] === 'istioctl' && ISTIOCTL_INSTALL.includes(c.words[1] ?? '') ? 'istioctl' : undefined;
}

/**
 * Whether a --set pair turns the outbound policy to REGISTRY_ONLY. Helm takes the chart value
 * names (MESH_KEYS); istioctl takes IstioOperator paths, relative to the spec or with `spec.`
 * written out, where only MeshConfig's field sets the policy (the Helm 2 `global.` name is no
 * IstioOperator path: istioctl refuses it).
 */
function setsRegistryOnly(tool: 'helm' | 'istioctl', pair: string): boolean {
  const i = pair.indexOf('=');
  if (i < 0 || pair.slice(i + 1) !== 'REGISTRY_ONLY') return false;
  const key = pair.slice(0, i);
  return tool === 'helm' ? (MESH_KEYS as readonly string[]).includes(key) : key.replace(/^spec\./, '') === MESH_MODE_KEY;
}

/** Whether the chapter's mesh-mode command would really set REGISTRY_ONLY: a real key with that value, through helm or istioctl. */
export function meshModeProblem(block: Classified): string | undefined {
  for (const c of block.commands) {
    const tool = meshInstaller(c);
    if (tool && setPairs(c.words).some((kv) => setsRegistryOnly(tool, kv))) return undefined;
  }
  return `no command of ${block.id} sets ${MESH_KEYS.join(' or ')} to REGISTRY_ONLY (it sets: ${block.commands.flatMap((c) => setKeys(c.words)).join(', ') || 'nothing'})`;
}

/** The chapter the scenario runs, as read from the checkouts. */
export interface ScenarioChapter {
  /** The page, relative to the repo. */
  file: string;
  blocks: Classified[];
  labs: LabsReader;
}

/**
 * Reads the chapter the scenario runs (WORKSHOP_REPO, WORKSHOP_LABS, WORKSHOP_CHAPTER): its
 * blocks, classified with the labs files they apply. Synchronous, so the scenario's tests can be
 * its blocks.
 */
export function readScenarioChapter(input: { repo: string; labs: string | undefined; chapter: string | undefined }): ScenarioChapter {
  const file = input.chapter ?? findChapter(input.repo);
  const labs = labsReader(input.labs);
  const blocks = classify(readChapter(input.repo, file), (p) => {
    const text = labs(p);
    return text === undefined ? undefined : yamlObjects(text);
  });
  return { file, blocks, labs };
}
