/**
 * Files for the agent's configuration.
 *
 * - `createConfigDir(dir, text, { fileName })`: a directory laid out as the kubelet mounts a
 *   ConfigMap: `DIR/<file> → ..data/<file>`, `..data → ..v1`. `swap(text)` writes `..vN` and
 *   replaces the `..data` symlink atomically (a rename), as the kubelet updates a mounted
 *   ConfigMap; it resolves with the epoch ms just before the rename (the moment a watcher can
 *   first see it). `writeInPlace(text)` rewrites the current version's file without a swap.
 * - `createScratchDir(prefix)`: a private temporary directory for config files;
 *   `write(name, text)` returns the path; `remove()` deletes it all.
 */
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochMs } from './process.js';

export interface ConfigDir {
  readonly dir: string;
  /** DIR/<file> → ..data/<file>: what the agent is given. */
  readonly path: string;
  /** A new ..vN directory and an atomic swap of ..data; resolves with the epoch ms of the swap. */
  swap(text: string): Promise<number>;
  /** Rewrites the current version's file in place (no swap: a watcher may or may not see it). */
  writeInPlace(text: string): Promise<void>;
}

export async function createConfigDir(
  dir: string,
  text: string,
  options: { fileName?: string } = {},
): Promise<ConfigDir> {
  const file = options.fileName ?? 'egressrouter.yaml';
  let version = 1;
  await mkdir(join(dir, '..v1'), { recursive: true });
  await writeFile(join(dir, '..v1', file), text);
  await symlink('..v1', join(dir, '..data'));
  await symlink(join('..data', file), join(dir, file));
  return {
    dir,
    path: join(dir, file),
    swap: async (next) => {
      version += 1;
      const name = `..v${version}`;
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, file), next);
      const previous = await readlink(join(dir, '..data'));
      await symlink(name, join(dir, '..data_tmp'));
      const at = epochMs();
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, previous), { recursive: true, force: true });
      return at;
    },
    writeInPlace: async (next) => {
      await writeFile(join(dir, await readlink(join(dir, '..data')), file), next);
    },
  };
}

export interface ScratchDir {
  readonly dir: string;
  /** Writes DIR/name (mode 0600) and returns its path. */
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createScratchDir(prefix = 'netkit-'): Promise<ScratchDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    dir,
    write: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text, { mode: 0o600 });
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Removes a directory and everything in it; nothing to do for undefined. */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}
