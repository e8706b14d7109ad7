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

/** A short, safe rendering of a user value for an error message. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = 'nothing';
  else if (typeof value === 'object' && value !== null) text = Array.isArray(value) ? 'a list' : 'an object';
  else text = String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
