/**
 * Status conditions exactly as EgressRouterStatusCondition defines them. lastTransitionTime
 * changes only when status changes; reason and message may change on their own.
 */

export type ConditionType = 'Available' | 'Progressing' | 'Degraded';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export const CONDITION_TYPES: readonly ConditionType[] = ['Available', 'Progressing', 'Degraded'];

export type Conditions = Readonly<Record<ConditionType, Condition>>;

/** RFC 3339 with second precision, as Kubernetes writes metav1.Time. */
export const rfc3339 = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

export function initialConditions(now: Date): Conditions {
  const at = rfc3339(now);
  const unknown = (type: ConditionType): Condition => ({
    type,
    status: 'Unknown',
    lastTransitionTime: at,
    reason: 'Starting',
    message: 'the agent has not applied the config yet',
  });
  return {
    Available: unknown('Available'),
    Progressing: unknown('Progressing'),
    Degraded: unknown('Degraded'),
  };
}

export interface ConditionUpdate {
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export function setCondition(
  conditions: Conditions,
  type: ConditionType,
  update: ConditionUpdate,
  now: Date,
): Conditions {
  const previous = conditions[type];
  const lastTransitionTime = previous.status === update.status ? previous.lastTransitionTime : rfc3339(now);
  return { ...conditions, [type]: { type, ...update, lastTransitionTime } };
}

export function setConditions(
  conditions: Conditions,
  updates: Partial<Record<ConditionType, ConditionUpdate>>,
  now: Date,
): Conditions {
  let next = conditions;
  for (const type of CONDITION_TYPES) {
    const update = updates[type];
    if (update) next = setCondition(next, type, update, now);
  }
  return next;
}

export const conditionList = (conditions: Conditions): Condition[] =>
  CONDITION_TYPES.map((t) => conditions[t]);

/** A reason to report Degraded=True, most important first when there are several. */
export interface Problem {
  readonly reason: string;
  readonly message: string;
}

/** What a pass ended with, as far as the conditions care. */
export type PassOutcome =
  /** No valid config has ever been loaded. */
  | { readonly kind: 'no-config'; readonly reason: string; readonly message: string }
  | {
      readonly kind: 'applied';
      /** "1 redirect rule, egress 192.0.2.100". */
      readonly summary: string;
      /** Degraded=True reasons, most important first (an invalid new config, a mismatch, a gateway …). */
      readonly problems: readonly Problem[];
      /** This pass repaired drift: what was wrong. */
      readonly repaired?: string;
      /** This pass applied a new config (a later quiet pass keeps DriftRepaired; a reload clears it). */
      readonly configChanged: boolean;
      /** HA standby or fault: in place but not serving (Available False, not Degraded). */
      readonly standby?: { readonly reason: string; readonly message: string };
      /** In place but unable to serve (the gateway, when readiness follows it). */
      readonly unavailable?: { readonly reason: string; readonly message: string };
    }
  | {
      readonly kind: 'failed';
      readonly reason: string;
      readonly message: string;
      readonly retryInMs: number;
      /** The previous config still serves (the failed change was undone): Degraded, not unavailable. */
      readonly stillServing: boolean;
    };

const seconds = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))} s`;

/** The conditions after a pass, from the previous ones: pure, so the rules are tested directly. */
export function conditionsAfter(previous: Conditions, outcome: PassOutcome, now: Date): Conditions {
  switch (outcome.kind) {
    case 'no-config':
      return setConditions(
        previous,
        {
          Available: { status: 'False', reason: outcome.reason, message: outcome.message },
          Progressing: { status: 'False', reason: outcome.reason, message: outcome.message },
          Degraded: { status: 'True', reason: outcome.reason, message: outcome.message },
        },
        now,
      );
    case 'failed': {
      const degraded: ConditionUpdate = { status: 'True', reason: outcome.reason, message: outcome.message };
      const progressing: ConditionUpdate = {
        status: 'True',
        reason: 'Retrying',
        message: `retrying in ${seconds(outcome.retryInMs)}`,
      };
      if (outcome.stillServing)
        return setConditions(
          previous,
          {
            Degraded: {
              ...degraded,
              message: `${outcome.message}; the change was undone and the previous config stays in force`,
            },
            Progressing: progressing,
          },
          now,
        );
      return setConditions(
        previous,
        {
          Available: { status: 'False', reason: outcome.reason, message: outcome.message },
          Progressing: progressing,
          Degraded: degraded,
        },
        now,
      );
    }
    case 'applied': {
      const first = outcome.problems[0];
      let degraded: ConditionUpdate;
      if (first)
        degraded = {
          status: 'True',
          reason: first.reason,
          message: outcome.problems.map((p) => p.message).join('; '),
        };
      else if (outcome.repaired)
        degraded = { status: 'False', reason: 'DriftRepaired', message: outcome.repaired };
      else if (
        !outcome.configChanged &&
        previous.Degraded.status === 'False' &&
        previous.Degraded.reason === 'DriftRepaired'
      )
        degraded = previous.Degraded;
      else degraded = { status: 'False', reason: 'AsExpected', message: 'everything is as configured' };
      const notServing = outcome.standby ?? outcome.unavailable;
      const available: ConditionUpdate = notServing
        ? { status: 'False', ...notServing }
        : { status: 'True', reason: 'Applied', message: `in place and verified: ${outcome.summary}` };
      return setConditions(
        previous,
        {
          Available: available,
          Progressing: { status: 'False', reason: 'Applied', message: 'the config is applied' },
          Degraded: degraded,
        },
        now,
      );
    }
  }
}
