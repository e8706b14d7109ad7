/**
 * Processes for the network kit: one-shot commands and long-lived children. Argument arrays
 * only (never a shell); every one-shot command has a deadline that ends in SIGKILL; every
 * long-lived child is tracked until it exits, so a teardown (and, as a last resort, process
 * exit) can end it. Test infrastructure only: the agent's own runner is src/system/command.ts,
 * kept small for the agent; the kit needs a working directory, extra environment, piped
 * stdout/stderr/stdin and tracked children, which the agent never does.
 *
 * API
 * - `run(argv, { timeoutMs, reject, input, cwd, env })` → `RunResult`; throws (default) on a
 *   non-zero exit or a timeout, with the program's own words.
 * - `spawnChild(argv, { env, stdin, forceKillAfterMs })` → `Child`: pid, stdout/stderr streams,
 *   `exited` (never rejects), `kill(signal)` (SIGKILL follows an unobeyed SIGTERM/SIGINT),
 *   `stop(timeoutMs)`.
 * - `killChildren(graceMs)`: SIGTERM to every tracked child, SIGKILL after the grace.
 * - `readLines(stream, onLine)`, `pollUntil`, `within`, `sleep`, `epochMs`.
 * - `NODE`: the Node binary running the kit (scripts in namespaces run with the same one).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export const NODE = process.execPath;

export interface RunOptions {
  /** Deadline, then SIGKILL (default 30 s). */
  readonly timeoutMs?: number;
  /** Throw on a non-zero exit or a timeout (default true). */
  readonly reject?: boolean;
  /** Written to stdin; without it stdin is closed at once. */
  readonly input?: string;
  readonly cwd?: string;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Undefined when the program never ran or was killed. */
  readonly exitCode: number | undefined;
  readonly failed: boolean;
  readonly timedOut: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Large enough for `nft -j list` of a 131,070-element table. */
const MAX_OUTPUT = 512 * 1024 * 1024;

const withEnv = (env: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv | undefined =>
  env ? { ...process.env, ...env } : undefined;

function describeFailure(argv: readonly string[], result: RunResult, timeoutMs: number): string {
  const why = result.timedOut
    ? `timed out after ${timeoutMs} ms`
    : result.stderr.trim().split('\n').slice(0, 4).join(' / ') || `exit ${result.exitCode}`;
  return `${argv.slice(0, 8).join(' ')}${argv.length > 8 ? ' …' : ''}: ${why}`;
}

/** Runs a program to completion. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty command'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT,
        encoding: 'utf8',
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.env ? { env: withEnv(options.env) } : {}),
      },
      (error, stdout, stderr) => {
        let result: RunResult = { stdout, stderr, exitCode: 0, failed: false, timedOut: false };
        if (error) {
          const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          const timedOut = failure.killed === true;
          result = {
            stdout,
            stderr: typeof failure.code === 'number' || timedOut ? stderr : `${stderr}${failure.message}`,
            exitCode: typeof failure.code === 'number' ? failure.code : undefined,
            failed: true,
            timedOut,
          };
        }
        if (result.failed && options.reject !== false)
          reject(new Error(describeFailure(argv, result, timeoutMs)));
        else resolve(result);
      },
    );
    // A child that exits before reading its input closes the pipe: not a failure of ours.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
  });
}

/** For process-exit handlers, where nothing asynchronous runs any more. */
export function runSync(argv: readonly string[], timeoutMs = 5_000): boolean {
  const [file, ...args] = argv;
  if (!file) return false;
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

export interface ChildExit {
  /** Null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  readonly error?: string;
}

export interface SpawnOptions {
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** `pipe` to write to the child (default `ignore`). */
  readonly stdin?: 'ignore' | 'pipe';
  /** SIGKILL this long after a SIGTERM/SIGINT that was not obeyed (default 2000 ms). */
  readonly forceKillAfterMs?: number;
}

export interface Child {
  readonly argv: readonly string[];
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Only with `stdin: 'pipe'`. */
  readonly stdin: Writable | null;
  /** Resolves when the process has exited; never rejects. */
  readonly exited: Promise<ChildExit>;
  running(): boolean;
  /** Sends `signal` (default SIGTERM); SIGTERM/SIGINT are followed by SIGKILL if not obeyed. */
  kill(signal?: NodeJS.Signals): void;
  /** kill(signal), then waits for the exit (SIGKILL after timeoutMs); resolves with the exit. */
  stop(timeoutMs?: number, signal?: NodeJS.Signals): Promise<ChildExit>;
}

/** Children not yet exited, ended by killChildren() and, failing that, on process exit. */
const children = new Set<Child>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
}

/** Starts a long-running program with stdout and stderr piped; tracked until it exits. */
export function spawnChild(argv: readonly string[], options: SpawnOptions = {}): Child {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  installExitHook();
  const forceKillAfterMs = options.forceKillAfterMs ?? 2_000;
  const proc: ChildProcess = spawn(file, args, {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: withEnv(options.env) } : {}),
  });
  let done = false;
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', (error) => resolve({ code: null, signal: null, error: error.message }));
  }).then((exit) => {
    done = true;
    children.delete(child);
    return exit;
  });

  const kill = (signal: NodeJS.Signals = 'SIGTERM'): void => {
    if (done) return;
    proc.kill(signal);
    if (signal === 'SIGTERM' || signal === 'SIGINT') {
      const timer = setTimeout(() => {
        if (!done) proc.kill('SIGKILL');
      }, forceKillAfterMs);
      timer.unref();
    }
  };

  const child: Child = {
    argv,
    pid: proc.pid,
    stdout: proc.stdout as Readable,
    stderr: proc.stderr as Readable,
    stdin: proc.stdin,
    exited,
    running: () => !done,
    kill,
    stop: async (timeoutMs = 10_000, signal = 'SIGTERM') => {
      kill(signal);
      const late = await within(exited, timeoutMs, 'exit').then(
        () => false,
        () => true,
      );
      if (late) proc.kill('SIGKILL');
      return exited;
    },
  };
  children.add(child);
  return child;
}

/** SIGTERM to every tracked child, SIGKILL to those still running after graceMs. */
export async function killChildren(graceMs = 3_000): Promise<void> {
  const pending = [...children];
  for (const child of pending) child.kill('SIGTERM');
  await Promise.race([Promise.all(pending.map((child) => child.exited)), sleep(graceMs)]);
  for (const child of pending) if (child.running()) child.kill('SIGKILL');
}

/** Calls onLine for every line of `stream`; resolves when the stream ends. */
export function readLines(
  stream: Readable | null | undefined,
  onLine: (line: string) => void,
): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    reader.on('line', onLine);
    reader.on('close', () => resolve());
  });
}

/** Keeps the last `limit` characters a stream wrote (a child's stderr, for error messages). */
export function tail(stream: Readable | null | undefined, limit = 20_000): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-limit);
  });
  return () => text;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Polls `check` until it returns true; rejects after timeoutMs. */
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

/** Resolves with `promise`, or rejects after timeoutMs (with `what`, or the error onTimeout builds). */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(typeof what === 'string' ? new Error(`timed out after ${timeoutMs} ms: ${what}`) : what()),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
