/** Reads the per-element counters of the redirect maps: connections per (protocol, port). */
import { CommandError, type Runner } from '../system/command.js';
import { readListing } from './listing.js';
import { TABLE_NAME } from './model.js';
import type { NftListing } from './nft.js';

/**
 * Keyed `family/protocol/port`; missing maps read as empty. `maps` names the counted map of
 * each family (the plan's business, so nft does not need to know the layout).
 */
export async function readRedirectCounters(
  runner: Runner,
  maps: readonly { readonly family: 4 | 6; readonly name: string }[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { family, name } of maps) {
    let out: string;
    try {
      out = await runner.run(['nft', '-j', 'list', 'map', 'inet', TABLE_NAME, name]);
    } catch (error) {
      if (error instanceof CommandError) continue;
      throw error;
    }
    const raw = (JSON.parse(out) as { nftables?: NftListing }).nftables ?? [];
    for (const map of readListing(raw).maps)
      for (const e of map.elements)
        counts.set(`${family}/${String(e.key[0])}/${String(e.key[1])}`, e.packets ?? 0);
  }
  return counts;
}
