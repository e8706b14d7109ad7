/**
 * When passes run. One at a time; triggers arriving meanwhile are coalesced into the next pass.
 * After a failed pass, retries back off (1 s, 2 s, 4 s … capped) and kernel-event triggers wait
 * for the retry instead of bypassing it (the rollback's own deletions wake `ip monitor`: that
 * is how a failing apply once re-created an interface every second). Kernel events during a
 * pass, and for a short settle time after one that changed something, are the agent's own and
 * are dropped. `stop()` aborts the running pass (its changes are undone) and runs no more.
 */

/**
 * `drift`: a kernel event that may be the agent's own (ip monitor cannot tell); `table`: a
 * ruleset change `nft monitor` attributes to another process, never the agent's own.
 */
export type Trigger = 'startup' | 'config' | 'signal' | 'drift' | 'table' | 'resync' | 'retry' | 'role';

/** Triggers that wait for the retry timer while a failure is backing off. */
const DEFERRABLE: ReadonlySet<Trigger> = new Set(['drift', 'table', 'resync']);

export interface PassReport {
  readonly ok: boolean;
  /** Whether the pass changed the kernel (its own events follow). */
  readonly changed: boolean;
}

export interface SchedulerOptions {
  readonly runPass: (triggers: ReadonlySet<Trigger>, signal: AbortSignal) => Promise<PassReport>;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long after a changing pass kernel events still count as the agent's own. */
  readonly settleMs?: number;
  readonly now?: () => number;
  /** Told when a retry is scheduled (for Progressing's message). */
  readonly onBackoff?: (delayMs: number, failures: number) => void;
  /** Schedules the retry (default setTimeout); tests pass their own to fire retries by hand. */
  readonly timer?: (fire: () => void, delayMs: number) => { cancel(): void };
}

const realTimer = (fire: () => void, delayMs: number) => {
  const handle = setTimeout(fire, delayMs);
  return { cancel: () => clearTimeout(handle) };
};

export class Scheduler {
  private readonly options: Required<Omit<SchedulerOptions, 'onBackoff'>> &
    Pick<SchedulerOptions, 'onBackoff'>;
  private pending = new Set<Trigger>();
  private running: Promise<void> | undefined;
  private controller: AbortController | undefined;
  private retryTimer: { cancel(): void } | undefined;
  private failures = 0;
  private quietUntil = 0;
  private stopped = false;
  /** Resolvers waiting for the pass that includes their trigger. */
  private waiters: (() => void)[] = [];
  /** Start time of the running pass (for liveness). */
  passStartedAt: number | undefined;

  constructor(options: SchedulerOptions) {
    this.options = {
      initialBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      settleMs: 500,
      now: () => Date.now(),
      timer: realTimer,
      ...options,
    };
  }

  /** True while a failure is backing off. */
  get backingOff(): boolean {
    return this.retryTimer !== undefined;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** The delay before retry number `n` (1-based). */
  backoffFor(n: number): number {
    return Math.min(this.options.initialBackoffMs * 2 ** Math.max(0, n - 1), this.options.maxBackoffMs);
  }

  /**
   * Asks for a pass. Resolves when a pass that includes the trigger has run, or at once when the
   * trigger was dropped (the agent's own kernel event) or deferred to the retry timer.
   */
  request(trigger: Trigger): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (trigger === 'drift' && (this.running || this.options.now() < this.quietUntil))
      return Promise.resolve();
    if (this.backingOff && DEFERRABLE.has(trigger)) return Promise.resolve();
    this.pending.add(trigger);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.running) this.running = this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    // Let triggers raised in the same tick join this pass.
    await Promise.resolve();
    while (this.pending.size > 0 && !this.stopped) {
      const triggers = this.pending;
      const waiters = this.waiters;
      this.pending = new Set();
      this.waiters = [];
      if (this.retryTimer && !triggers.has('retry')) {
        // A trigger that may not wait (config, signal, role) runs now; the retry is folded in.
        this.retryTimer.cancel();
        this.retryTimer = undefined;
      }
      this.controller = new AbortController();
      this.passStartedAt = this.options.now();
      let report: PassReport = { ok: false, changed: false };
      try {
        report = await this.options.runPass(triggers, this.controller.signal);
      } catch {
        report = { ok: false, changed: true };
      } finally {
        this.passStartedAt = undefined;
        this.controller = undefined;
      }
      if (report.changed || !report.ok) this.quietUntil = this.options.now() + this.options.settleMs;
      if (report.ok) this.failures = 0;
      else if (!this.stopped) this.scheduleRetry();
      for (const resolve of waiters) resolve();
    }
    this.running = undefined;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private scheduleRetry(): void {
    this.failures++;
    const delay = this.backoffFor(this.failures);
    this.retryTimer?.cancel();
    this.retryTimer = this.options.timer(() => {
      this.retryTimer = undefined;
      void this.request('retry');
    }, delay);
    this.options.onBackoff?.(delay, this.failures);
  }

  /** Stops: aborts the running pass, cancels retries, runs nothing more. Resolves when the pass has settled or `graceMs` passed. */
  async stop(graceMs = 1_500): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.controller?.abort();
    const running = this.running;
    if (!running) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      running,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }
}
