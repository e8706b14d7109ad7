import { afterEach, describe, expect, it, vi } from 'vitest';
import { ANNOUNCE_REPEATS_MS, realEffects } from '../../../src/agent/effects.js';
import type { System } from '../../../src/system/system.js';

/** A System whose interface holds 192.0.2.100 and whose background programs all fail (the link is gone). */
function systemRecording(started: string[][]): System {
  const held = JSON.stringify([{ addr_info: [{ local: '192.0.2.100', prefixlen: 24 }] }]);
  return {
    pod: { where: 'the pod', run: async () => held },
    background: (argv: readonly string[], onError: (message: string) => void) => {
      started.push([...argv]);
      onError(`${argv[0]}: recvfrom: Network is down`);
    },
  } as unknown as System;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('announcements and stop', () => {
  it('repeats while running; after stop() nothing more is sent or reported', async () => {
    vi.useFakeTimers();
    const started: string[][] = [];
    const problems: string[] = [];
    const effects = realEffects(systemRecording(started), { onProblem: (m) => problems.push(m) });

    effects.announce('net1', '192.0.2.100', 4, false);
    expect(started).toHaveLength(2); // request- and reply-style gratuitous ARP
    expect(problems).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(ANNOUNCE_REPEATS_MS[0] ?? 0);
    expect(started).toHaveLength(4);

    effects.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(started).toHaveLength(4);
    effects.announce('net1', '192.0.2.100', 4, false);
    expect(started).toHaveLength(4);
    expect(problems).toHaveLength(4);
  });
});
