/**
 * images/image-inputs.ts: the hash of an image's inputs (what makes a rebuild) and the label that
 * records it on the image (what skips one), the label against a real Docker engine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, test } from 'vitest';
import { fresh, inputsHash, labelOf, setLabel } from '../../images/image-inputs.ts';
import { tempFolder } from '../plumbing/temp-folder.ts';
import { needDocker } from '../plumbing/support.ts';

describe('the inputs hash', () => {
  const dir = tempFolder('image-inputs');
  const put = async (path: string, text: string) => {
    await mkdir(join(dir.path, path, '..'), { recursive: true });
    await writeFile(join(dir.path, path), text);
  };

  test('changes with a file\'s content, its name, a new file in a folder, and an extra input; not with the order given', async () => {
    await put('a.sh', 'echo a');
    await put('files/x', '1');
    const first = await inputsHash(dir.path, ['a.sh', 'files'], ['v1.36.1']);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(await inputsHash(dir.path, ['a.sh', 'files'], ['v1.36.1'])).toBe(first);
    expect(await inputsHash(dir.path, ['a.sh', 'files'], ['v1.36.2'])).not.toBe(first);
    await put('files/x', '2');
    const changed = await inputsHash(dir.path, ['a.sh', 'files'], ['v1.36.1']);
    expect(changed).not.toBe(first);
    await put('files/y', '');
    expect(await inputsHash(dir.path, ['a.sh', 'files'], ['v1.36.1'])).not.toBe(changed);
    await put('b.sh', 'echo a');
    expect(await inputsHash(dir.path, ['b.sh'])).not.toBe(await inputsHash(dir.path, ['a.sh']));
  });

  test('a missing input is an error, not an empty hash', async () => {
    await expect(inputsHash(dir.path, ['nowhere'])).rejects.toThrow(/ENOENT/);
  });
});

describe('the inputs label on a real image', () => {
  const tag = `egress-verify/image-inputs-test:${process.pid}`;
  const dir = tempFolder('image-inputs-ctx');
  afterAll(async () => {
    await execa('docker', ['rmi', '-f', tag], { reject: false });
  });

  test('absent image: no label, not fresh; set: read back, fresh for that hash only', async (ctx) => {
    await needDocker(ctx);
    expect(await labelOf(tag)).toBeUndefined();
    expect(await fresh([tag], 'abc')).toBe(false);
    await writeFile(join(dir.path, 'f'), 'x');
    await writeFile(join(dir.path, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
    await execa('docker', ['build', '-q', '-t', tag, dir.path], { env: { DOCKER_BUILDKIT: '0' } });
    expect(await labelOf(tag)).toBeUndefined();
    await setLabel(tag, 'abc');
    expect(await labelOf(tag)).toBe('abc');
    expect(await fresh([tag], 'abc')).toBe(true);
    expect(await fresh([tag], 'abd')).toBe(false);
    expect(await fresh([tag, `${tag}-missing`], 'abc')).toBe(false);
  });
});
