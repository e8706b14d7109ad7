/**
 * When to start keepalived again after it ended on its own (pure). The first restart is
 * quick (the replica is in fault and has no redundancy meanwhile); repeated crashes back off
 * exponentially so a keepalived that cannot run does not spin; a run that lasted long enough
 * counts as healthy and resets the backoff.
 */

export interface RestartPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run at least this long resets the backoff. */
  readonly stableMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialMs: 250, maxMs: 30_000, stableMs: 60_000 };

export interface RestartPlan {
  /** Consecutive short-lived runs, this one included. */
  readonly failures: number;
  readonly delayMs: number;
}

/** The plan after a run of `ranForMs` that followed `previousFailures` short-lived runs. */
export function planRestart(
  previousFailures: number,
  ranForMs: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): RestartPlan {
  const failures = ranForMs >= policy.stableMs ? 1 : previousFailures + 1;
  const delayMs = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failures - 1, 30));
  return { failures, delayMs };
}
