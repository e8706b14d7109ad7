/**
 * YAML text → plain values, read the way kubectl reads a manifest (YAML 1.1 scalars, merge keys,
 * string keys), with every structural problem reported at its field path: duplicate keys, the
 * limits of limits.ts, aliases that would expand beyond them or form a cycle, unsupported tags.
 *
 * js-yaml's event parser does the syntax (it is several times faster and leaner than building a
 * YAML document tree); this module builds the values from its events in one pass, so duplicate
 * keys cost one hash lookup each and the whole read is linear in the input.
 */
import {
  EVENT_ID,
  type Event,
  getScalarValue,
  type MappingEvent,
  parseEvents,
  SCALAR_STYLE,
  type ScalarEvent,
  type SequenceEvent,
} from 'js-yaml';
import { type ConfigIssue, keyPath, quote } from './issues.js';
import { LIMIT_MESSAGES, MAX_DEPTH, MAX_GENERAL_YAML_NODES, MAX_MAPPING_KEYS, MAX_NODES } from './limits.js';
import { isYaml11Null, resolvePlainScalar, yaml11Bool, yaml11Float, yaml11Int } from './yamlScalar.js';

export type YamlDecoded = { ok: true; documents: unknown[] } | { ok: false; issue: ConfigIssue };

const NO_RANGE = -1;
const CORE_TAG_PREFIX = 'tag:yaml.org,2002:';
const MERGE_KEY = '<<';

type Container = Record<string, unknown> | unknown[];

interface Frame {
  readonly kind: 'document' | 'mapping' | 'sequence';
  readonly value: Container | undefined;
  /** Nodes in this subtree so far, itself included (aliases expanded). */
  size: number;
  /** Mapping: the key waiting for its value. */
  key: string | undefined;
  hasKey: boolean;
  /** The pending key is a `<<` merge key. */
  keyIsMerge: boolean;
  keyOffset: number;
  /** Mapping: keys set so far. Sequence: items so far. */
  count: number;
  /** Mapping: the sources of `<<` merge keys, applied when the mapping closes. */
  merges: Record<string, unknown>[] | undefined;
  readonly anchor: Anchor | undefined;
  documentValue?: unknown;
}

interface Anchor {
  value: unknown;
  size: number;
  /** False while the anchored collection is still open: an alias to it would be a cycle. */
  complete: boolean;
}

/** Thrown inside the builder to stop at the first problem; never escapes this module. */
class Stop extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}

