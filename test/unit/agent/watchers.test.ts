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

describe('config directory', () => {
  const until = async (check: () => boolean, ms = 2_000) => {
    const end = Date.now() + ms;
    while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it("answers kubelet's ..data swap, a write of the file itself, and nothing of the swap's other steps", async () => {
    const { mkdtemp, mkdir, rename, rm, symlink, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { watchConfigDirectory } = await import('../../../src/agent/watchers.js');
    const dir = await mkdtemp(join(tmpdir(), 'watch-config-'));
    let changes = 0;
    // Long enough that only the swap's own short delay can fire before the checks below.
    const watcher = watchConfigDirectory(join(dir, 'config.json'), () => changes++, 60_000);
    try {
      await mkdir(join(dir, '..v1'));
      await writeFile(join(dir, '..v1', 'config.json'), '{}');
      await symlink('..v1', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await until(() => changes > 0);
      expect(changes).toBe(1);
      // The new version's directory, its ..data_tmp link and the old version's removal: no change.
      await mkdir(join(dir, '..v2'));
      await symlink('..v2', join(dir, '..data_tmp'));
      await rm(join(dir, '..data_tmp'));
      await rm(join(dir, '..v2'), { recursive: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(changes).toBe(1);
    } finally {
      watcher.stop();
    }
    // The file written in place (no ConfigMap): after the quiet delay.
    let written = 0;
    const plain = watchConfigDirectory(join(dir, 'plain.json'), () => written++, 20);
    try {
      await writeFile(join(dir, 'plain.json'), '{}');
      await until(() => written > 0);
      expect(written).toBe(1);
    } finally {
      plain.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
