/**
 * A reload of a large EgressRouter in JSON that changed a few rules. Everything before the first
 * changed byte and after the last is the previous text's, so when the change lies inside the
 * `spec.redirect.redirectRules` array only the rules it touches are parsed again; the others are
 * the previous config's, and validation reuses them (validateDraft with `previous`). A one-rule
 * change at 65,534 rules then costs two string comparisons and one rule, not a parse of 5 MB.
 *
 * Anything this cannot do exactly as a fresh read would (a change outside the array, a rule that
 * is not plainly valid, an issue found) answers undefined, and the caller reads the text whole:
 * the fresh read words every message. Pure.
 */
import { isAscii } from 'node:buffer';
import type { DraftConfig, DraftRule } from './draft.js';
import { plainRule } from './egressRouter.js';
import { joinPath } from './issues.js';
import { jsonStructureIssue, stringEnd } from './jsonStructure.js';
import { MAX_NODES } from './limits.js';
import type { LoadResult } from './load.js';
import type { AgentOptions, Protocol, RouterConfig } from './model.js';
import { validateRuleChange } from './validate.js';

const RULES_PATH = 'spec.redirect.redirectRules';
/** A change larger than this is read whole: the point is small edits of big configs. */
const MAX_CHANGED_BYTES = 1024 * 1024;

/**
 * A JSON text as the quick path reads it: a string, or the bytes of a file that is all ASCII,
 * where a byte is a character. Bytes spare decoding megabytes to find the few that changed.
 */
export type JsonSource = string | Buffer;

/** Where the rules are in a JSON text that was read whole and found valid. */
export interface JsonRulesIndex {
  /** The text the offsets below are in (bytes only when all ASCII). */
  readonly text: JsonSource;
  /** Offsets of the rules array's `[` and `]`. */
  readonly open: number;
  readonly close: number;
  /** Rule i is text[starts[i], ends[i]). */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** The draft without its rules (the rest of the document, unchanged while the index holds). */
  readonly base: Omit<DraftConfig, 'rules'>;
  readonly config: RouterConfig;
  readonly options: AgentOptions;
  /** Values in the text (a bound, for the node limit). */
  readonly values: number;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

interface Frame {
  readonly object: boolean;
  key: string | undefined;
  expectKey: boolean;
  /** The container's path while it leads to the rules array (`''` the root), else undefined. */
  readonly path: string | undefined;
}

/** The path of a container opened in `parent`, kept only on the way to the rules array. */
function childPath(parent: Frame | undefined): string | undefined {
  if (!parent) return '';
  if (!parent.object || parent.path === undefined || parent.key === undefined) return undefined;
  const path = parent.path === '' ? parent.key : `${parent.path}.${parent.key}`;
  return path === RULES_PATH || RULES_PATH.startsWith(`${path}.`) ? path : undefined;
}

/**
 * The spans of the rules array's items in `text` (JSON that JSON.parse accepted), or undefined
 * when there is no such array or an item is not an object. `values` bounds the values in it.
 */
export function ruleSpans(
  text: string,
): { open: number; close: number; starts: Int32Array; ends: Int32Array; values: number } | undefined {
  const frames: Frame[] = [];
  let open = -1;
  let close = -1;
  const starts: number[] = [];
  const ends: number[] = [];
  let values = 0;
  const isRulesArray = (frame: Frame | undefined): boolean =>
    frame !== undefined && !frame.object && frame.path === RULES_PATH;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || c === 0x3a /* : */) continue;
    const top = frames[frames.length - 1];
    if (c === 0x2c /* , */) {
      if (top?.object) top.expectKey = true;
      continue;
    }
    if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      const parent = frames[frames.length - 1];
      if (isRulesArray(top)) close = i;
      else if (isRulesArray(parent)) ends.push(i + 1);
      if (parent?.object) parent.key = undefined;
      continue;
    }
    const inRules = isRulesArray(top);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (top?.object && top.expectKey) {
        // Keys matter only on the way to the rules (a rule's own keys are not read here).
        top.key = top.path === undefined ? '' : (JSON.parse(text.slice(i, end + 1)) as string);
        top.expectKey = false;
      } else if (inRules) return undefined;
      else values++;
      i = end;
      continue;
    }
    values++;
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (inRules) {
        if (c !== 0x7b) return undefined;
        starts.push(i);
      }
      const path = childPath(top);
      const frame: Frame = { object: c === 0x7b, key: undefined, expectKey: c === 0x7b, path };
      if (isRulesArray(frame)) open = i;
      frames.push(frame);
      continue;
    }
    if (inRules) return undefined;
    while (i + 1 < text.length && !isSpace(text.charCodeAt(i + 1)) && !',]}'.includes(text[i + 1] as string))
      i++;
  }
  if (open < 0 || close < 0 || starts.length !== ends.length) return undefined;
  return { open, close, starts: Int32Array.from(starts), ends: Int32Array.from(ends), values };
}

