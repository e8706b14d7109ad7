/**
 * Reading the kernel's table, at the cost the reader needs:
 * - `readTableShape`: whether it exists and its shape, from the terse listing (no elements);
 * - `readTable`: everything, into the agent's model: one full JSON listing walked element by
 *   element (scan.ts), never parsed whole; only a table the model cannot hold (sets, foreign
 *   elements) is parsed whole, for a rollback that restores it exactly.
 */
import type { Runner } from '../system/command.js';
import { tableFromListing } from './fromListing.js';
import { hasTable, type Listing, readListing } from './listing.js';
import { listShape, listTableText, type NftListing } from './nft.js';
import type { TableModel } from './packed.js';
import { readCompact } from './scan.js';

export type KernelTable =
  | { readonly present: false }
  | {
      readonly present: true;
      /** The table in the agent's model; undefined when it holds what the model cannot. */
      readonly model?: TableModel;
      /** The whole listing, parsed: only when there is no model (to restore it exactly). */
      readonly raw?: NftListing;
    };

export interface TableShape {
  readonly present: boolean;
  /** Maps (without elements), chains, rules and other objects of the table. */
  readonly listing: Listing;
}

export async function readTableShape(
  runner: Runner,
  name: string,
  signal?: AbortSignal,
): Promise<TableShape> {
  const shape = await listShape(runner, signal);
  return { present: hasTable(shape, name), listing: readListing(shape, name) };
}

export async function readTable(
  runner: Runner,
  family: 'inet',
  name: string,
  signal?: AbortSignal,
): Promise<KernelTable> {
  const text = await listTableText(runner, family, name, signal);
  if (text === undefined) return { present: false };
  const compact = readCompact(text);
  const model = tableFromListing(family, name, compact.objects, compact.elements);
  if (model) return { present: true, model };
  return { present: true, raw: (JSON.parse(text) as { nftables?: NftListing }).nftables ?? [] };
}
