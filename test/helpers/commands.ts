/**
 * Running programs from the tests and the benchmarks: argument arrays through execa (never a
 * shell string), every call bounded by a timeout. Shared by test/netns/harness and scripts/bench.
 */
import { execa } from 'execa';

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

export async function runCommand(
  argv: readonly string[],
  timeoutMs: number,
  options: RunOptions = {},
): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
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

/** The network namespaces on the machine, by name. */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list'], 20_000);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** The link names in the caller's own namespace. */
export async function rootLinkNames(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', '-o', 'link', 'show'], 20_000);
  return stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name !== '');
}