/**
 * The index of a text read whole, or undefined when the rules cannot be located in it. `keep`
 * is what the index holds for the next reload: the text itself, or the file's bytes when they
 * are all ASCII (then every offset is the same in both).
 */
export function indexJsonRules(
  text: string,
  draft: DraftConfig,
  config: RouterConfig,
  options: AgentOptions,
  keep: JsonSource = text,
): JsonRulesIndex | undefined {
  if (draft.format !== 'EgressRouter') return undefined;
  if (typeof keep !== 'string' && (keep.length !== text.length || !isAscii(keep))) return undefined;
  const spans = ruleSpans(text);
  if (!spans || spans.starts.length !== config.redirectRules.length) return undefined;
  const { rules: _rules, ...base } = draft;
  return { text: keep, ...spans, base, config, options };
}

/** Whether a[from, to) and b[from + shift, to + shift) hold the same characters. */
function sameSpan(a: JsonSource, b: JsonSource, from: number, to: number, shift: number): boolean {
  if (typeof a === 'string' && typeof b === 'string')
    return a.slice(from, to) === b.slice(from + shift, to + shift);
  if (typeof a === 'string' || typeof b === 'string') return false;
  return a.compare(b, from + shift, to + shift, from, to) === 0;
}

/** Length of the common prefix of a and b (compared in blocks: a native comparison each). */
function commonPrefix(a: JsonSource, b: JsonSource): number {
  const limit = Math.min(a.length, b.length);
  let at = 0;
  for (let block = 65_536; block >= 1; block = block >> 4 || (block > 1 ? 1 : 0)) {
    while (at + block <= limit && sameSpan(a, b, at, at + block, 0)) at += block;
    if (block === 1) break;
  }
  return at;
}

/** Length of the common suffix of a and b, at most `limit`. */
function commonSuffix(a: JsonSource, b: JsonSource, limit: number): number {
  const shift = b.length - a.length;
  let at = 0;
  for (let block = 65_536; block >= 1; block = block >> 4 || (block > 1 ? 1 : 0)) {
    while (at + block <= limit && sameSpan(a, b, a.length - at - block, a.length - at, shift)) at += block;
    if (block === 1) break;
  }
  return at;
}

/** The last i with values[i] <= x, or -1. */
function lastAtOrBefore(values: Int32Array, x: number): number {
  let low = 0;
  let high = values.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) <= x) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}

/** The first i with values[i] >= x, or values.length. */
function firstAtOrAfter(values: Int32Array, x: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((values[mid] as number) < x) low = mid + 1;
    else high = mid;
  }
  return low;
}

const draftRule = (index: number, rule: NonNullable<ReturnType<typeof plainRule>>): DraftRule => ({
  path: joinPath(RULES_PATH, index),
  fieldSeparator: '.',
  protocol: rule.protocol.toLowerCase() as Protocol,
  port: rule.port,
  destinationIP: rule.destinationIP,
  ...(rule.targetPort !== undefined ? { targetPort: rule.targetPort } : {}),
});

