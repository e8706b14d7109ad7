/**
 * The imperative shell of the HA engine: starting keepalived, reading its notify FIFO, its pid
 * files and its processes. No decisions here; supervisor.ts makes them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { runProgram, withParentDeathSignal } from '../../system/command.js';

/** argv run through a command prefix (e.g. `nsenter --net=PATH --`), if any. */
export function withPrefix(
  prefix: readonly string[],
  argv: readonly [string, ...string[]],
): [string, ...string[]] {
  const [first, ...rest] = prefix;
  return first === undefined ? [...argv] : [first, ...rest, ...argv];
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningProgram {
  readonly pid: number;
  /** Resolves when the process has ended (or could not start: code null, signal null). */
  readonly exited: Promise<ExitStatus>;
  signal(signal: NodeJS.Signals): void;
}

/**
 * Starts a long-lived program with a parent-death signal (SIGKILL when the agent dies, however
 * it dies) and hands every line of its stdout and stderr to `onLine`. Rejects if it cannot be
 * started at all (ENOENT).
 */
export function startProgram(
  argv: readonly [string, ...string[]],
  onLine: (line: string) => void,
): Promise<RunningProgram> {
  const full = withParentDeathSignal(argv);
  const child: ChildProcess = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', onLine);
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`${argv[0]} could not be started: ${error.message}`)));
    child.once('spawn', () => {
      const pid = child.pid;
      if (pid === undefined) return reject(new Error(`${argv[0]} started without a pid`));
      resolve({
        pid,
        exited,
        signal: (signal) => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        },
      });
    });
  });
}

export interface LineReader {
  close(): void;
}

/**
 * Reads lines from a FIFO without blocking a thread. Opened read-write, so the FIFO always has
 * a writer: a keepalived that exits and starts again never makes the reader see end-of-file.
 */
export function readFifoLines(path: string, onLine: (line: string) => void): LineReader {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  const socket = new Socket({ fd, readable: true, writable: false });
  createInterface({ input: socket }).on('line', onLine);
  socket.on('error', () => undefined); // Only ever closed by us.
  return { close: () => socket.destroy() };
}

/** Creates a FIFO only the agent's user can read and write. */
export async function makeFifo(path: string): Promise<void> {
  const result = await runProgram(['mkfifo', '-m', '600', '--', path], { timeoutMs: 5_000 });
  if (result.exitCode !== 0) throw new Error(`mkfifo ${path}: ${result.stderr.trim() || result.exitCode}`);
}

/** The pid a pid file holds, or undefined when it is missing or unreadable. */
export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (and is not a zombie we could still reap: see below). */
export async function processExists(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); it is gone for our purposes (it holds no sockets).
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Sends a signal to a pid, ignoring a process that is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

/** Whether a pid is a keepalived started with this config file (pid files can outlive their process). */
export async function isKeepalivedWithConfig(pid: number, configPath: string): Promise<boolean> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return argv.some((arg) => arg.endsWith('keepalived')) && argv.includes(configPath);
  } catch {
    return false;
  }
}

/**
 * Deletes an address from an interface if it is there (`prefix` runs the command elsewhere,
 * e.g. in a test's namespace). Resolves true when something was removed.
 */
export async function deleteAddressIfPresent(
  prefix: readonly string[],
  address: string,
  device: string,
): Promise<boolean> {
  const result = await runProgram([...prefix, 'ip', 'address', 'del', address, 'dev', device], {
    timeoutMs: 5_000,
  });
  return result.exitCode === 0;
}

/** The addresses on an interface (`ip -json address show dev`), or none when it cannot be read. */
export async function interfaceAddresses(prefix: readonly string[], device: string): Promise<string[]> {
  const result = await runProgram([...prefix, 'ip', '-json', 'address', 'show', 'dev', device], {
    timeoutMs: 5_000,
  });
  if (result.exitCode !== 0) return [];
  try {
    const links = JSON.parse(result.stdout) as { addr_info?: { local?: unknown }[] }[];
    return links.flatMap((link) =>
      (link.addr_info ?? []).flatMap((info) => (typeof info.local === 'string' ? [info.local] : [])),
    );
  } catch {
    return [];
  }
}

/** The path of an executable program (a name is looked up on PATH), or undefined. */
export async function findProgram(name: string): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}
