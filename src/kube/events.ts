/**
 * Kubernetes Events from the snapshot's notices (Normal: Applied, Reloaded, DriftRepaired,
 * BecameActive …; Warning: Degraded reasons), about the EgressRouter object, as a StatusSink.
 *
 * - Deduplicated as the events API does it: the same type, reason and message again (within the
 *   50 minutes an Event lives comfortably under the API server's default 1 h TTL) patches the
 *   existing Event's count and lastTimestamp instead of creating one.
 * - Rate-limited with a token bucket (a burst of 25, then one request every 10 s): a repeat that
 *   finds no token is folded into the count of the next write of that Event; a new one is dropped
 *   (and counted in the log).
 * - Best effort and never blocking: publish() queues (at most 100 notices), one request at a
 *   time in the background; a failed request is retried twice with backoff, then dropped.
 */
import type { Notice, StatusSink, StatusSnapshot } from '../agent/status/snapshot.js';
import { ApiError, type EventBody, isTransient, type KubeApi } from './api.js';
import { backoffDelay, type Clock, type KubeLog } from './clock.js';

export interface EventRecorderOptions {
  readonly api: Pick<KubeApi, 'getEgressRouter' | 'createEvent' | 'patchEvent'>;
  readonly clock: Clock;
  readonly log: KubeLog;
  readonly router: { readonly name: string; readonly namespace: string };
  /** The pod's name (reportingInstance) and node (source.host). */
  readonly podName: string;
  readonly nodeName?: string;
  readonly burst?: number;
  readonly refillMs?: number;
  readonly stopTimeoutMs?: number;
}

export const EVENT_COMPONENT = 'egress-router-agent';
const QUEUE_LIMIT = 100;
const SEEN_LIMIT = 256;
const REUSE_MS = 50 * 60_000;
const MAX_ATTEMPTS = 3;
/** The API's limit on an Event's message is 1 KiB in events.k8s.io; kept here too. */
const MESSAGE_LIMIT = 1024;

interface Seen {
  readonly name: string;
  count: number;
  /** Repeats that found no token: added to the next write of this Event. */
  unsent: number;
  readonly firstTimestamp: string;
  lastWrite: number;
}

