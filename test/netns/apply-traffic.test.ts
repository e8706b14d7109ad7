/**
 * `apply` proven with real traffic: a client connects to the pod's cluster address, the
 * destination host records what it saw (payload, peer address = the egress address, port).
 * One topology for the file; each describe block applies its config in beforeAll and cleans
 * up in afterAll. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentLaunch,
  capture,
  createScratchDir,
  createTopology,
  egressRouter,
  mapElements,
  PLAN,
  routes,
  type ScratchDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
  udpRequest,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent, expectReached, expectRedirect, expectUnseen, tag } from './kit/expect.js';

const EGRESS4 = PLAN.egress.v4[0];
const EGRESS6 = PLAN.egress.v6[0];
const POD = PLAN.pod;

let topo: Topology;
let dir: ScratchDir;
let dst1: ServerHandle;
let dst2: ServerHandle;
let far: ServerHandle;
let clientServer: ServerHandle;
let all: ServerHandle[];

beforeAll(async () => {
  requireBuiltAgent();
  dir = await createScratchDir('ert-apply-');
  topo = await createTopology({ clientSubnet2: true });
  [dst1, dst2, far, clientServer] = await Promise.all([
    startServer(topo, 'dst1', 'dst1', { tcp: [80, 7777, 9099], udp: [53, 7777] }),
    startServer(topo, 'dst2', 'dst2', { tcp: [80, 7777, 8080, 9099], udp: [53, 7777] }),
    startServer(topo, 'far', 'far', { tcp: [443], udp: [53] }),
    startServer(topo, 'client', 'client', { tcp: [7000] }),
  ]);
  all = [dst1, dst2, far, clientServer];
}, 120_000);

afterAll(async () => {
  try {
    await topo?.destroy();
  } finally {
    await dir?.remove();
  }
});

/** Applies `config` for the describe block it is called in, and cleans up after it. */
function appliedFor(name: string, config: () => string, flags: AgentLaunch = {}): void {
  beforeAll(async () => {
    await expectAgent(topo, 'apply', await dir.write(name, config()), 0, flags);
  });
  afterAll(async () => {
    await expectAgent(topo, 'cleanup', await dir.write(name, config()), 0, flags);
  });
}

