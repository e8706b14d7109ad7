/**
 * The smallest transaction that turns the committed table into the desired one, as
 * kube-proxy's nftables mode does: map elements added/removed one by one (so unchanged
 * elements keep their counters and established flows are never touched), and only chains
 * whose rules changed are flushed and refilled. Any change to the set of maps or chains
 * falls back to full replacement. One batch, so it applies atomically.
 */
import { isDeepStrictEqual } from 'node:util';
import { type NftJsonBatch, replaceTableBatch } from './json.js';
import type { MapElement, NftChain, NftMap, NftTable } from './model.js';

const keyOf = (e: MapElement): string => e[0].join('\u0000');

function sameShape(a: NftTable, b: NftTable): boolean {
  const maps = (t: NftTable) => t.maps.map((m) => [m.name, m.type, m.map, m.counter]);
  const chains = (t: NftTable) => t.chains.map((c) => [c.name, c.type, c.hook, c.prio, c.policy]);
  return a.name === b.name && isDeepStrictEqual(maps(a), maps(b)) && isDeepStrictEqual(chains(a), chains(b));
}

interface ElementChange {
  readonly commands: Record<string, unknown>[];
  readonly removed: number;
  readonly added: number;
}

function elementCommands(table: NftTable, before: NftMap, after: NftMap): ElementChange {
  const old = new Map(before.elements.map((e) => [keyOf(e), e]));
  const next = new Map(after.elements.map((e) => [keyOf(e), e]));
  const removed = before.elements.filter((e) => !isDeepStrictEqual(next.get(keyOf(e))?.[1], e[1]));
  const added = after.elements.filter((e) => !isDeepStrictEqual(old.get(keyOf(e))?.[1], e[1]));
  const id = { family: table.family, table: table.name, name: after.name };
  const commands: Record<string, unknown>[] = [];
  // A key that changes value must be deleted before it is added again: "add" of an existing key fails.
  if (removed.length > 0)
    commands.push({ delete: { element: { ...id, elem: removed.map((e) => ({ concat: [...e[0]] })) } } });
  if (added.length > 0)
    commands.push({ add: { element: { ...id, elem: added.map((e) => [{ concat: [...e[0]] }, e[1]]) } } });
  return { commands, removed: removed.length, added: added.length };
}

function chainCommands(table: NftTable, before: NftChain, after: NftChain): Record<string, unknown>[] {
  if (isDeepStrictEqual(before.rules, after.rules)) return [];
  const base = { family: table.family, table: table.name };
  return [
    { flush: { chain: { ...base, name: after.name } } },
    ...after.rules.map((rule) => ({
      add: {
        rule: {
          ...base,
          chain: after.name,
          expr: rule.expr,
          ...(rule.comment ? { comment: rule.comment } : {}),
        },
      },
    })),
  ];
}

export interface TableUpdate {
  readonly batch: NftJsonBatch;
  readonly kind: 'none' | 'incremental' | 'replace';
  readonly summary: string;
}

export function diffTables(committed: NftTable | undefined, desired: NftTable): TableUpdate {
  if (!committed || !sameShape(committed, desired)) {
    return { batch: replaceTableBatch(desired), kind: 'replace', summary: 'table replaced' };
  }
  const commands: Record<string, unknown>[] = [];
  let added = 0;
  let removed = 0;
  desired.maps.forEach((map, i) => {
    const change = elementCommands(desired, committed.maps[i]!, map);
    commands.push(...change.commands);
    added += change.added;
    removed += change.removed;
  });
  let chainsChanged = 0;
  desired.chains.forEach((chain, i) => {
    const update = chainCommands(desired, committed.chains[i]!, chain);
    if (update.length > 0) chainsChanged++;
    commands.push(...update);
  });
  if (commands.length === 0) return { batch: { nftables: [] }, kind: 'none', summary: 'no change' };
  return {
    batch: { nftables: [{ metainfo: { json_schema_version: 1 } }, ...commands] },
    kind: 'incremental',
    summary: `map elements: ${added} added, ${removed} removed; ${chainsChanged} chain(s) rewritten`,
  };
}