/** text[from, to) as a string; undefined when bytes are not all ASCII (offsets would no longer be characters). */
function regionOf(text: JsonSource, from: number, to: number): string | undefined {
  if (typeof text === 'string') return text.slice(from, to);
  const bytes = text.subarray(from, to);
  return isAscii(bytes) ? bytes.toString('latin1') : undefined;
}

/**
 * The new text read against the index: the result and the new index, or undefined when only a
 * whole read can answer (see the module comment). `next` is of the index's kind (bytes or text).
 */
export function reloadJsonRules(
  index: JsonRulesIndex,
  next: JsonSource,
  options: AgentOptions,
  /** What the two texts share at their start and end, when the caller already compared them. */
  known?: { readonly prefix: number; readonly suffix: number },
): { result: LoadResult; index: JsonRulesIndex } | undefined {
  if (options !== index.options || typeof next !== typeof index.text) return undefined;
  const before = index.text;
  const p = known ? known.prefix : commonPrefix(before, next);
  if (p === before.length && p === next.length) return { result: { ok: true, config: index.config }, index };
  const q = known ? known.suffix : commonSuffix(before, next, Math.min(before.length, next.length) - p);
  const changeEnd = before.length - q;
  // Only a change strictly inside the array (its brackets untouched).
  if (p <= index.open || changeEnd > index.close) return undefined;
  const { starts, ends } = index;
  const first = lastAtOrBefore(starts, p); // the rule the change starts in (or after)
  const last = firstAtOrAfter(ends, changeEnd); // the rule the change ends in (or before)
  const from = first >= 0 ? (starts[first] as number) : index.open + 1;
  const to = last < ends.length ? (ends[last] as number) : index.close;
  const replacedFrom = Math.max(first, 0);
  const replacedTo = Math.min(last + 1, ends.length); // exclusive
  const delta = next.length - before.length;
  if (to + delta - from > MAX_CHANGED_BYTES) return undefined;
  const region = regionOf(next, from, to + delta);
  if (region === undefined) return undefined;
  let items: unknown;
  try {
    items = JSON.parse(`[${region}]`);
  } catch {
    return undefined;
  }
  const wrapped = `[${region}]`;
  if (!Array.isArray(items) || jsonStructureIssue(wrapped)) return undefined;
  const local = ruleSpans(`{"spec":{"redirect":{"redirectRules":${wrapped}}}}`);
  if (!local || local.starts.length !== items.length) return undefined;
  if (index.values + local.values > MAX_NODES) return undefined;
  const newRules: DraftRule[] = [];
  for (const [k, item] of items.entries()) {
    const rule = plainRule(item);
    if (!rule) return undefined;
    newRules.push(draftRule(replacedFrom + k, rule));
  }
  const config = validateRuleChange({ ...index.base, rules: [] }, options, index.config, {
    from: replacedFrom,
    to: replacedTo,
    added: newRules,
    pathAt: (i) => joinPath(RULES_PATH, i),
  });
  if (!config) return undefined;
  const old = index.config.redirectRules;
  const shift = newRules.length - (replacedTo - replacedFrom);
  // The new spans: unchanged before, the region's own (offset into `next`), shifted after.
  const prefix = `{"spec":{"redirect":{"redirectRules":[`.length;
  const count = config.redirectRules.length;
  const newStarts = new Int32Array(count);
  const newEnds = new Int32Array(count);
  newStarts.set(starts.subarray(0, replacedFrom));
  newEnds.set(ends.subarray(0, replacedFrom));
  for (let k = 0; k < newRules.length; k++) {
    newStarts[replacedFrom + k] = (local.starts[k] as number) - prefix + from;
    newEnds[replacedFrom + k] = (local.ends[k] as number) - prefix + from;
  }
  for (let i = replacedTo; i < old.length; i++) {
    newStarts[i + shift] = (starts[i] as number) + delta;
    newEnds[i + shift] = (ends[i] as number) + delta;
  }
  return {
    result: { ok: true, config },
    index: {
      ...index,
      text: next,
      close: index.close + delta,
      starts: newStarts,
      ends: newEnds,
      config,
      values: index.values + local.values,
    },
  };
}
