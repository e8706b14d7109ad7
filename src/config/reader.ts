/**
 * How `run` reads each new version of its config file: on the main thread when that is cheap
 * and bounded, in a worker otherwise, and against the last valid config so a reload checks only
 * the rules that changed.
 *
 * - Small configs (up to 256 KiB): at once; a worker costs more to start than they take.
 * - JSON up to 16 MiB with a bounded number of values (what generators write for the largest
 *   configs, every port of both protocols): at once too. V8's JSON parser takes tens of ms for
 *   the 65,534-rule config, where a worker took a second to start, parse and copy the rules back,
 *   and the unchanged rules of the previous config are reused as they are.
 * - Anything else (large YAML, or JSON too large to parse on the agent's own heap): a worker
 *   with its own heap cap, so probes never wait on it and a hostile file cannot take the agent's
 *   memory.
 */

import {
  type ConfigFile,
  type FileChange,
  fileStamp,
  readConfigFile,
  readConfigFileOver,
} from './configFile.js';
import { startsLikeJson } from './decode.js';
import { indexJsonRules, type JsonRulesIndex, reloadJsonRules } from './jsonRules.js';
import type { LoadResult } from './load.js';
import { finishDraft, parseConfigText } from './load.js';
import { loadConfigInWorker } from './loadInWorker.js';
import type { AgentOptions, RouterConfig } from './model.js';

export const INLINE_PARSE_BYTES = 256 * 1024;
export const MAIN_THREAD_JSON_BYTES = 16 * 1024 * 1024;
/**
 * Upper bound on the values a JSON text can hold (each is preceded by `,` `[` `:` or is the
 * first): above it JSON.parse could build more objects than the agent's heap should take.
 * 131,070 rules of four fields count about 1.2 million.
 */
export const MAIN_THREAD_JSON_VALUES = 1_500_000;

/** A bound on the values of a JSON text (strings' contents counted too: it only over-counts). */
export function jsonValueBound(text: string, stopAbove: number): number {
  let count = 1;
  for (const separator of [',', '[', ':']) {
    for (let at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, at + 1)) {
      if (++count > stopAbove) return count;
    }
  }
  return count;
}

export function parsesInline(text: string, bytes: number): boolean {
  if (bytes <= INLINE_PARSE_BYTES) return true;
  return (
    bytes <= MAIN_THREAD_JSON_BYTES &&
    startsLikeJson(text) &&
    jsonValueBound(text, MAIN_THREAD_JSON_VALUES) <= MAIN_THREAD_JSON_VALUES
  );
}

/** A read of the config file: the result, and the fingerprint of the bytes it came from. */
export type FileLoad = LoadResult & { readonly fingerprint: string };

/** Reads that may trust an unchanged file stamp before the file is read and hashed anyway. */
const STAMP_TRUST = 6;

export class ConfigReader {
  private previous: RouterConfig | undefined;
  /** Where the rules are in the last valid big JSON text, for the next reload (jsonRules.ts). */
  private index: JsonRulesIndex | undefined;
  private lastLoad: FileLoad | undefined;
  /** The file version lastLoad was read from, once it was read (see fileStamp). */
  private lastStamp: string | undefined;
  private stampHits = 0;

  constructor(private readonly options: AgentOptions) {}

  /**
   * The config file at `path`, read only when it is another version: the same stamp (device,
   * inode, size, ns times) answers with the last load without reading, except every
   * STAMP_TRUST-th time (a bound on trusting the times); the same bytes answer without parsing.
   * At 65,534 rules that spares reading and hashing 5-10 MB on every resync.
   */
  async readFile(path: string): Promise<FileLoad> {
    const stamp = await fileStamp(path);
    const last = this.lastLoad;
    if (last && stamp !== undefined && stamp === this.lastStamp && ++this.stampHits < STAMP_TRUST)
      return last;
    this.stampHits = 0;
    this.lastStamp = undefined;
    // Big ASCII JSON: read over the last version's bytes, which the index then no longer holds.
    const index = this.index;
    const previous = last && index && typeof index.text !== 'string' ? index.text : undefined;
    if (previous) this.index = undefined;
    let file: ConfigFile;
    let change: FileChange | undefined;
    try {
      if (previous) {
        change = await readConfigFileOver(path, previous);
        if (!change) {
          this.index = index;
          this.lastStamp = stamp;
          return last as FileLoad;
        }
        file = change.file;
      } else file = await readConfigFile(path);
    } catch (error) {
      const message = (error as Error).message;
      return { ok: false, issues: [{ path: '', message }], fingerprint: `unreadable:${message}` };
    }
    // Trusted from now on only once this version was read (a failed read is tried again).
    this.lastStamp = stamp;
    if (last?.fingerprint === file.fingerprint) {
      if (index && file.ascii) this.index = { ...index, text: file.ascii };
      return last;
    }
    if (change && index && file.ascii) {
      const quick = reloadJsonRules(index, file.ascii, this.options, change);
      if (quick) {
        this.index = quick.index;
        this.lastLoad = { ...this.remember(quick.result), fingerprint: file.fingerprint };
        return this.lastLoad;
      }
    }
    this.lastLoad = {
      ...(await this.read(() => file.text, file.bytes, file.ascii)),
      fingerprint: file.fingerprint,
    };
    return this.lastLoad;
  }

  /**
   * One version of the config: `text` decodes it (called only when the whole text is read), and
   * `ascii` is its bytes when they are all ASCII, which a big JSON reload reads instead.
   */
  async read(text: string | (() => string), bytes: number, ascii?: Buffer): Promise<LoadResult> {
    const decode = typeof text === 'string' ? () => text : text;
    // A few rules changed in big JSON: read only those (bounded: the change is at most 1 MiB).
    const quick =
      this.index && bytes <= MAIN_THREAD_JSON_BYTES
        ? reloadJsonRules(
            this.index,
            typeof this.index.text === 'string' ? decode() : (ascii ?? decode()),
            this.options,
          )
        : undefined;
    if (quick) {
      this.index = quick.index;
      return this.remember(quick.result);
    }
    return this.readWhole(decode(), bytes, ascii);
  }

  private async readWhole(text: string, bytes: number, ascii: Buffer | undefined): Promise<LoadResult> {
    if (!parsesInline(text, bytes)) {
      this.index = undefined;
      return this.remember(await loadConfigInWorker(text, this.options));
    }
    const previous = this.previous ? { config: this.previous, options: this.options } : undefined;
    const drafted = parseConfigText(text);
    const result = finishDraft(drafted, this.options, previous);
    // Kept only for big JSON, where a reload gains from it; it holds the text.
    this.index =
      result.ok && drafted.draft && bytes > INLINE_PARSE_BYTES && startsLikeJson(text)
        ? indexJsonRules(text, drafted.draft, result.config, this.options, ascii ?? text)
        : undefined;
    return this.remember(result);
  }

  private remember(result: LoadResult): LoadResult {
    if (result.ok) this.previous = result.config;
    return result;
  }
}
