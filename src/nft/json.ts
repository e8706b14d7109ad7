/** NftTable → the libnftables JSON batch handed to `nft -j -f FILE`. */
import type { MapElement, NftMap, NftTable } from './model.js';

export type NftJsonCommand = Record<string, unknown>;
export interface NftJsonBatch {
  nftables: NftJsonCommand[];
}

const elementJson = ([key, value]: MapElement): unknown => [{ concat: [...key] }, value];

export function mapObject(table: NftTable, map: NftMap, withElements: boolean): Record<string, unknown> {
  return {
    family: table.family,
    table: table.name,
    name: map.name,
    type: [...map.type],
    map: map.map,
    ...(map.counter ? { stmt: [{ counter: null }] } : {}),
    ...(map.comment ? { comment: map.comment } : {}),
    ...(withElements && map.elements.length > 0 ? { elem: map.elements.map(elementJson) } : {}),
  };
}

/** `add` commands that create the table's whole content (the table itself must exist or be added first). */
export function tableContentCommands(table: NftTable): NftJsonCommand[] {
  const base = { family: table.family, table: table.name };
  const commands: NftJsonCommand[] = table.maps.map((map) => ({ add: { map: mapObject(table, map, true) } }));
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
export function replaceTableBatch(table: NftTable): NftJsonBatch {
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
