/**
 * Everything the agent does to the world outside the process, in one injected bundle: the
 * real one below, or a fake kernel in tests, so the control loop runs in-process without root.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { procSysctl, type SysctlIo } from '../link/sysctl.js';
import {
  isRecentChild,
  localRunner,
  namespaceRunner,
  type Runner,
  type StreamLines,
  streamLines,
} from './command.js';

export interface System {
  /** The agent's own network namespace (the router pod's). */
  readonly pod: Runner;
  /** Another network namespace, by path (the master's, with --master-netns). */
  readonly namespace: (path: string) => Runner;
  /** Whether a namespace path is the agent's own (moving a link there would be a no-op). */
  readonly isOwnNamespace: (path: string) => Promise<boolean>;
  readonly sysctl: SysctlIo;
  /** Long-lived line-emitting programs (ip monitor, nft monitor, keepalived). */
  readonly streamLines: StreamLines;
  /**
   * Starts a short program in the agent's namespace without waiting for it (announcements:
   * arping lingers for its interval). It never keeps the process alive; failures go to `onError`.
   */
  readonly background: (
    argv: readonly [string, ...string[]],
    onError: (message: string) => void,
    okExitCodes?: readonly number[],
  ) => void;
  /** Whether a pid (as `nft monitor` reports it) is a program the agent itself started. */
  readonly isOwnProcess: (pid: number) => boolean;
  /** Resolves after `ms`, or rejects (AbortError) as soon as `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds, monotonic enough for deadlines and backoff. */
  readonly now: () => number;
}

async function isOwnNamespace(path: string): Promise<boolean> {
  const [theirs, ours] = await Promise.all([stat(path), stat('/proc/self/ns/net')]);
  return theirs.ino === ours.ino && theirs.dev === ours.dev;
}

function background(
  argv: readonly [string, ...string[]],
  onError: (message: string) => void,
  okExitCodes: readonly number[] = [0],
): void {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.on('error', (error) => onError(`${argv[0]}: ${error.message}`));
  child.on('exit', (code) => {
    if (code !== null && !okExitCodes.includes(code))
      onError(`${argv.join(' ')}: ${stderr.trim() || `exit ${code}`}`);
  });
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
}

export const realSystem: System = {
  pod: localRunner,
  namespace: namespaceRunner,
  isOwnNamespace,
  sysctl: procSysctl,
  streamLines,
  background,
  isOwnProcess: isRecentChild,
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
  now: () => performance.now(),
};
