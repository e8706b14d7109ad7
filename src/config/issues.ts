/** A single problem found in the input: where (`spec.addresses[0].gateway`) and why. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Thrown when the input cannot be turned into a valid config; carries every problem found. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Joins a path and a key the way Kubernetes field paths read: `a.b[2].c`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Adds one key taken from a document to a path. Keys that are not plain names are quoted
 * (`data["egressrouter.yaml"]`, `labels["a\nb"]`), so a key can never forge a path or a line.
 */
export function keyPath(base: string, key: string): string {
  return PLAIN_KEY.test(key) ? joinPath(base, key) : `${base}[${quote(key)}]`;
}

/**
 * Control characters that must never reach a terminal, a log line or an nft comment: C0
 * (tab, newline and carriage return included), DEL, C1 and the Unicode line and paragraph
 * separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const escapeControl = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A user value in double quotes, every control character escaped (JSON.stringify leaves C1 and U+2028 raw). */
export function quote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029]/g, escapeControl);
}

/** The issue with any control character in its path or message escaped: safe to print anywhere. */
export function printableIssue(issue: ConfigIssue): ConfigIssue {
  if (!CONTROL_CHARACTERS.test(issue.path) && !CONTROL_CHARACTERS.test(issue.message)) return issue;
  return {
    path: issue.path.replace(CONTROL_CHARACTERS_GLOBAL, escapeControl),
    message: issue.message.replace(CONTROL_CHARACTERS_GLOBAL, escapeControl),
  };
}

/** A short, safe rendering of a user value for an error message. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = quote(value);
  else if (value === undefined) text = 'nothing';
  else if (typeof value === 'object' && value !== null) text = Array.isArray(value) ? 'a list' : 'an object';
  else text = String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