describe('IPv4 redirects with a fallback (examples/egressrouter.yaml plus a UDP rule without targetPort)', () => {
  appliedFor('with-fallback.yaml', () =>
    egressRouter({
      addresses: [{ ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 }],
      rules: [
        { destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' },
        { destinationIP: PLAN.dst2.v4, port: 8080, protocol: 'TCP', targetPort: 80 },
        { destinationIP: PLAN.dst1.v4, port: 5353, protocol: 'UDP', targetPort: 53 },
        { destinationIP: PLAN.dst2.v4, port: 53, protocol: 'UDP' },
        { destinationIP: PLAN.far.v4, port: 443, protocol: 'TCP' },
      ],
      fallbackIP: PLAN.dst2.v4,
    }),
  );

  it('redirects TCP and UDP, with and without targetPort, several rules at once, SNAT to the egress address', async () => {
    const cases = [
      { proto: 'tcp', port: 80, server: () => dst1, targetPort: 80 },
      { proto: 'tcp', port: 8080, server: () => dst2, targetPort: 80 },
      { proto: 'udp', port: 5353, server: () => dst1, targetPort: 53 },
      { proto: 'udp', port: 53, server: () => dst2, targetPort: 53 },
    ] as const;
    for (const c of cases) {
      const payload = tag(`${c.proto}${c.port}`);
      const request = c.proto === 'tcp' ? tcpRequest : udpRequest;
      const result = await request(topo, 'client', POD.v4, c.port, payload);
      await expectReached(result, c.server(), { proto: c.proto, port: c.targetPort, peer: EGRESS4, payload });
      expectUnseen(
        all.filter((s) => s !== c.server()),
        payload,
      );
    }
  });

  it('reaches an off-link destination through the gateway', async () => {
    const payload = tag('far');
    const result = await tcpRequest(topo, 'client', POD.v4, 443, payload);
    await expectReached(result, far, { proto: 'tcp', port: 443, peer: EGRESS4, payload });
  });

  it('sends unmatched TCP and UDP ports to the fallback host on the same port', async () => {
    const tcp = tag('fallback-tcp');
    await expectReached(await tcpRequest(topo, 'client', POD.v4, 7777, tcp), dst2, {
      proto: 'tcp',
      port: 7777,
      peer: EGRESS4,
      payload: tcp,
    });
    const udp = tag('fallback-udp');
    await expectReached(await udpRequest(topo, 'client', POD.v4, 7777, udp), dst2, {
      proto: 'udp',
      port: 7777,
      peer: EGRESS4,
      payload: udp,
    });
    expectUnseen([dst1, far], tcp);
    expectUnseen([dst1, far], udp);
  });

  it('keeps the health port (TCP 9099) local: refused by the pod, answered by a listener in the pod', async () => {
    const refused = tag('health-none');
    expect(await tcpRequest(topo, 'client', POD.v4, 9099, refused)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    expectUnseen(all, refused);

    const health = await startServer(topo, 'pod', 'pod-health', { tcp: [9099] });
    try {
      const local = tag('health-local');
      const result = await tcpRequest(topo, 'client', POD.v4, 9099, local);
      // Answered in the pod itself: no SNAT, the peer is the client.
      await expectReached(result, health, { proto: 'tcp', port: 9099, peer: PLAN.client.v4, payload: local });
      expectUnseen(all, local);
    } finally {
      await health.stop();
    }
  });

  it('answers a client in another cluster subnet (the cluster route stays on eth0)', async () => {
    const payload = tag('client2');
    const result = await tcpRequest(topo, 'client2', POD.v4, 80, payload);
    await expectReached(result, dst1, { proto: 'tcp', port: 80, peer: EGRESS4, payload });
    const pod = await topo.ipJson<{ dst: string; gateway?: string; dev: string; protocol?: string }[]>(
      'pod',
      ['-4', 'route'],
    );
    expect(pod).toContainEqual(
      expect.objectContaining({ dst: PLAN.cluster.v4, gateway: PLAN.nodePodSide.v4, dev: 'eth0' }),
    );
    // The default route now leaves through the gateway on net1.
    expect(pod).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: PLAN.gw.v4, dev: 'net1', protocol: '77' }),
    );
  });

  it('does not let the LAN route through the pod into the cluster network, nor open connections to it', async () => {
    await topo.ip('dst1', ['-4', 'route', 'add', PLAN.cluster.v4, 'via', EGRESS4, 'dev', 'eth0']);
    try {
      const intoCluster = tag('lan-to-cluster');
      const result = await tcpRequest(topo, 'dst1', PLAN.client.v4, 7000, intoCluster, 1_500);
      expect(result.ok, JSON.stringify(result)).toBe(false);
      expectUnseen([clientServer], intoCluster);
      // The router itself takes no connections from the LAN (its redirects are for the cluster side).
      const toRouter = tag('lan-to-router');
      const direct = await tcpRequest(topo, 'dst1', EGRESS4, 80, toRouter, 1_500);
      expect(direct.ok, JSON.stringify(direct)).toBe(false);
      expectUnseen(all, toRouter);
    } finally {
      await topo.ip('dst1', ['-4', 'route', 'del', PLAN.cluster.v4, 'via', EGRESS4, 'dev', 'eth0']);
    }
  });
});

