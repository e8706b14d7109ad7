/** Self-test of the network kit's default topology and traffic tools, without the agent. Needs root. */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capture,
  createTopology,
  longLivedTcp,
  PLAN,
  startServer,
  type Topology,
  TopologyError,
  tcpRequest,
  udpRequest,
  withTopology,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';

function netnsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

function rootLinks(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
}

function leftovers(prefix: string): string[] {
  const links = rootLinks()
    .split('\n')
    .filter((line) => line.includes(prefix));
  return [...netnsNames().filter((name) => name.startsWith(prefix)), ...links];
}

describe('netns kit: the default topology', () => {
  let topo: Topology;

  beforeAll(async () => {
    requireBuiltAgent();
    topo = await createTopology({ clientSubnet2: true });
  }, 120_000);

  afterAll(async () => {
    await topo?.destroy();
  });

  it('creates its namespaces with one unique prefix and short names', async () => {
    expect(topo.prefix).toMatch(/^ert[0-9a-f]{6}-$/);
    const names = Object.values(topo.names);
    expect(names).toHaveLength(9);
    const present = netnsNames();
    for (const name of names) {
      expect(name.startsWith(topo.prefix)).toBe(true);
      expect(name.length).toBeLessThanOrEqual(15);
      expect(present).toContain(name);
    }
    for (const [key, name] of Object.entries(topo.ifaces)) {
      expect(name.length, key).toBeLessThanOrEqual(15);
    }
    expect(() => topo.resolve('not-ours')).toThrow(/not a namespace of this topology/);
    // Nothing in the root namespace.
    expect(rootLinks()).not.toContain(topo.prefix);
    // The pod looks like a pod before the agent: eth0 only, cluster route and default via the node.
    const routes = await topo.ipJson<{ dst: string; gateway?: string; dev: string }[]>('pod', [
      '-4',
      'route',
    ]);
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '198.18.0.1', dev: 'eth0' }),
    );
    expect(routes).toContainEqual(expect.objectContaining({ dst: '198.18.0.0/15', gateway: '198.18.0.1' }));
    const links = await topo.ipJson<{ ifname: string }[]>('pod', ['link', 'show']);
    expect(links.map((link) => link.ifname).sort()).toEqual(['eth0', 'lo']);
  });

  it('lets clients in both subnets and the pod reach the node over TCP and UDP, IPv4 and IPv6', async () => {
    const server = await startServer(topo, 'node', 'node', { tcp: [8080], udp: [5353] });
    try {
      const cases = [
        { ns: 'client', from: PLAN.client, to: PLAN.nodeClientSide },
        { ns: 'client2', from: PLAN.client2, to: PLAN.nodeClient2Side },
        { ns: 'pod', from: PLAN.pod, to: PLAN.nodePodSide },
      ] as const;
      for (const { ns, from, to } of cases) {
        for (const family of ['v4', 'v6'] as const) {
          const tcp = await tcpRequest(topo, ns, to[family], 8080, `tcp-${ns}-${family}`);
          expect(tcp).toMatchObject({
            ok: true,
            parsed: { name: 'node', peer: from[family], port: 8080, payload: `tcp-${ns}-${family}` },
          });
          const udp = await udpRequest(topo, ns, to[family], 5353, `udp-${ns}-${family}`);
          expect(udp).toMatchObject({ ok: true, parsed: { peer: from[family], port: 5353 } });
        }
      }
      // Across the node: client to the pod's cluster address, both families.
      const pod = await startServer(topo, 'pod', 'pod', { tcp: [9000] });
      for (const family of ['v4', 'v6'] as const) {
        const reply = await tcpRequest(topo, 'client', PLAN.pod[family], 9000, 'via-node');
        expect(reply).toMatchObject({ ok: true, parsed: { name: 'pod', peer: PLAN.client[family] } });
      }
      await pod.stop();
      const record = await server.waitFor((r) => r.proto === 'udp' && r.payload === 'udp-pod-v6');
      expect(record).toMatchObject({ peerAddress: PLAN.pod.v6, localPort: 5353 });
      expect(server.seen().filter((r) => r.proto === 'tcp')).toHaveLength(6);
    } finally {
      await server.stop();
    }
  });

  it('routes dst1 to gw and to far through gw, IPv4 and IPv6', async () => {
    const gw = await startServer(topo, 'gw', 'gw', { tcp: [80] });
    const far = await startServer(topo, 'far', 'far', { tcp: [80], udp: [53] });
    try {
      for (const family of ['v4', 'v6'] as const) {
        expect(await tcpRequest(topo, 'dst1', PLAN.gw[family], 80, 'to-gw')).toMatchObject({
          ok: true,
          parsed: { name: 'gw', peer: PLAN.dst1[family] },
        });
        expect(await tcpRequest(topo, 'dst1', PLAN.far[family], 80, 'to-far')).toMatchObject({
          ok: true,
          parsed: { name: 'far', peer: PLAN.dst1[family], payload: 'to-far' },
        });
        expect(await udpRequest(topo, 'dst2', PLAN.far[family], 53, 'udp-far')).toMatchObject({
          ok: true,
          parsed: { name: 'far', peer: PLAN.dst2[family] },
        });
      }
      await far.waitFor((r) => r.peerAddress === PLAN.dst1.v6 && r.proto === 'tcp');
    } finally {
      await Promise.all([gw.stop(), far.stop()]);
    }
  });

  it('tells a refusal from a timeout, and reports UDP port unreachable', async () => {
    for (const family of ['v4', 'v6'] as const) {
      const refused = await tcpRequest(topo, 'dst1', PLAN.dst2[family], 81);
      expect(refused).toMatchObject({ ok: false, error: 'refused', code: 'ECONNREFUSED' });
      const unreachable = await udpRequest(topo, 'dst1', PLAN.dst2[family], 5000);
      expect(unreachable).toMatchObject({ ok: false, error: 'unreachable' });
      const started = Date.now();
      const timeout = await tcpRequest(topo, 'dst1', PLAN.blackhole[family], 80, 'x', 700);
      expect(timeout).toMatchObject({ ok: false, error: 'timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);
      const silent = await udpRequest(topo, 'dst1', PLAN.blackhole[family], 53, 'x', 500);
      expect(silent).toMatchObject({ ok: false, error: 'timeout' });
    }
  });

  it('captures ARP and neighbor discovery on the LAN', async () => {
    await topo.ip('dst1', ['neigh', 'flush', 'all']);
    await topo.ip('dst2', ['neigh', 'flush', 'all']);
    const arp = await capture(
      topo,
      'lan',
      topo.ifaces.lanBridge,
      'arp',
      () => topo.exec('dst1', ['ping', '-c', '1', '-W', '2', PLAN.dst2.v4]),
      { until: (lines) => lines.some((line) => line.includes('Reply 192.0.2.20 is-at')) },
    );
    expect(arp.join('\n')).toContain('Request who-has 192.0.2.20 tell 192.0.2.10');
    expect(arp.join('\n')).toContain('Reply 192.0.2.20 is-at');

    const nd = await capture(
      topo,
      'dst2',
      'eth0',
      'icmp6',
      () => topo.exec('dst1', ['ping', '-6', '-c', '1', '-W', '2', PLAN.dst2.v6]),
      { until: (lines) => lines.some((line) => line.includes('neighbor advertisement')) },
    );
    expect(nd.join('\n')).toContain(`neighbor solicitation, who has ${PLAN.dst2.v6}`);
    expect(nd.join('\n')).toContain(`neighbor advertisement, tgt is ${PLAN.dst2.v6}`);

    await expect(capture(topo, 'lan', 'nosuchif0', '', async () => {})).rejects.toThrow(
      /capture on nosuchif0/,
    );
  });

  it('keeps a long-lived TCP connection and notices when it breaks', async () => {
    const far = await startServer(topo, 'far', 'far-stream', { tcp: [7000] });
    try {
      const steady = await longLivedTcp(topo, 'dst1', PLAN.far.v4, 7000);
      await steady.waitForExchanges(5);
      const summary = await steady.stop();
      expect(summary).toMatchObject({ connected: true, broke: false });
      expect(summary.exchanges).toBeGreaterThanOrEqual(5);
      expect(summary.firstReply).toBe(`name=far-stream peer=${PLAN.dst1.v4} port=7000 payload=stream 0`);

      const doomed = await longLivedTcp(topo, 'dst2', PLAN.far.v6, 7000);
      await doomed.waitForExchanges(2);
      await far.stop();
      await expect(doomed.waitForExchanges(1_000, 5_000)).rejects.toThrow(/broke/);
      const broken = await doomed.stop();
      expect(broken.broke).toBe(true);
      expect(['closed', 'reset']).toContain(broken.error);
      await expect(longLivedTcp(topo, 'dst2', PLAN.far.v4, 7000)).rejects.toThrow(
        /could not connect: refused/,
      );
    } finally {
      await far.stop();
    }
  });

  it('creates an adopted macvlan in the pod on the node master', async () => {
    const made = await topo.createAdoptedMacvlan('net1', 'bridge', {
      up: true,
      addresses: [`${PLAN.egress.v4[0]}/24`],
    });
    expect(made).toMatchObject({
      name: 'net1',
      mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
    });
    try {
      const [link] = await topo.ipJson<
        { link_netnsid?: number; linkinfo: { info_kind: string; info_data: { mode: string } } }[]
      >('pod', ['-d', 'link', 'show', 'net1']);
      expect(link?.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
      const server = await startServer(topo, 'dst1', 'dst1', { tcp: [80] });
      try {
        const reply = await tcpRequest(topo, 'pod', PLAN.dst1.v4, 80, 'over-net1');
        expect(reply).toMatchObject({ ok: true, parsed: { peer: PLAN.egress.v4[0] } });
      } finally {
        await server.stop();
      }
    } finally {
      await topo.ip('pod', ['link', 'delete', 'net1'], { reject: false });
    }
  });

  it('tears down even when the test body fails, and after a failed creation', async () => {
    let names: string[] = [];
    let prefix = '';
    let orphan: number | undefined;
    await expect(
      withTopology({ ipv6: false }, async (t) => {
        names = Object.values(t.names);
        prefix = t.prefix;
        orphan = (await startServer(t, 'far', 'orphan', { tcp: [80] })).pid;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(names.length).toBeGreaterThan(0);
    expect(leftovers(prefix)).toEqual([]);
    expect(orphan).toBeDefined();
    expect(() => process.kill(orphan as number, 0)).toThrow();

    const failed = await createTopology({ failAfter: 'links' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(TopologyError);
    expect((failed as TopologyError).message).toContain('failAfter: links');
    expect((failed as TopologyError).prefix).toMatch(/^ert[0-9a-f]{6}-$/);
    expect(leftovers((failed as TopologyError).prefix)).toEqual([]);
  });

  it('destroy() removes every namespace, link and process it made, and is idempotent', async () => {
    const server = await startServer(topo, 'dst2', 'lingering', { tcp: [80] });
    const pid = server.pid;
    await topo.destroy();
    await topo.destroy();
    expect(leftovers(topo.prefix)).toEqual([]);
    expect(pid).toBeDefined();
    expect(() => process.kill(pid as number, 0)).toThrow();
  });
});
