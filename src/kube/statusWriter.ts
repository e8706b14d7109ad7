/**
 * Writes the agent's conditions to its EgressRouter's status subresource: a StatusSink of the
 * status snapshot. publish() only records the latest snapshot and arms a debounce timer; the
 * write happens in the background, one request at a time, so the control loop never waits.
 *
 * - Only content changes are written: conditions equal to what the object holds (or to what was
 *   last written) cost no request.
 * - lastTransitionTime: the snapshot's, except that when the object already holds the same type
 *   with the same status, its time is kept (a restarted agent does not reset it).
 * - The patch is a JSON merge patch carrying metadata.resourceVersion, so a write based on a
 *   stale read is refused (409) instead of overwriting someone else's: the object is read again
 *   and the write retried at once (after three conflicts in a row, with backoff).
 * - 404 (the object is gone or not created yet), 401/403 (RBAC), 429, 5xx and no answer: retried
 *   with capped exponential backoff; 400/422 (the API refuses this content): not retried until
 *   the content changes.
 * - Under HA only the active replica writes; a standby's snapshots are ignored.
 */
import type { Conditions } from '../agent/conditions.js';
import { CONDITION_TYPES } from '../agent/conditions.js';
import type { StatusSink, StatusSnapshot } from '../agent/status/snapshot.js';
import { ApiError, type KubeApi, type RouterObject, type StatusCondition } from './api.js';
import { backoffDelay, type Clock, type KubeLog } from './clock.js';

export interface StatusWriterOptions {
  readonly api: Pick<KubeApi, 'getEgressRouter' | 'patchEgressRouterStatus'>;
  readonly clock: Clock;
  readonly log: KubeLog;
  /** What the writes are about, for logs: "namespace/name". */
  readonly target: string;
  /** Quiet time before a write, so a burst of passes makes one write (default 1 s). */
  readonly debounceMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** How long stop() may spend on a last write (default 2 s). */
  readonly stopTimeoutMs?: number;
}

export function conditionsOf(conditions: Conditions): StatusCondition[] {
  return CONDITION_TYPES.map((type) => {
    const c = conditions[type];
    return {
      type,
      status: c.status,
      lastTransitionTime: c.lastTransitionTime,
      reason: c.reason,
      message: c.message,
    };
  });
}

/** The desired conditions, keeping the object's lastTransitionTime where the status is unchanged. */
export function mergeTransitionTimes(
  desired: readonly StatusCondition[],
  existing: readonly StatusCondition[],
): StatusCondition[] {
  return desired.map((condition) => {
    const current = existing.find((c) => c.type === condition.type);
    return current && current.status === condition.status && current.lastTransitionTime
      ? { ...condition, lastTransitionTime: current.lastTransitionTime }
      : condition;
  });
}

const canonical = (conditions: readonly StatusCondition[]): string =>
  JSON.stringify(
    [...conditions]
      .sort((a, b) => a.type.localeCompare(b.type))
      .map((c) => [c.type, c.status, c.lastTransitionTime, c.reason, c.message]),
  );

export class StatusWriter implements StatusSink {
  readonly name = 'kubernetes-status';
  private readonly debounceMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly stopTimeoutMs: number;
  /** What the latest active snapshot says (undefined: nothing to write, e.g. on a standby). */
  private desired: StatusCondition[] | undefined;
  /** The canonical form of the last conditions known to be on the object for a given desire. */
  private settledFor: string | undefined;
  /** A desire the API refused as invalid: not retried until the content changes. */
  private refusedFor: string | undefined;
  private object: RouterObject | undefined;
  private timer: { cancel(): void } | undefined;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private conflicts = 0;
  private stopped = false;
  private lastProblem: string | undefined;

  constructor(private readonly options: StatusWriterOptions) {
    this.debounceMs = options.debounceMs ?? 1000;
    this.backoffInitialMs = options.backoffInitialMs ?? 1000;
    this.backoffMaxMs = options.backoffMaxMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 2000;
  }

