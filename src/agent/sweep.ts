/**
 * Leftovers of a killed process: the private directories nft batches go through
 * (`egress-router-nft-*`, see src/nft/nft.ts) are removed when an nft call ends, but not when
 * the agent is SIGKILLed mid-call. In a pod whose /tmp is a small emptyDir they would pile up
 * over restarts. Only directories of that name, older than a pass could ever take, are removed.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BATCH_DIR = /^egress-router-nft-[A-Za-z0-9]{6}$/;
export const LEFTOVER_AGE_MS = 10 * 60_000;

/** Returns how many leftovers were removed; never throws. */
export async function sweepBatchLeftovers(dir = tmpdir(), now = Date.now()): Promise<number> {
  let removed = 0;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => BATCH_DIR.test(n))) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory() || now - info.mtimeMs < LEFTOVER_AGE_MS) continue;
    await rm(path, { recursive: true, force: true }).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
