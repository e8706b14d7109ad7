/**
 * MSS clamping against PMTU black holes (needs root). The pod's cluster link is narrower (MTU
 * 1400, an overlay) than the clients' (1460) and the LAN (1500), and ICMP "fragmentation needed" /
 * "packet too big" is dropped at the destinations and at the gateway. Without a clamp the client's
 * SYN advertises an MSS that fits its own link, the destination answers with segments the router
 * cannot forward into the cluster, its ICMP never arrives, and a download stalls at the first
 * full-sized segment (test/netns/kit-faults.test.ts shows the stall without the agent). With the
 * ruleset's clamp the SYNs leave the router with an MSS that fits the narrowest link, and the
 * downloads complete, IPv4 and IPv6, on-link and through the gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capture,
  createScratchDir,
  createTopology,
  egressRouter,
  PLAN,
  type ScratchDir,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent } from './kit/expect.js';

const POD_CLUSTER_MTU = 1400;

let topo: Topology;
let dir: ScratchDir;
const restores: (() => Promise<void>)[] = [];

beforeAll(async () => {
  requireBuiltAgent();
  topo = await createTopology({ mtu: { podCluster: POD_CLUSTER_MTU, clients: 1460, far: 1480 } });
  dir = await createScratchDir('ert-mss-');
  for (const name of ['dst1', 'far']) await startServer(topo, name, name, { tcp: [80] });
  for (const where of ['dst1', 'far', 'gw']) restores.push((await topo.dropIcmpTooBig(where)).restore);
  const config = await dir.write(
    'router.yaml',
    egressRouter(
      {
        master: 'eth1',
        addresses: [
          { ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 },
          { ip: `${PLAN.egress.v6[0]}/64`, gateway: PLAN.gw.v6 },
        ],
        rules: [
          { destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' },
          { destinationIP: PLAN.far.v4, port: 81, protocol: 'TCP', targetPort: 80 },
          { destinationIP: PLAN.dst1.v6, port: 80, protocol: 'TCP' },
          { destinationIP: PLAN.far.v6, port: 81, protocol: 'TCP', targetPort: 80 },
        ],
      },
      'yaml',
    ),
  );
  await expectAgent(topo, 'apply', config, 0);
}, 120_000);

afterAll(async () => {
  try {
    for (const restore of restores) await restore();
  } finally {
    try {
      await topo?.destroy();
    } finally {
      await dir?.remove();
    }
  }
}, 60_000);

describe('MSS clamping', () => {
  for (const [port, server] of [
    [80, 'dst1'],
    [81, 'far'],
  ] as const)
    for (const family of ['v4', 'v6'] as const)
      it(`completes a download from ${server} over IP${family} through the router with ICMP too-big dropped`, async () => {
        const done = await tcpRequest(topo, 'client', PLAN.pod[family], port, 'bulk 20000', 10_000);
        expect(done, JSON.stringify(done).slice(0, 300)).toMatchObject({
          ok: true,
          complete: true,
          parsed: { name: server, payload: 'bulk 20000' },
        });
        expect(done.ok && done.bytes).toBeGreaterThan(20_000);
      });

  it('lowers the SYN’s MSS to what fits the cluster link (1400 less the headers), and the SYN/ACK’s too', async () => {
    const lines = await capture(
      topo,
      'dst1',
      'eth0',
      ['tcp port 80 and (tcp[tcpflags] & tcp-syn != 0 or ip6)'],
      async () => {
        for (const family of ['v4', 'v6'] as const)
          await tcpRequest(topo, 'client', PLAN.pod[family], 80, 'small', 5_000);
      },
      { until: (seen) => seen.filter((l) => /Flags \[S\.?\]/.test(l)).length >= 4 },
    );
    const syns = lines.filter((l) => /Flags \[S\]/.test(l));
    expect(syns.find((l) => l.includes(`> ${PLAN.dst1.v4}.80`))).toContain(`mss ${POD_CLUSTER_MTU - 40}`);
    expect(syns.find((l) => l.includes(`> ${PLAN.dst1.v6}.80`))).toContain(`mss ${POD_CLUSTER_MTU - 60}`);
    // dst1's SYN/ACK left dst1 with its own MSS (1460): the clamp applies on the router.
    const client = await capture(
      topo,
      'client',
      'eth0',
      ['tcp port 80'],
      () => tcpRequest(topo, 'client', PLAN.pod.v4, 80, 'small', 5_000),
      { until: (seen) => seen.some((l) => /Flags \[S\.\]/.test(l)) },
    );
    expect(client.find((l) => /Flags \[S\.\]/.test(l))).toContain(`mss ${POD_CLUSTER_MTU - 40}`);
  });
});
