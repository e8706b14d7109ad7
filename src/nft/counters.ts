/**
 * Reads the per-element counters of the redirect maps: connections per (protocol, port). The
 * listing is walked element by element (scan.ts) into one typed array per family indexed by
 * the packed key, so reading 131,069 counters leaves no object per element behind.
 */
import type { Runner } from '../system/command.js';
import { TABLE_NAME } from './model.js';
import { listMapText } from './nft.js';
import { KEY_SPACE, packKey } from './packed.js';
import { scanListing } from './scan.js';

export { KEY_SPACE } from './packed.js';

/**
 * Connections by family, each a KEY_SPACE-long array indexed by `packKey(protocol, port)`.
 * A family whose map is missing is left out. `maps` names the counted map of each family (the
 * plan's business, so nft does not need to know the layout).
 */
export async function readRedirectCounters(
  runner: Runner,
  maps: readonly { readonly family: 4 | 6; readonly name: string }[],
  signal?: AbortSignal,
): Promise<Map<4 | 6, Float64Array>> {
  const counts = new Map<4 | 6, Float64Array>();
  for (const { family, name } of maps) {
    const text = await listMapText(runner, 'inet', TABLE_NAME, name, signal);
    if (text === undefined) continue;
    const table = new Float64Array(KEY_SPACE);
    scanListing(text, (_map, key, _value, packets) => {
      const slot = packKey(key[0], key[1]);
      if (slot !== undefined) table[slot] = packets ?? 0;
    });
    counts.set(family, table);
  }
  return counts;
}
