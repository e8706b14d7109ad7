/**
 * Runs nft. Batches go through a private temp file (nft 1.0.6 cannot read JSON from a pipe),
 * written a chunk at a time. Listing costs differ by orders of magnitude at scale, so each read
 * says what it needs:
 * - `listShape`: `nft -j -t list ruleset inet`, every table's maps, chains and rules without a
 *   single element: tens of ms whatever the map sizes (nft 1.0.6 still fetches every element for
 *   `-t list table` and for `get element`, which costs as much as listing them);
 * - `listTableText` / `listTable`: the full JSON listing (text, or parsed);
 * - `listMapText`: one map with its elements (and counters).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, type Runner } from '../system/command.js';
import { type BatchTextOptions, type NftJsonBatch, writeBatchText } from './json.js';

const TIMEOUT_MS = 120_000;

/** Elements of each map kept for the `nft -c` check: the batch's shape with a sample of its elements. */
export const CHECK_SAMPLE = 64;

async function withBatchFile<T>(
  batch: NftJsonBatch,
  options: BatchTextOptions,
  use: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'egress-router-nft-'));
  try {
    const path = join(dir, 'batch.json');
    const file = await open(path, 'wx', 0o600);
    try {
      await writeBatchText(
        batch,
        async (piece) => {
          await file.write(piece);
        },
        options,
      );
    } finally {
      await file.close();
    }
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const runOptions = (signal?: AbortSignal) => ({ timeoutMs: TIMEOUT_MS, ...(signal ? { signal } : {}) });

/** Applies the batch as one transaction: all of it or none. */
export async function loadBatch(runner: Runner, batch: NftJsonBatch, signal?: AbortSignal): Promise<void> {
  await withBatchFile(batch, {}, (path) => runner.run(['nft', '-j', '-f', path], runOptions(signal)));
}

/**
 * Asks the kernel whether the batch would apply, without applying it: its shape (table, maps,
 * chains, rules) with the first CHECK_SAMPLE elements of each whole map. Every element of a map
 * has the map's types and the config was validated, so the rest would pass nft's checks the
 * same way; checking all 131,069 would cost as much as the load itself.
 */
export async function checkBatch(runner: Runner, batch: NftJsonBatch, signal?: AbortSignal): Promise<void> {
  await withBatchFile(batch, { sampleElements: CHECK_SAMPLE }, (path) =>
    runner.run(['nft', '-c', '-j', '-f', path], runOptions(signal)),
  );
}

export type NftListing = Record<string, unknown>[];

const missing = (error: unknown): boolean =>
  error instanceof CommandError && /No such file or directory/.test(error.stderr);

/** `nft -j -t list ruleset inet`, parsed: the shape of every inet table, no elements. */
export async function listShape(runner: Runner, signal?: AbortSignal): Promise<NftListing> {
  const out = await runner.run(['nft', '-j', '-t', 'list', 'ruleset', 'inet'], runOptions(signal));
  return (JSON.parse(out) as { nftables?: NftListing }).nftables ?? [];
}

/** The table's full JSON listing as text, or undefined when it does not exist. */
export async function listTableText(
  runner: Runner,
  family: string,
  name: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    return await runner.run(['nft', '-j', 'list', 'table', family, name], runOptions(signal));
  } catch (error) {
    if (missing(error)) return undefined;
    throw error;
  }
}

/** The table as nft lists it, parsed whole (small tables, foreign content), or undefined when it does not exist. */
export async function listTable(
  runner: Runner,
  family: string,
  name: string,
  signal?: AbortSignal,
): Promise<NftListing | undefined> {
  const text = await listTableText(runner, family, name, signal);
  if (text === undefined) return undefined;
  return (JSON.parse(text) as { nftables?: NftListing }).nftables ?? [];
}

/** One map's JSON listing as text (elements and their counters), or undefined when it does not exist. */
export async function listMapText(
  runner: Runner,
  family: string,
  table: string,
  name: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    return await runner.run(['nft', '-j', 'list', 'map', family, table, name], runOptions(signal));
  } catch (error) {
    if (error instanceof CommandError) return undefined;
    throw error;
  }
}
