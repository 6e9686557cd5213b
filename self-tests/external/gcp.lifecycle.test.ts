/**
 * The Memorystore backend's decisions, against a gcloud STAND-IN whose every answer a test sets:
 * the preflight (which checks run, and what each failure says), describe errors that are not
 * NOT_FOUND (never a reason to create), instances that are not READY (deleted only when this
 * run created them, so nothing billed is left behind), create failures, and the describe output
 * at its edges. The stand-in answers like gcloud 528 does (see the notes in helpers/external/gcp.ts):
 * errors exit 1 with "ERROR: (gcloud.<command>) <message>" on stderr; unset values print nothing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import {
  createArgs, createdByRun, Gcloud, GcpError, gcloudError, Memorystore, newRunId, parseInstance, preflight, StartedMemorystore,
} from '../../helpers/external/gcp.ts';
import { loadSettings, type Settings } from '../../helpers/run/settings.ts';
import { standInCommand } from '../plumbing/support.ts';

/** What the stand-in answers; every field has the happy default. */
interface Script {
  account?: string;
  authExit?: number;
  configProject?: string;
  api?: 'enabled' | 'disabled' | 'error';
  describeError?: string;
  createExit?: number;
  /** Whether a create leaves an instance behind (also when it "fails"). */
  createMakes?: boolean;
  createdState?: string;
  createdHost?: boolean;
  deleteExit?: number;
}

// A POSIX shell script, not Node: it starts in a millisecond, and mutation runs call it often.
// The created instance carries the labels passed to `create`, as the real service stores them.
const STAND_IN = `#!/bin/sh
# STAND-IN for gcloud (test only): answers the commands helpers/external/gcp.ts runs, as scripted by SI_*.
fail() { echo "ERROR: (gcloud.$1) $2" >&2; exit "\${3:-1}"; }
case "$1 $2 $3" in
  "auth list "*)
    [ -n "$SI_ACCOUNT" ] && echo "$SI_ACCOUNT"
    exit "\${SI_AUTH_EXIT:-0}" ;;
  "config get-value project")
    [ -n "$SI_CONFIG_PROJECT" ] && echo "$SI_CONFIG_PROJECT"
    exit 0 ;;
  "services list "*)
    [ "$SI_API" = error ] && fail services.list "PERMISSION_DENIED: Permission denied to list services"
    [ "$SI_API" = disabled ] || echo redis.googleapis.com
    exit 0 ;;
  "redis instances describe")
    [ -n "$SI_DESCRIBE_ERROR" ] && fail redis.instances.describe "$SI_DESCRIBE_ERROR"
    [ -f "$SI_STATE" ] || fail redis.instances.describe "NOT_FOUND: Resource 'projects/p/locations/r/instances/$4' was not found"
    cat "$SI_STATE"; exit 0 ;;
  "redis instances create")
    echo "Create request issued for: [$4]" >&2
    labels=""
    for a in "$@"; do case "$a" in --labels=*) labels=$(echo "\${a#--labels=}" | sed 's/\\([^=,]*\\)=\\([^,]*\\)/"\\1":"\\2"/g') ;; esac; done
    host='"host":"10.121.0.3",'
    [ "$SI_CREATED_HOST" = no ] && host=''
    [ "$SI_CREATE_MAKES" = no ] || printf '{"name":"projects/p/locations/r/instances/%s","state":"%s","port":6379,"redisVersion":"REDIS_7_0",%s"labels":{%s}}' "$4" "\${SI_CREATED_STATE:-READY}" "$host" "$labels" > "$SI_STATE"
    [ "\${SI_CREATE_EXIT:-0}" = 0 ] || fail redis.instances.create "Operation timed out: the instance may still be created"
    exit 0 ;;
  "redis instances delete")
    [ "\${SI_DELETE_EXIT:-0}" = 0 ] || fail redis.instances.delete "FAILED_PRECONDITION: instance is busy"
    rm -f "$SI_STATE"; exit 0 ;;
  "test noisy ")
    printf 'first\\n\\n   \\nsecond\\n' >&2; exit 0 ;;
  "test killed ")
    kill -9 $$ ;;
esac
fail stand-in "does not know: $*" 2
`;

const gcloudStandIn = standInCommand('gcloud', STAND_IN);
let n = 0;

const ACCOUNT = 'ci@workshop-ci.iam.gserviceaccount.com';

