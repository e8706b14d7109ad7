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
