/** readConfigFile: regular files only (symlinks followed), bounded reads, a fingerprint of the bytes. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  fileStamp,
  readConfigFile,
  readConfigFileOver,
} from '../../../src/config/configFile.js';
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
      ascii: Buffer.from('kind: EgressRouter\n'),
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
    // Not all ASCII: no bytes for the quick reload path, whose offsets must be characters.
    expect(file.ascii).toBeUndefined();
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

describe('readConfigFileOver', () => {
  // A text big enough that the first read's buffer is its own memory (what the reader holds).
  const base = Array.from({ length: 20_000 }, (_, i) => `{"port":${i},"to":"192.0.2.${i % 200}"}`).join(',');

  /** Writes `next`, reads it over `previous`, and checks the answer against a plain read. */
  async function over(previous: Buffer, next: string) {
    const path = join(dir, 'over.json');
    await writeFile(path, next);
    const change = await readConfigFileOver(path, previous);
    const plain = await readFile(path);
    if (!change) throw new Error('no change found');
    expect(change.file.text).toBe(next);
    expect(change.file.fingerprint).toBe(createHash('sha256').update(plain).digest('hex'));
    expect(change.file.ascii?.equals(plain)).toBe(true);
    expect(change.prefix + change.suffix).toBeLessThanOrEqual(plain.length);
    expect(plain.subarray(0, change.prefix).equals(Buffer.from(next).subarray(0, change.prefix))).toBe(true);
    return change;
  }

  async function first(text: string): Promise<Buffer> {
    const path = join(dir, 'over.json');
    await writeFile(path, text);
    const file = await readConfigFile(path);
    if (!file.ascii) throw new Error('not ASCII');
    return file.ascii;
  }

  it('answers undefined for the same bytes, and leaves them as they were', async () => {
    const previous = await first(base);
    const copy = Buffer.from(previous);
    expect(await readConfigFileOver(join(dir, 'over.json'), previous)).toBeUndefined();
    expect(previous.equals(copy)).toBe(true);
  });

  it('finds the changed span and reads it into the same memory while it fits', async () => {
    let bytes = await first(base);
    const memory = bytes.buffer;
    let text = base;
    const edits: ((t: string) => string)[] = [
      (t) => t.replace('"port":12345', '"port":12346'), // same size, middle
      (t) => t.replace('"192.0.2.7"', '"192.0.2.77"'), // one byte longer
      (t) => t.replace('{"port":19999', '{"port":9'), // shorter, near the end
      (t) => `[${t.slice(1)}`, // the first byte
      (t) => `${t}]`, // a byte appended
      (t) => t.slice(0, -1), // and removed
      (t) => t.replace(/192\.0\.2\.1\d\b/g, '198.51.100.1'), // many changes far apart
    ];
    for (const edit of edits) {
      text = edit(text);
      const change = await over(bytes, text);
      bytes = change.file.ascii as Buffer;
      expect(bytes.buffer).toBe(memory);
    }
  });

  it('moves to new memory when the new version does not fit, and never writes over a pooled buffer', async () => {
    const previous = await first(base);
    const grown = await over(previous, `${base},${base}`);
    expect(grown.file.ascii?.buffer).not.toBe(previous.buffer);
    // A small buffer may be a slice of Node's shared pool: it is read from, never written to.
    const small = Buffer.from('{"a":1}');
    const read = await over(small, '{"a":2}');
    expect(read.file.ascii?.buffer).not.toBe(small.buffer);
    expect(small.toString()).toBe('{"a":1}');
  });

  it('stays right over random edits in a row', async () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    let text = base;
    let bytes = await first(text);
    for (let k = 0; k < 40; k++) {
      const at = random(text.length);
      const cut = random(50);
      const insert = 'x'.repeat(random(60));
      const next = text.slice(0, at) + insert + text.slice(at + cut);
      if (next === text) continue;
      text = next;
      bytes = (await over(bytes, text)).file.ascii as Buffer;
    }
  });

  it('checks the file as readConfigFile does', async () => {
    const previous = await first(base);
    await expect(readConfigFileOver('/dev/zero', previous)).rejects.toBeInstanceOf(ConfigFileError);
    await expect(readConfigFileOver(join(dir, 'missing.json'), previous)).rejects.toBeInstanceOf(
      ConfigFileError,
    );
  });
});
