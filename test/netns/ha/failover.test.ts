// The HA engine against real keepalived in network namespaces (no agent): two router pods on
// two nodes sharing one LAN (the kit's topology, engineNet.ts). Each test starts its own
// replicas and stops them; times are printed for docs/ha.md, never asserted (a loaded 2-core
// machine). Twenty failovers in a row are the bench's (scripts/bench, `failover`), with agents.
// What the real agents do the same way is tested once, with them (ha-agent.test.ts: pod death
// and return, the hand-over on stop, a lowered priority moving the role); here stays what only
// the engine shows: keepalived's VIP, nopreempt, the rival notice after a partition, unicast.
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, type Topology } from '../../../src/netkit/index.js';
import { createEngineNet, linkLocal, nodeOf, type Pod } from './engineNet.js';
import { GROUP, INTERVAL_S, type Replica, startReplica } from './replica.js';

const VIP = `fe80::5e:${GROUP.toString(16)}`;
/** keepalived's master-down time at 100 ms and priority 100: 3 intervals + skew = 0.36 s; generous bounds for polling. */
const ELECTION_MS = 5_000;
const SETTLE_MS = 10 * INTERVAL_S * 1000;

let topology: Topology;
const running = new Set<Replica>();

async function start(pod: Pod, options: Parameters<typeof startReplica>[2] = {}): Promise<Replica> {
  await linkLocal(topology, pod); // As the agent would: net1 exists and is up before HA starts.
  const replica = await startReplica(topology, pod, options);
  running.add(replica);
  return replica;
}

async function stop(replica: Replica): Promise<void> {
  running.delete(replica);
  await replica.engine.stop();
}

/** Starts both pods and waits for the election; returns [active, standby]. */
async function startPair(options: Parameters<typeof startReplica>[2] = {}): Promise<[Replica, Replica]> {
  const one = await start('p1', options);
  const two = await start('p2', options);
  await pollUntil(() => one.role() === 'active' || two.role() === 'active', ELECTION_MS, 'an active replica');
  await sleep(SETTLE_MS);
  return one.role() === 'active' ? [one, two] : [two, one];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function vipHolders(): Promise<Pod[]> {
  const holders: Pod[] = [];
  for (const pod of ['p1', 'p2'] as const) {
    const out = await topology.ip(pod, ['-6', 'address', 'show', 'dev', 'net1'], { reject: false });
    if (out.stdout.includes(`${VIP}/64`)) holders.push(pod);
  }
  return holders;
}

beforeAll(async () => {
  topology = await createEngineNet();
});

afterEach(async () => {
  for (const replica of [...running]) await stop(replica);
});

afterAll(async () => {
  for (const replica of [...running]) await replica.engine.stop().catch(() => undefined);
  await topology?.destroy();
});

describe('HA engine with keepalived in namespaces', () => {
  it('elects exactly one active; the standby holds nothing', async () => {
    const [active, standby] = await startPair();
    expect(active.role()).toBe('active');
    expect(standby.role()).toBe('standby');
    expect(standby.events.filter((e) => e.type === 'role')).toEqual([]);
    expect(active.engine.status()).toMatchObject({
      mode: 'vrrp',
      role: 'active',
      group: GROUP,
      priority: 100,
      transitions: 1,
    });
    expect(standby.engine.status()).toMatchObject({ role: 'standby', transitions: 0 });
    // keepalived holds its link-local VIP on the active only, and no other address on either.
    expect(await vipHolders()).toEqual([active.pod]);
    for (const pod of ['p1', 'p2'] as const) {
      const out = (await topology.ip(pod, ['-j', 'address', 'show', 'dev', 'net1'])).stdout;
      const addresses = (JSON.parse(out) as { addr_info: { local: string }[] }[])[0]!.addr_info.map(
        (a) => a.local,
      );
      expect(addresses.every((a) => a.startsWith('fe80:'))).toBe(true);
    }
    // Still one active after many intervals.
    await sleep(SETTLE_MS);
    expect([active.role(), standby.role()]).toEqual(['active', 'standby']);
  });

  it('with nopreempt (not the default), a lowered priority does not move the role', async () => {
    // Why the engine keeps pre-emption on: keepalived's backup ignores a lower-priority master
    // when nopreempt is set (vrrp_state_backup), so a gateway-less active would keep the role.
    const [active, standby] = await startPair({ nopreempt: true });
    await active.engine.setPriority(50);
    await pollUntil(() => active.engine.status().priority === 50, ELECTION_MS, 'priority 50');
    await sleep(SETTLE_MS);
    expect([active.role(), standby.role()]).toEqual(['active', 'standby']);
  });

  it('a partition gives two actives; healing it leaves one, and the survivor hears its rival', async () => {
    const [active, standby] = await startPair();
    const from = standby.events.length;
    await topology.partition(nodeOf(topology, standby.pod));
    await standby.waitRole('active', ELECTION_MS, from);
    expect([active.role(), standby.role()]).toEqual(['active', 'active']);

    const marks = [active.events.length, standby.events.length];
    const healedAt = performance.now();
    await topology.heal(nodeOf(topology, standby.pod));
    await pollUntil(
      () => [active.role(), standby.role()].filter((role) => role === 'active').length === 1,
      ELECTION_MS,
      'one active after the heal',
    );
    const settledAt = performance.now();
    const [winner, loser] = active.role() === 'active' ? [active, standby] : [standby, active];
    const winnerMark = winner === active ? marks[0]! : marks[1]!;
    const yielded = loser.events.slice(loser === active ? marks[0] : marks[1]).find((e) => e.type === 'role');
    console.log(
      `HA partition healed: one active ${Math.round((yielded?.receivedAt ?? settledAt) - healedAt)} ms after the link came back`,
    );
    // The winner is told to announce the addresses again (the loser may have poisoned ARP caches).
    await winner.waitEvent('rival', ELECTION_MS, winnerMark);
    await sleep(SETTLE_MS);
    expect([winner.role(), loser.role()]).toEqual(['active', 'standby']);
  });

  it('unicast peers elect one active where the LAN drops VRRP multicast', async () => {
    // The LAN bridge drops frames to ff02::12 (33:33:00:00:00:12).
    await topology.exec('lan', ['nft', '-f', '-'], {
      input: [
        'table bridge ha_block {',
        '  chain forward {',
        '    type filter hook forward priority 0; policy accept;',
        '    ether daddr 33:33:00:00:00:12 counter drop',
        '  }',
        '}',
      ].join('\n'),
    });
    try {
      // Control: with multicast both believe they are alone.
      const one = await start('p1');
      const two = await start('p2');
      await pollUntil(
        () => one.role() === 'active' && two.role() === 'active',
        ELECTION_MS,
        'two actives without multicast',
      );
      await stop(one);
      await stop(two);

      // The same config on both replicas lists both peers (each one's own address included).
      const peers = [await linkLocal(topology, 'p1'), await linkLocal(topology, 'p2')];
      const [active, standby] = await startPair({ unicastPeers: peers });
      expect([active.role(), standby.role()]).toEqual(['active', 'standby']);
      // Each replica left its own address out (else it hears itself and warns at every advert).
      expect(active.logs.filter((line) => /with our IP address/.test(line))).toEqual([]);
      const from = standby.events.length;
      const killedAt = performance.now();
      await active.killKeepalived();
      const took = await standby.waitRole('active', ELECTION_MS, from);
      console.log(`HA unicast failover (kill -> active event): ${Math.round(took.receivedAt - killedAt)} ms`);
    } finally {
      await topology.exec('lan', ['nft', 'delete', 'table', 'bridge', 'ha_block'], { reject: false });
    }
  });
});
