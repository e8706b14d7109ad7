/**
 * `run` without V8's optimising compilers. Measured at rest with 10,000 rules (docs/benchmarks.md):
 * Maglev and TurboFan cost about 12 MiB resident (their own code paged in from the node binary,
 * plus the code they make), for speed that a control loop at rest does not need; with Ignition
 * and Sparkplug only, a 65,534-rule reload and /metrics stay well inside their goals. The
 * one-shot commands (validate, render, apply) keep them.
 *
 * V8 reads its tiering flags once, at start (v8.setFlagsFromString later has no effect on
 * them), so `run` re-executes itself in place: process.execve keeps the pid, the open standard
 * streams, the namespaces and the environment. Node flags given explicitly (`node --max-opt=3
 * dist/cli.js run …`) are the operator's choice and are kept as they are; NODE_OPTIONS cannot
 * carry --max-opt (Node refuses it there).
 */
import { accessSync, constants } from 'node:fs';

/** The Node flags `run` adds to its own. */
export const RUN_NODE_FLAGS: readonly string[] = ['--max-opt=1'];

export interface Launch {
  readonly execPath: string;
  /** Node's own flags (process.execArgv). */
  readonly execArgv: readonly string[];
  /** The script and its arguments (process.argv from index 1). */
  readonly script: readonly string[];
}

/** True for --max-opt in any spelling V8 takes: `--max-opt=N`, `--max_opt=N`, `--max-opt N`. */
function isMaxOpt(flag: string): boolean {
  const name = flag.split('=')[0] ?? '';
  return name.replaceAll('_', '-') === '--max-opt';
}

/** The argv to re-execute with, or undefined when the process already runs as it should. */
export function leanRunArgv(launch: Launch): string[] | undefined {
  if (launch.execArgv.some(isMaxOpt)) return undefined;
  if (launch.script.length === 0) return undefined;
  return [launch.execPath, ...launch.execArgv, ...RUN_NODE_FLAGS, ...launch.script];
}

/**
 * Re-executes this process as `leanRunArgv` says, when it says so and the runtime can
 * (process.execve, Node 22.15+ on POSIX). Node aborts the process when the execve system call
 * itself fails, so what can make it fail is checked first: the executable must still be there
 * and executable. Returns only when nothing was done; `warn` says why when it was wanted.
 */
export function reexecLean(warn: (text: string) => void): void {
  const argv = leanRunArgv({
    execPath: process.execPath,
    execArgv: process.execArgv,
    script: process.argv.slice(1),
  });
  if (argv === undefined || typeof process.execve !== 'function') return;
  try {
    accessSync(process.execPath, constants.X_OK);
    // Past this point only Node's own checks (arguments, the permission model) throw.
    process.execve(process.execPath, argv, process.env);
  } catch (error) {
    const why = (error as Error).message;
    warn(
      `egress-router-agent: could not re-execute without the optimising compilers (${why}); running with them\n`,
    );
  }
}
