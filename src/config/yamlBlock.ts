/**
 * A streaming reader for block YAML in the style kubectl and generators write:
 *
 *   key: value        key: 'quoted'      key:              - item        key: |
 *   key: "quoted"     key: [a, b]          nested: value   - key: value    literal text
 *   key: {a: 1}       key: []            list:               other: 1
 *                                        - item
 *
 * with comments, blank lines and one leading `---`; flow collections only when they open and
 * close on one line. It reads line by line into plain values and keeps nothing else, so a
 * 131,070-rule config costs about its own size, where the general reader (yamlDecode.ts) first
 * holds a parser event per node (about 110 bytes each).
 *
 * It answers only when it is sure. Anything outside that style (anchors, tags, multi-line flow
 * or plain scalars, escapes beyond JSON's, tabs, several documents) returns undefined, and the
 * general reader reads the text again. A duplicate key or a passed limit is worded exactly as
 * the general reader words it, once the rest of the text proved to be in the style too. For
 * every text it answers, its answer equals the general reader's: the unit tests compare both.
 */
import { type ConfigIssue, keyPath } from './issues.js';
import { LIMIT_MESSAGES, MAX_DEPTH, MAX_MAPPING_KEYS, MAX_NODES } from './limits.js';
import { resolvePlainScalar } from './yamlScalar.js';

type Container = Record<string, unknown> | unknown[];

interface Open {
  readonly kind: 'mapping' | 'sequence';
  readonly indent: number;
  readonly value: Container;
  keys: number;
  /** The key or index last given a value: how a path goes on from here. */
  child: string | number | undefined;
}

/** A mapping key or sequence item whose value is on the following lines (or is null). */
interface Pending {
  readonly owner: Open;
  readonly key: string | undefined;
  readonly indent: number;
  readonly line: number;
}

/** A literal block scalar (`key: |`) being read: its lines, until one is indented less. */
interface Literal {
  readonly owner: Open;
  readonly key: string | undefined;
  readonly parentIndent: number;
  readonly chomping: 'clip' | 'strip' | 'keep';
  readonly line: number;
  indent: number | undefined;
  readonly lines: string[];
}

