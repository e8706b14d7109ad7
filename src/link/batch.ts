/**
 * Many `ip` commands in one process: `ip [-4|-6] -batch -` with one command per stdin line.
 * Without `-force`, ip stops at the first failing line and names it (`Command failed -:N`), so
 * the caller knows exactly which lines took effect and can undo those alone.
 */
import type { Family } from '../config/model.js';
import { CommandError, type Runner } from '../system/command.js';
import { familyFlag } from './iproute.js';

export class BatchLineError extends Error {
  override name = 'BatchLineError';
  constructor(
    /** Lines that took effect before the failure. */
    readonly completed: number,
    /** The kernel's words for the failing line. */
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Quotes a batch token the way iproute2's own line splitter reads it (an alias with spaces). */
export function batchToken(token: string): string {
  if (/^[^\s"'\\]+$/.test(token)) return token;
  if (/["\\\n]/.test(token)) throw new Error(`cannot pass ${JSON.stringify(token)} in an ip batch line`);
  return `"${token}"`;
}

export const batchLine = (args: readonly string[]): string => args.map(batchToken).join(' ');

/** ip's own report of the failing line: `Command failed -:3`. */
function failedLine(stderr: string): number | undefined {
  const match = /Command failed -:(\d+)/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/**
 * Runs the lines in one process, stopping at the first failure. Resolves when all took effect;
 * otherwise rejects with BatchLineError naming how many did (an error that names no line is
 * taken as "none did").
 */
export async function runIpBatch(
  runner: Runner,
  family: Family | undefined,
  lines: readonly (readonly string[])[],
  signal?: AbortSignal,
): Promise<void> {
  if (lines.length === 0) return;
  const argv = ['ip', ...(family ? [familyFlag(family)] : []), '-batch', '-'];
  try {
    await runner.run(argv, { input: `${lines.map(batchLine).join('\n')}\n`, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    const line = failedLine(error.stderr);
    const detail = error.stderr
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^Command failed/.test(l))
      .join(' / ');
    const failing = line !== undefined ? lines[line - 1] : undefined;
    throw new BatchLineError(
      line !== undefined ? line - 1 : 0,
      `${failing ? `ip ${failing.join(' ')}: ` : ''}${detail || error.message}`,
    );
  }
}

/**
 * Best effort (rollback, cleanup): `-force` runs every line whatever fails. Resolves with the
 * failures, by 0-based line index, in the kernel's words.
 */
export async function runIpBatchForced(
  runner: Runner,
  family: Family | undefined,
  lines: readonly (readonly string[])[],
  signal?: AbortSignal,
): Promise<{ readonly line: number; readonly detail: string }[]> {
  if (lines.length === 0) return [];
  const argv = ['ip', ...(family ? [familyFlag(family)] : []), '-force', '-batch', '-'];
  try {
    await runner.run(argv, { input: `${lines.map(batchLine).join('\n')}\n`, ...(signal ? { signal } : {}) });
    return [];
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    // ip prints the kernel's message, then "Command failed -:N", per failing line.
    const failures: { line: number; detail: string }[] = [];
    let pending: string[] = [];
    for (const text of error.stderr.split('\n')) {
      const match = /Command failed -:(\d+)/.exec(text);
      if (match) {
        const line = Number(match[1]) - 1;
        failures.push({
          line,
          detail: `ip ${lines[line]?.join(' ') ?? '?'}: ${pending.join(' / ') || 'failed'}`,
        });
        pending = [];
      } else if (text.trim() !== '') pending.push(text.trim());
    }
    if (failures.length === 0) failures.push({ line: 0, detail: error.message });
    return failures;
  }
}
