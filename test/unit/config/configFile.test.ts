/** readConfigFile: regular files only (symlinks followed), bounded reads, a fingerprint of the bytes. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigFileError, fileStamp, readConfigFile } from '../../../src/config/configFile.js';
import { runCli } from '../../helpers/runCli.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-file-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readConfigFile', () => {
  it('reads a regular file and fingerprints its bytes', async () => {
    const path = join(dir, 'plain.yaml');
    await writeFile(path, 'kind: EgressRouter\n');
    const file = await readConfigFile(path);
    expect(file).toEqual({
      text: 'kind: EgressRouter\n',
      fingerprint: createHash('sha256').update('kind: EgressRouter\n').digest('hex'),
      bytes: 19,
    });
  });

  it('decodes UTF-8 (a byte-order mark, names beyond ASCII) as it decodes ASCII', async () => {
    const text = '\ufeffkind: EgressRouter\nmetadata: {name: routeur-é-東京}\n';
    const path = join(dir, 'utf8.yaml');
    await writeFile(path, text, 'utf8');
    const file = await readConfigFile(path);
    expect(file.text).toBe(text);
    expect(file.bytes).toBe(Buffer.byteLength(text));
  });

  it('follows the symlink chain of a ConfigMap mount', async () => {
    const mount = join(dir, 'mount');
    await mkdir(join(mount, '..2026_01_01_00_00_00.1'), { recursive: true });
    await writeFile(join(mount, '..2026_01_01_00_00_00.1', 'egressrouter.yaml'), 'a: 1\n');
    await symlink('..2026_01_01_00_00_00.1', join(mount, '..data'));
    await symlink('..data/egressrouter.yaml', join(mount, 'egressrouter.yaml'));
    expect((await readConfigFile(join(mount, 'egressrouter.yaml'))).text).toBe('a: 1\n');
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(readConfigFile(fifo)).rejects.toThrow(
      `cannot read ${fifo}: it is a FIFO, not a regular file`,
    );
    const link = join(dir, 'fifo-link');
    await symlink(fifo, link);
    await expect(readConfigFile(link)).rejects.toThrow(/it is a FIFO/);
  });

  it.each([
    ['/dev/zero', 'a character device'],
    ['/dev/null', 'a character device'],
    ['/', 'a directory'],
  ])('refuses %s: %s', async (path, what) => {
    await expect(readConfigFile(path)).rejects.toThrow(
      `cannot read ${path}: it is ${what}, not a regular file`,
    );
  });

  it('refuses a symlink to /dev/zero', async () => {
    const link = join(dir, 'zero');
    await symlink('/dev/zero', link);
    await expect(readConfigFile(link)).rejects.toThrow(/it is a character device/);
  });

  it('refuses a file over the limit before reading it', async () => {
    const path = join(dir, 'big');
    await writeFile(path, 'x'.repeat(101));
    await expect(readConfigFile(path, 100)).rejects.toThrow(
      `cannot read ${path}: 101 bytes, the limit is 100`,
    );
    expect((await readConfigFile(path, 101)).bytes).toBe(101);
  });

  it('stops reading a file whose size grows past the limit while it is read', async () => {
    // /proc files say size 0 and then deliver content: the read bound, not the size, must stop them.
    await expect(readConfigFile('/proc/self/status', 16)).rejects.toThrow(
      'cannot read /proc/self/status: it grew past the limit of 16 bytes while being read',
    );
  });

  it('says what is missing', async () => {
    const path = join(dir, 'missing.yaml');
    const error = await readConfigFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot read ${path}: ENOENT`));
  });
});

describe('fileStamp', () => {
  it('stays while the file is untouched, and changes on an edit in place or a ..data swap', async () => {
    const base = join(dir, 'stamp');
    await mkdir(join(base, 'v1'), { recursive: true });
    await mkdir(join(base, 'v2'), { recursive: true });
    await writeFile(join(base, 'v1', 'config.yaml'), 'kind: EgressRouter\n');
    await writeFile(join(base, 'v2', 'config.yaml'), 'kind: EgressRouter\n');
    await symlink('v1', join(base, '..data'));
    await symlink('..data/config.yaml', join(base, 'config.yaml'));
    const path = join(base, 'config.yaml');
    const first = await fileStamp(path);
    expect(first).toBeDefined();
    expect(await fileStamp(path)).toBe(first);
    // Same bytes in another file (what kubelet's atomic writer does): another version.
    await rm(join(base, '..data'));
    await symlink('v2', join(base, '..data'));
    const swapped = await fileStamp(path);
    expect(swapped).not.toBe(first);
    // Same size written in place: the times move.
    await writeFile(join(base, 'v2', 'config.yaml'), 'kind: EgressRoutes\n');
    expect(await fileStamp(path)).not.toBe(swapped);
    expect(await fileStamp(join(base, 'missing.yaml'))).toBeUndefined();
  });
});

describe('the CLI reads through it', () => {
  it('validate /dev/zero: exit 1 at once, nothing read', async () => {
    const result = await runCli(['validate', '/dev/zero']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read /dev/zero: it is a character device, not a regular file');
  });
});