/** A stand-in gcloud with its own state file; `existing` is the instance already there. */
async function standIn(script: Script = {}, existing?: object) {
  const state = join(gcloudStandIn.dir, `instance-${++n}.json`);
  if (existing) await writeFile(state, JSON.stringify(existing));
  const sc = { account: ACCOUNT, ...script };
  const gcloud = new Gcloud(gcloudStandIn.path, {
    SI_STATE: state, SI_ACCOUNT: sc.account, SI_AUTH_EXIT: String(sc.authExit ?? 0), SI_CONFIG_PROJECT: sc.configProject ?? '',
    SI_API: sc.api ?? 'enabled', SI_DESCRIBE_ERROR: sc.describeError ?? '', SI_CREATE_EXIT: String(sc.createExit ?? 0),
    SI_CREATE_MAKES: sc.createMakes === false ? 'no' : 'yes', SI_CREATED_STATE: sc.createdState ?? 'READY',
    SI_CREATED_HOST: sc.createdHost === false ? 'no' : 'yes', SI_DELETE_EXIT: String(sc.deleteExit ?? 0),
  });
  const verbs = () => gcloud.history.map((a) => (a[0] === 'redis' ? a.slice(0, 3) : a.slice(0, 2)).join(' '));
  return { gcloud, state, verbs };
}

const settings = (extra: Record<string, string> = {}): Settings =>
  loadSettings({ REDIS_BACKEND: 'memorystore', CLUSTER: 'existing', GCP_PROJECT: 'workshop-ci', ...extra });
const READY = { name: 'projects/workshop-ci/locations/us-central1/instances/redis-cart', host: '10.121.0.3', port: 6379, state: 'READY', redisVersion: 'REDIS_7_0' };
const problemsOf = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(GcpError);
  return (e as GcpError).problems;
};

describe('preflight: every check, each failure on its own', () => {
  test('all good: the target comes from the settings, and the API check ran for the project', async () => {
    const { gcloud, verbs } = await standIn();
    const t = await preflight(gcloud, settings({ GCP_REGION: 'europe-west1', GCP_ZONE: 'europe-west1-b', REDIS_INSTANCE: 'cart-ci', MEMORYSTORE_REDIS_VERSION: 'redis_6_x' }));
    expect(t).toEqual({ project: 'workshop-ci', region: 'europe-west1', zone: 'europe-west1-b', instance: 'cart-ci', redisVersion: 'redis_6_x' });
    expect(verbs()).toEqual(['auth list', 'services list']);
    expect(gcloud.history[1]).toContain('--project=workshop-ci');
  });

  test('without GCP_PROJECT the configured project is used', async () => {
    const { gcloud, verbs } = await standIn({ configProject: 'from-config' });
    const t = await preflight(gcloud, loadSettings({ REDIS_BACKEND: 'memorystore', CLUSTER: 'existing' }));
    expect(t.project).toBe('from-config');
    expect(verbs()).toEqual(['auth list', 'config get-value', 'services list']);
    expect(gcloud.history[2]).toContain('--project=from-config');
  });

  test('an account but no project: only the project is reported, and the API is not asked', async () => {
    const { gcloud, verbs } = await standIn();
    expect(await problemsOf(preflight(gcloud, loadSettings({ REDIS_BACKEND: 'memorystore', CLUSTER: 'existing' })))).toEqual([
      'no GCP project: set GCP_PROJECT, or `gcloud config set project PROJECT_ID`',
    ]);
    expect(verbs()).toEqual(['auth list', 'config get-value']);
  });

  test('a project but no account (or a failed auth list): only the account is reported, and the API is not asked', async () => {
    for (const script of [{ account: '' }, { authExit: 1 }]) {
      const { gcloud, verbs } = await standIn(script);
      expect(await problemsOf(preflight(gcloud, settings()))).toEqual([
        'no active gcloud account: run `gcloud auth login` (or activate a service account), then run again',
      ]);
      expect(verbs()).toEqual(['auth list']);
    }
  });

  test('the Redis API disabled: the command that enables it, for that project', async () => {
    const { gcloud } = await standIn({ api: 'disabled' });
    expect(await problemsOf(preflight(gcloud, settings()))).toEqual([
      'the Memorystore for Redis API is disabled in project workshop-ci: gcloud services enable redis.googleapis.com --project=workshop-ci',
    ]);
  });

  test('the API list failing: gcloud\'s own reason, without its prefix', async () => {
    const { gcloud } = await standIn({ api: 'error' });
    expect(await problemsOf(preflight(gcloud, settings()))).toEqual([
      'could not list the enabled APIs of project workshop-ci: PERMISSION_DENIED: Permission denied to list services',
    ]);
  });

  test('MEMORYSTORE_CREATE needs a zone; with one, or without create, there is no such problem', async () => {
    const { gcloud } = await standIn();
    expect(await problemsOf(preflight(gcloud, settings({ MEMORYSTORE_CREATE: '1' })))).toEqual([
      'MEMORYSTORE_CREATE needs GCP_ZONE (the chapter creates the instance with --zone), e.g. GCP_ZONE=us-central1-a',
    ]);
    await expect(preflight(gcloud, settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }))).resolves.toMatchObject({ zone: 'us-central1-a' });
    await expect(preflight(gcloud, settings())).resolves.toMatchObject({ zone: undefined });
  });

  test('the GcpError says nothing was created and lists each problem', () => {
    const e = new GcpError(['a', 'b']);
    expect(e.name).toBe('GcpError');
    expect(e.message).toBe('GCP is not ready for REDIS_BACKEND=memorystore; nothing was created:\n  - a\n  - b');
  });
});

