/**
 * Compares the kernel's table with the one the agent rendered, and confirms a load.
 * - `compareShape`: maps (types, counters), objects the agent never makes, chains (hooks,
 *   priorities, policies) and their rules, from a listing with or without elements;
 * - `compareModel`: the shape and every element, the kernel's table read into the model;
 * - `compareTable`: both, from a raw full listing;
 * - `verifyLoad`: after `nft -f`, what it takes at any size: the whole table for a small one;
 *   for a large one the shape from the terse listing (tens of ms at 131,069 elements), its
 *   elements being the transaction's (all or none), compared one by one by the periodic full
 *   read. (nft 1.0.6 has no cheap element query: `get element` of one key fetches the whole
 *   set, as slow as listing it — seconds at 65,534 elements on a loaded 2-core machine.)
 * Counter values and handles are ignored; element order does not matter.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Runner } from '../system/command.js';
import { elementChanges } from './diff.js';
import { hasTable, type Listing, readListing } from './listing.js';
import type { NftMap } from './model.js';
import { listShape, type NftListing } from './nft.js';
import {
  type AnyTable,
  elementCount,
  PackedElements,
  type PackedMap,
  packTable,
  type TableModel,
} from './packed.js';
import { readTable } from './read.js';

/**
 * Up to this many elements in all, a load is confirmed element by element. A full JSON listing
 * is cheap only while small: at 20,000 elements it took 0.3 s on a quiet machine (0.75-1 s under
 * load), far more than the load it confirmed; above, nft's exit status and the shape suffice.
 */
export const ELEMENT_CHECK_LIMIT = 2_000;

const example = (key: readonly [string, number], value?: unknown) =>
  `${key[0]} . ${key[1]}${value === undefined ? '' : ` => ${String(value)}`}`;

export function compareShape(desired: AnyTable, listing: Listing): string[] {
  const out: string[] = [];
  for (const map of desired.maps as readonly (NftMap | PackedMap)[]) {
    const listed = listing.maps.find((m) => m.name === map.name);
    if (!listed) {
      out.push(`map ${map.name} is missing`);
      continue;
    }
    if (!isDeepStrictEqual(listed.type, [...map.type]) || listed.map !== map.map)
      out.push(`map ${map.name} has type ${JSON.stringify(listed.type)} : ${String(listed.map)}`);
    if (listed.counter !== map.counter)
      out.push(`map ${map.name} ${map.counter ? 'lost' : 'gained'} its counters`);
  }
  for (const map of listing.maps)
    if (!desired.maps.some((m: NftMap | PackedMap) => m.name === map.name))
      out.push(`unexpected map ${map.name}`);
  for (const other of listing.others) out.push(`unexpected ${other.kind} ${other.name}`);
  for (const chain of desired.chains) {
    const listed = listing.chains.find((c) => c.name === chain.name);
    if (!listed) {
      out.push(`chain ${chain.name} is missing`);
      continue;
    }
    const shape = { type: listed.type, hook: listed.hook, prio: listed.prio, policy: listed.policy };
    if (
      !isDeepStrictEqual(shape, {
        type: chain.type,
        hook: chain.hook,
        prio: chain.prio,
        policy: chain.policy,
      })
    )
      out.push(`chain ${chain.name} is ${JSON.stringify(shape)}`);
    const listedRules = listing.rules.filter((r) => r.chain === chain.name);
    const same =
      listedRules.length === chain.rules.length &&
      chain.rules.every(
        (rule, i) =>
          isDeepStrictEqual(listedRules[i]?.expr, rule.expr) && listedRules[i]?.comment === rule.comment,
      );
    if (!same)
      out.push(
        `chain ${chain.name} has ${listedRules.length} rule(s) that differ from the ${chain.rules.length} rendered`,
      );
  }
  for (const chain of listing.chains)
    if (!desired.chains.some((c) => c.name === chain.name)) out.push(`unexpected chain ${chain.name}`);
  return out;
}

