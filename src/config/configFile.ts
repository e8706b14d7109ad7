/**
 * Reading a config file: the one module of src/config that touches the file system.
 *
 * A ConfigMap mount is a chain of symlinks (`config.yaml -> ..data/config.yaml -> ..2026_…/config.yaml`),
 * so links are followed; what they lead to must be a regular file. A FIFO would block the reader
 * forever, a device like /dev/zero would never end, a directory is a mistake: each is refused
 * before it is opened, and checked again on the opened descriptor (the path may be swapped in
 * between). The read itself stops one byte past the limit, so a file that grows while it is read
 * cannot take the memory it likes.
 */

import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { MAX_CONFIG_BYTES } from './limits.js';

export interface ConfigFile {
  readonly text: string;
  /** SHA-256 of the raw bytes, hex: equal fingerprints mean the same bytes, so the agent can skip parsing. */
  readonly fingerprint: string;
  readonly bytes: number;
}

/** Why a config file could not be read (not a problem in the config itself). */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

const CHUNK = 64 * 1024;

function whatItIs(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refuseUnlessRegular(path: string, info: Stats, maxBytes: number): void {
  if (!info.isFile())
    throw new ConfigFileError(`cannot read ${path}: it is ${whatItIs(info)}, not a regular file`);
  if (info.size > maxBytes) {
    throw new ConfigFileError(`cannot read ${path}: ${info.size} bytes, the limit is ${maxBytes}`);
  }
}

async function readBounded(
  path: string,
  handle: FileHandle,
  maxBytes: number,
  expected: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // The size stat gave, plus one byte to see the end, in one read: a 5 MB config took 80
    // reads of 64 KiB. A file that grows past it is read on in chunks, up to the limit.
    const size = chunks.length === 0 ? expected + 1 : CHUNK;
    const chunk = Buffer.allocUnsafe(Math.min(size, maxBytes + 1 - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) {
      throw new ConfigFileError(
        `cannot read ${path}: it grew past the limit of ${maxBytes} bytes while being read`,
      );
    }
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/**
 * What identifies the file's current version without reading it: device, inode, size and the
 * nanosecond change and modification times of what `path` leads to. A ConfigMap update swaps
 * the `..data` link to new files (a new inode); an edit in place changes the times. Undefined
 * when it cannot be read (the caller then reads the file and reports why).
 */
export async function fileStamp(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * The config file at `path` (symlinks followed) as text, with the fingerprint of its bytes.
 * Throws ConfigFileError when it is missing, not a regular file, or larger than `maxBytes`.
 */
export async function readConfigFile(path: string, maxBytes: number = MAX_CONFIG_BYTES): Promise<ConfigFile> {
  let handle: FileHandle | undefined;
  try {
    refuseUnlessRegular(path, await stat(path), maxBytes);
    // O_NONBLOCK: should a FIFO be swapped in after the check, opening it does not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const info = await handle.stat();
    refuseUnlessRegular(path, info, maxBytes);
    const bytes = await readBounded(path, handle, maxBytes, info.size);
    let text: string | undefined;
    return {
      // Decoded on first use: a resync that finds the same fingerprint never decodes 5 MB again.
      // ASCII (what generators write) is copied byte for byte instead of being decoded as UTF-8.
      get text() {
        text ??= isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
        return text;
      },
      fingerprint: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
    };
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    throw new ConfigFileError(`cannot read ${path}: ${(error as Error).message}`);
  } finally {
    await handle?.close();
  }
}
