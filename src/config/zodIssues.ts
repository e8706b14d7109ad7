/** Turns zod issues into `path: message` lines that read like Kubernetes field errors. */
import type { z } from 'zod';
import { type ConfigIssue, keyPath, quote, show } from './issues.js';
import { closestName } from './suggest.js';
import { isBase60 } from './yamlScalar.js';

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${show(value)}`;
  return `${typeof value} ${show(value)}`;
}

function article(expected: string): string {
  if (expected === 'object') return 'an object';
  if (expected === 'array') return 'a list';
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** A close allowed key, for typos like `fallbackIp`, `adresses`, `redirectRule`. */
function suggest(key: string, allowed: readonly string[]): string {
  const match = closestName(key, allowed);
  return match ? ` (did you mean ${quote(match)}?)` : '';
}

/** Text where a number belongs that YAML 1.1 would read as base 60 (`port: 1:20`): say so. */
function base60Hint(input: unknown): string {
  return typeof input === 'string' && isBase60(input)
    ? ' (YAML 1.1 base 60, which some readers take as a number and kubectl as text: write the number in decimal)'
    : '';
}

export function zodIssuesToConfigIssues(
  error: z.ZodError,
  basePath: string,
  allowedKeys: (path: string) => readonly string[] = () => [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.reduce<string>(
      (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : keyPath(acc, String(key))),
      basePath,
    );
    switch (issue.code) {
      case 'invalid_type':
        out.push({
          path,
          message:
            issue.input === undefined
              ? 'is required'
              : // zod refuses NaN and ±Infinity as numbers; "must be a number, got number NaN" reads wrong.
                issue.expected === 'number' && typeof issue.input === 'number'
                ? `must be a finite number, got ${show(issue.input)}`
                : `must be ${article(issue.expected)}, got ${describeType(issue.input)}${issue.expected === 'number' ? base60Hint(issue.input) : ''}`,
        });
        break;
      case 'invalid_value':
        out.push({
          path,
          message: `must be one of ${issue.values.map(String).join(', ')}, got ${show(issue.input)}`,
        });
        break;
      case 'invalid_union': {
        // `mtu: true` would otherwise read "Invalid input"; name the accepted types instead.
        const expected = issue.errors.map((branch) =>
          branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0
            ? branch[0].expected
            : undefined,
        );
        const plain = expected.every((e) => e !== undefined);
        let message = issue.message;
        if (plain && typeof issue.input === 'number' && expected.includes('number')) {
          message = `must be a finite number, got ${show(issue.input)}`;
        } else if (plain) {
          message = `must be ${expected.map((e) => article(String(e))).join(' or ')}, got ${describeType(issue.input)}`;
        }
        out.push({ path, message });
        break;
      }
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push({ path: keyPath(path, key), message: `unknown field${suggest(key, allowedKeys(path))}` });
        }
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** `value` with the object at `path` shallow-copied minus `keys` (the copies stop at the path). */
function omitKeys(value: unknown, path: readonly PropertyKey[], keys: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<PropertyKey, unknown>;
  const [head, ...rest] = path;
  if (head === undefined) for (const key of keys) delete copy[key];
  else copy[head] = omitKeys(copy[head], rest, keys);
  return copy;
}

/**
 * When unknown fields are zod's only complaint, the input without them, so parsing can go on and
 * report the other problems too (a typo like `fallbackIp` must not hide a bad rule). Otherwise undefined.
 */
export function withoutUnknownKeys(value: unknown, error: z.ZodError): unknown {
  if (!error.issues.every((issue) => issue.code === 'unrecognized_keys')) return undefined;
  let stripped = value;
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') stripped = omitKeys(stripped, issue.path, issue.keys);
  }
  return stripped;
}
