/**
 * Running programs for the benchmarks: argument arrays through execa (never a shell string),
 * every call bounded by a timeout, every long-running child tracked so teardown can end it.
 */
import { execa, type ResultPromise } from 'execa';
import { type RunOptions, type RunResult, runCommand } from '../../../test/helpers/commands.js';

export const NODE = process.execPath;

export type { RunOptions, RunResult };

const DEFAULT_TIMEOUT_MS = 60_000;

export const run = (argv: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
  runCommand(argv, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options);

export type Child = ResultPromise<{ buffer: false; reject: false; stdin: 'pipe' }>;

/** Long-running children still alive, ended by killAll() (teardown) and on process exit. */
const children = new Set<Child>();

/** Starts a long-running program with piped stdin/stdout/stderr; tracked until it exits. */
export function spawn(argv: readonly string[], forceKillAfterMs = 3_000): Child {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const child = execa(file, args, {
    buffer: false,
    reject: false,
    stdin: 'pipe',
    forceKillAfterDelay: forceKillAfterMs,
  }) as Child;
  children.add(child);
  void child.then(() => children.delete(child));
  return child;
}

/** SIGTERM to every tracked child, SIGKILL to those still there after graceMs. */
export async function killAll(graceMs = 3_000): Promise<void> {
  const pending = [...children];
  for (const child of pending) child.kill('SIGTERM');
  await Promise.race([Promise.allSettled(pending), sleep(graceMs)]);
  for (const child of pending) if (child.exitCode === null) child.kill('SIGKILL');
}

export function killAllSync(): void {
  for (const child of children) child.kill('SIGKILL');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Polls `check` until it returns true; bounded by timeoutMs. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Resolves with `promise`, or rejects after timeoutMs. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
