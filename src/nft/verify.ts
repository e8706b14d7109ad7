/**
 * Compares what nft lists with the table the agent rendered. Pure: used after every load
 * (to confirm it) and by the reconcile loop (to notice changes made behind the agent's back).
 * Counter values and handles are ignored; element order does not matter.
 */
import { isDeepStrictEqual } from 'node:util';
import { elementText, type ListedMap, readListing } from './listing.js';
import type { NftMap, NftTable } from './model.js';
import type { NftListing } from './nft.js';

function compareMap(desired: NftMap, listed: ListedMap | undefined, out: string[]): void {
  if (!listed) {
    out.push(`map ${desired.name} is missing`);
    return;
  }
  if (!isDeepStrictEqual(listed.type, [...desired.type]) || listed.map !== desired.map) {
    out.push(`map ${desired.name} has type ${JSON.stringify(listed.type)} : ${String(listed.map)}`);
  }
  if (listed.counter !== desired.counter)
    out.push(`map ${desired.name} ${desired.counter ? 'lost' : 'gained'} its counters`);
  const want = new Set(desired.elements.map(([key, value]) => elementText({ key, value })));
  const have = new Set(listed.elements.map(elementText));
  const missing = [...want].filter((e) => !have.has(e));
  const extra = [...have].filter((e) => !want.has(e));
  if (missing.length > 0)
    out.push(`map ${desired.name} lacks ${missing.length} element(s), e.g. ${missing[0]}`);
  if (extra.length > 0)
    out.push(`map ${desired.name} has ${extra.length} unexpected element(s), e.g. ${extra[0]}`);
}

/** Differences between the listed table and the desired one; empty means identical. */
export function compareTable(desired: NftTable, raw: NftListing | undefined): string[] {
  if (!raw) return [`table ${desired.family} ${desired.name} is missing`];
  const listing = readListing(raw);
  const out: string[] = [];
  for (const map of desired.maps)
    compareMap(
      map,
      listing.maps.find((m) => m.name === map.name),
      out,
    );
  for (const map of listing.maps) {
    if (!desired.maps.some((m) => m.name === map.name)) out.push(`unexpected map ${map.name}`);
  }
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
    ) {
      out.push(`chain ${chain.name} is ${JSON.stringify(shape)}`);
    }
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
  for (const chain of listing.chains) {
    if (!desired.chains.some((c) => c.name === chain.name)) out.push(`unexpected chain ${chain.name}`);
  }
  return out;
}
