/**
 * The one reader of `nft -j list` output: raw JSON objects → typed maps (with elements and their
 * counters), chains, rules, and anything else the table holds. Verification, the model read
 * back for drift repair, and the connection counters all read listings through it.
 */
import type { NftListing } from './nft.js';

type Raw = Record<string, unknown>;

export interface ListedElement {
  /** The key's parts: [protocol, port] for the agent's maps; whatever is there otherwise. */
  readonly key: readonly unknown[];
  readonly value: unknown;
  /** Packets counted by the element's counter (connections, in a NAT chain). */
  readonly packets?: number;
}

export interface ListedMap {
  readonly name: string;
  readonly type: unknown;
  readonly map: unknown;
  readonly counter: boolean;
  readonly elements: readonly ListedElement[];
}

export interface ListedChain {
  readonly name: string;
  readonly type: unknown;
  readonly hook: unknown;
  readonly prio: unknown;
  readonly policy: unknown;
}

export interface ListedRule {
  readonly chain: string;
  readonly expr: unknown;
  readonly comment?: string;
}

export interface Listing {
  readonly maps: readonly ListedMap[];
  readonly chains: readonly ListedChain[];
  readonly rules: readonly ListedRule[];
  /** Objects the agent never creates (sets, counters, quotas …), by kind and name. */
  readonly others: readonly { readonly kind: string; readonly name: string }[];
}

const OTHER_KINDS = ['set', 'counter', 'quota', 'ct helper', 'limit', 'flowtable'] as const;

const objectsOf = (listing: NftListing, kind: string, table?: string): Raw[] =>
  listing.flatMap((entry) => {
    const object = entry[kind] as Raw | undefined;
    return object && (table === undefined || object.table === undefined || object.table === table)
      ? [object]
      : [];
  });

/** Whether the listing holds the table (a shape listing covers every table of the family). */
export const hasTable = (listing: NftListing, name: string): boolean =>
  listing.some((entry) => (entry.table as Raw | undefined)?.name === name);

function element(raw: unknown): ListedElement {
  const [key, value] = Array.isArray(raw) ? (raw as [unknown, unknown]) : [raw, undefined];
  const wrapped = (key as { elem?: { val?: unknown; counter?: { packets?: number } } } | null)?.elem;
  const unwrapped = wrapped?.val ?? key;
  const parts = (unwrapped as { concat?: unknown[] } | null)?.concat ?? [unwrapped];
  const packets = wrapped?.counter?.packets;
  return { key: parts, value, ...(typeof packets === 'number' ? { packets } : {}) };
}

/** The listing's objects, only those of `table` when given (a listing of several tables). */
export function readListing(listing: NftListing, table?: string): Listing {
  return {
    maps: objectsOf(listing, 'map', table).map((m) => ({
      name: String(m.name),
      type: m.type,
      map: m.map,
      counter:
        Array.isArray(m.stmt) && m.stmt.some((s) => typeof s === 'object' && s !== null && 'counter' in s),
      elements: ((m.elem as unknown[] | undefined) ?? []).map(element),
    })),
    chains: objectsOf(listing, 'chain', table).map((c) => ({
      name: String(c.name),
      type: c.type,
      hook: c.hook,
      prio: c.prio,
      policy: c.policy,
    })),
    rules: objectsOf(listing, 'rule', table).map((r) => ({
      chain: String(r.chain),
      expr: r.expr,
      ...(typeof r.comment === 'string' ? { comment: r.comment } : {}),
    })),
    others: OTHER_KINDS.flatMap((kind) =>
      objectsOf(listing, kind, table).map((o) => ({ kind, name: String(o.name) })),
    ),
  };
}

/** An element as one comparable string: `tcp . 80 => 192.0.2.10`. */
export const elementText = (e: { key: readonly unknown[]; value: unknown }): string =>
  `${e.key.map(String).join(' . ')} => ${String(e.value)}`;