describe('Memorystore lifecycle: what is created, and what is deleted', () => {
  test('a describe that fails for another reason than NOT_FOUND stops the run; nothing is created', async () => {
    const { gcloud, verbs } = await standIn({ describeError: 'PERMISSION_DENIED: Permission \'redis.instances.get\' denied' });
    const problems = await problemsOf(new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-a').start());
    expect(problems).toEqual(['gcloud redis instances describe redis-cart failed: PERMISSION_DENIED: Permission \'redis.instances.get\' denied']);
    expect(verbs()).toEqual(['auth list', 'services list', 'redis instances describe']);
  });

  test('an existing READY instance: used, its address read, never deleted', async () => {
    const { gcloud, verbs, state } = await standIn({}, { ...READY, host: '10.9.8.7', port: 6380, labels: { 'created-by': 'egress-verify', 'egress-verify-run': 'run-older' } });
    const m = await new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-b').start();
    expect(m.address).toEqual({ host: '10.9.8.7', port: 6380 });
    expect(m.createdByThisRun).toBe(false);
    await m.stop();
    expect(verbs()).toEqual(['auth list', 'services list', 'redis instances describe']);
    expect(existsSync(state)).toBe(true);
  });

  test('created by this run: labelled with the run id, then deleted at the end', async () => {
    const { gcloud, verbs, state } = await standIn();
    const m = await new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-c').start();
    expect(m.createdByThisRun).toBe(true);
    expect(m.instance.labels).toEqual({ 'created-by': 'egress-verify', 'egress-verify-run': 'run-c' });
    expect(m.target).toMatchObject({ project: 'workshop-ci', instance: 'redis-cart' });
    await m.stop();
    expect(verbs()).toEqual(['auth list', 'services list', 'redis instances describe', 'redis instances create', 'redis instances describe', 'redis instances delete']);
    expect(existsSync(state)).toBe(false);
  });

  test('created by this run but not READY: deleted again before the run stops, so nothing is left billed', async () => {
    const { gcloud, verbs, state } = await standIn({ createdState: 'CREATING', createdHost: false });
    const problems = await problemsOf(new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-d').start());
    expect(problems).toEqual(['Memorystore instance redis-cart is CREATING, not READY']);
    expect(verbs().at(-1)).toBe('redis instances delete');
    expect(existsSync(state)).toBe(false);
  });

  test('someone else\'s instance that is not READY: the run stops and the instance is left alone', async () => {
    const { gcloud, verbs, state } = await standIn({}, { ...READY, state: 'REPAIRING', labels: { 'created-by': 'egress-verify', 'egress-verify-run': 'run-other' } });
    expect(await problemsOf(new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-e').start())).toEqual([
      'Memorystore instance redis-cart is REPAIRING, not READY',
    ]);
    expect(verbs()).not.toContain('redis instances delete');
    expect(existsSync(state)).toBe(true);
  });

  test('a create that fails and leaves nothing: the failure, with gcloud\'s reason', async () => {
    const { gcloud } = await standIn({ createExit: 1, createMakes: false });
    expect(await problemsOf(new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-f').start())).toEqual([
      'creating redis-cart failed: Operation timed out: the instance may still be created',
    ]);
  });

  test('a create that reports a failure but did make the instance: it is used (and owned by this run)', async () => {
    const { gcloud, state } = await standIn({ createExit: 1 });
    const m = await new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-g').start();
    expect(m.createdByThisRun).toBe(true);
    await m.stop();
    expect(existsSync(state)).toBe(false);
  });

  test('a create that succeeds but then cannot be found: vanished', async () => {
    const { gcloud } = await standIn({ createMakes: false });
    expect(await problemsOf(new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-h').start())).toEqual([
      'Memorystore instance redis-cart vanished after create',
    ]);
  });

  test('READY without a host: refused, not connected to an empty address', async () => {
    const { gcloud } = await standIn({ createdHost: false });
    await expect(new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-i').start()).rejects.toThrow('instance is READY but has no host');
  });

  test('a delete that fails is an error naming the instance and the reason', async () => {
    const { gcloud } = await standIn({ deleteExit: 1 });
    const m = await new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-j').start();
    await expect(m.stop()).rejects.toThrow(/^deleting Memorystore instance redis-cart failed: FAILED_PRECONDITION: instance is busy$/);
  });

  test('stop() of an instance not created by this run runs no gcloud command at all', async () => {
    const { gcloud } = await standIn();
    const handle = new StartedMemorystore(gcloud, { project: 'p', region: 'r', zone: undefined, instance: 'i', redisVersion: 'redis_7_0' }, parseInstance(JSON.stringify(READY)), false);
    await handle.stop();
    expect(gcloud.history).toEqual([]);
  });
});

describe('describe output at its edges', () => {
  test('port: a number or numeric string; missing, zero, negative or junk means 6379', () => {
    const port = (p: unknown) => parseInstance(JSON.stringify({ ...READY, port: p })).port;
    expect(port(6380)).toBe(6380);
    expect(port('16379')).toBe(16379);
    expect(port(1)).toBe(1);
    for (const p of [undefined, 0, -1, 'abc', null]) expect(port(p), String(p)).toBe(6379);
  });

  test('missing fields get their neutral values; a non-READY instance may lack a host', () => {
    expect(parseInstance('{"state":"CREATING"}')).toEqual({
      name: '', host: '', port: 6379, state: 'CREATING', redisVersion: '', labels: {}, authorizedNetwork: undefined,
    });
    expect(parseInstance('{}').state).toBe('STATE_UNSPECIFIED');
    expect(parseInstance(JSON.stringify({ ...READY, host: 5, state: 'UPDATING', authorizedNetwork: 7 }))).toMatchObject({ host: '', authorizedNetwork: undefined });
    expect(parseInstance(JSON.stringify({ ...READY, authorizedNetwork: 'projects/p/global/networks/default' })).authorizedNetwork).toBe('projects/p/global/networks/default');
    expect(() => parseInstance(JSON.stringify({ ...READY, host: undefined }))).toThrow('instance is READY but has no host');
    expect(() => parseInstance(JSON.stringify({ ...READY, host: null }))).toThrow('instance is READY but has no host');
  });

  test('created by this run: both labels must match', () => {
    const i = parseInstance(JSON.stringify({ ...READY, labels: { 'created-by': 'someone-else', 'egress-verify-run': 'run-1' } }));
    expect(createdByRun(i, 'run-1')).toBe(false);
    expect(createdByRun({ ...i, labels: { 'created-by': 'egress-verify', 'egress-verify-run': 'run-1' } }, 'run-1')).toBe(true);
    expect(createdByRun({ ...i, labels: {} }, 'run-1')).toBe(false);
  });

  test('run ids are valid label values and differ between runs', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const a = newRunId(at);
    expect(a).toMatch(/^run-20260102030405-[a-z0-9]{1,6}$/);
    expect(a.length).toBeLessThanOrEqual(63);
    const many = new Set(Array.from({ length: 20 }, () => newRunId(at)));
    expect(many.size).toBeGreaterThan(15);
  });

  test('create without a zone has no --zone flag', () => {
    expect(createArgs({ project: 'p', region: 'r', zone: undefined, instance: 'i', redisVersion: 'redis_7_0' }, 'run-1')).toEqual([
      'redis', 'instances', 'create', 'i', '--size=1', '--region=r', '--redis-version=redis_7_0', '--labels=created-by=egress-verify,egress-verify-run=run-1', '--project=p',
    ]);
  });

  test('gcloud error text: the ERROR line without its prefix, else the first line', () => {
    expect(gcloudError('WARNING: something\nERROR: (gcloud.redis.instances.create) QUOTA_EXCEEDED: no quota\n')).toBe('QUOTA_EXCEEDED: no quota');
    expect(gcloudError('  Traceback (most recent call last):\n  File x\n')).toBe('Traceback (most recent call last):');
    expect(gcloudError('')).toBe('');
    expect(gcloudError('ERROR: plain message')).toBe('ERROR: plain message'); // no (gcloud.x) part: kept whole
    expect(gcloudError('ERROR:(gcloud.x)   spaced  ')).toBe('spaced');
    expect(gcloudError('ERROR: (gcloud.x)NOT_FOUND: y')).toBe('NOT_FOUND: y');
    expect(gcloudError('\n\nboom\nmore')).toBe('boom');
    expect(gcloudError('see ERROR: (gcloud.x) y')).toBe('see ERROR: (gcloud.x) y');
  });
});

describe('what is asked, and what is logged', () => {
  test('the read-only preflight commands, exactly', async () => {
    const { gcloud } = await standIn();
    await preflight(gcloud, settings());
    expect(gcloud.history).toEqual([
      ['auth', 'list', '--filter=status:ACTIVE', '--format=value(account)'],
      ['services', 'list', '--enabled', '--project=workshop-ci', '--filter=config.name=redis.googleapis.com', '--format=value(config.name)'],
    ]);
  });

  test('an account or project of whitespace only is none', async () => {
    const { gcloud } = await standIn({ account: '   ', configProject: '  ' });
    expect(await problemsOf(preflight(gcloud, loadSettings({ REDIS_BACKEND: 'memorystore', CLUSTER: 'existing' })))).toHaveLength(2);
  });

  test('create and delete progress is logged line by line; an instance left alone says so', async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { logged.push(String(chunk).replace(/^\[egress-verify [0-9:]+\] /, '').trimEnd()); return true; });
    try {
      const { gcloud } = await standIn();
      const m = await new Memorystore(settings({ MEMORYSTORE_CREATE: '1', GCP_ZONE: 'us-central1-a' }), gcloud, 'run-l').start();
      await m.stop();
      const other = await standIn({}, READY);
      const o = await new Memorystore(settings(), other.gcloud, 'run-m').start();
      await o.stop();
      const notReady = await standIn({}, { ...READY, state: 'REPAIRING' });
      await new Memorystore(settings(), notReady.gcloud, 'run-n').start().catch(() => undefined);
    } finally {
      spy.mockRestore();
    }
    expect(logged).toEqual([
      'creating Memorystore instance redis-cart in workshop-ci/us-central1 (this takes minutes)',
      '  gcloud: Create request issued for: [redis-cart]',
      'Memorystore instance redis-cart was not created by this run: left as it is',
    ]);
  });
});

