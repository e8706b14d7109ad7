/**
 * The kernel's table, as nft lists it, back in the agent's own model, so drift is repaired with
 * the same minimal diff as a reload (a changed element is replaced alone; other elements keep
 * their counters). Anything the model cannot hold (sets, odd map types) yields undefined,
 * and the caller replaces the whole table.
 */

import type { MapElement, MapValueType, NftChain, NftMap, NftRule, NftTable } from './model.js';
import type { NftListing } from './nft.js';

type Listed = Record<string, unknown>;

const objects = (listing: NftListing, kind: string): Listed[] =>
  listing.flatMap((entry) => (kind in entry ? [entry[kind] as Listed] : []));

function element(raw: unknown): MapElement | undefined {
  if (!Array.isArray(raw) || raw.length !== 2) return undefined;
  const [key, value] = raw as [unknown, unknown];
  const unwrapped = (key as { elem?: { val?: unknown } }).elem?.val ?? key;
  const concat = (unwrapped as { concat?: unknown[] }).concat;
  if (concat?.length !== 2 || typeof concat[0] !== 'string' || typeof concat[1] !== 'number')
    return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  return [[concat[0], concat[1]], value];
}

function map(listed: Listed): NftMap | undefined {
  const type = listed.type;
  if (!Array.isArray(type) || type[0] !== 'inet_proto' || type[1] !== 'inet_service' || type.length !== 2)
    return undefined;
  const elements = ((listed.elem as unknown[] | undefined) ?? []).map(element);
  if (elements.some((e) => e === undefined)) return undefined;
  const counter =
    Array.isArray(listed.stmt) &&
    listed.stmt.some((s) => typeof s === 'object' && s !== null && 'counter' in s);
  return {
    name: String(listed.name),
    type: ['inet_proto', 'inet_service'],
    map: listed.map as MapValueType,
    counter,
    elements: elements as MapElement[],
  };
}

export function tableFromListing(family: 'inet', name: string, listing: NftListing): NftTable | undefined {
  if (
    ['set', 'counter', 'quota', 'limit', 'flowtable', 'ct helper'].some((k) => objects(listing, k).length > 0)
  )
    return undefined;
  const maps = objects(listing, 'map').map(map);
  if (maps.some((m) => m === undefined)) return undefined;
  const rules = objects(listing, 'rule');
  const chains = objects(listing, 'chain').map(
    (c): NftChain => ({
      name: String(c.name),
      type: c.type as NftChain['type'],
      hook: c.hook as NftChain['hook'],
      prio: c.prio as number,
      policy: c.policy as NftChain['policy'],
      rules: rules
        .filter((r) => r.chain === c.name)
        .map(
          (r): NftRule => ({
            expr: r.expr as NftRule['expr'],
            ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
          }),
        ),
    }),
  );
  return { family, name, maps: maps as NftMap[], chains };
}
