/**
 * NftTable → the libnftables JSON batch handed to `nft -j -f FILE`, and the batch → its text.
 * A packed map (a table in the agent's model) puts an `ElementList` where the element array
 * goes: it stands for the array (JSON.stringify gives the same text) but is written straight from
 * the packed arrays, a chunk at a time, so loading 131,069 rules never builds an object per
 * element.
 */
import type { MapElement, NftMap, NftTable } from './model.js';
import { type AnyTable, isPacked, type PackedElements, type PackedMap } from './packed.js';

export type NftJsonCommand = Record<string, unknown>;
export interface NftJsonBatch {
  nftables: NftJsonCommand[];
}

const elementJson = ([key, value]: MapElement): unknown => [{ concat: [...key] }, value];

/** A map's whole packed content in a batch: `[[{concat:[proto,port]}, value], …]` when written. */
export class ElementList {
  constructor(readonly elements: PackedElements) {}

  get length(): number {
    return this.elements.size;
  }

  /** The text of elements [from, to), comma-separated, exactly as JSON.stringify writes them. */
  text(from: number, to: number): string {
    const parts: string[] = [];
    const e = this.elements;
    for (let i = from; i < to; i++)
      parts.push(
        `[{"concat":[${JSON.stringify(e.protocolAt(i))},${e.portAt(i)}]},${JSON.stringify(e.valueAt(i))}]`,
      );
    return parts.join(',');
  }

  /** For JSON.stringify of a whole batch (render, tests): the plain array. */
  toJSON(): unknown[] {
    return this.elements.toArray().map(elementJson);
  }
}

function elementsValue(elements: NftMap['elements'] | PackedElements): unknown {
  return isPacked(elements) ? new ElementList(elements) : elements.map(elementJson);
}

export function mapObject(
  table: Pick<NftTable, 'family' | 'name'>,
  map: NftMap | PackedMap,
  withElements: boolean,
): Record<string, unknown> {
  const count = isPacked(map.elements) ? map.elements.size : map.elements.length;
  return {
    family: table.family,
    table: table.name,
    name: map.name,
    type: [...map.type],
    map: map.map,
    ...(map.counter ? { stmt: [{ counter: null }] } : {}),
    ...(map.comment ? { comment: map.comment } : {}),
    ...(withElements && count > 0 ? { elem: elementsValue(map.elements) } : {}),
  };
}

/** `add` commands that create the table's whole content (the table itself must exist or be added first). */
export function tableContentCommands(table: AnyTable): NftJsonCommand[] {
  const base = { family: table.family, table: table.name };
  const commands: NftJsonCommand[] = table.maps.map((map: NftMap | PackedMap) => ({
    add: { map: mapObject(table, map, true) },
  }));
  for (const chain of table.chains) {
    commands.push({
      add: {
        chain: {
          ...base,
          name: chain.name,
          type: chain.type,
          hook: chain.hook,
          prio: chain.prio,
          policy: chain.policy,
        },
      },
    });
  }
  for (const chain of table.chains) {
    for (const rule of chain.rules) {
      commands.push({
        add: {
          rule: {
            ...base,
            chain: chain.name,
            expr: rule.expr,
            ...(rule.comment ? { comment: rule.comment } : {}),
          },
        },
      });
    }
  }
  return commands;
}

/**
 * The full-replacement batch: `add table` (so the delete cannot fail), `delete table` (drops
 * any previous content, maps included), then the new table. One file, one transaction.
 */
export function replaceTableBatch(table: AnyTable): NftJsonBatch {
  const id = { family: table.family, name: table.name };
  return {
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { add: { table: id } },
      { delete: { table: id } },
      { add: { table: id } },
      ...tableContentCommands(table),
    ],
  };
}

export function deleteTableBatch(table: Pick<NftTable, 'family' | 'name'>): NftJsonBatch {
  const id = { family: table.family, name: table.name };
  return {
    nftables: [{ metainfo: { json_schema_version: 1 } }, { add: { table: id } }, { delete: { table: id } }],
  };
}

/** Elements written per chunk: a few hundred KiB of text at a time. */
const CHUNK = 4_096;
const MARK = '\u0000elements:';

export interface BatchTextOptions {
  /**
   * Keep only the first N elements of each packed map: the batch's shape (table, maps and their
   * types, chains, rules) with a sample of its elements, for `nft -c`.
   */
  readonly sampleElements?: number;
}

/**
 * The batch as JSON text, in pieces handed to `write` in order: the same text as
 * JSON.stringify(batch) (with sampling, a shorter batch of the same shape).
 */
export async function writeBatchText(
  batch: NftJsonBatch,
  write: (piece: string) => Promise<void>,
  options: BatchTextOptions = {},
): Promise<void> {
  const lists: ElementList[] = [];
  // Element lists become markers in the ordinary JSON text, then are written in their place.
  // (A replacer would see them after their toJSON has built the whole array.)
  const marked = (value: unknown): unknown => {
    if (value instanceof ElementList) {
      lists.push(value);
      return `${MARK}${lists.length - 1}`;
    }
    if (Array.isArray(value)) return value.map(marked);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, marked(v)]));
    return value;
  };
  const text = JSON.stringify(marked(batch));
  const marker = /"\\u0000elements:(\d+)"/g;
  let from = 0;
  for (const match of text.matchAll(marker)) {
    await write(text.slice(from, match.index));
    const list = lists[Number(match[1])] as ElementList;
    const count = Math.min(list.length, options.sampleElements ?? list.length);
    await write('[');
    for (let start = 0; start < count; start += CHUNK) {
      await write((start > 0 ? ',' : '') + list.text(start, Math.min(count, start + CHUNK)));
    }
    await write(']');
    from = (match.index ?? 0) + match[0].length;
  }
  await write(text.slice(from));
}

/** The whole batch text at once (small batches, tests). */
export async function batchText(batch: NftJsonBatch, options: BatchTextOptions = {}): Promise<string> {
  const pieces: string[] = [];
  await writeBatchText(
    batch,
    async (piece) => {
      pieces.push(piece);
    },
    options,
  );
  return pieces.join('');
}