describe('how gcloud is run', () => {
  test('never prompts, keeps a history, reports exit code and output, and streams stderr lines', async () => {
    const { gcloud } = await standIn({ describeError: 'NOT_FOUND: gone' });
    expect(gcloud.env.CLOUDSDK_CORE_DISABLE_PROMPTS).toBe('1');
    expect(new Gcloud().path).toBe('gcloud');
    const lines: string[] = [];
    const r = await gcloud.run(['redis', 'instances', 'describe', 'x'], (l) => lines.push(l));
    expect(r).toEqual({ exitCode: 1, stdout: '', stderr: 'ERROR: (gcloud.redis.instances.describe) NOT_FOUND: gone' });
    expect(lines).toEqual(['ERROR: (gcloud.redis.instances.describe) NOT_FOUND: gone']);
    expect(gcloud.history).toEqual([['redis', 'instances', 'describe', 'x']]);
    const ok = await gcloud.run(['auth', 'list']);
    expect(ok).toEqual({ exitCode: 0, stdout: ACCOUNT, stderr: '' });
  });

  test('progress lines: blank ones dropped; a gcloud killed by a signal counts as exit 1', async () => {
    const { gcloud } = await standIn();
    const lines: string[] = [];
    expect((await gcloud.run(['test', 'noisy'], (l) => lines.push(l))).exitCode).toBe(0);
    expect(lines).toEqual(['first', 'second']);
    expect((await gcloud.run(['test', 'killed'])).exitCode).toBe(1);
  });

  test('a missing NOT_FOUND instance, read back from the real stand-in log', async () => {
    const { gcloud, state } = await standIn();
    await expect(new Memorystore(settings(), gcloud, 'run-k').start()).rejects.toThrow(/^GCP is not ready.*\n  - Memorystore instance redis-cart not found in workshop-ci\/us-central1; create it/);
    expect(existsSync(state)).toBe(false);
    await expect(readFile(state, 'utf8')).rejects.toThrow();
  });
});
