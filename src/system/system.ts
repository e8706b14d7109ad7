/**
 * Everything the agent does to the world outside the process, in one injected bundle: the
 * real one below, or a fake kernel in tests, so the control loop runs in-process without root.
 */
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { procSysctl, type SysctlIo } from '../link/sysctl.js';
import { localRunner, namespaceRunner, type Runner, type StreamLines, streamLines } from './command.js';

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
  /** Resolves after `ms`, or rejects (AbortError) as soon as `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds, monotonic enough for deadlines and backoff. */
  readonly now: () => number;
}

async function isOwnNamespace(path: string): Promise<boolean> {
  const [theirs, ours] = await Promise.all([stat(path), stat('/proc/self/ns/net')]);
  return theirs.ino === ours.ino && theirs.dev === ours.dev;
}

export const realSystem: System = {
  pod: localRunner,
  namespace: namespaceRunner,
  isOwnNamespace,
  sysctl: procSysctl,
  streamLines,
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
  now: () => performance.now(),
};
