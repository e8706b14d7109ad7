/**
 * The only way this project runs a program: argument arrays, never a shell. A failure carries
 * the program's own words (the kernel's, for ip and nft). Built on node:child_process rather
 * than execa: measured, execa and its dependencies kept ~5 MiB resident in the long-running
 * agent for nothing this small wrapper does not do.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
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

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Large enough for `nft -j list` of 131,070 map elements. */
const MAX_OUTPUT = 512 * 1024 * 1024;

/** Runs a program and resolves with its exit code and output, whatever the exit code. */
export function runProgram(argv: readonly string[], timeoutMs: number): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, maxBuffer: MAX_OUTPUT, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ exitCode: 0, stdout, stderr });
        const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (failure.killed)
          return resolve({ exitCode: -1, stdout, stderr: `timed out after ${timeoutMs} ms` });
        if (typeof failure.code === 'number') return resolve({ exitCode: failure.code, stdout, stderr });
        reject(new CommandError(argv, undefined, failure.message)); // ENOENT and the like: it never ran.
      },
    );
  });
}

async function execute(argv: readonly string[], timeoutMs: number): Promise<string> {
  const result = await runProgram(argv, timeoutMs);
  if (result.exitCode !== 0) throw new CommandError(argv, result.exitCode, result.stderr || result.stdout);
  return result.stdout;
}

export interface Runner {
  /** Where commands run, for messages: "the pod", "the namespace /run/netns/x". */
  readonly where: string;
  readonly run: (argv: readonly string[], options?: { timeoutMs?: number }) => Promise<string>;
}

/** Runs commands in the agent's own network namespace. */
export const localRunner: Runner = {
  where: 'the pod',
  run: (argv, options) => execute(argv, options?.timeoutMs ?? 30_000),
};

/** Runs commands in another network namespace given by path (e.g. /run/netns/node, /proc/1/ns/net). */
export function namespaceRunner(path: string): Runner {
  return {
    where: `the namespace ${path}`,
    run: (argv, options) =>
      execute(['nsenter', `--net=${path}`, '--', ...argv], options?.timeoutMs ?? 30_000),
  };
}

export interface LineStream {
  stop(): void;
}

/** Starts a long-lived program, calls `onLine` per line of its output and `onExit` if it ends on its own. */
export function streamLines(
  argv: readonly [string, ...string[]],
  onLine: (line: string) => void,
  onExit: (why: string) => void,
): LineStream {
  const child: ChildProcess = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
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
      child.kill('SIGTERM');
    },
  };
}