describe('IPv4 redirects without a fallback', () => {
  appliedFor('no-fallback.yaml', () =>
    egressRouter({
      addresses: [{ ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 }],
      rules: [
        { destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' },
        { destinationIP: PLAN.dst1.v4, port: 5353, protocol: 'UDP', targetPort: 53 },
      ],
    }),
  );

  it('still redirects the configured ports', async () => {
    await expectRedirect(topo, 'tcp', 'client', POD.v4, 80, dst1, { port: 80, peer: EGRESS4 }, 'nofb-tcp');
    await expectRedirect(topo, 'udp', 'client', POD.v4, 5353, dst1, { port: 53, peer: EGRESS4 }, 'nofb-udp');
  });

  it('refuses unmatched TCP at once and answers unmatched UDP with port unreachable', async () => {
    const tcp = tag('nofb-unmatched-tcp');
    const started = Date.now();
    const refused = await tcpRequest(topo, 'client', POD.v4, 7777, tcp, 3_000);
    expect(refused).toMatchObject({ ok: false, error: 'refused' });
    expect(Date.now() - started).toBeLessThan(2_500);
    const udp = tag('nofb-unmatched-udp');
    expect(await udpRequest(topo, 'client', POD.v4, 7777, udp, 3_000)).toMatchObject({
      ok: false,
      error: 'unreachable',
    });
    expectUnseen(all, tcp);
    expectUnseen(all, udp);
  });

  it('keeps the health port reachable in the pod', async () => {
    const none = tag('nofb-health-none');
    expect(await tcpRequest(topo, 'client', POD.v4, 9099, none)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    const health = await startServer(topo, 'pod', 'pod-health', { tcp: [9099] });
    try {
      await expectRedirect(
        topo,
        'tcp',
        'client',
        POD.v4,
        9099,
        health,
        { port: 9099, peer: PLAN.client.v4 },
        'nofb-health',
      );
    } finally {
      await health.stop();
    }
    expectUnseen(all, none);
  });
  it('refuses other IPv4 ports even with a listener in the pod, but leaves IPv6 alone (the reject rule is IPv4 only)', async () => {
    // The reject rule matches `ip version 4`: IPv6 to the same port must still reach the listener.
    const local = await startServer(topo, 'pod', 'pod-local', { tcp: [7000] });
    try {
      const v4 = tag('nofb-local-v4');
      expect(await tcpRequest(topo, 'client', POD.v4, 7000, v4)).toMatchObject({
        ok: false,
        error: 'refused',
      });
      await expectRedirect(
        topo,
        'tcp',
        'client',
        POD.v6,
        7000,
        local,
        { port: 7000, peer: PLAN.client.v6 },
        'nofb-local-v6',
      );
      expect(local.seen().filter((r) => r.payload === v4)).toEqual([]);
    } finally {
      await local.stop();
    }
  });
});

describe('a fallback-only config (no rules)', () => {
  appliedFor('fallback-only.yaml', () =>
    egressRouter({ addresses: [{ ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 }], fallbackIP: PLAN.dst2.v4 }),
  );

  it('sends every TCP and UDP port to the fallback host, except the health port', async () => {
    for (const port of [80, 7777]) {
      const payload = tag(`fbonly-tcp${port}`);
      await expectReached(await tcpRequest(topo, 'client', POD.v4, port, payload), dst2, {
        proto: 'tcp',
        port,
        peer: EGRESS4,
        payload,
      });
    }
    await expectRedirect(topo, 'udp', 'client', POD.v4, 53, dst2, { port: 53, peer: EGRESS4 }, 'fbonly-udp');
    const health = tag('fbonly-health');
    expect(await tcpRequest(topo, 'client', POD.v4, 9099, health)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    expectUnseen(all, health);
  });
});

describe('the --cluster-cidr route, when the pod lacks one', () => {
  let original: Awaited<ReturnType<typeof routes>>;
  const config = () =>
    egressRouter({
      addresses: [{ ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 }],
      rules: [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }],
    });
  const clusterRoute = (verb: 'del' | 'replace') => [
    '-4',
    'route',
    verb,
    PLAN.cluster.v4,
    'via',
    PLAN.nodePodSide.v4,
    'dev',
    'eth0',
  ];

  beforeAll(async () => {
    original = await routes(topo);
    await topo.ip('pod', clusterRoute('del'));
  });
  afterAll(async () => {
    await topo.ip('pod', clusterRoute('replace'));
    expect(await routes(topo)).toEqual(original);
  });

  it('without --cluster-cidr a client in another subnet still gets replies: they follow the connection mark back to eth0', async () => {
    const path = await dir.write('cidr.yaml', config());
    await expectAgent(topo, 'apply', path, 0, { clusterCidrs: [] });
    try {
      const rules = await topo.ipJson<
        { priority: number; fwmark?: string; table?: string; protocol?: string }[]
      >('pod', ['-4', 'rule']);
      expect(rules).toContainEqual({
        priority: 17746,
        src: 'all',
        fwmark: '0x4552',
        table: '17746',
        protocol: '77',
      });
      const table = await topo.ipJson<{ dst: string; gateway?: string; dev: string }[]>('pod', [
        '-4',
        'route',
        'show',
        'table',
        '17746',
      ]);
      expect(table).toContainEqual(
        expect.objectContaining({ dst: 'default', gateway: PLAN.nodePodSide.v4, dev: 'eth0' }),
      );
      const payload = tag('no-cidr');
      await expectReached(await tcpRequest(topo, 'client2', POD.v4, 80, payload), dst1, {
        proto: 'tcp',
        port: 80,
        peer: EGRESS4,
        payload,
      });
      // The mark is what makes it work: without the marking chain the same request gets no reply.
      await topo.exec('pod', ['nft', 'delete', 'chain', 'inet', 'egress_router', 'mark_from_cluster']);
      const unmarked = await tcpRequest(topo, 'client2', POD.v4, 80, tag('unmarked'), 1_500);
      expect(unmarked).toMatchObject({ ok: false, error: 'timeout' });
    } finally {
      await expectAgent(topo, 'cleanup', path, 0, { clusterCidrs: [] });
    }
    const rulesAfter = await topo.ipJson<{ protocol?: string }[]>('pod', ['-4', 'rule']);
    expect(rulesAfter.filter((r) => r.protocol === '77')).toEqual([]);
  });

  it('with --cluster-cidr the agent adds the route via the cluster gateway, and cleanup removes it', async () => {
    const before = await routes(topo);
    const path = await dir.write('cidr.yaml', config());
    await expectAgent(topo, 'apply', path, 0);
    const pod = await topo.ipJson<{ dst: string; gateway?: string; dev: string; protocol?: string }[]>(
      'pod',
      ['-4', 'route'],
    );
    expect(pod).toContainEqual({
      dst: PLAN.cluster.v4,
      gateway: PLAN.nodePodSide.v4,
      dev: 'eth0',
      protocol: '77',
      flags: [],
    });
    const payload = tag('with-cidr');
    await expectReached(await tcpRequest(topo, 'client2', POD.v4, 80, payload), dst1, {
      proto: 'tcp',
      port: 80,
      peer: EGRESS4,
      payload,
    });
    await expectAgent(topo, 'cleanup', path, 0);
    expect(await routes(topo)).toEqual(before);
  });
});

describe('IPv6 only: gateway inferred from the node, an IPv6 fallback, --interface egress0', () => {
  appliedFor(
    'ipv6-only.yaml',
    () =>
      egressRouter({
        // No gateway: the node's default gateway (2001:db8:100::1) is on the egress subnet.
        addresses: [{ ip: `${EGRESS6}/64` }],
        rules: [
          { destinationIP: PLAN.dst1.v6, port: 8080, protocol: 'TCP', targetPort: 80 },
          { destinationIP: PLAN.far.v6, port: 443, protocol: 'TCP' },
        ],
        fallbackIP: PLAN.dst2.v6,
      }),
    { clusterCidrs: [PLAN.cluster.v6], args: ['--interface', 'egress0'] },
  );

  it('redirects, reaches off-link via the inferred gateway, falls back, and keeps the health port local', async () => {
    const links = await topo.ipJson<{ ifname: string }[]>('pod', ['link', 'show']);
    expect(links.map((l) => l.ifname).sort()).toEqual(['egress0', 'eth0', 'lo']);
    const v6Routes = await topo.ipJson<{ dst: string; gateway?: string; dev: string }[]>('pod', [
      '-6',
      'route',
    ]);
    expect(v6Routes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: PLAN.gw.v6, dev: 'egress0' }),
    );

    await expectRedirect(
      topo,
      'tcp',
      'client',
      POD.v6,
      8080,
      dst1,
      { port: 80, peer: EGRESS6 },
      'v6only-8080',
    );
    await expectRedirect(topo, 'tcp', 'client', POD.v6, 443, far, { port: 443, peer: EGRESS6 }, 'v6only-far');
    await expectRedirect(
      topo,
      'tcp',
      'client',
      POD.v6,
      7777,
      dst2,
      { port: 7777, peer: EGRESS6 },
      'v6only-fallback-tcp',
    );
    await expectRedirect(
      topo,
      'udp',
      'client',
      POD.v6,
      7777,
      dst2,
      { port: 7777, peer: EGRESS6 },
      'v6only-fallback-udp',
    );
    const health = tag('v6only-health');
    expect(await tcpRequest(topo, 'client', POD.v6, 9099, health)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    expectUnseen(all, health);
  });
});

describe('IPv6 with targetPort, dual-stack in one router, and SCTP', () => {
  const dualStack = () =>
    egressRouter({
      addresses: [
        { ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 },
        { ip: `${EGRESS6}/64`, gateway: PLAN.gw.v6 },
      ],
      rules: [
        { destinationIP: PLAN.dst1.v6, port: 8080, protocol: 'TCP', targetPort: 80 },
        { destinationIP: PLAN.dst2.v4, port: 8080, protocol: 'TCP', targetPort: 80 },
        { destinationIP: PLAN.dst2.v6, port: 80, protocol: 'TCP' },
        { destinationIP: PLAN.dst2.v6, port: 5353, protocol: 'UDP', targetPort: 53 },
        { destinationIP: PLAN.dst1.v6, port: 53, protocol: 'UDP' },
        { destinationIP: PLAN.far.v6, port: 443, protocol: 'TCP' },
        { destinationIP: PLAN.dst2.v4, port: 9000, protocol: 'SCTP', targetPort: 9001 },
        { destinationIP: PLAN.dst2.v6, port: 9000, protocol: 'SCTP', targetPort: 9002 },
      ],
    });
  appliedFor('dual-stack.yaml', dualStack, { clusterCidrs: [PLAN.cluster.v4, PLAN.cluster.v6] });

  it('sends IPv6 TCP 8080 to [dst1]:80 (not another host), and IPv4 TCP 8080 to dst2:80', async () => {
    const v6 = tag('v6-8080');
    await expectReached(await tcpRequest(topo, 'client', POD.v6, 8080, v6), dst1, {
      proto: 'tcp',
      port: 80,
      peer: EGRESS6,
      payload: v6,
    });
    expectUnseen([dst2, far], v6);
    const v4 = tag('v4-8080');
    await expectReached(await tcpRequest(topo, 'client', POD.v4, 8080, v4), dst2, {
      proto: 'tcp',
      port: 80,
      peer: EGRESS4,
      payload: v4,
    });
    expectUnseen([dst1, far], v4);
  });

  it('redirects IPv6 TCP without targetPort and UDP with and without targetPort', async () => {
    await expectRedirect(topo, 'tcp', 'client', POD.v6, 80, dst2, { port: 80, peer: EGRESS6 }, 'v6-80');
    await expectRedirect(topo, 'udp', 'client', POD.v6, 5353, dst2, { port: 53, peer: EGRESS6 }, 'v6-5353');
    await expectRedirect(topo, 'udp', 'client', POD.v6, 53, dst1, { port: 53, peer: EGRESS6 }, 'v6-53');
  });

  it('reaches an off-link IPv6 destination through the gateway, also for a client in another subnet', async () => {
    const payload = tag('v6-far');
    await expectReached(await tcpRequest(topo, 'client', POD.v6, 443, payload), far, {
      proto: 'tcp',
      port: 443,
      peer: EGRESS6,
      payload,
    });
    await expectRedirect(
      topo,
      'tcp',
      'client2',
      POD.v6,
      443,
      far,
      { port: 443, peer: EGRESS6 },
      'v6-far-client2',
    );
  });

  it('refuses unmatched IPv6 TCP at once and answers unmatched IPv6 UDP with port unreachable', async () => {
    const tcp = tag('v6-unmatched');
    const started = Date.now();
    expect(await tcpRequest(topo, 'client', POD.v6, 7777, tcp, 3_000)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    expect(Date.now() - started).toBeLessThan(2_500);
    const udp = tag('v6-unmatched-udp');
    expect(await udpRequest(topo, 'client', POD.v6, 7777, udp, 3_000)).toMatchObject({
      ok: false,
      error: 'unreachable',
    });
    expectUnseen(all, tcp);
    expectUnseen(all, udp);
  });

  it('loads the SCTP rules: they are keys of both address maps', async () => {
    expect((await mapElements(topo, 'redirect_addr4')).get('sctp . 9000')).toEqual({
      value: PLAN.dst2.v4,
      packets: expect.any(Number),
    });
    expect((await mapElements(topo, 'redirect_port4')).get('sctp . 9000')).toEqual({ value: '9001' });
    expect((await mapElements(topo, 'redirect_addr6')).get('sctp . 9000')).toEqual({
      value: PLAN.dst2.v6,
      packets: expect.any(Number),
    });
    expect((await mapElements(topo, 'redirect_port6')).get('sctp . 9000')).toEqual({ value: '9002' });
  });

  for (const family of ['v4', 'v6'] as const) {
    it(`translates a crafted SCTP INIT over IP${family}: egress source address, target port, valid CRC32c`, async () => {
      const sourcePort = 40_000 + Math.floor(Math.random() * 10_000);
      const targetPort = family === 'v4' ? 9001 : 9002;
      const lines = await capture(
        topo,
        'dst2',
        'eth0',
        ['-x', 'sctp'],
        () =>
          topo.exec('client', ['python3', '-c', SCTP_INIT_SCRIPT, POD[family], '9000', String(sourcePort)]),
        { until: (seen) => seen.some((line) => line.includes('[INIT]')), untilTimeoutMs: 3_000 },
      );
      const header = lines.find((line) => line.includes('[INIT]'));
      const egress = family === 'v4' ? EGRESS4 : EGRESS6;
      const dst = PLAN.dst2[family];
      expect(header, lines.join('\n')).toBeDefined();
      expect(header).toContain(`${egress}.${sourcePort} > ${dst}.${targetPort}: sctp`);
      const packet = packetBytes(lines, header!);
      const sctp = packet.subarray(family === 'v4' ? (packet[0]! & 0x0f) * 4 : 40);
      expect(sctp.readUInt16BE(0)).toBe(sourcePort);
      expect(sctp.readUInt16BE(2)).toBe(targetPort);
      // The NAT rewrote the port, so it must have recomputed the checksum.
      const stored = sctp.readUInt32LE(8);
      const zeroed = Buffer.from(sctp);
      zeroed.writeUInt32LE(0, 8);
      expect(crc32c(zeroed)).toBe(stored);
    });
  }
});

/**
 * Sends one SCTP INIT from a raw socket (this kernel has no SCTP sockets):
 * python3 -c SCRIPT HOST PORT SOURCE_PORT. The checksum is CRC32c, little-endian on the wire.
 */
const SCTP_INIT_SCRIPT = `
import os, socket, struct, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return (~crc) & 0xFFFFFFFF
host, port, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
init_tag = int.from_bytes(os.urandom(4), 'big') or 1
chunk = struct.pack('!BBHIIHHI', 1, 0, 20, init_tag, 65535, 10, 10, 1)
common = struct.pack('!HHI', sport, port, 0)
packet = common + struct.pack('<I', crc32c(common + b'\\0\\0\\0\\0' + chunk)) + chunk
family = socket.AF_INET6 if ':' in host else socket.AF_INET
with socket.socket(family, socket.SOCK_RAW, 132) as s:
    s.sendto(packet, (host, 0))
print('sent', len(packet))
`;

/** The bytes tcpdump -x printed under `header` (the network header onwards). */
function packetBytes(lines: readonly string[], header: string): Buffer {
  const hex: string[] = [];
  for (const line of lines.slice(lines.indexOf(header) + 1)) {
    const match = /^\s+0x[0-9a-f]+:\s+(.*)$/.exec(line);
    if (!match) break;
    hex.push(...(match[1] ?? '').trim().split(/\s+/));
  }
  return Buffer.from(hex.join(''), 'hex');
}

function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
