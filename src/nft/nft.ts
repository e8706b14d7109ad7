/** Runs nft with JSON batches. Batches go through a private temp file: nft 1.0.6 cannot read JSON from a pipe. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, type Runner } from '../system/command.js';
import type { NftJsonBatch } from './json.js';

async function withBatchFile<T>(batch: NftJsonBatch, use: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'egress-router-nft-'));
  try {
    const path = join(dir, 'batch.json');
    await writeFile(path, JSON.stringify(batch), { mode: 0o600 });
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Applies the batch as one transaction: all of it or none. */
export async function loadBatch(runner: Runner, batch: NftJsonBatch, signal?: AbortSignal): Promise<void> {
  await withBatchFile(batch, (path) =>
    runner.run(['nft', '-j', '-f', path], { timeoutMs: 120_000, ...(signal ? { signal } : {}) }),
  );
}

/** Asks the kernel whether the batch would apply, without applying it. */
export async function checkBatch(runner: Runner, batch: NftJsonBatch, signal?: AbortSignal): Promise<void> {
  await withBatchFile(batch, (path) =>
    runner.run(['nft', '-c', '-j', '-f', path], { timeoutMs: 120_000, ...(signal ? { signal } : {}) }),
  );
}

export type NftListing = Record<string, unknown>[];

/** The table as nft lists it, or undefined when it does not exist. */
export async function listTable(
  runner: Runner,
  family: string,
  name: string,
  signal?: AbortSignal,
): Promise<NftListing | undefined> {
  try {
    const out = await runner.run(['nft', '-j', 'list', 'table', family, name], {
      timeoutMs: 120_000,
      ...(signal ? { signal } : {}),
    });
    const parsed = JSON.parse(out) as { nftables?: NftListing };
    return parsed.nftables ?? [];
  } catch (error) {
    if (error instanceof CommandError && /No such file or directory/.test(error.stderr)) return undefined;
    throw error;
  }
}
