/** Status snapshots as the control loop publishes them. */
import type { Condition, ConditionStatus, ConditionType } from '../../../src/agent/conditions.js';
import type { HaRole, Notice, StatusSnapshot } from '../../../src/agent/status/snapshot.js';

let sequence = 0;

export function condition(
  type: ConditionType,
  status: ConditionStatus,
  reason: string,
  message: string,
  at = '2026-01-02T03:00:00Z',
): Condition {
  return { type, status, reason, message, lastTransitionTime: at };
}

export function snapshot(
  options: {
    available?: ConditionStatus;
    message?: string;
    at?: string;
    role?: HaRole;
    notices?: Notice[];
  } = {},
): StatusSnapshot {
  const available = options.available ?? 'True';
  const at = options.at ?? '2026-01-02T03:00:00Z';
  sequence += 1;
  return {
    version: '0.1.0',
    sequence,
    time: '2026-01-02T03:04:05Z',
    conditions: {
      Available: condition(
        'Available',
        available,
        available === 'True' ? 'Applied' : 'Standby',
        options.message ?? 'in place and verified',
        at,
      ),
      Progressing: condition('Progressing', 'False', 'Applied', 'the config is applied', at),
      Degraded: condition('Degraded', 'False', 'AsExpected', 'everything is as configured', at),
    },
    gateways: [],
    notices: options.notices ?? [],
    ...(options.role
      ? {
          ha: {
            mode: 'vrrp' as const,
            role: options.role,
            group: 7,
            priority: 100,
            since: at,
            transitions: 1,
          },
        }
      : {}),
  };
}

/** A logger that keeps what it is told. */
export function memoryLog() {
  const lines: { level: string; fields: object; message: string }[] = [];
  const at = (level: string) => (fields: object, message: string) => {
    lines.push({ level, fields, message });
  };
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}
