/** Time and timers, injected so the sinks' debounce and backoff are tested without sleeping. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): { cancel(): void };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    // A pending status write must never keep the agent alive on exit.
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Capped exponential backoff: initial, 2×, 4× … up to max. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

/** The logger interface the sinks use (pino's Logger fits it). */
export interface KubeLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
