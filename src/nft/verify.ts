/**
 * Compares what nft lists with the table the agent rendered. Pure: used after every load
 * (to confirm it) and by the reconcile loop (to notice changes made behind the agent's back).
 * Counter values and handles are ignored; element order does not matter.
 */
import { isDeepStrictEqual } from 'node:util';
import type { NftMap, NftTable } from './model.js';
import type { NftListing } from './nft.js';

type Listed = Record<string, unknown>;

function objectsOf(listing: NftListing, kind: string): Listed[] {
  return listing.flatMap((entry) => (kind in entry ? [entry[kind] as Listed] : []));
}

/** Element key and value as one comparable string: `tcp . 80 => 192.0.2.10`. */
function listedElement(raw: unknown): string {
  const [key, value] = raw as [unknown, unknown];
  const unwrapped = (key as { elem?: { val?: unknown } }).elem?.val ?? key;
  const parts = (unwrapped as { concat?: unknown[] }).concat ?? [unwrapped];
  return `${parts.map(String).join(' . ')} => ${String(value)}`;
}

const desiredElement = (e: NftMap['elements'][number]): string => `${e[0].join(' . ')} => ${String(e[1])}`;

function compareMap(desired: NftMap, listed: Listed | undefined, out: string[]): void {
  if (!listed) {
    out.push(`map ${desired.name} is missing`);
    return;
  }
  if (!isDeepStrictEqual(listed.type, [...desired.type]) || listed.map !== desired.map) {
    out.push(`map ${desired.name} has type ${JSON.stringify(listed.type)} : ${String(listed.map)}`);
  }
  const hasCounter =
    Array.isArray(listed.stmt) && listed.stmt.some((s) => typeof s === 'object' && s && 'counter' in s);
  if (hasCounter !== desired.counter)
    out.push(`map ${desired.name} ${desired.counter ? 'lost' : 'gained'} its counters`);
  const want = new Set(desired.elements.map(desiredElement));
  const have = new Set(((listed.elem as unknown[] | undefined) ?? []).map(listedElement));
  const missing = [...want].filter((e) => !have.has(e));
  const extra = [...have].filter((e) => !want.has(e));
  if (missing.length > 0)
    out.push(`map ${desired.name} lacks ${missing.length} element(s), e.g. ${missing[0]}`);
  if (extra.length > 0)
    out.push(`map ${desired.name} has ${extra.length} unexpected element(s), e.g. ${extra[0]}`);
}

/** Differences between the listed table and the desired one; empty means identical. */
export function compareTable(desired: NftTable, listing: NftListing | undefined): string[] {
  if (!listing) return [`table ${desired.family} ${desired.name} is missing`];
  const out: string[] = [];
  const maps = objectsOf(listing, 'map');
  for (const map of desired.maps)
    compareMap(
      map,
      maps.find((m) => m.name === map.name),
      out,
    );
  for (const map of maps) {
    if (!desired.maps.some((m) => m.name === map.name)) out.push(`unexpected map ${String(map.name)}`);
  }
  for (const kind of ['set', 'counter', 'quota', 'ct helper', 'limit', 'flowtable']) {
    for (const object of objectsOf(listing, kind)) out.push(`unexpected ${kind} ${String(object.name)}`);
  }
  const chains = objectsOf(listing, 'chain');
  const rules = objectsOf(listing, 'rule');
  for (const chain of desired.chains) {
    const listed = chains.find((c) => c.name === chain.name);
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
    ) {
      out.push(`chain ${chain.name} is ${JSON.stringify(shape)}`);
    }
    const listedRules = rules.filter((r) => r.chain === chain.name);
    const same =
      listedRules.length === chain.rules.length &&
      chain.rules.every(
        (rule, i) =>
          isDeepStrictEqual(listedRules[i]?.expr, rule.expr) &&
          (listedRules[i]?.comment ?? undefined) === rule.comment,
      );
    if (!same)
      out.push(
        `chain ${chain.name} has ${listedRules.length} rule(s) that differ from the ${chain.rules.length} rendered`,
      );
  }
  for (const chain of chains) {
    if (!desired.chains.some((c) => c.name === chain.name))
      out.push(`unexpected chain ${String(chain.name)}`);
  }
  return out;
}