function eventOffset(event: Event): number {
  switch (event.type) {
    case EVENT_ID.SCALAR:
      return event.valueStart !== NO_RANGE ? event.valueStart : event.tagStart;
    case EVENT_ID.SEQUENCE:
    case EVENT_ID.MAPPING:
      return event.start;
    case EVENT_ID.ALIAS:
      return event.anchorStart;
    default:
      return NO_RANGE;
  }
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // An own `__proto__` key, as JSON.parse makes it, never a prototype change.
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class Builder {
  private readonly frames: Frame[] = [];
  private anchors = new Map<string, Anchor>();
  private tagHandles: Record<string, string> = {};
  private nodes = 0;
  readonly documents: unknown[] = [];

  constructor(private readonly text: string) {}

  /** The field path of the node being built: `spec.redirect.redirectRules[3].port`. */
  path(): string {
    let path = '';
    for (const frame of this.frames) {
      if (frame.kind === 'sequence') path = `${path}[${frame.count}]`;
      else if (frame.kind === 'mapping' && frame.hasKey) path = keyPath(path, frame.key!);
    }
    return path;
  }

  private fail(reason: string): never {
    throw new Stop(this.path(), reason);
  }

  private count(size: number): void {
    this.nodes += size;
    if (this.nodes > MAX_NODES) this.fail(`the input ${LIMIT_MESSAGES.nodes}`);
  }

  private top(): Frame {
    return this.frames[this.frames.length - 1]!;
  }

  private expectsKey(): boolean {
    const top = this.top();
    return top.kind === 'mapping' && !top.hasKey;
  }

  handle(event: Event): void {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        this.anchors = new Map();
        this.tagHandles = {};
        for (const directive of event.directives) {
          if (directive.kind === 'tag') this.tagHandles[directive.handle] = directive.prefix;
        }
        this.frames.push(this.frame('document', undefined, undefined));
        return;
      case EVENT_ID.SCALAR:
        this.scalar(event);
        return;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        this.open(event.type === EVENT_ID.MAPPING ? 'mapping' : 'sequence', event);
        return;
      case EVENT_ID.ALIAS:
        this.alias(this.text.slice(event.anchorStart, event.anchorEnd));
        return;
      case EVENT_ID.POP:
        this.close();
        return;
    }
  }

  private frame(kind: Frame['kind'], value: Container | undefined, anchor: Anchor | undefined): Frame {
    return {
      kind,
      value,
      size: 1,
      key: undefined,
      hasKey: false,
      keyIsMerge: false,
      keyOffset: NO_RANGE,
      count: 0,
      merges: undefined,
      anchor,
    };
  }

  private tagName(start: number, end: number): string | undefined {
    if (start === NO_RANGE) return undefined;
    const raw = this.text.slice(start, end);
    if (raw === '!') return '!';
    if (raw.startsWith('!<') && raw.endsWith('>')) return raw.slice(2, -1);
    const handleEnd = raw.indexOf('!', 1);
    const handle = handleEnd < 0 ? '!' : raw.slice(0, handleEnd + 1);
    const suffix = handleEnd < 0 ? raw.slice(1) : raw.slice(handleEnd + 1);
    const prefix =
      this.tagHandles[handle] ?? (handle === '!!' ? CORE_TAG_PREFIX : handle === '!' ? '!' : undefined);
    if (prefix === undefined) this.fail(`uses the undeclared tag handle ${quote(handle)}`);
    return prefix + suffix;
  }

  private open(kind: 'mapping' | 'sequence', event: MappingEvent | SequenceEvent): void {
    if (this.expectsKey()) this.fail('has a mapping key that is a list or a mapping; keys must be strings');
    const tag = this.tagName(event.tagStart, event.tagEnd);
    const plain = kind === 'mapping' ? 'map' : 'seq';
    if (tag !== undefined && tag !== '!' && tag !== CORE_TAG_PREFIX + plain) {
      this.fail(`has the tag ${quote(tag.replace(CORE_TAG_PREFIX, '!!'))}, which a config cannot use`);
    }
    if (this.frames.length > MAX_DEPTH) this.fail(LIMIT_MESSAGES.depth);
    this.count(1);
    const value: Container = kind === 'mapping' ? {} : [];
    let anchor: Anchor | undefined;
    if (event.anchorStart !== NO_RANGE) {
      anchor = { value, size: 1, complete: false };
      this.anchors.set(this.text.slice(event.anchorStart, event.anchorEnd), anchor);
    }
    this.frames.push(this.frame(kind, value, anchor));
  }

  private close(): void {
    const frame = this.frames.pop()!;
    if (frame.kind === 'document') {
      this.documents.push(frame.documentValue);
      return;
    }
    if (frame.kind === 'mapping' && frame.merges) this.applyMerges(frame);
    if (frame.anchor) {
      frame.anchor.size = frame.size;
      frame.anchor.complete = true;
    }
    this.add(frame.value, frame.size);
  }

  /** `<<` keys: explicit keys win over merged ones, and earlier merge sources over later ones. */
  private applyMerges(frame: Frame): void {
    const target = frame.value as Record<string, unknown>;
    for (const source of frame.merges!) {
      for (const key of Object.keys(source)) {
        if (Object.hasOwn(target, key)) continue;
        frame.count += 1;
        if (frame.count > MAX_MAPPING_KEYS) this.fail(`a mapping ${LIMIT_MESSAGES.keys}`);
        setKey(target, key, source[key]);
      }
    }
  }

  private alias(name: string): void {
    const anchor = this.anchors.get(name);
    if (!anchor) this.fail(`uses the alias *${name} before any anchor &${name}`);
    if (!anchor.complete) this.fail(`uses the alias *${name} inside the node it names (a cycle)`);
    if (this.expectsKey()) {
      if (typeof anchor.value !== 'string') this.fail(`has an alias *${name} as a key that is not a string`);
      this.key(anchor.value, NO_RANGE);
      return;
    }
    this.count(anchor.size);
    this.add(anchor.value, anchor.size);
  }

  private scalar(event: ScalarEvent): void {
    const text = event.valueStart === NO_RANGE ? '' : getScalarValue(this.text, event);
    if (this.expectsKey()) {
      const isMerge = text === MERGE_KEY && event.style === SCALAR_STYLE.PLAIN && event.tagStart === NO_RANGE;
      this.key(text, event.valueStart, isMerge);
      return;
    }
    const value = this.scalarValue(event, text);
    this.count(1);
    if (event.anchorStart !== NO_RANGE) {
      this.anchors.set(this.text.slice(event.anchorStart, event.anchorEnd), {
        value,
        size: 1,
        complete: true,
      });
    }
    this.add(value, 1);
  }

  private scalarValue(event: ScalarEvent, text: string): unknown {
    const tag = this.tagName(event.tagStart, event.tagEnd);
    if (tag === undefined) return event.style === SCALAR_STYLE.PLAIN ? resolvePlainScalar(text) : text;
    const explicit = (value: unknown, what: string): unknown =>
      value === undefined ? this.fail(`${quote(text)} is not ${what}`) : value;
    switch (tag) {
      case '!':
      case `${CORE_TAG_PREFIX}str`:
      case `${CORE_TAG_PREFIX}timestamp`:
        return text;
      case `${CORE_TAG_PREFIX}int`:
        return explicit(yaml11Int(text), 'an integer');
      case `${CORE_TAG_PREFIX}float`:
        return explicit(yaml11Float(text) ?? yaml11Int(text), 'a number');
      case `${CORE_TAG_PREFIX}bool`:
        return explicit(yaml11Bool(text), 'a boolean');
      case `${CORE_TAG_PREFIX}null`:
        return isYaml11Null(text) ? null : this.fail(`${quote(text)} is not null`);
      default:
        return this.fail(
          `has the tag ${quote(tag.replace(CORE_TAG_PREFIX, '!!'))}, which a config cannot use`,
        );
    }
  }

  private key(key: string, offset: number, isMerge = false): void {
    const frame = this.top();
    this.count(1);
    frame.key = key;
    frame.hasKey = true;
    frame.keyIsMerge = isMerge;
    frame.keyOffset = offset;
  }

  private add(value: unknown, size: number): void {
    const frame = this.top();
    frame.size += size;
    switch (frame.kind) {
      case 'document':
        frame.documentValue = value;
        return;
      case 'sequence':
        (frame.value as unknown[]).push(value);
        frame.count += 1;
        return;
      case 'mapping': {
        const target = frame.value as Record<string, unknown>;
        if (frame.keyIsMerge) this.merge(frame, value);
        else {
          if (Object.hasOwn(target, frame.key!)) {
            const line = frame.keyOffset === NO_RANGE ? '' : ` (line ${lineOf(this.text, frame.keyOffset)})`;
            this.fail(`is given twice in the same mapping${line}; keep one`);
          }
          frame.count += 1;
          if (frame.count > MAX_MAPPING_KEYS) this.fail(`a mapping ${LIMIT_MESSAGES.keys}`);
          setKey(target, frame.key!, value);
        }
        frame.key = undefined;
        frame.hasKey = false;
        return;
      }
    }
  }

  private merge(frame: Frame, value: unknown): void {
    const sources = Array.isArray(value) ? value : [value];
    if (!sources.every(isMapping)) this.fail('(a merge key) takes a mapping or a list of mappings');
    frame.merges ??= [];
    frame.merges.push(...sources);
  }
}

