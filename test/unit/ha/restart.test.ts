import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, planRestart } from '../../../src/agent/ha/restart.js';

const policy = { initialMs: 100, maxMs: 1_000, stableMs: 10_000 };

describe('planRestart', () => {
  it('backs off exponentially while keepalived keeps dying young, up to the maximum', () => {
    let failures = 0;
    const delays = [];
    for (let i = 0; i < 7; i++) {
      const plan = planRestart(failures, 50, policy);
      failures = plan.failures;
      delays.push(plan.delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('a run that lasted stableMs resets the backoff', () => {
    expect(planRestart(5, 10_000, policy)).toEqual({ failures: 1, delayMs: 100 });
    expect(planRestart(5, 9_999, policy)).toEqual({ failures: 6, delayMs: 1_000 });
  });

  it('does not overflow after very many failures', () => {
    expect(planRestart(10_000, 0, policy).delayMs).toBe(1_000);
  });

  it('defaults: a quick first restart, 30 s at most', () => {
    expect(planRestart(0, 0).delayMs).toBe(DEFAULT_RESTART_POLICY.initialMs);
    expect(planRestart(100, 0).delayMs).toBe(30_000);
  });
});
