/**
 * The Memorystore backend.
 *
 * - The real gcloud of this machine (no credentials) for the failure modes, isolated in an
 *   empty config directory and kept off the network (no GCE metadata probe, no usage reports).
 * - A STAND-IN for gcloud (a small script answering like `gcloud redis instances ...`) for the
 *   create/describe/delete flow, since no real GCP project is reachable from here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MUTATION_RUN } from '../plumbing/mutation-run.ts';
import {
  createArgs, createdByRun, deleteArgs, describeArgs, Gcloud, GcpError, gcloudError, Memorystore, newRunId, parseInstance, preflight,
} from '../../helpers/external/gcp.ts';
import { loadSettings } from '../../helpers/run/settings.ts';
import { checkPrerequisites, onPath } from '../../helpers/run/tools.ts';
import { standInCommand } from '../plumbing/support.ts';

const memorystoreEnv = { REDIS_BACKEND: 'memorystore', CLUSTER: 'existing' };

// Temp folders of this file, removed when it ends.
const made: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
afterAll(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

/** A READY Basic-tier instance as `describe --format=json` prints it (fields per the v1 Instance resource). */
const SAMPLE = {
  name: 'projects/workshop-ci/locations/us-central1/instances/redis-cart',
  locationId: 'us-central1-a',
  redisVersion: 'REDIS_7_0',
  reservedIpRange: '10.121.0.0/29',
  host: '10.121.0.3',
  port: 6379,
  currentLocationId: 'us-central1-a',
  createTime: '2026-11-20T09:14:02.123456Z',
  state: 'READY',
  tier: 'BASIC',
  memorySizeGb: 1,
  authorizedNetwork: 'projects/workshop-ci/global/networks/default',
  connectMode: 'DIRECT_PEERING',
  transitEncryptionMode: 'DISABLED',
  labels: { 'created-by': 'egress-verify', 'egress-verify-run': 'run-20261120091400-abc123' },
};

describe('gcloud command construction and output parsing', () => {
  const t = { project: 'workshop-ci', region: 'us-central1', zone: 'us-central1-a', instance: 'redis-cart', redisVersion: 'redis_4_0' };
  test('describe / create (the chapter\'s flags, labelled) / delete', () => {
    expect(describeArgs(t)).toEqual(['redis', 'instances', 'describe', 'redis-cart', '--region=us-central1', '--project=workshop-ci', '--format=json']);
    expect(createArgs(t, 'run-1')).toEqual([
      'redis', 'instances', 'create', 'redis-cart', '--size=1', '--region=us-central1', '--zone=us-central1-a',
      '--redis-version=redis_4_0', '--labels=created-by=egress-verify,egress-verify-run=run-1', '--project=workshop-ci',
    ]);
    expect(deleteArgs(t)).toEqual(['redis', 'instances', 'delete', 'redis-cart', '--region=us-central1', '--project=workshop-ci', '--quiet']);
  });
  test('describe output: host, port, state, version, labels', () => {
    expect(parseInstance(JSON.stringify(SAMPLE))).toMatchObject({
      host: '10.121.0.3', port: 6379, state: 'READY', redisVersion: 'REDIS_7_0', labels: SAMPLE.labels,
    });
    const { labels: _ignored, ...unlabelled } = SAMPLE;
    expect(parseInstance(JSON.stringify({ ...unlabelled, state: 'CREATING', host: undefined })).labels).toEqual({});
  });
  test('only an instance labelled with this run id counts as created by this run', () => {
    const i = parseInstance(JSON.stringify(SAMPLE));
    expect(createdByRun(i, 'run-20261120091400-abc123')).toBe(true);
    expect(createdByRun(i, 'run-20261126000000-zzz999')).toBe(false);
    expect(createdByRun({ ...i, labels: { 'egress-verify-run': 'run-20261120091400-abc123' } }, 'run-20261120091400-abc123')).toBe(false);
    expect(newRunId(new Date('2026-11-26T15:04:05Z'))).toMatch(/^run-20261126150405-[a-z0-9]{1,6}$/);
  });
  test('error lines lose gcloud\'s prefix', () => {
    expect(gcloudError('ERROR: (gcloud.redis.instances.describe) NOT_FOUND: Resource not found\n')).toBe('NOT_FOUND: Resource not found');
  });
});

