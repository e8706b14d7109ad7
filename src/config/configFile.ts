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
  /** The bytes when they are all ASCII (then the text is the same characters), else undefined. */
  readonly ascii: Buffer | undefined;
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

/**
 * Memory of its own (never a slice of Node's shared pool), so a later version may be read into
 * it; with an eighth more room than asked, untouched (and so not resident) until used.
 */
function ownBuffer(size: number, maxBytes: number): Buffer {
  return Buffer.allocUnsafeSlow(Math.max(size, Math.min(maxBytes + 1, Math.ceil(size * 1.125))));
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
    const room = Math.min(size, maxBytes + 1 - total);
    // The first chunk has room to grow: readConfigFileOver reads the next version into it.
    const chunk =
      chunks.length === 0 ? ownBuffer(room, maxBytes).subarray(0, room) : Buffer.allocUnsafe(room);
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

/** Opens the regular file at `path` (checked before and after opening), with its size. */
async function openRegular(path: string, maxBytes: number): Promise<{ handle: FileHandle; size: number }> {
  refuseUnlessRegular(path, await stat(path), maxBytes);
  // O_NONBLOCK: should a FIFO be swapped in after the check, opening it does not wait for a writer.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const info = await handle.stat();
    refuseUnlessRegular(path, info, maxBytes);
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function configFileOf(bytes: Buffer, fingerprint?: string): ConfigFile {
  const ascii = isAscii(bytes);
  let text: string | undefined;
  return {
    // Decoded on first use: a resync that finds the same fingerprint never decodes 5 MB again,
    // nor does a reload that reads only the changed rules from the bytes (jsonRules.ts).
    // ASCII (what generators write) is copied byte for byte instead of being decoded as UTF-8.
    get text() {
      text ??= ascii ? bytes.toString('latin1') : bytes.toString('utf8');
      return text;
    },
    ascii: ascii ? bytes : undefined,
    fingerprint: fingerprint ?? createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  };
}

/**
 * The config file at `path` (symlinks followed) as text, with the fingerprint of its bytes.
 * Throws ConfigFileError when it is missing, not a regular file, or larger than `maxBytes`.
 */
export async function readConfigFile(path: string, maxBytes: number = MAX_CONFIG_BYTES): Promise<ConfigFile> {
  let handle: FileHandle | undefined;
  try {
    const opened = await openRegular(path, maxBytes);
    handle = opened.handle;
    return configFileOf(await readBounded(path, handle, maxBytes, opened.size));
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    throw new ConfigFileError(`cannot read ${path}: ${(error as Error).message}`);
  } finally {
    await handle?.close();
  }
}

/** A new version of a file read over the previous one's bytes: where the two differ. */
export interface FileChange {
  readonly file: ConfigFile;
  /** Bytes the two versions share at the start and at the end (not overlapping). */
  readonly prefix: number;
  readonly suffix: number;
}

/** Bytes read at a time while comparing; one scratch buffer, kept. */
const COMPARE_CHUNK = 256 * 1024;
let scratch: Buffer | undefined;

async function readAt(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new ConfigFileError('the file shrank while it was read');
    done += bytesRead;
  }
}

/** How many bytes from `from` on the file and `previous` share, reading the file forwards. */
async function sharedForwards(handle: FileHandle, previous: Buffer, size: number): Promise<number> {
  scratch ??= Buffer.allocUnsafe(COMPARE_CHUNK);
  const limit = Math.min(size, previous.length);
  for (let at = 0; at < limit; at += COMPARE_CHUNK) {
    const chunk = scratch.subarray(0, Math.min(COMPARE_CHUNK, limit - at));
    await readAt(handle, chunk, at);
    if (chunk.compare(previous, at, at + chunk.length) === 0) continue;
    let i = 0;
    while (chunk[i] === previous[at + i]) i++;
    return at + i;
  }
  return limit;
}

/** How many bytes the file and `previous` share at their ends, at most `limit`, reading backwards. */
async function sharedBackwards(
  handle: FileHandle,
  previous: Buffer,
  size: number,
  limit: number,
): Promise<number> {
  scratch ??= Buffer.allocUnsafe(COMPARE_CHUNK);
  for (let shared = 0; shared < limit; shared += COMPARE_CHUNK) {
    const length = Math.min(COMPARE_CHUNK, limit - shared);
    const chunk = scratch.subarray(0, length);
    await readAt(handle, chunk, size - shared - length);
    const end = previous.length - shared;
    if (chunk.compare(previous, end - length, end) === 0) continue;
    let i = 0;
    while (chunk[length - 1 - i] === previous[end - 1 - i]) i++;
    return shared + i;
  }
  return limit;
}

/**
 * Reads the file at `path` over `previous`, the bytes of the version read before (with the same
 * checks as readConfigFile): only the bytes between what the two share at the start and at the
 * end are copied, into `previous`'s own memory when its buffer has room. A fresh 5 MB buffer
 * costs more in page faults than the read itself, and a reload changes a few bytes.
 *
 * `previous` must not be used afterwards (its bytes may now be the new version's), except when
 * the answer is undefined: then the file is byte for byte `previous`, untouched.
 */
export async function readConfigFileOver(
  path: string,
  previous: Buffer,
  maxBytes: number = MAX_CONFIG_BYTES,
): Promise<FileChange | undefined> {
  let handle: FileHandle | undefined;
  try {
    const opened = await openRegular(path, maxBytes);
    handle = opened.handle;
    const size = opened.size;
    const prefix = await sharedForwards(handle, previous, size);
    const suffix = await sharedBackwards(handle, previous, size, Math.min(size, previous.length) - prefix);
    if (prefix + suffix === size && size === previous.length && (await atEnd(handle, size))) return undefined;
    // Only memory of its own (ownBuffer) is written over: a slice of Node's pool (8 KiB, so
    // never COMPARE_CHUNK) shares its memory with other buffers.
    const room = previous.byteOffset === 0 ? previous.buffer.byteLength : 0;
    let bytes: Buffer;
    if (size <= room && room >= COMPARE_CHUNK) {
      // In place: the shared end moves to its new offset, then the changed middle is read in.
      bytes = Buffer.from(previous.buffer, previous.byteOffset, size);
      previous.copy(bytes, size - suffix, previous.length - suffix);
    } else {
      bytes = ownBuffer(size, maxBytes).subarray(0, size);
      previous.copy(bytes, 0, 0, prefix);
      previous.copy(bytes, size - suffix, previous.length - suffix);
    }
    await readAt(handle, bytes.subarray(prefix, size - suffix), prefix);
    if (!(await atEnd(handle, size)))
      throw new ConfigFileError(`cannot read ${path}: it changed size while being read`);
    return { file: configFileOf(bytes), prefix, suffix };
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    throw new ConfigFileError(`cannot read ${path}: ${(error as Error).message}`);
  } finally {
    await handle?.close();
  }
}

/** Whether the file ends at `size` (it did not grow while it was read). */
async function atEnd(handle: FileHandle, size: number): Promise<boolean> {
  const probe = Buffer.allocUnsafe(1);
  return (await handle.read(probe, 0, 1, size)).bytesRead === 0;
}
