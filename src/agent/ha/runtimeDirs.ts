/**
 * The HA engine's private directories (`egress-router-ha-*`: keepalived's config, pid files and
 * notify FIFO). An agent that is SIGKILLed cannot remove its own, so they piled up in /tmp (three
 * per HA test run on the test machine). Each directory records its agent's pid in `owner`, and
 * an engine that starts removes the directories whose agent is gone. A directory without an
 * owner file is left alone: another agent may be creating it at this moment.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RUNTIME_PREFIX = 'egress-router-ha-';
const OWNER_FILE = 'owner';

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new private directory under `parent`, owned by this process. */
export async function createRuntimeDir(parent: string): Promise<string> {
  const dir = await mkdtemp(join(parent, RUNTIME_PREFIX));
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
  return dir;
}

/** Removes the directories under `parent` whose owner process is gone; returns their paths. */
export async function removeAbandonedRuntimeDirs(
  parent: string,
  exists: (pid: number) => boolean = processExists,
): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(RUNTIME_PREFIX)) continue;
    const dir = join(parent, name);
    const owner = await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    const pid = owner === undefined ? Number.NaN : Number(owner.trim());
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || exists(pid)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