/** js-yaml's own syntax errors, as one line with the position. */
function syntaxIssue(error: unknown): ConfigIssue {
  const reason =
    typeof error === 'object' && error !== null && 'reason' in error ? String(error.reason) : String(error);
  const mark =
    typeof error === 'object' && error !== null && 'mark' in error
      ? (error.mark as { line?: number; column?: number } | undefined)
      : undefined;
  const where = mark?.line !== undefined ? ` at line ${mark.line + 1}, column ${(mark.column ?? 0) + 1}` : '';
  const message = /maxDepth/.test(reason) ? LIMIT_MESSAGES.depth : reason;
  return { path: '', message: `not valid YAML or JSON: ${message}${where}` };
}

const isWordCharacter = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 46;

/**
 * More than the nodes the text can hold, without parsing it. Every node starts a line or follows
 * an indicator (`- `, `? `, `: `, `,`, `[`, `{`), and one indicator starts at most two nodes; a
 * colon between two word characters (`12:30`, `2001:db8::1`) is inside a scalar, never an indicator.
 */
export function yamlNodeBound(text: string): number {
  let starts = 1;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 10 || code === 44 || code === 91 || code === 123) starts += 1;
    else if (code === 45 || code === 63) {
      const next = text.charCodeAt(i + 1);
      if (Number.isNaN(next) || next === 32 || next === 10 || next === 13 || next === 9) starts += 1;
    } else if (code === 58) {
      const previous = text.charCodeAt(i - 1);
      const next = text.charCodeAt(i + 1);
      if (!(isWordCharacter(previous) && (isWordCharacter(next) || next === 58))) starts += 1;
    }
  }
  return 2 * starts;
}

/** Every document of a YAML stream as plain values (empty documents as null), or the first problem. */
export function decodeYaml(text: string): YamlDecoded {
  // The parser holds every event until it is done: bound them before parsing.
  const bound = yamlNodeBound(text);
  if (bound > MAX_GENERAL_YAML_NODES) {
    return { ok: false, issue: { path: '', message: `the input ${LIMIT_MESSAGES.generalYaml}` } };
  }
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: MAX_DEPTH });
  } catch (error) {
    return { ok: false, issue: syntaxIssue(error) };
  }
  const builder = new Builder(text);
  let current: Event | undefined;
  try {
    for (current of events) builder.handle(current);
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    const offset = current ? eventOffset(current) : NO_RANGE;
    const line =
      offset === NO_RANGE || /\(line \d+\)/.test(error.reason) ? '' : ` (line ${lineOf(text, offset)})`;
    return { ok: false, issue: { path: error.path, message: `${error.reason}${line}` } };
  }
  return { ok: true, documents: builder.documents };
}
