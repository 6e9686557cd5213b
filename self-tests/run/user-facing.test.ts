/**
 * helpers/run/user-facing.ts: the failures a user fixes from the message alone, and the block
 * `npm test` ends with on one of them. As a user meets it, through the real `npm test`:
 * process/npm-test-failures.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { Cleanup } from '../../helpers/run/cleanup.ts';
import { PrerequisitesError } from '../../helpers/run/tools.ts';
import { bullets, failureBlock, UserFacingError } from '../../helpers/run/user-facing.ts';

describe('a user-facing failure', () => {
  test('its headline and problems; the message is the headline and the problems as bullets, unless given', () => {
    const e = new UserFacingError('Missing prerequisites', ['kind is not on PATH', 'docker: no engine']);
    expect([e.name, e.headline, e.problems]).toEqual(['Error', 'Missing prerequisites', ['kind is not on PATH', 'docker: no engine']]);
    expect(e.message).toBe('Missing prerequisites:\n  - kind is not on PATH\n  - docker: no engine');
    expect(new UserFacingError('Refusing the context', ['x'], 'the whole story').message).toBe('the whole story');
    expect(e).toBeInstanceOf(Error);
  });

  test('bullets: one indented line per problem, none for none', () => {
    expect(bullets(['a', 'b'])).toBe('  - a\n  - b');
    expect(bullets([])).toBe('');
  });
});

describe('the failure block', () => {
  test('names what was created and removed again, and what was left behind', async () => {
    const cleanup = new Cleanup();
    cleanup.add('network', () => Promise.resolve());
    cleanup.add('kind cluster c', () => Promise.reject(new Error('docker is gone')));
    cleanup.add('redis stand-in', () => Promise.resolve());
    await cleanup.run();
    expect(failureBlock(new PrerequisitesError(['host: too few inotify watches']), cleanup.outcome)).toBe([
      '✘ Missing prerequisites:',
      '  - host: too few inotify watches',
      'Created, then removed again: redis stand-in, network.',
      'LEFT BEHIND, its cleanup failed (see above): kind cluster c.', '',
    ].join('\n'));
  });
  test('a new kind of user-facing failure needs only to extend UserFacingError', () => {
    class HostError extends UserFacingError {}
    const e = new HostError('Host not ready', ['fs.inotify.max_user_instances is 128; Istio on kind needs 512']);
    expect(e.message).toBe('Host not ready:\n  - fs.inotify.max_user_instances is 128; Istio on kind needs 512');
    expect(failureBlock(e, new Cleanup().outcome, ['hint'])).toBe(`${e.message}\nNothing was created.\nhint\n`.replace(/^/, '✘ '));
  });

  test('nothing created: said so, then the hints, one line each; everything removed: no "LEFT BEHIND"', () => {
    const e = new UserFacingError('Invalid settings', ['CLUSTER="gke" is not valid']);
    expect(failureBlock(e, { removed: [], failed: [] }, ['hint 1', 'hint 2'])).toBe('✘ Invalid settings:\n  - CLUSTER="gke" is not valid\nNothing was created.\nhint 1\nhint 2\n');
    expect(failureBlock(e, { removed: ['network'], failed: [] })).toBe('✘ Invalid settings:\n  - CLUSTER="gke" is not valid\nCreated, then removed again: network.\n');
    expect(failureBlock(e, { removed: [], failed: ['kind cluster c'] })).toBe('✘ Invalid settings:\n  - CLUSTER="gke" is not valid\nLEFT BEHIND, its cleanup failed (see above): kind cluster c.\n');
  });
});