const LITERAL = /^\|([-+]?)(?: +#.*)?$/;

/** Stops the reader: the text is outside the style or has a problem the general reader will word. */
class NotPlainBlock extends Error {}

function give(): never {
  throw new NotPlainBlock();
}

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +|$)/;
// Characters that start something other than a plain scalar, or that this reader leaves alone.
const SPECIAL_START = /^(?:[[\]{},&*!|>%@`"'#]|[-?:](?: |$))/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters send the text to the general reader.
const UNSUPPORTED_CHARACTER = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
const JSON_ESCAPES = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/g;

/** The value written after `key: ` or `- ` on one line, with any trailing comment removed. */
function scalar(text: string, flowDepth: number, count: () => void): unknown {
  const first = text[0];
  if (first === '[' || first === '{') {
    // The caller counted this value already.
    const [value, end] = flowCollection(text, 0, flowDepth, count, false);
    if (!restIsComment(text, end)) give();
    return value;
  }
  if (first === '"') {
    const end = closingDoubleQuote(text);
    if (!restIsComment(text, end + 1)) give();
    const body = text.slice(1, end);
    if (!body.includes('\\')) return body;
    // JSON's escapes mean the same in YAML; anything else (\x41, \e, a line break) goes to the general reader.
    if (body.replace(JSON_ESCAPES, '').includes('\\')) give();
    return JSON.parse(`"${body}"`) as string;
  }
  if (first === "'") {
    let end = 1;
    for (;;) {
      end = text.indexOf("'", end);
      if (end < 0) give();
      if (text[end + 1] !== "'") break;
      end += 2;
    }
    if (!restIsComment(text, end + 1)) give();
    return text.slice(1, end).replaceAll("''", "'");
  }
  if (SPECIAL_START.test(text)) give();
  const comment = text.indexOf(' #');
  const plain = (comment < 0 ? text : text.slice(0, comment)).trimEnd();
  // `a: b: c` is an error and `a: b:` a nested mapping: the general reader decides.
  if (plain.includes(': ') || plain.endsWith(':')) give();
  return resolvePlainScalar(plain);
}

const FLOW_KEY = /[A-Za-z0-9_][A-Za-z0-9_./-]*: +/y;
const FLOW_PLAIN_END = /[,[\]{}]/g;

/** The index of the first character after `from` that is not a space. */
function skipSpaces(text: string, from: number): number {
  let i = from;
  while (text.charCodeAt(i) === 32) i += 1;
  return i;
}

/** One flow value at `start`: a collection, a quoted scalar or a plain one. Returns it and where it ends. */
function flowValue(text: string, start: number, depth: number, count: () => void): [unknown, number] {
  const first = text[start];
  if (first === '[' || first === '{') return flowCollection(text, start, depth, count);
  count();
  if (first === '"') {
    const end = closingDoubleQuote(text, start);
    const body = text.slice(start + 1, end);
    if (body.includes('\\') && body.replace(JSON_ESCAPES, '').includes('\\')) give();
    return [body.includes('\\') ? (JSON.parse(`"${body}"`) as string) : body, end + 1];
  }
  if (first === "'") {
    let end = start + 1;
    for (;;) {
      end = text.indexOf("'", end);
      if (end < 0) give();
      if (text[end + 1] !== "'") break;
      end += 2;
    }
    return [text.slice(start + 1, end).replaceAll("''", "'"), end + 1];
  }
  FLOW_PLAIN_END.lastIndex = start;
  const stop = FLOW_PLAIN_END.exec(text);
  const end = stop ? stop.index : text.length;
  const plain = text.slice(start, end).trimEnd();
  // Only what plainly is one scalar: no indicators, pairs, comments or quotes inside.
  if (plain === '' || SPECIAL_START.test(plain) || /: |:$| #|["']/.test(plain)) give();
  return [resolvePlainScalar(plain), end];
}

/**
 * A flow collection that opens and closes on this line (`{ip: 192.0.2.5/24, gateway: 192.0.2.1}`,
 * `[a, 'b']`), nested or not, keys plain names. Returns it and the index after its closing bracket.
 */
function flowCollection(
  text: string,
  start: number,
  depth: number,
  count: () => void,
  countSelf = true,
): [unknown, number] {
  if (depth >= MAX_DEPTH) give();
  if (countSelf) count();
  const mapping = text[start] === '{';
  const close = mapping ? '}' : ']';
  const value: Container = mapping ? {} : [];
  let i = skipSpaces(text, start + 1);
  if (text[i] === close) return [value, i + 1];
  for (;;) {
    if (mapping) {
      FLOW_KEY.lastIndex = i;
      const key = FLOW_KEY.exec(text);
      if (!key) give();
      const name = key[0].slice(0, key[0].indexOf(':'));
      const target = value as Record<string, unknown>;
      // A duplicate or a limit: the general reader words it.
      if (Object.hasOwn(target, name) || name === '__proto__' || name === '<<') give();
      if (Object.keys(target).length >= MAX_MAPPING_KEYS) give();
      count();
      const [item, end] = flowValue(text, FLOW_KEY.lastIndex, depth + 1, count);
      target[name] = item;
      i = end;
    } else {
      const [item, end] = flowValue(text, i, depth + 1, count);
      (value as unknown[]).push(item);
      i = end;
    }
    i = skipSpaces(text, i);
    if (text[i] === close) return [value, i + 1];
    if (text[i] !== ',') give();
    i = skipSpaces(text, i + 1);
    // A trailing comma before the bracket is YAML; so is nothing else here.
    if (text[i] === close) return [value, i + 1];
  }
}

function closingDoubleQuote(text: string, start = 0): number {
  let end = start + 1;
  for (;;) {
    end = text.indexOf('"', end);
    if (end < 0) give();
    let backslashes = 0;
    for (let i = end - 1; text[i] === '\\'; i -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return end;
    end += 1;
  }
}

function restIsComment(text: string, from: number): boolean {
  const rest = text.slice(from);
  return rest.trim() === '' || /^ +#/.test(rest);
}

class Reader {
  private readonly stack: Open[] = [];
  private pending: Pending | undefined;
  private literal: Literal | undefined;
  private root: Container | undefined;
  private nodes = 0;
  /**
   * The first problem met (a duplicate key, a limit), worded as the general reader words it.
   * Reading goes on to the end without keeping values: only if the rest is plain block YAML too
   * is this the problem the general reader would report first.
   */
  problem: ConfigIssue | undefined;
  /** The line being read, from 1. */
  lineNumber = 0;

  private count(): void {
    this.nodes += 1;
    if (this.nodes > MAX_NODES && !this.problem) {
      const top = this.stack[this.stack.length - 1];
      const path = top ? this.path(top, top.child) : '';
      this.problem = { path, message: `the input ${LIMIT_MESSAGES.nodes} (line ${this.lineNumber})` };
    }
  }

  /** The path to `child` of `owner`, through the children the open collections are filling. */
  private path(owner: Open, child: string | number | undefined): string {
    let path = '';
    for (const open of this.stack) {
      const step = open === owner ? child : open.child;
      if (typeof step === 'number') path = `${path}[${step}]`;
      else if (step !== undefined) path = keyPath(path, step);
      if (open === owner) break;
    }
    return path;
  }

  /** Opens a collection already put into its parent (so paths through it are right). */
  private push(kind: Open['kind'], indent: number, value: Container): Open {
    if (this.stack.length >= MAX_DEPTH) give();
    this.count();
    const open: Open = { kind, indent, value, keys: 0, child: undefined };
    this.stack.push(open);
    return open;
  }

  private put(owner: Open, key: string | undefined, value: unknown, line = this.lineNumber): void {
    if (owner.kind === 'sequence') {
      owner.child = (owner.value as unknown[]).length;
      (owner.value as unknown[]).push(value);
      return;
    }
    const target = owner.value as Record<string, unknown>;
    if (key === undefined) give();
    owner.child = key;
    if (this.problem) return;
    if (Object.hasOwn(target, key)) {
      this.problem = {
        path: this.path(owner, key),
        message: `is given twice in the same mapping (line ${line}); keep one`,
      };
      return;
    }
    owner.keys += 1;
    if (owner.keys > MAX_MAPPING_KEYS) {
      this.problem = {
        path: this.path(owner, key),
        message: `a mapping ${LIMIT_MESSAGES.keys} (line ${line})`,
      };
      return;
    }
    if (key === '__proto__') {
      Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    } else target[key] = value;
  }

  /** One line of content (not blank, not a comment), `indent` spaces in. */
  line(indent: number, content: string): void {
    const item = content === '-' || content.startsWith('- ');
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      const nested =
        indent > pending.indent || (item && indent === pending.indent && pending.owner.kind === 'mapping');
      if (nested) {
        // Put before open: the new collection's path goes through the pending key.
        const value: Container = item ? [] : {};
        this.put(pending.owner, pending.key, value, pending.line);
        this.push(item ? 'sequence' : 'mapping', indent, value);
      } else {
        this.count();
        this.put(pending.owner, pending.key, null, pending.line);
      }
    }
    let top = this.stack[this.stack.length - 1];
    while (top) {
      if (indent === top.indent && item === (top.kind === 'sequence')) break;
      if (indent > top.indent) give();
      // A block sequence under a key may sit at the key's indentation: a key line there ends it.
      if (indent < top.indent || (top.kind === 'sequence' && !item)) {
        this.stack.pop();
        top = this.stack[this.stack.length - 1];
        continue;
      }
      give();
    }
    if (!top) {
      if (this.root !== undefined) give();
      this.root = item ? [] : {};
      top = this.push(item ? 'sequence' : 'mapping', indent, this.root);
    }
    if (item) this.item(top, indent, content);
    else this.entry(top, indent, content);
  }

  private item(sequence: Open, indent: number, content: string): void {
    const rest = content.slice(1).trimStart();
    if (rest === '' || rest.startsWith('#')) {
      this.pending = { owner: sequence, key: undefined, indent, line: this.lineNumber };
      return;
    }
    if (rest === '-' || rest.startsWith('- ')) {
      // `- - x` opens a sequence inside the item, its items where the inner dash stands.
      const column = indent + content.length - rest.length;
      const value: unknown[] = [];
      this.put(sequence, undefined, value);
      this.item(this.push('sequence', column, value), column, rest);
      return;
    }
    if (KEY.test(rest)) {
      // `- key: value` opens a mapping whose keys sit where this key starts.
      const column = indent + content.length - rest.length;
      const value: Record<string, unknown> = {};
      this.put(sequence, undefined, value);
      this.entry(this.push('mapping', column, value), column, rest);
      return;
    }
    this.count();
    if (!this.startLiteral(sequence, undefined, indent, rest))
      this.put(sequence, undefined, this.value(rest));
  }

  private entry(mapping: Open, indent: number, content: string): void {
    const match = KEY.exec(content);
    if (!match) give();
    const key = match[1]!;
    const rest = content.slice(match[0].length);
    this.count();
    if (rest === '' || rest.startsWith('#')) {
      this.pending = { owner: mapping, key, indent, line: this.lineNumber };
      return;
    }
    this.count();
    if (!this.startLiteral(mapping, key, indent, rest)) this.put(mapping, key, this.value(rest));
  }

  /** A value on this line; flow collections count their nodes and depth as the general reader does. */
  private value(text: string): unknown {
    return scalar(text, this.stack.length, () => this.count());
  }

  private startLiteral(owner: Open, key: string | undefined, indent: number, rest: string): boolean {
    const match = LITERAL.exec(rest);
    if (!match) return false;
    const chomping = match[1] === '-' ? 'strip' : match[1] === '+' ? 'keep' : 'clip';
    this.literal = {
      owner,
      key,
      line: this.lineNumber,
      parentIndent: indent,
      chomping,
      indent: undefined,
      lines: [],
    };
    return true;
  }

  /**
   * Offers a raw line to the literal being read. True when the line belongs to it; false when
   * the literal ended before this line (the caller reads the line as usual).
   */
  literalLine(raw: string): boolean {
    const literal = this.literal;
    if (!literal) return false;
    if (raw === '') {
      literal.lines.push('');
      return true;
    }
    let indent = 0;
    while (raw.charCodeAt(indent) === 32) indent += 1;
    // A line of spaces only has rules of its own: the general reader's.
    if (indent === raw.length) give();
    if (literal.indent === undefined) {
      if (indent <= literal.parentIndent) {
        this.endLiteral();
        return false;
      }
      // Blank lines before the first one would have to be indented less: YAML's rules are subtle there.
      if (literal.lines.length > 0) give();
      literal.indent = indent;
    }
    if (indent < literal.indent) {
      this.endLiteral();
      return false;
    }
    literal.lines.push(raw.slice(literal.indent));
    return true;
  }

  private endLiteral(): void {
    const literal = this.literal!;
    this.literal = undefined;
    let last = literal.lines.length - 1;
    while (last >= 0 && literal.lines[last] === '') last -= 1;
    const trailing = literal.lines.length - 1 - last;
    if (last < 0 && literal.chomping === 'keep') give();
    const body = literal.lines.slice(0, last + 1).join('\n');
    // As the general reader does, a final line break counts even at the end of the text.
    let value = last >= 0 && literal.chomping !== 'strip' ? `${body}\n` : body;
    if (literal.chomping === 'keep') value += '\n'.repeat(trailing);
    this.put(literal.owner, literal.key, value, literal.line);
  }

  finish(): unknown[] {
    if (this.literal) this.endLiteral();
    if (this.pending) {
      this.count();
      this.put(this.pending.owner, this.pending.key, null, this.pending.line);
    }
    return this.root === undefined ? [] : [this.root];
  }
}

/** The documents of `text` when it is plain block YAML, else undefined (read it with decodeYaml). */
export function decodeBlockYaml(
  text: string,
): { ok: true; documents: unknown[] } | { ok: false; issue: ConfigIssue } | undefined {
  if (UNSUPPORTED_CHARACTER.test(text) || text.includes('\t')) return undefined;
  const reader = new Reader();
  let started = false;
  try {
    for (let lineStart = 0; lineStart <= text.length; ) {
      let newline = text.indexOf('\n', lineStart);
      if (newline < 0) newline = text.length;
      const lineEnd = newline > lineStart && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      let first = lineStart;
      while (first < lineEnd && text.charCodeAt(first) === 32) first += 1;
      const indent = first - lineStart;
      const content = text.slice(first, lineEnd);
      reader.lineNumber += 1;
      if (reader.literalLine(text.slice(lineStart, lineEnd))) {
        lineStart = newline + 1;
        continue;
      }
      lineStart = newline + 1;
      if (content === '' || content.startsWith('#')) continue;
      if (content.includes('\r')) return undefined;
      if (!started && indent === 0 && /^---(?: +#.*)?$/.test(content)) {
        started = true;
        continue;
      }
      started = true;
      if (content.startsWith('---') || content.startsWith('...')) return undefined;
      reader.line(indent, content);
    }
    const documents = reader.finish();
    return reader.problem ? { ok: false, issue: reader.problem } : { ok: true, documents };
  } catch (error) {
    if (error instanceof NotPlainBlock) return undefined;
    throw error;
  }
}
