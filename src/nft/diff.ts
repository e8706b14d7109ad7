/**
 * The smallest transaction that turns the committed table into the desired one, as
 * kube-proxy's nftables mode does: map elements added/removed one by one (so unchanged
 * elements keep their counters and established flows are never touched), and only chains
 * whose rules changed are flushed and refilled. Any change to the set of maps or chains
 * falls back to full replacement. One batch, so it applies atomically; its inverse comes with it.
 *
 * Elements are compared packed (two sorted arrays merged once), so a one-rule change at 131,069
 * rules allocates only what the batch holds.
 */
import { isDeepStrictEqual } from 'node:util';
import { type NftJsonBatch, type NftJsonCommand, replaceTableBatch } from './json.js';
import type { MapElement, NftChain } from './model.js';
import {
  type AnyTable,
  keyPort,
  keyProtocol,
  type PackedElements,
  type PackedMap,
  packTable,
  type TableModel,
} from './packed.js';

function sameShape(a: AnyTable, b: AnyTable): boolean {
  const maps = (t: AnyTable) => t.maps.map((m) => [m.name, m.type, m.map, m.counter]);
  const chains = (t: AnyTable) => t.chains.map((c) => [c.name, c.type, c.hook, c.prio, c.policy]);
  return a.name === b.name && isDeepStrictEqual(maps(a), maps(b)) && isDeepStrictEqual(chains(a), chains(b));
}

/** What changed in one map, going from `before` to `after`. */
export interface ElementChanges {
  readonly map: string;
  /** Keys in `before` whose value differs in `after`, or that `after` lacks. */
  readonly removed: readonly (readonly [string, number])[];
  /** Elements of `after` that `before` lacks or holds with another value. */
  readonly added: readonly MapElement[];
}

/** One merge of two sorted packed maps. */
export function elementChanges(map: string, before: PackedElements, after: PackedElements): ElementChanges {
  const removed: (readonly [string, number])[] = [];
  const added: MapElement[] = [];
  let i = 0;
  let j = 0;
  while (i < before.size || j < after.size) {
    const a = i < before.size ? before.keyAt(i) : Number.POSITIVE_INFINITY;
    const b = j < after.size ? after.keyAt(j) : Number.POSITIVE_INFINITY;
    if (a < b) {
      removed.push([keyProtocol(a), keyPort(a)]);
      i++;
    } else if (b < a) {
      added.push(after.elementAt(j));
      j++;
    } else {
      if (before.valueAt(i) !== after.valueAt(j)) {
        removed.push([keyProtocol(a), keyPort(a)]);
        added.push(after.elementAt(j));
      }
      i++;
      j++;
    }
  }
  return { map, removed, added };
}

function elementCommands(table: AnyTable, change: ElementChanges): NftJsonCommand[] {
  const id = { family: table.family, table: table.name, name: change.map };
  const commands: NftJsonCommand[] = [];
  // A key that changes value must be deleted before it is added again: "add" of an existing key fails.
  if (change.removed.length > 0)
    commands.push({
      delete: { element: { ...id, elem: change.removed.map((key) => ({ concat: [...key] })) } },
    });
  if (change.added.length > 0)
    commands.push({
      add: { element: { ...id, elem: change.added.map(([key, value]) => [{ concat: [...key] }, value]) } },
    });
  return commands;
}

function chainCommands(table: AnyTable, before: NftChain, after: NftChain): NftJsonCommand[] {
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
  /** The batch that takes this one back (the previous table), of the same kind. */
  readonly undo: NftJsonBatch;
  readonly kind: 'none' | 'incremental' | 'replace';
  readonly summary: string;
  /** Per map, what an incremental batch deletes and adds (empty for the other kinds). */
  readonly elements: readonly ElementChanges[];
}

const EMPTY: NftJsonBatch = { nftables: [] };
const withMeta = (commands: NftJsonCommand[]): NftJsonBatch => ({
  nftables: [{ metainfo: { json_schema_version: 1 } }, ...commands],
});

function packed(table: AnyTable): TableModel {
  const model = packTable(table);
  if (!model) throw new Error(`table ${table.name} has map elements the model cannot hold`);
  return model;
}

export function diffTables(committed: AnyTable | undefined, desired: AnyTable): TableUpdate {
  if (!committed || !sameShape(committed, desired)) {
    return {
      batch: replaceTableBatch(packed(desired)),
      undo: committed ? replaceTableBatch(packed(committed)) : { nftables: [] },
      kind: 'replace',
      summary: 'table replaced',
      elements: [],
    };
  }
  const before = packed(committed);
  const after = packed(desired);
  const forward: NftJsonCommand[] = [];
  const backward: NftJsonCommand[] = [];
  const elements: ElementChanges[] = [];
  let added = 0;
  let removed = 0;
  after.maps.forEach((map, i) => {
    const old = before.maps[i] as PackedMap;
    const change = elementChanges(map.name, old.elements, map.elements);
    if (change.added.length === 0 && change.removed.length === 0) return;
    elements.push(change);
    forward.push(...elementCommands(after, change));
    backward.push(...elementCommands(after, elementChanges(map.name, map.elements, old.elements)));
    added += change.added.length;
    removed += change.removed.length;
  });
  let chainsChanged = 0;
  desired.chains.forEach((chain, i) => {
    const old = committed.chains[i] as NftChain;
    const update = chainCommands(desired, old, chain);
    if (update.length === 0) return;
    chainsChanged++;
    forward.push(...update);
    backward.push(...chainCommands(desired, chain, old));
  });
  if (forward.length === 0)
    return { batch: EMPTY, undo: EMPTY, kind: 'none', summary: 'no change', elements };
  return {
    batch: withMeta(forward),
    undo: withMeta(backward),
    kind: 'incremental',
    summary: `map elements: ${added} added, ${removed} removed; ${chainsChanged} chain(s) rewritten`,
    elements,
  };
}

/**
 * Keys whose mapping a change from `before` to `after` ends or alters, in one map: what the
 * conntrack step flushes. Works on either kind of table (the committed model is packed).
 */
export function changedKeys(
  before: AnyTable | undefined,
  after: AnyTable,
  map: string,
): readonly (readonly [string, number])[] {
  const from = before ? packed(before).maps.find((m) => m.name === map) : undefined;
  if (!from) return [];
  const to = packed(after).maps.find((m) => m.name === map);
  return to
    ? elementChanges(map, from.elements, to.elements).removed
    : [...from.elements].map(([key]) => key);
}