const rfc3339 = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export function truncateMessage(message: string): string {
  if (Buffer.byteLength(message) <= MESSAGE_LIMIT) return message;
  let cut = message.slice(0, MESSAGE_LIMIT - 3);
  while (Buffer.byteLength(cut) > MESSAGE_LIMIT - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

export class EventRecorder implements StatusSink {
  readonly name = 'kubernetes-events';
  private readonly queue: { notice: Notice; attempts: number }[] = [];
  private readonly seen = new Map<string, Seen>();
  private readonly burst: number;
  private readonly refillMs: number;
  private tokens: number;
  private refilledAt: number;
  private uid: string | undefined;
  private uidReadAt: number | undefined;
  private running: Promise<void> | undefined;
  private retryTimer: { cancel(): void } | undefined;
  private sequence = 0;
  private dropped = 0;
  private stopped = false;

  constructor(private readonly options: EventRecorderOptions) {
    this.burst = options.burst ?? 25;
    this.refillMs = options.refillMs ?? 10_000;
    this.tokens = this.burst;
    this.refilledAt = options.clock.now();
  }

  publish(snapshot: StatusSnapshot): void {
    if (this.stopped) return;
    for (const notice of snapshot.notices) {
      if (this.queue.length >= QUEUE_LIMIT) {
        this.dropped += 1;
        continue;
      }
      this.queue.push({ notice, attempts: 0 });
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    if (this.dropped > 0)
      this.options.log.info({ dropped: this.dropped }, 'events not sent (rate limit or a full queue)');
    if (!this.running) return;
    let timeout: { cancel(): void } | undefined;
    await Promise.race([
      this.running,
      new Promise<void>((resolve) => {
        timeout = this.options.clock.setTimeout(resolve, this.options.stopTimeoutMs ?? 2000);
      }),
    ]);
    timeout?.cancel();
  }

  private kick(): void {
    if (this.running || this.retryTimer) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      try {
        await this.record(item.notice);
        this.queue.shift();
      } catch (error) {
        const failure = error instanceof ApiError ? error : new ApiError(0, (error as Error).message);
        item.attempts += 1;
        if (!isTransient(failure) || item.attempts >= MAX_ATTEMPTS || this.stopped) {
          this.queue.shift();
          this.options.log.debug(
            { reason: item.notice.reason, status: failure.status, error: failure.message },
            'event not sent',
          );
          continue;
        }
        // Wait, then carry on from this notice.
        this.retryTimer = this.options.clock.setTimeout(
          () => {
            this.retryTimer = undefined;
            this.kick();
          },
          backoffDelay(item.attempts, 1000, 10_000),
        );
        return;
      }
    }
  }

  private takeToken(): boolean {
    const now = this.options.clock.now();
    const earned = Math.floor((now - this.refilledAt) / this.refillMs);
    if (earned > 0) {
      this.tokens = Math.min(this.burst, this.tokens + earned);
      this.refilledAt += earned * this.refillMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * The EgressRouter's uid: without it `kubectl describe egressrouter` does not list the Event.
   * Read again after 10 minutes (the object may have been deleted and created anew), or after one
   * minute when it could not be read.
   */
  private async involvedUid(): Promise<string | undefined> {
    const now = this.options.clock.now();
    if (this.uidReadAt === undefined || now - this.uidReadAt > (this.uid ? 600_000 : 60_000)) {
      this.uidReadAt = now;
      this.uid = await this.options.api.getEgressRouter().then(
        (object) => object.uid,
        () => undefined,
      );
    }
    return this.uid;
  }

  private async record(notice: Notice): Promise<void> {
    const message = truncateMessage(notice.message);
    const key = `${notice.type}\u0000${notice.reason}\u0000${message}`;
    const now = this.options.clock.now();
    const seen = this.seen.get(key);
    const reusable = seen !== undefined && now - seen.lastWrite < REUSE_MS;
    if (!this.takeToken()) {
      if (reusable) seen.unsent += 1;
      else this.dropped += 1;
      return;
    }
    if (reusable) {
      const count = seen.count + seen.unsent + 1;
      try {
        await this.options.api.patchEvent(seen.name, { count, lastTimestamp: rfc3339(now) });
        seen.count = count;
        seen.unsent = 0;
        seen.lastWrite = now;
        return;
      } catch (error) {
        // Expired or deleted meanwhile: a new Event below.
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
    const { router } = this.options;
    // As client-go names them: the object's name and the time in nanoseconds, in hex (BigInt: exact).
    const nanos = BigInt(now) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    const name = `${router.name}.${nanos.toString(16)}`;
    const uid = await this.involvedUid();
    const count = reusable ? seen.count + seen.unsent + 1 : 1;
    const event: EventBody = {
      metadata: { name, namespace: router.namespace },
      involvedObject: {
        apiVersion: 'network.operator.openshift.io/v1',
        kind: 'EgressRouter',
        name: router.name,
        namespace: router.namespace,
        ...(uid ? { uid } : {}),
      },
      reason: notice.reason,
      message,
      type: notice.type,
      count,
      firstTimestamp: reusable ? seen.firstTimestamp : rfc3339(now),
      lastTimestamp: rfc3339(now),
      source: {
        component: EVENT_COMPONENT,
        ...(this.options.nodeName ? { host: this.options.nodeName } : {}),
      },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.options.podName,
    };
    await this.options.api.createEvent(event);
    if (this.seen.size >= SEEN_LIMIT) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { name, count, unsent: 0, firstTimestamp: event.firstTimestamp, lastWrite: now });
  }
}
