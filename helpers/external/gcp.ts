/**
 * Real GCP Memorystore for Redis, through the gcloud CLI (REDIS_BACKEND=memorystore).
 *
 *   const redis = await new Memorystore(settings).start();   // finds it (or creates it when asked)
 *   redis.address   // { host: '10.x.y.z', port: 6379 }: a private IP, reachable only in its VPC
 *   await redis.stop();                                      // deletes it only if this run created it
 *
 * gcloud facts (Google Cloud SDK 528; surface/redis/instances/*.yaml, and runs without credentials):
 * - `redis instances create NAME --region R [--zone Z] --size GiB --redis-version redis_7_0
 *   --labels k=v` waits for the long-running operation unless --async.
 * - `describe NAME --region R --format=json` prints the Instance resource: host, port, state
 *   (CREATING, READY, UPDATING, DELETING, REPAIRING, MAINTENANCE, IMPORTING, FAILING_OVER),
 *   redisVersion ("REDIS_7_0"), labels (absent when none).
 * - Unset values print nothing on stdout with exit 0 (`auth list --format=json` prints []).
 * - Errors exit 1 with "ERROR: (gcloud.<command>) <message>" on stderr.
 */
import { execa } from 'execa';
import { log } from '../run/progress.ts';
import type { Address } from './address.ts';
import type { Settings } from '../run/settings.ts';
import { UserFacingError } from '../run/user-facing.ts';

export const CREATED_BY_LABEL = 'created-by';
export const CREATED_BY_VALUE = 'egress-verify';
export const RUN_LABEL = 'egress-verify-run';

