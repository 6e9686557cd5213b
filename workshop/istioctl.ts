/**
 * Istio's own verdict on the chapter's manifests, when an istioctl is at hand: `istioctl analyze
 * --use-kube=false` (the analyzers, IST codes, offline) and `istioctl validate` (what istiod's
 * validating webhook refuses) over every manifest the chapter shows or applies, with the
 * placeholders substituted. Their messages become the reader's findings, at the chapter's (or
 * the labs file's) line, beside the reader's own rules (workshop/check.ts), which they confirm.
 *
 * istioctl is looked for as ISTIOCTL_BIN, then on PATH, then where `npm run tools:build` puts the
 * one it builds (TOOLS_DIR/../istio/<version>/bin, images/tools/go-builds.ts). Without one the
 * analysis says so in a note: nothing fails for want of it.
 *
 * Offline, istioctl analyze reads no Pods or Services from files (pkg/config/analysis/local
 * istiod_analyze.go leaves kuberesource.DefaultExcludedSchemas out of file sources), so the
 * analyzers that need them (gateway.IngressGatewayPortAnalyzer: selectors and ports) are skipped;
 * the reader's own rules cover those.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ROOT_DIR } from '../helpers/run/manifests.ts';
import { pins } from '../helpers/run/pins.ts';
import { canonical, labsReader, SAMPLE_VALUES, substitute, yamlObjects, yamlObjectsAt, type Finding, type PlaceholderValues, type Severity } from './check.ts';
import type { Classified } from './classify.ts';

const run = promisify(execFile);

/** The istioctl to use and where it was found, or undefined. `exists` tells an executable file. */
export function findIstioctl(env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = isExecutable): { path: string; source: string } | undefined {
  const setting = env.ISTIOCTL_BIN?.trim();
  if (setting) return exists(setting) ? { path: setting, source: 'ISTIOCTL_BIN' } : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (exists(join(dir, 'istioctl'))) return { path: join(dir, 'istioctl'), source: 'PATH' };
  }
  const built = join(resolve(env.TOOLS_DIR?.trim() || join(ROOT_DIR, '.tools', 'bin')), '..', 'istio', pins.istioBuild.version, 'bin', 'istioctl');
  return exists(built) ? { path: built, source: 'built by npm run tools:build' } : undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A file given to istioctl: which block it comes from and the file line of its first line. */
export interface ManifestFile {
  /** The name istioctl sees (and reports in `reference`). */
  name: string;
  block: string;
  /** File line (chapter, or `file`'s) of the text's first line. */
  first: number;
  /** Set for a labs file: istio-workshop-labs/<path>. */
  file?: string;
  text: string;
}

/** The manifests of the chapter, as files for istioctl: YAML blocks, here-documents and the labs files applied. */
export function manifestFiles(blocks: Classified[], labs: (p: string) => string | undefined, values: PlaceholderValues = SAMPLE_VALUES): ManifestFile[] {
  const out: ManifestFile[] = [];
  const add = (f: Omit<ManifestFile, 'name' | 'text'> & { text: string }) => out.push({ ...f, name: `m${out.length + 1}.yaml`, text: substitute(f.text, values) });
  for (const b of blocks) {
    if (b.kind === 'yaml' && b.manifest && !b.yamlErrors) add({ block: b.id, first: b.line + 1, text: b.text });
    for (const { heredoc } of b.inline ?? []) add({ block: b.id, first: heredoc.line, text: heredoc.text });
    for (const a of b.applies) {
      const text = labs(a.labsPath);
      if (text === undefined) continue;
      // A labs file equal to the block shown for it would only repeat that block's findings.
      const shown = blocks.find((y) => y.shownFor === b.id);
      const same = shown !== undefined && canonical(yamlObjects(substitute(shown.text, values))) === canonical(yamlObjects(substitute(text, values)));
      if (!same) add({ block: b.id, first: 1, file: `istio-workshop-labs/${a.labsPath}`, text });
    }
  }
  return out;
}

/** One message of `istioctl analyze -o json`. */
export interface AnalyzeMessage {
  code: string;
  level: string;
  message: string;
  origin?: string;
  /** `<file>:<line>` when istioctl knows the line. */
  reference?: string;
}

const SEVERITY: Readonly<Record<string, Severity>> = { Error: 'error', Warning: 'warning' };

/** A finding of istioctl, with the object it is about ("Kind name") and its IST code (analyze only). */
export interface IstioctlFinding {
  finding: Finding;
  object: string;
  code?: string;
}

/** `istioctl analyze` messages as findings, at the line their reference names; Info messages are left out. */
export function analyzeFindings(messages: readonly AnalyzeMessage[], files: readonly ManifestFile[]): IstioctlFinding[] {
  return messages.flatMap((m) => {
    const severity = SEVERITY[m.level];
    if (!severity) return [];
    const ref = /^(?:.*\/)?([^/:]+):(\d+)$/.exec(m.reference ?? '');
    const f = files.find((x) => x.name === ref?.[1]) ?? files.find((x) => yamlObjectsAt(x.text).some((o) => originOf(o.object) === stripNamespace(m.origin)));
    if (!f) return [];
    const line = ref && f.name === ref[1] ? f.first + Number(ref[2]) - 1 : f.first;
    return [{
      object: stripNamespace(m.origin), code: m.code,
      finding: {
        block: f.block, severity, line, ...(f.file ? { file: f.file } : {}),
        message: `istioctl analyze ${m.code}: ${m.origin ?? ''}${f.file ? ` (${f.file})` : ''}: ${m.message}`,
      },
    }];
  });
}

