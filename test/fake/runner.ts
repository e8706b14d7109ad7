/**
 * Runners over the fake kernel with the real runner's contract (src/system/command.ts): stdout
 * on exit 0; CommandError with the program's stderr otherwise; a deadline that ends in
 * "timed out after N ms (killed)" (exit -1); AbortedError when the signal aborts, or before the
 * start when it already has. Every call is logged, and injected faults apply before the program.
 */
import { readFileSync } from 'node:fs';
import {
  AbortedError,
  CommandError,
  type CommandResult,
  DEFAULT_TIMEOUT_MS,
  type Runner,
  type RunOptions,
} from '../../src/system/command.js';
import type { Clock } from './clock.js';
import type { ProgramResult } from './program.js';
import type { Netns } from './state.js';

/** A string matches as a substring of the argv joined by spaces (stdin included for batches). */
export type CommandMatch = string | RegExp | ((argv: readonly string[], input?: string) => boolean);

export interface CommandRecord {
  readonly argv: readonly string[];
  /** Where the runner runs (before any nsenter in argv). */
  readonly namespace: string;
  readonly pid: number;
  readonly input?: string;
  /** The content of an `nft -f FILE` batch, read when it ran (the caller deletes the file). */
  readonly file?: string;
  /** run(): awaited; background(): started and left (announcements); stream: a monitor. */
  readonly kind: 'run' | 'background' | 'stream';
  /** Undefined while running, or when it was aborted. */
  exitCode?: number;
}

export interface FailOptions {
  readonly exitCode?: number;
  readonly stderr?: string;
  readonly stdout?: string;
  /** How many matching calls this applies to (default 1). */
  readonly times?: number;
}

interface Fault {
  readonly match: CommandMatch;
  readonly action: { readonly fail: ProgramResult } | { readonly hang: true };
  remaining: number;
}

export function commandMatches(match: CommandMatch, argv: readonly string[], input?: string): boolean {
  if (typeof match === 'function') return match(argv, input);
  const text = input === undefined ? argv.join(' ') : `${argv.join(' ')}\n${input}`;
  return typeof match === 'string' ? text.includes(match) : match.test(text);
}

/** Runs an argv in a namespace: the fake's programs, nsenter included. */
export type Execute = (
  ns: Netns,
  argv: readonly string[],
  pid: number,
  options: RunOptions,
) => Promise<ProgramResult>;

function batchFile(argv: readonly string[]): string | undefined {
  if (!argv.includes('nft')) return undefined;
  const at = argv.findIndex((a) => a === '-f' || a === '--file');
  const path = at >= 0 ? argv[at + 1] : undefined;
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export class Processes {
  readonly log: CommandRecord[] = [];
  private readonly faults: Fault[] = [];
  private nextPid = 4000;

  constructor(
    private readonly clock: Clock,
    private readonly execute: Execute,
  ) {}

  pid(): number {
    return this.nextPid++;
  }

  failNext(match: CommandMatch, options: FailOptions = {}): void {
    const fail = {
      exitCode: options.exitCode ?? 1,
      stdout: options.stdout ?? '',
      stderr: options.stderr ?? '',
    };
    this.faults.push({ match, action: { fail }, remaining: options.times ?? 1 });
  }

  hang(match: CommandMatch, times = 1): void {
    this.faults.push({ match, action: { hang: true }, remaining: times });
  }

  private fault(argv: readonly string[], input?: string): Fault['action'] | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && commandMatches(f.match, argv, input));
    if (!fault) return undefined;
    fault.remaining--;
    return fault.action;
  }

  /** Whether the agent started this pid (through system(): run, background or a stream). */
  isOwn(pid: number): boolean {
    return this.log.some((c) => c.pid === pid);
  }

  /** The real runProgram's contract, over the fake. `logged` false: someone else's command. */
  async runProgram(
    ns: Netns,
    argv: readonly string[],
    options: RunOptions,
    logged: boolean,
    kind: CommandRecord['kind'] = 'run',
  ): Promise<CommandResult> {
    const [file] = argv;
    if (!file) throw new Error('empty command');
    if (options.signal?.aborted) throw new AbortedError(`${file}: not started, stopping`);
    const pid = this.pid();
    const batch = batchFile(argv);
    const record: CommandRecord = {
      argv: [...argv],
      namespace: ns.name,
      pid,
      kind,
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(batch !== undefined ? { file: batch } : {}),
    };
    if (logged) this.log.push(record);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const fault = this.fault(argv, options.input);
    const work: Promise<ProgramResult> =
      fault && 'hang' in fault
        ? new Promise<ProgramResult>(() => undefined)
        : fault
          ? Promise.resolve(fault.fail)
          : Promise.resolve().then(() => this.execute(ns, argv, pid, options));
    const result = await new Promise<ProgramResult>((resolve, reject) => {
      const cancelTimer = this.clock.after(timeoutMs, () => {
        cleanup();
        resolve({ exitCode: -1, stdout: '', stderr: `timed out after ${timeoutMs} ms (killed)` });
      });
      const onAbort = () => {
        cleanup();
        reject(new AbortedError(`${argv.join(' ')}: stopped`));
      };
      const cleanup = () => {
        cancelTimer();
        options.signal?.removeEventListener('abort', onAbort);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
    record.exitCode = result.exitCode;
    return result;
  }

  runner(ns: Netns, where: string, prefix: readonly string[] = []): Runner {
    return {
      where,
      run: async (argv, options = {}) => {
        const full = [...prefix, ...argv];
        const result = await this.runProgram(ns, full, options, true);
        if (result.exitCode !== 0)
          throw new CommandError(full, result.exitCode, result.stderr || result.stdout);
        return result.stdout;
      },
    };
  }
}
