/** Reads the per-element counters of the redirect maps: connections per (protocol, port). */
import type { Family } from '../config/model.js';
import { addressMapName } from '../plan/ruleset.js';
import { CommandError, type Runner } from '../system/command.js';
import { TABLE_NAME } from './model.js';

interface ListedMap {
  elem?: [{ elem?: { val?: { concat?: [string, number] }; counter?: { packets?: number } } }, unknown][];
}

/** Keyed `family/protocol/port`; missing maps read as empty. */
export async function readRedirectCounters(
  runner: Runner,
  families: readonly Family[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const family of families) {
    let out: string;
    try {
      out = await runner.run(['nft', '-j', 'list', 'map', 'inet', TABLE_NAME, addressMapName(family)]);
    } catch (error) {
      if (error instanceof CommandError) continue;
      throw error;
    }
    const listing = (JSON.parse(out) as { nftables?: { map?: ListedMap }[] }).nftables ?? [];
    for (const entry of listing) {
      for (const [key] of entry.map?.elem ?? []) {
        const concat = key.elem?.val?.concat;
        if (concat) counts.set(`${family}/${concat[0]}/${concat[1]}`, key.elem?.counter?.packets ?? 0);
      }
    }
  }
  return counts;
}