/** "Kind ns/name" or "Kind name" as "Kind name". */
function stripNamespace(origin: string | undefined): string {
  const m = /^(\S+) (?:[^/\s]+\/)?(\S+)$/.exec(origin ?? '');
  return m ? `${m[1]} ${m[2]}` : '';
}

function originOf(o: Record<string, unknown>): string {
  return `${String(o.kind)} ${String((o.metadata as { name?: unknown } | undefined)?.name)}`;
}

/** `istioctl validate` output (`* Kind/ns/name: problem` per refused object) as findings, at the object's line. */
export function validateFindings(output: string, files: readonly ManifestFile[]): IstioctlFinding[] {
  const out: IstioctlFinding[] = [];
  for (const m of output.matchAll(/^\s*\*\s*([A-Za-z]+)\/([^/\s]*)\/([^:\s]+):\s*(.+)$/gm)) {
    const [, kind, , name, problem] = m;
    for (const f of files) {
      const hit = yamlObjectsAt(f.text).find((o) => o.object.kind === kind && (o.object.metadata as { name?: unknown } | undefined)?.name === name);
      if (!hit) continue;
      out.push({
        object: `${kind} ${name}`,
        finding: {
          block: f.block, severity: 'error', line: f.first + hit.line - 1, ...(f.file ? { file: f.file } : {}),
          message: `istioctl validate: ${kind} ${name}${f.file ? ` (${f.file})` : ''}: ${problem!.trim()}`,
        },
      });
      break;
    }
  }
  return out;
}

/**
 * istioctl's findings against the reader's: one that confirms a reader's finding (the same block
 * and file, about the same object; for analyze, the finding that names its IST code, else the
 * object's first error) is added to that finding's first line as a confirmation; the others are
 * returned, to be added as findings of their own.
 */
export function fold(reader: Finding[], extra: readonly IstioctlFinding[]): Finding[] {
  const rest: Finding[] = [];
  for (const x of extra) {
    const mine = reader.filter((r) => r.block === x.finding.block && r.file === x.finding.file && x.object !== '' && r.message.includes(x.object));
    const target = (x.code ? mine.find((r) => r.message.includes(`istioctl analyze: ${x.code}`)) : undefined)
      ?? mine.find((r) => r.severity === x.finding.severity && (x.code === undefined || !/istioctl analyze: IST\d+/.test(r.message)));
    if (!target) {
      rest.push(x.finding);
      continue;
    }
    const [first, ...more] = target.message.split('\n');
    target.message = [`${first} [confirmed by ${x.finding.message}]`, ...more].join('\n');
  }
  return rest;
}

/** Runs istioctl analyze and validate over the files; its findings and a note on what ran. */
export async function istioctlReview(istioctl: string, files: readonly ManifestFile[]): Promise<{ findings: IstioctlFinding[]; note: string }> {
  if (files.length === 0) return { findings: [], note: `istioctl at ${istioctl}: the chapter has no manifests to analyze` };
  const dir = mkdtempSync(join(tmpdir(), 'workshop-istioctl-'));
  try {
    for (const f of files) writeFileSync(join(dir, f.name), f.text);
    const paths = files.map((f) => join(dir, f.name));
    // analyze exits 79 when it reports an error; its JSON is on stdout either way. The two run side by side.
    const [analyze, validate] = await Promise.all([
      run(istioctl, ['analyze', '--use-kube=false', '--all-namespaces', '-o', 'json', ...paths], { timeout: 30_000, maxBuffer: 16 << 20 })
        .catch((e: { stdout?: string; stderr?: string; message: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? e.message })),
      run(istioctl, ['validate', ...paths.flatMap((p) => ['-f', p])], { timeout: 30_000, maxBuffer: 16 << 20 })
        .then((r) => `${r.stdout}\n${r.stderr}`, (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}\n${e.stderr ?? ''}`),
    ]);
    let messages: AnalyzeMessage[] = [];
    try {
      messages = JSON.parse(analyze.stdout || '[]') as AnalyzeMessage[];
    } catch {
      return { findings: [], note: `istioctl at ${istioctl}: analyze printed no JSON (${(analyze.stderr || analyze.stdout).trim().split('\n')[0]}); its findings are not added` };
    }
    const findings = [...validateFindings(validate, files), ...analyzeFindings(messages, files)];
    return { findings, note: `istioctl (${istioctl}) analyze --use-kube=false and validate over ${files.length} manifest file(s): ${findings.length} finding(s)` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `npm run workshop` adds: istioctl's findings and a note, or a note that there is no istioctl. */
export async function addIstioctlFindings(analysis: { blocks: Classified[]; findings: Finding[]; notes: string[]; labs: { dir: string | null } }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const found = findIstioctl(env);
  if (!found) {
    analysis.notes.push(`no istioctl found (ISTIOCTL_BIN, PATH, or .tools/istio/${pins.istioBuild.version}/bin from npm run tools:build): Istio's own analysis (istioctl analyze, validate) is not added`);
    return;
  }
  const files = manifestFiles(analysis.blocks, labsReader(analysis.labs.dir ?? undefined));
  const { findings, note } = await istioctlReview(found.path, files);
  const own = fold(analysis.findings, findings);
  analysis.findings.push(...own);
  analysis.notes.push(`${note.replace(found.path, `${found.path}, ${found.source}`)}; ${findings.length - own.length} confirm the reader's own (marked "confirmed by istioctl"), ${own.length} added`);
}
