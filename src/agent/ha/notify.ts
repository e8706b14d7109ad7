/**
 * What keepalived writes to its notify FIFO and log (pure parsing).
 *
 * FIFO lines (keepalived 2.2.7, lib/vrrp_notify.c): `INSTANCE "NAME" STATE PRIORITY`, where
 * STATE is MASTER, BACKUP, FAULT, STOP or DELETED for a state, MASTER_RX_LOWER_PRI when a
 * master hears a lower-priority master, and MASTER_PRIORITY / BACKUP_PRIORITY when the
 * effective priority changed (with vrrp_notify_priority_changes). GROUP lines are for sync
 * groups, which this agent does not use.
 */

export type KeepalivedState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

export type NotifyLine =
  | {
      readonly kind: 'state';
      readonly instance: string;
      readonly state: KeepalivedState;
      readonly priority: number;
    }
  /** This replica is master and heard another master of lower priority (e.g. a healed partition). */
  | { readonly kind: 'rival'; readonly instance: string; readonly priority: number }
  | {
      readonly kind: 'priority';
      readonly instance: string;
      readonly state: 'MASTER' | 'BACKUP';
      readonly priority: number;
    };

const LINE = /^INSTANCE "([^"]*)" ([A-Z_]+) (\d{1,3})$/;
const STATES: ReadonlySet<string> = new Set(['MASTER', 'BACKUP', 'FAULT', 'STOP', 'DELETED']);

/** One FIFO line, or undefined for anything else (group lines, unknown events, noise). */
export function parseNotifyLine(line: string): NotifyLine | undefined {
  const match = LINE.exec(line.trim());
  if (!match) return undefined;
  const [, instance = '', word = '', digits = ''] = match;
  const priority = Number(digits);
  if (priority > 255) return undefined;
  if (STATES.has(word)) return { kind: 'state', instance, state: word as KeepalivedState, priority };
  if (word === 'MASTER_RX_LOWER_PRI') return { kind: 'rival', instance, priority };
  if (word === 'MASTER_PRIORITY') return { kind: 'priority', instance, state: 'MASTER', priority };
  if (word === 'BACKUP_PRIORITY') return { kind: 'priority', instance, state: 'BACKUP', priority };
  return undefined;
}

// `-l` prefixes every line with ctime(3) and a colon: "Wed Dec  2 08:52:02 2026: ".
const CTIME_PREFIX = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: /;

/** A keepalived log line without its own timestamp (the agent's logger adds one). */
export function stripLogTimestamp(line: string): string {
  return line.replace(CTIME_PREFIX, '');
}
