/** Turns a table listing back into a batch that recreates it (for rolling back to the previous table). */
import type { NftJsonBatch, NftJsonCommand } from './json.js';
import type { NftListing } from './nft.js';

const KINDS = ['table', 'set', 'map', 'chain', 'rule'] as const;

export function batchFromListing(family: string, name: string, listing: NftListing): NftJsonBatch {
  const id = { family, name };
  const commands: NftJsonCommand[] = [{ add: { table: id } }, { delete: { table: id } }];
  for (const kind of KINDS) {
    for (const entry of listing) {
      const object = entry[kind] as Record<string, unknown> | undefined;
      if (!object) continue;
      const { handle: _handle, ...rest } = object;
      commands.push({ add: { [kind]: rest } });
    }
  }
  return { nftables: [{ metainfo: { json_schema_version: 1 } }, ...commands] };
}
