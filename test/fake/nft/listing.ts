/**
 * `nft -j list …` output of nft 1.0.6: metainfo first, keys in nft's order, elements in an
 * order that is not insertion order (newest first here), counters inside `{"elem": …}`,
 * `elem` absent from an empty set, and jansson's spacing (`{"a": 1, "b": [1, 2]}`).
 */
import type { NftChainState, NftRuleState, NftSet, NftTableState } from './ruleset.js';

type Json = Record<string, unknown>;

export const METAINFO = {
  metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 },
};

/** JSON with `": "` and `", "` separators, as libnftables prints it. */
export function nftJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(nftJson).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${nftJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function tableJson(t: NftTableState): Json {
  return { table: { family: t.family, name: t.name, handle: t.handle } };
}

/** A set's JSON; `terse` (nft -t) leaves its elements out. */
export function setJson(t: NftTableState, s: NftSet, terse = false): Json {
  const elements = (terse ? [] : [...s.elements.values()]).reverse().map((e) => {
    const key = s.counter ? { elem: { val: e.key, counter: { packets: e.packets, bytes: e.bytes } } } : e.key;
    return s.kind === 'map' ? [key, e.value] : key;
  });
  return {
    [s.kind]: {
      family: t.family,
      name: s.name,
      table: t.name,
      type: s.type,
      handle: s.handle,
      ...(s.kind === 'map' ? { map: s.map } : {}),
      ...(s.flags !== undefined ? { flags: s.flags } : {}),
      ...(s.comment !== undefined ? { comment: s.comment } : {}),
      ...(elements.length > 0 ? { elem: elements } : {}),
      ...(s.counter ? { stmt: [{ counter: null }] } : {}),
    },
  };
}

function chainJson(t: NftTableState, c: NftChainState): Json {
  return {
    chain: {
      family: t.family,
      table: t.name,
      name: c.name,
      handle: c.handle,
      ...(c.hook ? { type: c.type, hook: c.hook, prio: c.prio, policy: c.policy } : {}),
    },
  };
}

function ruleJson(t: NftTableState, c: NftChainState, r: NftRuleState): Json {
  return {
    rule: {
      family: t.family,
      table: t.name,
      chain: c.name,
      handle: r.handle,
      ...(r.comment !== undefined ? { comment: r.comment } : {}),
      expr: r.expr,
    },
  };
}

function tableObjects(t: NftTableState, terse: boolean): Json[] {
  return [
    tableJson(t),
    ...t.sets.map((s) => setJson(t, s, terse)),
    ...t.chains.map((c) => chainJson(t, c)),
    ...t.chains.flatMap((c) => c.rules.map((r) => ruleJson(t, c, r))),
  ];
}

/** `nft -j [-t] list table FAMILY NAME`. */
export function listTable(t: NftTableState, terse = false): string {
  return `${nftJson({ nftables: [METAINFO, ...tableObjects(t, terse)] })}\n`;
}

/** `nft -j [-t] list ruleset [FAMILY]`: every table (of the family), one after the other. */
export function listRuleset(tables: readonly NftTableState[], terse = false): string {
  return `${nftJson({ nftables: [METAINFO, ...tables.flatMap((t) => tableObjects(t, terse))] })}\n`;
}

/** `nft -j list map|set FAMILY TABLE NAME`. */
export function listSet(t: NftTableState, s: NftSet): string {
  return `${nftJson({ nftables: [METAINFO, setJson(t, s)] })}\n`;
}
