import { describe, expect, it } from 'vitest';
import {
  initialRoleState,
  nextRoleState,
  type RoleInput,
  type RoleState,
} from '../../../src/agent/ha/role.js';

function run(inputs: readonly RoleInput[], start: RoleState = initialRoleState(100, 0)) {
  let state = start;
  const changes = [];
  let t = 0;
  for (const input of inputs) {
    t += 10;
    const result = nextRoleState(state, input, t);
    state = result.state;
    if (result.change) changes.push(result.change);
  }
  return { state, changes };
}

describe('role state machine', () => {
  it('starts as standby, holding nothing', () => {
    expect(initialRoleState(100, 5)).toEqual({ role: 'standby', sinceMs: 5, transitions: 0, priority: 100 });
  });

  it('maps keepalived states to roles and counts only changes', () => {
    const { state, changes } = run([
      { kind: 'state', state: 'BACKUP', priority: 100 },
      { kind: 'state', state: 'MASTER', priority: 100 },
      { kind: 'state', state: 'MASTER', priority: 100 },
      { kind: 'state', state: 'FAULT', priority: 100 },
      { kind: 'state', state: 'BACKUP', priority: 100 },
    ]);
    expect(changes.map((c) => [c.previous, c.role, c.transitions, c.sinceMs, c.cause])).toEqual([
      ['standby', 'active', 1, 20, 'keepalived reported MASTER'],
      ['active', 'fault', 2, 40, 'keepalived reported FAULT'],
      ['fault', 'standby', 3, 50, 'keepalived reported BACKUP'],
    ]);
    expect(state).toEqual({ role: 'standby', sinceMs: 50, transitions: 3, priority: 100 });
  });

  it('keeps `since` when the role stays the same', () => {
    const { state } = run([
      { kind: 'state', state: 'MASTER', priority: 100 },
      { kind: 'state', state: 'MASTER', priority: 100 },
      { kind: 'priority', priority: 50 },
    ]);
    expect(state).toEqual({ role: 'active', sinceMs: 10, transitions: 1, priority: 50 });
  });

  it('STOP releases the role: standby', () => {
    const { changes } = run([
      { kind: 'state', state: 'MASTER', priority: 100 },
      { kind: 'state', state: 'STOP', priority: 100 },
    ]);
    expect(changes.at(-1)).toMatchObject({
      previous: 'active',
      role: 'standby',
      cause: 'keepalived reported STOP',
    });
  });

  it('keepalived ending on its own is a fault, whatever the role was', () => {
    for (const state of ['MASTER', 'BACKUP'] as const) {
      const { changes } = run([{ kind: 'state', state, priority: 100 }, { kind: 'exited' }]);
      expect(changes.at(-1)).toMatchObject({ role: 'fault', cause: 'keepalived exited' });
    }
  });

  it('an orderly stop ends as standby, and twice changes nothing', () => {
    const { state, changes } = run([
      { kind: 'state', state: 'MASTER', priority: 100 },
      { kind: 'stopped' },
      { kind: 'stopped' },
    ]);
    expect(changes.map((c) => c.role)).toEqual(['active', 'standby']);
    expect(state.transitions).toBe(2);
  });

  it('priority follows what keepalived reports, with the state or alone', () => {
    const { state, changes } = run([
      { kind: 'state', state: 'BACKUP', priority: 100 },
      { kind: 'priority', priority: 60 },
      { kind: 'state', state: 'MASTER', priority: 60 },
    ]);
    expect(state.priority).toBe(60);
    expect(changes).toEqual([
      {
        role: 'active',
        previous: 'standby',
        sinceMs: 30,
        transitions: 1,
        priority: 60,
        cause: 'keepalived reported MASTER',
      },
    ]);
  });

  it('returns the same object when nothing changed (cheap to publish on change only)', () => {
    const start = initialRoleState(100, 0);
    expect(nextRoleState(start, { kind: 'state', state: 'BACKUP', priority: 100 }, 99).state).toBe(start);
  });
});