// Skipped in mutation runs (EGRESS_VERIFY_MUTATION=1, vitest.mutation.config.ts): each real
// gcloud call takes seconds, and these tests would run again for every settings mutant; the
// decisions they reach are tested against the stand-in (here and in gcp-lifecycle.test.ts).
describe.skipIf(MUTATION_RUN)('the real gcloud on this machine, without credentials', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = {
      CLOUDSDK_CONFIG: await tempDir('gcloud-empty-'),
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false', // never probe the metadata server
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
    };
  });
  afterAll(() => rm(env.CLOUDSDK_CONFIG!, { recursive: true, force: true }));

  test('no account and no project: both reported at once, and nothing but read-only commands ran', async (ctx) => {
    const path = await onPath('gcloud');
    if (!path) ctx.skip('gcloud is not installed on this machine');
    const gcloud = new Gcloud(path, env);
    const err = await preflight(gcloud, loadSettings({ ...memorystoreEnv, MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GcpError);
    expect((err as GcpError).problems).toEqual([
      'no active gcloud account: run `gcloud auth login` (or activate a service account), then run again',
      'no GCP project: set GCP_PROJECT, or `gcloud config set project PROJECT_ID`',
    ]);
    expect(gcloud.history.map((a) => a.slice(0, 2).join(' '))).toEqual(['auth list', 'config get-value']);
  });

  test('Memorystore.start with a project but no account: the clear error, no create, no delete', async (ctx) => {
    const path = await onPath('gcloud');
    if (!path) ctx.skip('gcloud is not installed on this machine');
    const gcloud = new Gcloud(path, env);
    const s = loadSettings({ ...memorystoreEnv, GCP_PROJECT: 'workshop-ci', MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' });
    const err = await new Memorystore(s, gcloud).start().catch((e: unknown) => e);
    expect((err as GcpError).problems).toEqual(['no active gcloud account: run `gcloud auth login` (or activate a service account), then run again']);
    expect(gcloud.history.some((a) => a[2] === 'create' || a[2] === 'delete')).toBe(false);
  });

  test('describe without credentials really fails the way the module expects (exit 1, ERROR line)', async (ctx) => {
    const path = await onPath('gcloud');
    if (!path) ctx.skip('gcloud is not installed on this machine');
    const r = await new Gcloud(path, env).run(describeArgs({ project: 'workshop-ci', region: 'us-central1', zone: undefined, instance: 'redis-cart', redisVersion: 'redis_7_0' }));
    expect(r.exitCode).toBe(1);
    expect(gcloudError(r.stderr)).toMatch(/You do not currently have an active account selected/);
  });

  test('gcloud missing from PATH: reported by the prerequisites check', async () => {
    const saved = process.env.PATH;
    process.env.PATH = await tempDir('empty-path-');
    try {
      const err = await checkPrerequisites(loadSettings(memorystoreEnv)).catch((e: unknown) => e);
      expect((err as { problems: string[] }).problems).toContain('gcloud: not on PATH; install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), then `gcloud auth login`');
    } finally {
      await rm(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = saved;
    }
  });
});

describe('the Memorystore flow against a gcloud STAND-IN', () => {
  // The stand-in keeps one instance in a JSON file and answers the few commands the module runs.
  const STAND_IN = `#!/usr/bin/env node
const fs = require('fs');
const state = process.env.STAND_IN_STATE;
const args = process.argv.slice(2);
fs.appendFileSync(state + '.log', args.join(' ') + '\\n');
const load = () => fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : null;
const verb = args.slice(0, 3).join(' ');
if (args[0] === 'auth') { console.log('ci@workshop-ci.iam.gserviceaccount.com'); process.exit(0); }
if (args[0] === 'services') { console.log('redis.googleapis.com'); process.exit(0); }
if (verb === 'redis instances describe') {
  const i = load();
  if (!i) { console.error("ERROR: (gcloud.redis.instances.describe) NOT_FOUND: Resource 'projects/workshop-ci/locations/us-central1/instances/" + args[3] + "' was not found"); process.exit(1); }
  console.log(JSON.stringify(i)); process.exit(0);
}
if (verb === 'redis instances create') {
  const labels = Object.fromEntries(args.find((a) => a.startsWith('--labels=')).slice(9).split(',').map((kv) => kv.split('=')));
  console.error('Create request issued for: [' + args[3] + ']');
  fs.writeFileSync(state, JSON.stringify({ ...JSON.parse(process.env.STAND_IN_SAMPLE), labels }));
  console.error('Created instance [' + args[3] + '].'); process.exit(0);
}
if (verb === 'redis instances delete') { fs.rmSync(state); process.exit(0); }
console.error('ERROR: (gcloud) stand-in does not know: ' + args.join(' ')); process.exit(2);
`;
  const gcloudStandIn = standInCommand('gcloud', STAND_IN);

  const gcloudFor = (name: string, existing?: object) => {
    const state = join(gcloudStandIn.dir, `${name}.json`);
    if (existing) execFileSync('node', ['-e', `require('fs').writeFileSync(${JSON.stringify(state)}, ${JSON.stringify(JSON.stringify(existing))})`]);
    return { gcloud: new Gcloud(gcloudStandIn.path, { STAND_IN_STATE: state, STAND_IN_SAMPLE: JSON.stringify(SAMPLE), PATH: process.env.PATH ?? '' }), log: `${state}.log` };
  };
  const s = (extra: Record<string, string> = {}) => loadSettings({ ...memorystoreEnv, GCP_PROJECT: 'workshop-ci', ...extra });

  test('missing and not asked to create: a clear error naming MEMORYSTORE_CREATE', async () => {
    const { gcloud } = gcloudFor('missing');
    await expect(new Memorystore(s(), gcloud).start()).rejects.toThrow(/redis-cart not found in workshop-ci\/us-central1; .* or set MEMORYSTORE_CREATE=true/);
    expect(gcloud.history.some((a) => a[2] === 'create')).toBe(false);
  });

  test('MEMORYSTORE_CREATE: created with this run\'s label, and deleted at the end', async () => {
    const { gcloud, log } = gcloudFor('create');
    const m = await new Memorystore(s({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-test-1').start();
    expect(m.address).toEqual({ host: '10.121.0.3', port: 6379 });
    expect(m.createdByThisRun).toBe(true);
    await m.stop();
    const calls = (await readFile(log, 'utf8')).trim().split('\n').map((l) => l.split(' ').slice(0, 3).join(' '));
    expect(calls.filter((c) => c.startsWith('redis'))).toEqual([
      'redis instances describe', 'redis instances create', 'redis instances describe', 'redis instances delete',
    ]);
  });

  test('an instance that was already there is used and never deleted', async () => {
    const { gcloud } = gcloudFor('existing', { ...SAMPLE, labels: {} });
    const m = await new Memorystore(s({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-test-2').start();
    expect(m.createdByThisRun).toBe(false);
    await m.stop();
    expect(gcloud.history.some((a) => a[2] === 'create' || a[2] === 'delete')).toBe(false);
  });

  test('an instance that is not READY stops the run', async () => {
    const { gcloud } = gcloudFor('updating', { ...SAMPLE, state: 'MAINTENANCE' });
    await expect(new Memorystore(s(), gcloud).start()).rejects.toThrow(/is MAINTENANCE, not READY/);
  });

  test('MEMORYSTORE_CREATE without GCP_ZONE is a preflight problem', async () => {
    const { gcloud } = gcloudFor('nozone');
    await expect(new Memorystore(s({ MEMORYSTORE_CREATE: '1' }), gcloud).start()).rejects.toThrow(/MEMORYSTORE_CREATE needs GCP_ZONE/);
  });
});
