/** Turns zod issues into `path: message` lines that read like Kubernetes field errors. */
import type { z } from 'zod';
import { type ConfigIssue, joinPath, show } from './issues.js';

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

/** Case-insensitive near-match among the allowed keys, for typos like `fallbackIp`. */
function suggest(key: string, allowed: readonly string[]): string {
  const lower = key.toLowerCase();
  const match = allowed.find((k) => k.toLowerCase() === lower);
  return match ? ` (did you mean ${JSON.stringify(match)}?)` : '';
}

export function zodIssuesToConfigIssues(
  error: z.ZodError,
  basePath: string,
  allowedKeys: (path: string) => readonly string[] = () => [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.reduce<string>(
      (acc, key) => joinPath(acc, typeof key === 'number' ? key : String(key)),
      basePath,
    );
    switch (issue.code) {
      case 'invalid_type':
        out.push({
          path,
          message:
            issue.input === undefined
              ? 'is required'
              : `must be ${article(issue.expected)}, got ${describeType(issue.input)}`,
        });
        break;
      case 'invalid_value':
        out.push({
          path,
          message: `must be one of ${issue.values.map(String).join(', ')}, got ${show(issue.input)}`,
        });
        break;
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push({ path: joinPath(path, key), message: `unknown field${suggest(key, allowedKeys(path))}` });
        }
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}
