/**
 * The table held compactly: at 131,069 rules, `[[protocol, port], value]` arrays cost about
 * 150 bytes an element and a map of string keys as much again to diff them; here an element is
 * 8 bytes. A key (protocol, port) is one 32-bit number, protocol code << 16 | port, kept in
 * ascending order (the plan's own order: TCP, UDP, SCTP, then port); a value is an index into
 * the map's distinct values (a few destinations, or ports). Lookups are binary searches, a diff
 * is one merge of two sorted arrays, and nothing per element is allocated to do either.
 *
 * `TableModel` is `NftTable` with packed elements: the table in the agent's model as committed
 * or as read from the kernel. Pure.
 */
import type { MapElement, NftChain, NftMap, NftTable } from './model.js';

/** The protocols a key may name, by code. */
export const KEY_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
const PROTOCOL_CODE: Readonly<Record<string, number>> = { tcp: 0, udp: 1, sctp: 2 };

export type ElementValue = string | number;

/** The packed key of (protocol, port), or undefined when the model cannot hold it. */
export function packKey(protocol: unknown, port: unknown): number | undefined {
  const code = typeof protocol === 'string' ? PROTOCOL_CODE[protocol] : undefined;
  if (code === undefined || typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535)
    return undefined;
  return code * 65_536 + port;
}

/** Every packed key there can be: one slot per (protocol, port). */
export const KEY_SPACE = KEY_PROTOCOLS.length * 65_536;

export const keyProtocol = (key: number): string => KEY_PROTOCOLS[Math.floor(key / 65_536)] ?? '?';
export const keyPort = (key: number): number => key % 65_536;

export class PackedElements implements Iterable<MapElement> {
  static readonly empty = new PackedElements(new Uint32Array(0), new Uint32Array(0), []);

  private constructor(
    /** Ascending, no duplicates. */
    private readonly keys: Uint32Array,
    private readonly valueIndexes: Uint32Array,
    private readonly values: readonly ElementValue[],
  ) {}

  /**
   * Packs elements in any order; undefined when one is not (tcp|udp|sctp, 0..65535) → a string
   * or a number, or when a key repeats (a map cannot hold it twice).
   */
  static from(elements: Iterable<readonly [readonly unknown[], unknown]>): PackedElements | undefined {
    const builder = new PackedElementsBuilder();
    for (const [key, value] of elements) {
      if (key.length !== 2 || !builder.add(key[0], key[1], value)) return undefined;
    }
    return builder.build();
  }

  /** Trusts its input: keys ascending and unique, each index within `values` (the builder's output). */
  static fromSorted(
    keys: Uint32Array,
    indexes: Uint32Array,
    values: readonly ElementValue[],
  ): PackedElements {
    return new PackedElements(keys, indexes, values);
  }

  get size(): number {
    return this.keys.length;
  }

  keyAt(i: number): number {
    return this.keys[i] ?? -1;
  }

  protocolAt(i: number): string {
    return keyProtocol(this.keyAt(i));
  }

  portAt(i: number): number {
    return keyPort(this.keyAt(i));
  }

  valueAt(i: number): ElementValue {
    return this.values[this.valueIndexes[i] ?? 0] as ElementValue;
  }

  elementAt(i: number): MapElement {
    return [[this.protocolAt(i), this.portAt(i)], this.valueAt(i)];
  }

  /** The position of a packed key, or -1. */
  indexOfKey(key: number): number {
    let low = 0;
    let high = this.keys.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const here = this.keys[middle] as number;
      if (here === key) return middle;
      if (here < key) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  get(protocol: string, port: number): ElementValue | undefined {
    const key = packKey(protocol, port);
    const i = key === undefined ? -1 : this.indexOfKey(key);
    return i < 0 ? undefined : this.valueAt(i);
  }

  has(protocol: string, port: number): boolean {
    return this.get(protocol, port) !== undefined;
  }

  *[Symbol.iterator](): Iterator<MapElement> {
    for (let i = 0; i < this.keys.length; i++) yield this.elementAt(i);
  }

  toArray(): MapElement[] {
    return [...this];
  }

  /** Same keys with the same values. */
  equals(other: PackedElements): boolean {
    if (other === this) return true;
    if (other.size !== this.size) return false;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== other.keys[i] || this.valueAt(i) !== other.valueAt(i)) return false;
    }
    return true;
  }
}

