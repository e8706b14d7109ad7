/**
 * Running programs for the benchmarks: argument arrays through execa (never a shell string),
 * every call bounded by a timeout, every long-running child tracked so teardown can end it.
 */
import { execa, type ResultPromise } from 'execa';

export const NODE = process.execPath;

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Throw on a non-zero exit or a timeout (default true). */
  readonly reject?: boolean;
  readonly input?: string;
  readonly cwd?: string;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;
  readonly failed: boolean;
  readonly timedOut: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const result = await execa(file, args, {
    reject: false,
    timeout: timeoutMs,
    maxBuffer: 512 * 1024 * 1024,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  const out: RunResult = {
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode,
    failed: result.failed,
    timedOut: result.timedOut,
  };
  if (out.failed && options.reject !== false) {
    const why = out.timedOut
      ? `timed out after ${timeoutMs} ms`
      : out.stderr.trim().split('\n').slice(0, 4).join(' / ') || `exit ${out.exitCode}`;
    throw new Error(`${argv.slice(0, 8).join(' ')}${argv.length > 8 ? ' …' : ''}: ${why}`);
  }
  return out;
}

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