export class GcpError extends UserFacingError {
  constructor(problems: readonly string[]) {
    super('GCP is not ready for REDIS_BACKEND=memorystore', problems, `GCP is not ready for REDIS_BACKEND=memorystore; nothing was created:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'GcpError';
  }
}

export interface MemorystoreInstance {
  name: string;
  host: string;
  port: number;
  state: string;
  redisVersion: string;
  labels: Record<string, string>;
  authorizedNetwork: string | undefined;
}

export function parseInstance(json: string): MemorystoreInstance {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const port = Number(raw.port);
  if (typeof raw.host !== 'string' && raw.state === 'READY') throw new Error('instance is READY but has no host');
  return {
    name: String(raw.name ?? ''),
    host: typeof raw.host === 'string' ? raw.host : '',
    port: Number.isFinite(port) && port > 0 ? port : 6379,
    state: String(raw.state ?? 'STATE_UNSPECIFIED'),
    redisVersion: String(raw.redisVersion ?? ''),
    labels: (raw.labels as Record<string, string> | undefined) ?? {},
    authorizedNetwork: typeof raw.authorizedNetwork === 'string' ? raw.authorizedNetwork : undefined,
  };
}

/** Only an instance carrying this run's label was made by this run, and only that one is deleted. */
export function createdByRun(instance: MemorystoreInstance, runId: string): boolean {
  return instance.labels[CREATED_BY_LABEL] === CREATED_BY_VALUE && instance.labels[RUN_LABEL] === runId;
}

/** A label value: lower-case letters, digits, "-" and "_", at most 63 characters. */
export function newRunId(now = new Date()): string {
  return `run-${now.toISOString().replace(/[^0-9]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface GcloudTarget {
  project: string;
  region: string;
  zone: string | undefined;
  instance: string;
  redisVersion: string;
}

export function describeArgs(t: GcloudTarget): string[] {
  return ['redis', 'instances', 'describe', t.instance, `--region=${t.region}`, `--project=${t.project}`, '--format=json'];
}

export function createArgs(t: GcloudTarget, runId: string): string[] {
  return [
    'redis', 'instances', 'create', t.instance,
    '--size=1', `--region=${t.region}`, ...(t.zone ? [`--zone=${t.zone}`] : []),
    `--redis-version=${t.redisVersion}`,
    `--labels=${CREATED_BY_LABEL}=${CREATED_BY_VALUE},${RUN_LABEL}=${runId}`,
    `--project=${t.project}`,
  ];
}

export function deleteArgs(t: GcloudTarget): string[] {
  return ['redis', 'instances', 'delete', t.instance, `--region=${t.region}`, `--project=${t.project}`, '--quiet'];
}

/** The gcloud error line without its "ERROR: (gcloud.x.y)" prefix. */
export function gcloudError(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('ERROR:')) ?? stderr.trim().split('\n')[0] ?? '';
  return line.replace(/^ERROR:\s*\([^)]*\)\s*/, '').trim();
}

export interface GcloudResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** How gcloud is run: never prompts. `env` lets tests isolate its config directory. */
export class Gcloud {
  readonly path: string;
  readonly env: Record<string, string>;
  /** Every command run, for the plan and for tests that must prove nothing was created. */
  readonly history: string[][] = [];

  constructor(path = 'gcloud', env: Record<string, string> = {}) {
    this.path = path;
    this.env = { CLOUDSDK_CORE_DISABLE_PROMPTS: '1', ...env };
  }

  async run(args: string[], onProgress?: (line: string) => void): Promise<GcloudResult> {
    this.history.push(args);
    const child = execa(this.path, args, { env: this.env, reject: false, timeout: 30 * 60_000 });
    // Stryker disable next-line OptionalChaining: equivalent; execa pipes stderr unless told otherwise, so it is always there.
    if (onProgress) child.stderr?.on('data', (d: Buffer) => d.toString().split('\n').filter((l) => l.trim()).forEach(onProgress));
    const r = await child;
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
}

/**
 * Everything that must hold before the first gcloud call that changes anything: an active
 * account, a project, the Redis API enabled. All problems are reported at once.
 */
export async function preflight(gcloud: Gcloud, s: Settings): Promise<GcloudTarget> {
  const problems: string[] = [];
  const auth = await gcloud.run(['auth', 'list', '--filter=status:ACTIVE', '--format=value(account)']);
  const account = auth.exitCode === 0 ? auth.stdout.trim() : '';
  if (!account) {
    problems.push('no active gcloud account: run `gcloud auth login` (or activate a service account), then run again');
  }
  let project = s.gcpProject;
  if (!project) {
    const p = await gcloud.run(['config', 'get-value', 'project']);
    project = p.stdout.trim() || undefined;
  }
  if (!project) {
    problems.push('no GCP project: set GCP_PROJECT, or `gcloud config set project PROJECT_ID`');
  }
  if (account && project) {
    const api = await gcloud.run(['services', 'list', '--enabled', `--project=${project}`,
      '--filter=config.name=redis.googleapis.com', '--format=value(config.name)']);
    if (api.exitCode !== 0) {
      problems.push(`could not list the enabled APIs of project ${project}: ${gcloudError(api.stderr)}`);
    } else if (!api.stdout.includes('redis.googleapis.com')) {
      problems.push(`the Memorystore for Redis API is disabled in project ${project}: gcloud services enable redis.googleapis.com --project=${project}`);
    }
  }
  if (s.memorystoreCreate && !s.gcpZone) {
    problems.push('MEMORYSTORE_CREATE needs GCP_ZONE (the chapter creates the instance with --zone), e.g. GCP_ZONE=us-central1-a');
  }
  if (problems.length > 0) throw new GcpError(problems);
  return { project: project!, region: s.gcpRegion, zone: s.gcpZone, instance: s.redisInstance, redisVersion: s.memorystoreRedisVersion };
}

export class Memorystore {
  readonly #s: Settings;
  readonly #gcloud: Gcloud;
  readonly #runId: string;

  constructor(settings: Settings, gcloud = new Gcloud(), runId = newRunId()) {
    this.#s = settings;
    this.#gcloud = gcloud;
    this.#runId = runId;
  }

  async #describe(t: GcloudTarget): Promise<MemorystoreInstance | undefined> {
    const r = await this.#gcloud.run(describeArgs(t));
    if (r.exitCode === 0) return parseInstance(r.stdout);
    if (/NOT_FOUND/.test(r.stderr)) return undefined;
    throw new GcpError([`gcloud ${describeArgs(t).slice(0, 4).join(' ')} failed: ${gcloudError(r.stderr)}`]);
  }

  async start(): Promise<StartedMemorystore> {
    const t = await preflight(this.#gcloud, this.#s);
    let instance = await this.#describe(t);
    if (!instance) {
      if (!this.#s.memorystoreCreate) {
        throw new GcpError([`Memorystore instance ${t.instance} not found in ${t.project}/${t.region}; create it (the chapter: gcloud redis instances create ${t.instance} --size=1 --region=${t.region} --zone=ZONE --redis-version=...) or set MEMORYSTORE_CREATE=true`]);
      }
      log(`creating Memorystore instance ${t.instance} in ${t.project}/${t.region} (this takes minutes)`);
      const created = await this.#gcloud.run(createArgs(t, this.#runId), (line) => log(`  gcloud: ${line}`));
      instance = await this.#describe(t);
      if (created.exitCode !== 0 && !instance) {
        throw new GcpError([`creating ${t.instance} failed: ${gcloudError(created.stderr)}`]);
      }
    }
    if (!instance) throw new GcpError([`Memorystore instance ${t.instance} vanished after create`]);
    const handle = new StartedMemorystore(this.#gcloud, t, instance, createdByRun(instance, this.#runId));
    if (instance.state !== 'READY') {
      if (handle.createdByThisRun) await handle.stop();
      throw new GcpError([`Memorystore instance ${t.instance} is ${instance.state}, not READY`]);
    }
    return handle;
  }
}

export class StartedMemorystore {
  readonly #gcloud: Gcloud;
  readonly target: GcloudTarget;
  readonly instance: MemorystoreInstance;
  readonly createdByThisRun: boolean;

  constructor(gcloud: Gcloud, target: GcloudTarget, instance: MemorystoreInstance, createdByThisRun: boolean) {
    this.#gcloud = gcloud;
    this.target = target;
    this.instance = instance;
    this.createdByThisRun = createdByThisRun;
  }

  get address(): Address {
    return { host: this.instance.host, port: this.instance.port };
  }

  /** Deletes the instance only when this run created it (its labels say so). */
  async stop(): Promise<void> {
    if (!this.createdByThisRun) {
      log(`Memorystore instance ${this.target.instance} was not created by this run: left as it is`);
      return;
    }
    const r = await this.#gcloud.run(deleteArgs(this.target), (line) => log(`  gcloud: ${line}`));
    if (r.exitCode !== 0) throw new Error(`deleting Memorystore instance ${this.target.instance} failed: ${gcloudError(r.stderr)}`);
  }
}