  publish(snapshot: StatusSnapshot): void {
    if (this.stopped) return;
    if (snapshot.ha && snapshot.ha.role !== 'active') {
      // A standby never writes; a write armed while it was active is dropped.
      this.desired = undefined;
      this.cancelTimer();
      return;
    }
    this.desired = conditionsOf(snapshot.conditions);
    if (!this.pending()) return;
    if (!this.timer && !this.inFlight) this.arm(this.debounceMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    const last = this.inFlight ?? (this.pending() ? this.write() : undefined);
    if (!last) return;
    let timeout: { cancel(): void } | undefined;
    await Promise.race([
      last,
      new Promise<void>((resolve) => {
        timeout = this.options.clock.setTimeout(resolve, this.stopTimeoutMs);
      }),
    ]);
    timeout?.cancel();
  }

  /** True when the latest desire has not been written (nor refused). */
  private pending(): boolean {
    if (!this.desired) return false;
    const key = canonical(this.desired);
    return key !== this.settledFor && key !== this.refusedFor;
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.write().finally(() => {
        this.inFlight = undefined;
        if (!this.stopped && !this.timer && this.pending()) this.arm(this.debounceMs);
      });
    }, ms);
  }

  private async write(): Promise<void> {
    const desired = this.desired;
    if (!desired) return;
    const key = canonical(desired);
    try {
      this.object ??= await this.options.api.getEgressRouter();
      const merged = mergeTransitionTimes(desired, this.object.conditions);
      if (canonical(merged) !== canonical(this.object.conditions)) {
        this.object = await this.options.api.patchEgressRouterStatus(this.object.resourceVersion, merged);
        this.options.log.debug(
          { target: this.options.target, resourceVersion: this.object.resourceVersion },
          'status written',
        );
      }
      this.settledFor = key;
      this.failures = 0;
      this.conflicts = 0;
      if (this.lastProblem)
        this.options.log.info({ target: this.options.target }, 'status writing works again');
      this.lastProblem = undefined;
    } catch (error) {
      this.object = undefined;
      this.handleFailure(error instanceof ApiError ? error : new ApiError(0, (error as Error).message), key);
    }
  }

  private handleFailure(error: ApiError, key: string): void {
    const { log, target } = this.options;
    if (error.status === 400 || error.status === 422) {
      this.refusedFor = key;
      log.error(
        { target, status: error.status, error: error.message },
        'the API refused the status; not retried until it changes',
      );
      return;
    }
    if (error.status === 409 && ++this.conflicts <= 3) {
      // Someone else wrote in between: read again and retry now.
      log.debug({ target, conflicts: this.conflicts }, 'status write conflicted; reading the object again');
      if (!this.stopped) this.arm(0);
      return;
    }
    this.failures += 1;
    const problem = describe(error, target);
    // Said once per kind of problem, not on every retry.
    if (problem !== this.lastProblem)
      log.warn({ target, status: error.status, error: error.message }, problem);
    this.lastProblem = problem;
    const retryAfterMs = (error.retryAfterSeconds ?? 0) * 1000;
    const delay = Math.max(
      retryAfterMs,
      backoffDelay(this.failures, this.backoffInitialMs, this.backoffMaxMs),
    );
    if (!this.stopped) this.arm(delay);
  }
}

function describe(error: ApiError, target: string): string {
  switch (error.status) {
    case 0:
      return `cannot reach the API server to write the status of EgressRouter ${target}; retrying`;
    case 401:
      return `the API server does not accept the service-account token (401); retrying`;
    case 403:
      return `not allowed to write the status of EgressRouter ${target} (403): check the Role and RoleBinding manifests emits; retrying`;
    case 404:
      return `EgressRouter ${target} does not exist (404): its status is written once it does (kubectl apply it; the CRD comes from manifests --crd)`;
    case 409:
      return `status writes to EgressRouter ${target} keep conflicting; backing off`;
    default:
      return `writing the status of EgressRouter ${target} failed (${error.status}); retrying`;
  }
}
