/**
 * Printing a command's result in the format `-o/--output` asks for. A command supplies its
 * machine-readable document (json and yaml print the same document) and its human views:
 * `text`, and `wide` (text with every detail; the text view when there is nothing more).
 */
import { didYouMean } from './didYouMean.js';
import { OUTPUT_FORMATS, type OutputFormat } from './flags.js';
import { UsageError } from './io.js';

export interface Views {
  /** What json and yaml print. */
  readonly document: () => unknown;
  readonly text: () => string;
  readonly wide?: () => string;
}

/** `-o` as given (undefined: text), or a UsageError with the closest format. */
export function outputFormat(value: string | undefined, allowed: readonly OutputFormat[] = OUTPUT_FORMATS) {
  if (value === undefined) return 'text';
  if ((allowed as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(
    `-o/--output must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}${didYouMean(value, allowed)}`,
  );
}

/**
 * A document as YAML: block style, long strings kept on one line, no anchors. The yaml module
 * is loaded only here, so commands that never print YAML (status, by default) start without it.
 */
export async function toYaml(document: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function toJson(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The text of a result in the requested format, ending in a newline. */
export async function render(format: OutputFormat, views: Views): Promise<string> {
  switch (format) {
    case 'json':
      return toJson(views.document());
    case 'yaml':
      return toYaml(views.document());
    case 'wide':
      return (views.wide ?? views.text)();
    case 'text':
      return views.text();
  }
}

/**
 * Aligned columns, kubectl style: a header row, columns three spaces apart, the last column
 * not padded (so long messages do not leave trailing blanks).
 */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const columns = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   '))
    .join('\n');
}

/** kubectl-style age: 45s, 3m, 2h, 5d. */
export function age(from: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