/** Collects elements one at a time (a listing read element by element), then sorts once. */
export class PackedElementsBuilder {
  private keys: number[] = [];
  private indexes: number[] = [];
  private readonly values: ElementValue[] = [];
  private readonly valueIndex = new Map<ElementValue, number>();
  private sorted = true;

  /** False when the element cannot be held (the caller treats the map as foreign). */
  add(protocol: unknown, port: unknown, value: unknown): boolean {
    const key = packKey(protocol, port);
    if (key === undefined || (typeof value !== 'string' && typeof value !== 'number')) return false;
    let index = this.valueIndex.get(value);
    if (index === undefined) {
      index = this.values.length;
      this.values.push(value);
      this.valueIndex.set(value, index);
    }
    const last = this.keys[this.keys.length - 1];
    if (last !== undefined && key <= last) this.sorted = false;
    this.keys.push(key);
    this.indexes.push(index);
    return true;
  }

  /** Undefined when a key repeats. */
  build(): PackedElements | undefined {
    const n = this.keys.length;
    if (n === 0) return PackedElements.empty;
    const keys = new Uint32Array(n);
    const indexes = new Uint32Array(n);
    if (this.sorted) {
      keys.set(this.keys);
      indexes.set(this.indexes);
    } else {
      const order = Array.from({ length: n }, (_, i) => i).sort(
        (a, b) => (this.keys[a] as number) - (this.keys[b] as number),
      );
      order.forEach((from, to) => {
        keys[to] = this.keys[from] as number;
        indexes[to] = this.indexes[from] as number;
      });
      for (let i = 1; i < n; i++) if (keys[i] === keys[i - 1]) return undefined;
    }
    this.keys = [];
    this.indexes = [];
    return PackedElements.fromSorted(keys, indexes, this.values);
  }
}

export interface PackedMap extends Omit<NftMap, 'elements'> {
  readonly elements: PackedElements;
}

/** Where a committed table came from: the plan of this config with these options. */
export interface TableOrigin {
  readonly config: object;
  readonly options: object;
}

/** `NftTable` with packed elements: the table in the agent's model. */
export interface TableModel {
  readonly family: 'inet';
  readonly name: string;
  readonly maps: readonly PackedMap[];
  readonly chains: readonly NftChain[];
  /**
   * Set on a table the agent committed: it is exactly what planning `config` with `options`
   * renders, so a pass with the same two objects needs neither the rendering nor a diff.
   */
  readonly origin?: TableOrigin;
}

export type AnyTable = NftTable | TableModel;

export function isPacked(elements: NftMap['elements'] | PackedElements): elements is PackedElements {
  return elements instanceof PackedElements;
}

/** Packed forms of plan tables, so one pass packs its plan once however many times it asks. */
const packedPlans = new WeakMap<NftTable, TableModel>();

/**
 * The table with packed elements (a model as it is, a plan table packed once); undefined if a map
 * cannot be packed. With `origin`, a copy that records it.
 */
export function packTable(table: AnyTable, origin?: TableOrigin): TableModel | undefined {
  let model: TableModel | undefined;
  if (table.maps.every((m: NftMap | PackedMap) => isPacked(m.elements))) model = table as TableModel;
  else {
    model = packedPlans.get(table as NftTable);
    if (!model) {
      const maps: PackedMap[] = [];
      for (const map of table.maps as readonly NftMap[]) {
        const elements = PackedElements.from(map.elements);
        if (!elements) return undefined;
        maps.push({ ...map, elements });
      }
      model = { family: table.family, name: table.name, maps, chains: table.chains };
      packedPlans.set(table as NftTable, model);
    }
  }
  return origin ? { ...model, origin } : model;
}

/** Back to element arrays (for a rollback batch or a test). */
export function unpackTable(table: AnyTable): NftTable {
  return {
    family: table.family,
    name: table.name,
    maps: table.maps.map(({ elements, ...map }) => ({
      ...map,
      elements: isPacked(elements) ? elements.toArray() : elements,
    })),
    chains: table.chains,
  };
}

/** Whether a committed table is what planning this config with these options renders. */
export function plannedFrom(table: TableModel | undefined, config: object, options: object): boolean {
  return table?.origin?.config === config && table.origin.options === options;
}

/** Element count of a map of either kind. */
export function elementCount(map: NftMap | PackedMap): number {
  return isPacked(map.elements) ? map.elements.size : map.elements.length;
}
