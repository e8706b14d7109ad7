/**
 * The only way this project runs a program: argument arrays through execa, never a shell.
 * A failure carries the program's own words (the kernel's, for ip and nft).
 */
import { execa } from 'execa';

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

export interface Runner {
  /** Where commands run, for messages: "the pod", "the master namespace /run/netns/x". */
  readonly where: string;
  readonly run: (argv: readonly string[], options?: { timeoutMs?: number }) => Promise<string>;
}

async function execute(argv: readonly string[], timeoutMs: number): Promise<string> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const result = await execa(file, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (result.failed) {
    const stderr = result.timedOut
      ? `timed out after ${timeoutMs} ms`
      : (result.stderr ?? '') || (result.stdout ?? '');
    throw new CommandError(argv, result.exitCode, String(stderr));
  }
  return String(result.stdout ?? '');
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
