// The monitors against the fake kernel: nft monitor tells the agent's own transactions from
// someone else's by pid (nft 1.0.6 sometimes prints only the generation line), and a monitor that
// exits is restarted with backoff and reports it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { monitorLinksAddressesRoutes, monitorRuleset } from '../../../src/agent/watchers.js';
import { createFakeKernel, egressRouterTopology } from '../../fake/index.js';

afterEach(() => {
  vi.useRealTimers();
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('nft monitor', () => {
  it("reports another process's change to the table, never the agent's own", async () => {
    const fake = createFakeKernel({ timing: 'instant' });
    await egressRouterTopology(fake);
    const system = fake.system();
    let foreign = 0;
    const monitor = monitorRuleset(system, () => foreign++, { onExit: () => undefined });
    // The agent's own transaction: run through its runner.
    const { loadBatch } = await import('../../../src/nft/nft.js');
    await loadBatch(system.pod, {
      nftables: [{ add: { table: { family: 'inet', name: 'egress_router' } } }],
    });
    await settle();
    expect(foreign).toBe(0);
    // Someone else's.
    await fake.nft([{ add: { chain: { family: 'inet', table: 'egress_router', name: 'intruder' } } }]);
    await settle();
    expect(foreign).toBe(1);
    // Someone else's change to another table is none of the agent's business.
    await fake.nft([{ add: { table: { family: 'inet', name: 'other' } } }]);
    await settle();
    expect(foreign).toBe(1);
    monitor.stop();
  });
});

describe('monitor supervision', () => {
  it('restarts a monitor that exits, with backoff, and says it is down meanwhile', async () => {
    vi.useFakeTimers();
    const fake = createFakeKernel({ timing: 'instant' });
    const exits: number[] = [];
    let restarts = 0;
    const monitor = monitorLinksAddressesRoutes(fake.system(), () => undefined, {
      onExit: (_why, retryInMs) => exits.push(retryInMs),
      onRestart: () => restarts++,
    });
    expect(monitor.alive()).toBe(true);
    fake.endStreams((argv) => argv.includes('monitor'));
    await vi.advanceTimersByTimeAsync(0);
    expect(monitor.alive()).toBe(false);
    expect(exits).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(monitor.alive()).toBe(true);
    expect(restarts).toBe(1);
    fake.endStreams((argv) => argv.includes('monitor'));
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([1_000, 2_000]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(monitor.restarts).toBe(2);
    monitor.stop();
    fake.endStreams((argv) => argv.includes('monitor'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(monitor.restarts).toBe(2);
  });
});
