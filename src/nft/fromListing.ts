/**
 * The kernel's table, as nft lists it, back in the agent's model (packed), so drift is repaired
 * with the same minimal diff as a reload (a changed element is replaced alone; other elements
 * keep their counters). Anything the model cannot hold (sets, odd map types or elements) yields
 * undefined, and the caller replaces the whole table.
 */
import { type ListedMap, readListing } from './listing.js';
import type { MapValueType, NftChain, NftRule } from './model.js';
import type { NftListing } from './nft.js';
import { type PackedElements, PackedElementsBuilder, type PackedMap, type TableModel } from './packed.js';

function packListed(listed: ListedMap): PackedElements | undefined {
  const builder = new PackedElementsBuilder();
  for (const e of listed.elements)
    if (e.key.length !== 2 || !builder.add(e.key[0], e.key[1], e.value)) return undefined;
  return builder.build();
}

function map(listed: ListedMap, elements: PackedElements | undefined): PackedMap | undefined {
  const type = listed.type;
  if (!Array.isArray(type) || type[0] !== 'inet_proto' || type[1] !== 'inet_service' || type.length !== 2)
    return undefined;
  if (!elements) return undefined;
  return {
    name: listed.name,
    type: ['inet_proto', 'inet_service'],
    map: listed.map as MapValueType,
    counter: listed.counter,
    elements,
  };
}

/**
 * `raw` is a listing of the table (or of several tables: only `name`'s objects count). Map
 * elements come from `elements` when given (a compact read, see scan.ts), else from the listing.
 */
export function tableFromListing(
  family: 'inet',
  name: string,
  raw: NftListing,
  elements?: ReadonlyMap<string, PackedElements | undefined>,
): TableModel | undefined {
  const listing = readListing(raw, name);
  if (listing.others.length > 0) return undefined;
  const maps: PackedMap[] = [];
  for (const listed of listing.maps) {
    // A map the compact read saw no element of is empty (its listing has no "elem").
    const model = map(listed, elements?.has(listed.name) ? elements.get(listed.name) : packListed(listed));
    if (!model) return undefined;
    maps.push(model);
  }
  const chains = listing.chains.map(
    (c): NftChain => ({
      name: c.name,
      type: c.type as NftChain['type'],
      hook: c.hook as NftChain['hook'],
      prio: c.prio as number,
      policy: c.policy as NftChain['policy'],
      rules: listing.rules
        .filter((r) => r.chain === c.name)
        .map(
          (r): NftRule => ({
            expr: r.expr as NftRule['expr'],
            ...(r.comment !== undefined ? { comment: r.comment } : {}),
          }),
        ),
    }),
  );
  return { family, name, maps, chains };
}
