/**
 * The replica's HA role as the agent sees it (pure): what keepalived last reported, or what
 * follows from keepalived not running. Only the active replica holds the egress addresses.
 *
 * - MASTER → active; BACKUP → standby; FAULT → fault.
 * - STOP (keepalived shutting down, after its priority-0 advertisement) → standby: the
 *   addresses must go, a peer is taking over.
 * - keepalived gone without a word (crash, killed) → fault: it no longer advertises, so a peer
 *   takes over within about three intervals, and this replica must not keep the addresses.
 */
import type { KeepalivedState } from './notify.js';

export type HaRole = 'active' | 'standby' | 'fault';

export interface RoleState {
  readonly role: HaRole;
  /** Milliseconds since the epoch: when this replica entered `role`. */
  readonly sinceMs: number;
  /** Role changes since the engine started. */
  readonly transitions: number;
  /** The effective VRRP priority, as keepalived last reported it (or as configured). */
  readonly priority: number;
}

export type RoleInput =
  | { readonly kind: 'state'; readonly state: KeepalivedState; readonly priority: number }
  | { readonly kind: 'priority'; readonly priority: number }
  | { readonly kind: 'exited' }
  | { readonly kind: 'stopped' };

export interface RoleChange {
  readonly role: HaRole;
  readonly previous: HaRole;
  readonly sinceMs: number;
  readonly transitions: number;
  readonly priority: number;
  /** Why, for the log: "keepalived reported MASTER", "keepalived exited". */
  readonly cause: string;
}

/** Before keepalived says anything the replica holds nothing: standby. */
export function initialRoleState(priority: number, nowMs: number): RoleState {
  return { role: 'standby', sinceMs: nowMs, transitions: 0, priority };
}

const ROLE_OF: Readonly<Record<KeepalivedState, HaRole>> = {
  MASTER: 'active',
  BACKUP: 'standby',
  FAULT: 'fault',
  STOP: 'standby',
  DELETED: 'standby',
};

function causeOf(input: RoleInput): string {
  switch (input.kind) {
    case 'state':
      return `keepalived reported ${input.state}`;
    case 'exited':
      return 'keepalived exited';
    case 'stopped':
      return 'stopped';
    case 'priority':
      return 'priority changed';
  }
}

/** The next state, and the change when the role changed. */
export function nextRoleState(
  state: RoleState,
  input: RoleInput,
  nowMs: number,
): { readonly state: RoleState; readonly change?: RoleChange } {
  const priority = input.kind === 'state' || input.kind === 'priority' ? input.priority : state.priority;
  let role = state.role;
  if (input.kind === 'state') role = ROLE_OF[input.state];
  else if (input.kind === 'exited') role = 'fault';
  else if (input.kind === 'stopped') role = 'standby';
  if (role === state.role) return { state: priority === state.priority ? state : { ...state, priority } };
  const next: RoleState = { role, sinceMs: nowMs, transitions: state.transitions + 1, priority };
  return {
    state: next,
    change: { ...next, previous: state.role, cause: causeOf(input) },
  };
}
