/**
 * Reads nft's JSON listing text without parsing it whole. A listing of 131,069 elements is
 * about 18 MB of text; `JSON.parse` turns it into millions of objects at once (hundreds of MB of
 * heap, kept by V8 long after). Here the text is walked once: every object but a map's element
 * array is parsed as usual (they are small), and each element is parsed on its own and handed
 * to a visitor, so nothing per element outlives its visit. Pure.
 */
import type { NftListing } from './nft.js';
import { type PackedElements, PackedElementsBuilder } from './packed.js';

/** One element: its key's parts, its value, and its counter's packets when the map counts. */
export type ElementVisitor = (map: string, key: readonly unknown[], value: unknown, packets?: number) => void;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function expect(text: string, i: number, char: string): number {
  const at = skipSpace(text, i);
  if (text[at] !== char) throw new SyntaxError(`nft listing: expected ${char} at ${at}`);
  return at + 1;
}

function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  throw new SyntaxError('nft listing: unterminated string');
}

/** The index just after the JSON value that starts at `i` (at a non-space character). */
function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let j = i; j < text.length; ) {
      const c = text.charCodeAt(j);
      if (c === 0x22) {
        j = skipString(text, j);
        continue;
      }
      if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    throw new SyntaxError('nft listing: unterminated value');
  }
  let j = i;
  while (j < text.length && !/[,\]}\s]/.test(text[j] as string)) j++;
  return j;
}

/** Calls `each(start)` for every item of the array that starts at `i`; returns the index after it. */
function forEachItem(text: string, i: number, each: (start: number, end: number) => void): number {
  let at = expect(text, i, '[');
  at = skipSpace(text, at);
  if (text[at] === ']') return at + 1;
  for (;;) {
    at = skipSpace(text, at);
    const end = skipValue(text, at);
    each(at, end);
    at = skipSpace(text, end);
    if (text[at] === ',') {
      at++;
      continue;
    }
    if (text[at] === ']') return at + 1;
    throw new SyntaxError(`nft listing: expected , or ] at ${at}`);
  }
}

/** Calls `each(key, start, end)` for every member of the object that starts at `i`. */
function forEachMember(
  text: string,
  i: number,
  each: (key: string, start: number, end: number) => void,
): number {
  let at = expect(text, i, '{');
  at = skipSpace(text, at);
  if (text[at] === '}') return at + 1;
  for (;;) {
    at = skipSpace(text, at);
    const keyEnd = skipString(text, at);
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    at = skipSpace(text, expect(text, keyEnd, ':'));
    const end = skipValue(text, at);
    each(key, at, end);
    at = skipSpace(text, end);
    if (text[at] === ',') {
      at++;
      continue;
    }
    if (text[at] === '}') return at + 1;
    throw new SyntaxError(`nft listing: expected , or } at ${at}`);
  }
}

function visitElement(raw: unknown, map: string, visit: ElementVisitor): void {
  const [key, value] = Array.isArray(raw) ? (raw as [unknown, unknown]) : [raw, undefined];
  const wrapped = (key as { elem?: { val?: unknown; counter?: { packets?: unknown } } } | null)?.elem;
  const unwrapped = wrapped?.val ?? key;
  const parts = (unwrapped as { concat?: unknown[] } | null)?.concat ?? [unwrapped];
  const packets = wrapped?.counter?.packets;
  visit(map, parts, value, typeof packets === 'number' ? packets : undefined);
}

/**
 * Walks a listing (`{"nftables": [...]}`): returns every object, maps without their `elem`,
 * and hands each map element to `visit`.
 */
export function scanListing(text: string, visit: ElementVisitor): NftListing {
  const objects: NftListing = [];
  forEachMember(text, skipSpace(text, 0), (key, start) => {
    if (key !== 'nftables') return;
    forEachItem(text, start, (itemStart, itemEnd) => {
      const mapAt = /^\{\s*"map"\s*:\s*/.exec(text.slice(itemStart, itemStart + 16));
      if (!mapAt) {
        objects.push(JSON.parse(text.slice(itemStart, itemEnd)) as Record<string, unknown>);
        return;
      }
      const map: Record<string, unknown> = {};
      let elements: [number, number] | undefined;
      forEachMember(text, itemStart + mapAt[0].length, (member, s, e) => {
        if (member === 'elem') elements = [s, e];
        else map[member] = JSON.parse(text.slice(s, e));
      });
      if (elements) {
        const name = String(map.name);
        forEachItem(text, elements[0], (s, e) => visitElement(JSON.parse(text.slice(s, e)), name, visit));
      }
      objects.push({ map });
    });
  });
  return objects;
}

export interface CompactListing {
  /** Every object of the listing, maps without their elements. */
  readonly objects: NftListing;
  /** Each map's elements packed; undefined for a map the model cannot hold (odd keys or values). */
  readonly elements: ReadonlyMap<string, PackedElements | undefined>;
}

/** A listing with its map elements packed. */
export function readCompact(text: string): CompactListing {
  const builders = new Map<string, PackedElementsBuilder | undefined>();
  const objects = scanListing(text, (map, key, value) => {
    if (!builders.has(map)) builders.set(map, new PackedElementsBuilder());
    const builder = builders.get(map);
    if (builder && (key.length !== 2 || !builder.add(key[0], key[1], value))) builders.set(map, undefined);
  });
  const elements = new Map<string, PackedElements | undefined>();
  for (const [name, builder] of builders) elements.set(name, builder?.build());
  return { objects, elements };
}
