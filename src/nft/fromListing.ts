/**
 * The kernel's table, as nft lists it, back in the agent's own model, so drift is repaired with
 * the same minimal diff as a reload (a changed element is replaced alone; other elements keep
 * their counters). Anything the model cannot hold (sets, odd map types) yields undefined,
 * and the caller replaces the whole table.
 */
import { type ListedElement, type ListedMap, readListing } from './listing.js';
import type { MapElement, MapValueType, NftChain, NftMap, NftRule, NftTable } from './model.js';
import type { NftListing } from './nft.js';

function element(listed: ListedElement): MapElement | undefined {
  const [protocol, port] = listed.key;
  if (listed.key.length !== 2 || typeof protocol !== 'string' || typeof port !== 'number') return undefined;
  if (typeof listed.value !== 'string' && typeof listed.value !== 'number') return undefined;
  return [[protocol, port], listed.value];
}

function map(listed: ListedMap): NftMap | undefined {
  const type = listed.type;
  if (!Array.isArray(type) || type[0] !== 'inet_proto' || type[1] !== 'inet_service' || type.length !== 2)
    return undefined;
  const elements = listed.elements.map(element);
  if (elements.some((e) => e === undefined)) return undefined;
  return {
    name: listed.name,
    type: ['inet_proto', 'inet_service'],
    map: listed.map as MapValueType,
    counter: listed.counter,
    elements: elements as MapElement[],
  };
}

export function tableFromListing(family: 'inet', name: string, raw: NftListing): NftTable | undefined {
  const listing = readListing(raw);
  if (listing.others.length > 0) return undefined;
  const maps = listing.maps.map(map);
  if (maps.some((m) => m === undefined)) return undefined;
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
  return { family, name, maps: maps as NftMap[], chains };
}
