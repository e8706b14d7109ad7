/** The few API calls status writing and Events need, as an interface the sinks are written against. */
import type { ConditionStatus, ConditionType } from '../agent/conditions.js';

export interface StatusCondition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

/** The parts of the EgressRouter the writer reads. */
export interface RouterObject {
  readonly uid?: string;
  readonly resourceVersion: string;
  readonly conditions: readonly StatusCondition[];
}

/** A core/v1 Event as the recorder sends it. */
export interface EventBody {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly involvedObject: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string;
  };
  readonly reason: string;
  readonly message: string;
  readonly type: 'Normal' | 'Warning';
  readonly count: number;
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly source: { readonly component: string; readonly host?: string };
  readonly reportingComponent: string;
  readonly reportingInstance: string;
}

export interface KubeApi {
  /** GET the EgressRouter (its uid, resourceVersion and current conditions). */
  getEgressRouter(): Promise<RouterObject>;
  /** JSON merge-patch of the status subresource; resourceVersion makes it conditional (409 when stale). */
  patchEgressRouterStatus(
    resourceVersion: string,
    conditions: readonly StatusCondition[],
  ): Promise<RouterObject>;
  createEvent(event: EventBody): Promise<void>;
  /** JSON merge-patch of an Event (its count and lastTimestamp). */
  patchEvent(name: string, patch: { readonly count: number; readonly lastTimestamp: string }): Promise<void>;
}

/** A refused or failed request: the HTTP status (0 when no answer came), and Retry-After when sent. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Worth retrying as is: no answer, a conflict, throttling, or a server-side failure. */
export const isTransient = (error: ApiError): boolean =>
  error.status === 0 || error.status === 409 || error.status === 429 || error.status >= 500;
