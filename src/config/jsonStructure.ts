/**
 * What JSON.parse does not tell: a key given twice in one object (JSON.parse keeps the last one
 * silently, so two rules could vanish), and the limits of limits.ts. One linear pass over text
 * that JSON.parse has already accepted, so the scanner can trust the syntax.
 */
import { type ConfigIssue, keyPath } from './issues.js';
import { LIMIT_MESSAGES, MAX_DEPTH, MAX_MAPPING_KEYS, MAX_NODES } from './limits.js';

interface Frame {
  readonly object: boolean;
  /** Object: keys seen so far, a list while short (a rule has four), a set past SMALL_OBJECT. */
  keys: string[] | Set<string> | undefined;
  /** Object: the current key. */
  key: string | undefined;
  /** Object: keys so far; array: the index of the current item. */
  count: number;
  expectKey: boolean;
}

/** Up to this many keys, an object's keys are compared one by one: cheaper than a Set each. */
const SMALL_OBJECT = 16;

/** Whether `key` was seen in the object already; records it if not. */
function seenBefore(frame: Frame, key: string): boolean {
  const keys = frame.keys;
  if (keys === undefined) {
    frame.keys = [key];
    return false;
  }
  if (Array.isArray(keys)) {
    if (keys.includes(key)) return true;
    keys.push(key);
    if (keys.length > SMALL_OBJECT) frame.keys = new Set(keys);
    return false;
  }
  if (keys.has(key)) return true;
  keys.add(key);
  return false;
}

/** Characters a number, true, false or null is made of. */
function isScalarCharacter(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || // 0-9
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    c === 0x2e || // .
    c === 0x2b || // +
    c === 0x2d // -
  );
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

function pathOf(frames: readonly Frame[]): string {
  let path = '';
  for (const frame of frames) {
    if (!frame.object) path = `${path}[${frame.count}]`;
    else if (frame.key !== undefined) path = keyPath(path, frame.key);
  }
  return path;
}

/** The end of the string token starting at `start` (the index of its closing quote). */
export function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    for (let i = end - 1; text.charCodeAt(i) === BACKSLASH; i -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** The first duplicate key or exceeded limit in valid JSON text, or undefined. */
export function jsonStructureIssue(text: string): ConfigIssue | undefined {
  const frames: Frame[] = [];
  let nodes = 0;
  let line = 1;
  const fail = (message: string): ConfigIssue => ({ path: pathOf(frames), message });
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === NEWLINE) {
      line += 1;
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x3a /* : */) continue;
    const top = frames[frames.length - 1];
    if (c === 0x2c /* , */) {
      if (top?.object) top.expectKey = true;
      else if (top) top.count += 1;
      continue;
    }
    if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent?.object) parent.key = undefined;
      continue;
    }
    nodes += 1;
    if (nodes > MAX_NODES) return fail(`the input ${LIMIT_MESSAGES.nodes}`);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (top?.object && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        top.key = key;
        top.count += 1;
        if (top.count > MAX_MAPPING_KEYS) return fail(`an object ${LIMIT_MESSAGES.keys}`);
        if (seenBefore(top, key)) return fail(`is given twice in the same object (line ${line}); keep one`);
        top.expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (frames.length >= MAX_DEPTH) return fail(LIMIT_MESSAGES.depth);
      const object = c === 0x7b;
      frames.push({ object, keys: undefined, key: undefined, count: 0, expectKey: object });
      continue;
    }
    // A number, true, false or null: skip to its last character.
    while (i + 1 < text.length && isScalarCharacter(text.charCodeAt(i + 1))) i += 1;
  }
  return undefined;
}