/** Missing, unexpected and different elements of one map, in words with one example each. */
function compareMapElements(name: string, want: PackedElements, have: PackedElements, out: string[]): void {
  const change = elementChanges(name, have, want);
  const wrong = change.added.filter(([[protocol, port]]) => have.has(protocol, port));
  const missing = change.added.filter(([[protocol, port]]) => !have.has(protocol, port));
  const extra = change.removed.filter(([protocol, port]) => !want.has(protocol, port));
  if (missing.length > 0)
    out.push(
      `map ${name} lacks ${missing.length} element(s), e.g. ${example(missing[0]![0], missing[0]![1])}`,
    );
  if (extra.length > 0) {
    const key = extra[0]!;
    out.push(
      `map ${name} has ${extra.length} unexpected element(s), e.g. ${example(key, have.get(key[0], key[1]))}`,
    );
  }
  if (wrong.length > 0) {
    const [key, value] = wrong[0]!;
    out.push(
      `map ${name} maps ${wrong.length} key(s) elsewhere, e.g. ${example(key, have.get(key[0], key[1]))} instead of ${String(value)}`,
    );
  }
}

function compareElements(desired: TableModel, kernel: TableModel, out: string[]): void {
  for (const map of desired.maps) {
    const have = kernel.maps.find((m) => m.name === map.name);
    if (have) compareMapElements(map.name, map.elements, have.elements, out);
  }
}

/** The model as a listing without elements, for compareShape. */
function shapeOf(model: TableModel): Listing {
  return {
    maps: model.maps.map((m) => ({
      name: m.name,
      type: [...m.type],
      map: m.map,
      counter: m.counter,
      elements: [],
    })),
    chains: model.chains.map((c) => ({
      name: c.name,
      type: c.type,
      hook: c.hook,
      prio: c.prio,
      policy: c.policy,
    })),
    rules: model.chains.flatMap((c) =>
      c.rules.map((r) => ({
        chain: c.name,
        expr: r.expr,
        ...(r.comment !== undefined ? { comment: r.comment } : {}),
      })),
    ),
    others: [],
  };
}

const pack = (table: AnyTable): TableModel => {
  const model = packTable(table);
  if (!model) throw new Error(`table ${table.name} has map elements the model cannot hold`);
  return model;
};

/** Differences between the kernel's table (read into the model) and the desired one; empty means identical. */
export function compareModel(desired: AnyTable, kernel: TableModel): string[] {
  const out = compareShape(desired, shapeOf(kernel));
  compareElements(pack(desired), kernel, out);
  return out;
}

/** Differences between a raw full listing and the desired table; empty means identical. */
export function compareTable(desired: AnyTable, raw: NftListing | undefined): string[] {
  if (!raw || !hasTable(raw, desired.name)) return [`table ${desired.family} ${desired.name} is missing`];
  const listing = readListing(raw, desired.name);
  // Element differences first (the usual drift), then the shape's.
  const out: string[] = [];
  for (const map of pack(desired).maps) {
    const listed = listing.maps.find((m) => m.name === map.name);
    if (!listed) continue;
    const have = PackedElements.from(listed.elements.map((e) => [e.key, e.value] as const));
    if (have) compareMapElements(map.name, map.elements, have, out);
    else out.push(`map ${map.name} holds elements of a kind the agent never adds`);
  }
  return [...out, ...compareShape(desired, listing)];
}

const elementTotal = (table: AnyTable) =>
  (table.maps as readonly (NftMap | PackedMap)[]).reduce((n, m) => n + elementCount(m), 0);

/**
 * Confirms a load by reading back what it takes at any size: the whole table when small
 * (ELEMENT_CHECK_LIMIT), otherwise the shape. nft's exit status already says the transaction
 * committed all of the batch's elements or none.
 */
export async function verifyLoad(runner: Runner, desired: AnyTable, signal?: AbortSignal): Promise<string[]> {
  if (elementTotal(desired) <= ELEMENT_CHECK_LIMIT) {
    const kernel = await readTable(runner, desired.family, desired.name, signal);
    if (!kernel.present) return [`table ${desired.family} ${desired.name} is missing`];
    return kernel.model ? compareModel(desired, kernel.model) : compareTable(desired, kernel.raw);
  }
  const shape = await listShape(runner, signal);
  if (!hasTable(shape, desired.name)) return [`table ${desired.family} ${desired.name} is missing`];
  return compareShape(desired, readListing(shape, desired.name));
}
