/**
 * Config text → documents. JSON (what generators and the CNI config use) goes through V8's own
 * parser and one linear structure pass; anything else is read as YAML (decodeYaml). Both report
 * duplicate keys and the limits of limits.ts the same way, with the path.
 */
import type { ConfigIssue } from './issues.js';
import { jsonStructureIssue } from './jsonStructure.js';
import { decodeBlockYaml } from './yamlBlock.js';
import { decodeYaml } from './yamlDecode.js';

export type Decoded = { ok: true; documents: unknown[] } | { ok: false; issue: ConfigIssue };

const isPresent = (document: unknown): boolean => document !== null && document !== undefined;

function firstNonSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i += 1;
  return i;
}

function decodeJson(text: string): Decoded | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not strict JSON; YAML (a superset) gets a go and gives the better error position.
    return undefined;
  }
  const issue = jsonStructureIssue(text);
  return issue ? { ok: false, issue } : { ok: true, documents: [value] };
}

/** Whether the text (after a byte-order mark and white space) starts like a JSON document. */
export function startsLikeJson(text: string): boolean {
  const first = text[firstNonSpace(text, text.charCodeAt(0) === 0xfeff ? 1 : 0)];
  return first === '{' || first === '[';
}

/** The non-empty documents of the text, or the first problem found reading it. */
export function decodeConfigText(text: string): Decoded {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (startsLikeJson(body)) {
    const json = decodeJson(body);
    if (json) return json;
  }
  // Plain block YAML (what kubectl and generators write) streams; the rest, and every problem,
  // goes to the general reader.
  const block = decodeBlockYaml(text);
  if (block && !block.ok) return block;
  if (block) return { ok: true, documents: block.documents.filter(isPresent) };
  const yaml = decodeYaml(text);
  if (!yaml.ok) return yaml;
  return { ok: true, documents: yaml.documents.filter(isPresent) };
}
