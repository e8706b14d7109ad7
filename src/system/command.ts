/**
 * The only way this project runs a program: argument arrays, never a shell. A failure carries
 * the program's own words (the kernel's, for ip and nft). Every command has a deadline that
 * ends in SIGKILL: a stopped or wedged child never acts on SIGTERM, and must not hang a pass.
 * Built on node:child_process rather than execa: measured, execa and its dependencies kept
 * ~5 MiB resident in the long-running agent for nothing this small wrapper does not do.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    const detail = stderr.trim().split('\n').slice(0, 3).join(' / ') || `exit code ${exitCode}`;
    super(`${argv.join(' ')}: ${detail}`);
  }
}

/** The caller gave up (stop, SIGTERM): distinct from a command that failed. */
export class AbortedError extends Error {
  override name = 'AbortedError';
}

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Deadline; the child is killed with SIGKILL when it passes. Default 30 s. */
  readonly timeoutMs?: number;
  /** Written to the child's stdin (e.g. the lines of `ip -batch -`). */
  readonly input?: string;
  /** Aborting kills the child (SIGKILL) and rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** Large enough for `nft -j list` of 131,070 map elements. */
const MAX_OUTPUT = 512 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Recent children's pids: `nft monitor` names the process behind each change, and the agent's own are not drift. */
const recentChildren: number[] = [];
const RECENT_LIMIT = 512;

function remember(pid: number | undefined): void {
  if (pid === undefined) return;
  recentChildren.push(pid);
  if (recentChildren.length > RECENT_LIMIT) recentChildren.splice(0, recentChildren.length - RECENT_LIMIT);
}

/** Whether `pid` is one of the last few hundred programs this process started. */
export const isRecentChild = (pid: number): boolean => recentChildren.includes(pid);

/** Runs a program and resolves with its exit code and output, whatever the exit code. */
export function runProgram(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty command'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (options.signal?.aborted) return Promise.reject(new AbortedError(`${file}: not started, stopping`));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT,
        encoding: 'utf8',
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ exitCode: 0, stdout, stderr });
        const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (failure.name === 'AbortError' || options.signal?.aborted)
          return reject(new AbortedError(`${argv.join(' ')}: stopped`));
        if (failure.killed)
          return resolve({ exitCode: -1, stdout, stderr: `timed out after ${timeoutMs} ms (killed)` });
        if (typeof failure.code === 'number') return resolve({ exitCode: failure.code, stdout, stderr });
        reject(new CommandError(argv, undefined, failure.message)); // ENOENT and the like: it never ran.
      },
    );
    remember(child.pid);
    if (options.input !== undefined) {
      child.stdin?.on('error', () => undefined); // A child that exits early closes its stdin: not our failure.
      child.stdin?.end(options.input);
    }
  });
}

async function execute(argv: readonly string[], options?: RunOptions): Promise<string> {
  const result = await runProgram(argv, options);
  if (result.exitCode !== 0) throw new CommandError(argv, result.exitCode, result.stderr || result.stdout);
  return result.stdout;
}

/**
 * Where commands run. Everything that touches the system goes through one (injected), so the
 * control loop can be tested in-process against a fake kernel.
 */
export interface Runner {
  /** Where commands run, for messages: "the pod", "the namespace /run/netns/x". */
  readonly where: string;
  /** Resolves with stdout; rejects with CommandError on a non-zero exit, AbortedError when aborted. */
  readonly run: (argv: readonly string[], options?: RunOptions) => Promise<string>;
}

/** Runs commands in the agent's own network namespace. */
export const localRunner: Runner = {
  where: 'the pod',
  run: (argv, options) => execute(argv, options),
};

/** Runs commands in another network namespace given by path (e.g. /run/netns/node, /proc/1/ns/net). */
export function namespaceRunner(path: string): Runner {
  return {
    where: `the namespace ${path}`,
    run: (argv, options) => execute(['nsenter', `--net=${path}`, '--', ...argv], options),
  };
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/** Prefixes argv so the child is SIGKILLed when the agent dies, however it dies. */
export function withParentDeathSignal(argv: readonly [string, ...string[]]): [string, ...string[]] {
  return SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}

export interface LineStream {
  stop(): void;
}

export type StreamLines = (
  argv: readonly [string, ...string[]],
  onLine: (line: string) => void,
  onExit: (why: string) => void,
) => LineStream;

/**
 * Starts a long-lived program, calls `onLine` per line of its output and `onExit` if it ends on
 * its own. The child gets SIGKILL when its parent dies (setpriv --pdeathsig, where available),
 * so a SIGKILLed agent leaves no monitor behind.
 */
export const streamLines: StreamLines = (argv, onLine, onExit) => {
  const full = withParentDeathSignal(argv);
  const child: ChildProcess = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  let stopping = false;
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  child.on('error', (error) => {
    if (!stopping) onExit(`${argv.join(' ')} failed: ${error.message}`);
  });
  child.on('exit', (code, signal) => {
    if (!stopping) onExit(`${argv.join(' ')} exited (${String(code ?? signal)})`);
  });
  return {
    stop() {
      stopping = true;
      child.kill('SIGKILL');
    },
  };
};
