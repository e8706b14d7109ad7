/**
 * Time for the fake kernel: the global timers, looked up at each call, so the whole fake (DAD,
 * probes, hangs, deadlines) follows vitest's fake timers when a test installs them.
 */
import { AbortedError } from '../../src/system/command.js';

export interface Clock {
  readonly now: () => number;
  /** Resolves after `ms`; rejects with the signal's AbortError as soon as it aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Calls `fn` after `ms`; the returned function cancels it. Never keeps the process alive. */
  readonly after: (ms: number, fn: () => void) => () => void;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

export const globalClock: Clock = {
  now: () => globalThis.performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => {
        globalThis.clearTimeout(timer);
        reject(abortError(signal as AbortSignal));
      };
      const timer = globalThis.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  after: (ms, fn) => {
    const timer = globalThis.setTimeout(fn, ms);
    (timer as { unref?: () => void }).unref?.();
    return () => globalThis.clearTimeout(timer);
  },
};

/** Rejects when `signal` aborts, the way runProgram reports a stopped command. */
export function abortedWhile(argv: readonly string[], signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(new AbortedError(`${argv.join(' ')}: stopped`)), {
      once: true,
    });
  });
}
