/**
 * The life of a router pod: failing applies that leave nothing behind, master inference with
 * --master-netns, the LAN announcements, idempotent re-apply, converging to a changed config,
 * adopt mode, invalid configs, and cleanup. One topology; the tests run in order and each
 * leaves the pod as it found it. Needs root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capture,
  createScratchDir,
  createTopology,
  egressRouter,
  globalAddresses,
  linkNames,
  mapElements,
  PLAN,
  podSnapshot,
  routes,
  type ScratchDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent, expectReached, expectRedirect, expectUnseen, tag } from './kit/expect.js';

const [EGRESS4, EGRESS4_NEW] = PLAN.egress.v4;
const EGRESS6 = PLAN.egress.v6[0];
const POD = PLAN.pod;

let topo: Topology;
let dir: ScratchDir;
let dst1: ServerHandle;
let dst2: ServerHandle;
/** The pod's routes as the harness made them, before any apply. */
let pristineRoutes: Awaited<ReturnType<typeof routes>>;

beforeAll(async () => {
  requireBuiltAgent();
  dir = await createScratchDir('ert-apply-');
  topo = await createTopology();
  [dst1, dst2] = await Promise.all([
    startServer(topo, 'dst1', 'dst1', { tcp: [80, 81] }),
    startServer(topo, 'dst2', 'dst2', { tcp: [80, 8080] }),
  ]);
  pristineRoutes = await routes(topo);
}, 120_000);

afterAll(async () => {
  try {
    await topo?.destroy();
  } finally {
    await dir?.remove();
  }
});

const dualStack = (extra: { master?: string } = {}) =>
  egressRouter({
    ...extra,
    addresses: [
      { ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 },
      { ip: `${EGRESS6}/64`, gateway: PLAN.gw.v6 },
    ],
    rules: [
      { destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' },
      { destinationIP: PLAN.dst2.v4, port: 8080, protocol: 'TCP', targetPort: 80 },
      { destinationIP: PLAN.dst1.v6, port: 80, protocol: 'TCP' },
    ],
  });

const ipv4Only = (address: string, rules: Parameters<typeof egressRouter>[0]['rules']) =>
  egressRouter({ addresses: [{ ip: `${address}/24`, gateway: PLAN.gw.v4 }], rules });

describe('apply failures', () => {
  it('a master that does not exist: exit 1 naming step, reason and object; nothing left behind', async () => {
    const before = await podSnapshot(topo);
    const path = await dir.write('no-master.yaml', dualStack({ master: 'eth9' }));
    const result = await expectAgent(topo, 'apply', path, 1);
    expect(result.stderr).toMatch(/apply failed at step interface \(MasterNotFound\) on eth9: .*eth9/);
    expect(result.stderr).toContain('nothing had been changed');
    // No net1 in the pod, no temporary link in the node, no table, same routes and sysctls.
    expect(await podSnapshot(topo)).toEqual(before);
  });

  it('an off-link destination with no gateway to be found: exit 1 naming the address; nothing changed', async () => {
    const before = await podSnapshot(topo);
    // A /32 egress address: the node's default gateway (192.0.2.1) is not on its subnet.
    const path = await dir.write(
      'no-gateway.yaml',
      egressRouter({
        addresses: [{ ip: `${EGRESS4}/32` }],
        rules: [{ destinationIP: PLAN.far.v4, port: 443, protocol: 'TCP' }],
      }),
    );
    const result = await expectAgent(topo, 'apply', path, 1);
    expect(result.stderr).toMatch(
      new RegExp(`apply failed at step routes \\(GatewayMissing\\) on ${PLAN.far.v4}: .*off-link.*gateway`),
    );
    expect(await podSnapshot(topo)).toEqual(before);
  });

  it('a failure half-way (IPv6 DAD finds the address taken) undoes the interface, addresses and sysctls', async () => {
    await topo.ip('dst2', ['-6', 'address', 'add', `${EGRESS6}/64`, 'dev', 'eth0', 'nodad']);
    try {
      const before = await podSnapshot(topo);
      expect(before.sysctls).toBe('net.ipv4.ip_forward = 0\nnet.ipv6.conf.all.forwarding = 0');
      const path = await dir.write('dad.yaml', dualStack());
      const result = await expectAgent(topo, 'apply', path, 1);
      // It got as far as creating net1 and adding both addresses.
      expect(result.stdout).toContain('created net1');
      expect(result.stdout).toContain(`added address ${EGRESS4}/24 to net1`);
      expect(result.stderr).toMatch(
        new RegExp(`apply failed at step addresses \\(DuplicateAddress\\) on ${EGRESS6}/64: .*${EGRESS6}`),
      );
      expect(result.stderr).toMatch(/rolled back \d+ change\(s\)/);
      expect(result.stderr).not.toContain('rollback problem');
      expect(await podSnapshot(topo)).toEqual(before);
    } finally {
      await topo.ip('dst2', ['-6', 'address', 'del', `${EGRESS6}/64`, 'dev', 'eth0']);
    }
  });
});

describe('master inference with --master-netns, announcements, cleanup', () => {
  const MASTER_MTU = 1400;

  beforeAll(async () => {
    await topo.ip('node', ['link', 'set', 'dev', topo.ifaces.master, 'mtu', String(MASTER_MTU)]);
  });
  afterAll(async () => {
    await topo.ip('node', ['link', 'set', 'dev', topo.ifaces.master, 'mtu', '1500']);
  });

  it('creates net1 on the node eth1 (the subnet holding the egress address), announces it, routes it, and cleans up exactly', async () => {
    const nodeLinks = await linkNames(topo, 'node');
    const path = await dir.write('inferred.yaml', dualStack());
    let applied: Awaited<ReturnType<typeof expectAgent>> | undefined;
    const announced = await capture(
      topo,
      'lan',
      topo.ifaces.lanBridge,
      ['arp or (icmp6 and ip6[40] == 136)'],
      async () => {
        applied = await expectAgent(topo, 'apply', path, 0);
      },
      {
        until: (lines) =>
          lines.some((l) => l.includes(`Reply ${EGRESS4} is-at`)) &&
          lines.some((l) => l.includes(`neighbor advertisement, tgt is ${EGRESS6}`)),
        untilTimeoutMs: 5_000,
      },
    );
    expect(applied?.stdout).toContain(
      `created net1: macvlan bridge on eth1 in the namespace ${topo.masterNetnsPath}`,
    );

    // net1 is a macvlan whose parent is the node's eth1, with the master's MTU.
    const [net1] = await topo.ipJson<
      {
        address: string;
        mtu: number;
        link_index: number;
        link_netnsid: number;
        linkinfo: { info_kind: string; info_data: { mode: string } };
      }[]
    >('pod', ['-d', 'link', 'show', 'net1']);
    const [eth1] = await topo.ipJson<{ ifindex: number }[]>('node', ['link', 'show', topo.ifaces.master]);
    expect(net1?.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
    expect(net1?.link_index).toBe(eth1?.ifindex);
    expect((await topo.ip('pod', ['netns', 'list-id'])).stdout).toContain(
      `nsid ${net1?.link_netnsid} (iproute2 netns name: ${topo.names.node})`,
    );
    expect(net1?.mtu).toBe(MASTER_MTU);
    // The temporary name is gone from the node: it holds exactly the links it had.
    expect(await linkNames(topo, 'node')).toEqual(nodeLinks);
    expect(await globalAddresses(topo, 'pod', 'net1')).toEqual([`${EGRESS4}/24`, `${EGRESS6}/64`].sort());

    // Gratuitous ARP (request and reply style) and an unsolicited NA, from net1's MAC.
    const text = announced.join('\n');
    expect(text).toContain(`Request who-has ${EGRESS4} (ff:ff:ff:ff:ff:ff) tell ${EGRESS4}`);
    expect(text).toContain(`Reply ${EGRESS4} is-at ${net1?.address}`);
    expect(text).toMatch(
      new RegExp(`IP6 ${EGRESS6} > ff02::1: ICMP6, neighbor advertisement, tgt is ${EGRESS6}`),
    );

    for (const family of ['v4', 'v6'] as const) {
      const payload = tag(`inferred-${family}`);
      await expectReached(await tcpRequest(topo, 'client', POD[family], 80, payload), dst1, {
        proto: 'tcp',
        port: 80,
        peer: family === 'v4' ? EGRESS4 : EGRESS6,
        payload,
      });
    }

    // The pod still reaches its node's LAN address (a macvlan cannot reach its master): via eth0.
    const node = await startServer(topo, 'node', 'node', { tcp: [7070] });
    try {
      for (const family of ['v4', 'v6'] as const) {
        const payload = tag(`to-node-${family}`);
        await expectReached(await tcpRequest(topo, 'pod', PLAN.nodeLan[family], 7070, payload), node, {
          proto: 'tcp',
          port: 7070,
          peer: POD[family],
          payload,
        });
      }
    } finally {
      await node.stop();
    }

    const cleaned = await expectAgent(topo, 'cleanup', path, 0);
    expect(cleaned.stdout).toContain('deleted net1 (created by the agent)');
    expect(await routes(topo)).toEqual(pristineRoutes);
    expect(await linkNames(topo, 'pod')).toEqual(['eth0', 'lo']);
    expect((await topo.exec('pod', ['nft', 'list', 'ruleset'])).stdout.trim()).toBe('');

    const again = await expectAgent(topo, 'cleanup', path, 0);
    expect(again.stdout.trim()).toBe('cleanup: nothing to remove');
    expect(await routes(topo)).toEqual(pristineRoutes);
  });
});

describe('re-apply and convergence', () => {
  const first = () => dualStack();
  const second = () =>
    ipv4Only(EGRESS4_NEW, [
      { destinationIP: PLAN.dst1.v4, port: 81, protocol: 'TCP', targetPort: 80 },
      { destinationIP: PLAN.dst2.v4, port: 8080, protocol: 'TCP', targetPort: 80 },
    ]);

  afterAll(async () => {
    await expectAgent(topo, 'cleanup', await dir.write('converge-2.yaml', second()), 0);
    expect(await routes(topo)).toEqual(pristineRoutes);
  });

  it('a second apply of the same config changes nothing and keeps the map counters', async () => {
    const path = await dir.write('converge-1.yaml', first());
    await expectAgent(topo, 'apply', path, 0);
    for (let i = 0; i < 2; i++) {
      const payload = tag('count');
      await expectReached(await tcpRequest(topo, 'client', POD.v4, 80, payload), dst1, {
        proto: 'tcp',
        port: 80,
        peer: EGRESS4,
        payload,
      });
    }
    const counted = await mapElements(topo, 'redirect_addr4');
    expect(counted.get('tcp . 80')).toEqual({ value: PLAN.dst1.v4, packets: 2 });
    expect(counted.get('tcp . 8080')).toEqual({ value: PLAN.dst2.v4, packets: 0 });
    const before = await podSnapshot(topo);

    const again = await expectAgent(topo, 'apply', path, 0);
    expect(again.stdout.trim()).toBe('applied: already in place, nothing changed');
    expect(again.stderr).toBe('');
    expect(await podSnapshot(topo)).toEqual(before);
    expect((await mapElements(topo, 'redirect_addr4')).get('tcp . 80')?.packets).toBe(2);

    const payload = tag('count-after');
    await expectReached(await tcpRequest(topo, 'client', POD.v4, 80, payload), dst1, {
      proto: 'tcp',
      port: 80,
      peer: EGRESS4,
      payload,
    });
    expect((await mapElements(topo, 'redirect_addr4')).get('tcp . 80')?.packets).toBe(3);
  });

  it('converges to a changed config: new address and rule work, the old ones and IPv6 are gone', async () => {
    // From the dual-stack config of the previous test (applied again here: it is idempotent).
    await expectAgent(topo, 'apply', await dir.write('converge-1.yaml', first()), 0);
    const result = await expectAgent(topo, 'apply', await dir.write('converge-2.yaml', second()), 0);
    expect(result.stdout).toContain(`removed address ${EGRESS4}/24 from net1`);
    expect(result.stdout).toContain(`removed address ${EGRESS6}/64 from net1`);
    expect(result.stdout).toContain(`added address ${EGRESS4_NEW}/24 to net1`);
    expect(result.stdout).not.toContain('created net1');

    expect(await globalAddresses(topo, 'pod', 'net1')).toEqual([`${EGRESS4_NEW}/24`]);

    // The removed rule no longer works (no fallback: refused at once), the new one does, with the new SNAT.
    const removed = tag('removed-rule');
    expect(await tcpRequest(topo, 'client', POD.v4, 80, removed)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    await expectRedirect(
      topo,
      'tcp',
      'client',
      POD.v4,
      81,
      dst1,
      { port: 80, peer: EGRESS4_NEW },
      'new-rule',
    );
    await expectRedirect(
      topo,
      'tcp',
      'client',
      POD.v4,
      8080,
      dst2,
      { port: 80, peer: EGRESS4_NEW },
      'kept-rule',
    );
    // IPv6 is no longer routed: no rule, no address; the pod's own default route is back on eth0.
    const v6 = tag('v6-gone');
    expect((await tcpRequest(topo, 'client', POD.v6, 80, v6, 1_500)).ok).toBe(false);
    expectUnseen([dst1, dst2], removed);
    expectUnseen([dst1, dst2], v6);
    const v6Routes = await topo.ipJson<{ dst: string; gateway?: string; dev: string; metric?: number }[]>(
      'pod',
      ['-6', 'route'],
    );
    expect(v6Routes.filter((r) => r.dst === 'default')).toEqual([
      expect.objectContaining({ gateway: PLAN.nodePodSide.v6, dev: 'eth0', metric: 1024 }),
    ]);
    const maps = (await topo.exec('pod', ['nft', '-j', 'list', 'table', 'inet', 'egress_router'])).stdout;
    expect(maps).toContain('redirect_addr4');
    expect(maps).not.toContain('redirect_addr6');
  });
  it('a failed converge (the new IPv6 address is taken) puts the previous addresses, routes and table back', async () => {
    // Applied now: second() (192.0.2.101 only). The new config swaps it for 192.0.2.100 and adds IPv6.
    await expectAgent(topo, 'apply', await dir.write('converge-2.yaml', second()), 0);
    const before = await podSnapshot(topo);
    await topo.ip('dst2', ['-6', 'address', 'add', `${EGRESS6}/64`, 'dev', 'eth0', 'nodad']);
    try {
      const result = await expectAgent(topo, 'apply', await dir.write('converge-3.yaml', first()), 1);
      expect(result.stdout).toContain(`removed address ${EGRESS4_NEW}/24 from net1`);
      expect(result.stderr).toContain('(DuplicateAddress)');
      expect(result.stderr).not.toContain('rollback problem');
    } finally {
      await topo.ip('dst2', ['-6', 'address', 'del', `${EGRESS6}/64`, 'dev', 'eth0']);
    }
    // Removing the last IPv4 address made the kernel drop the default route via net1: it is back too.
    expect(await podSnapshot(topo)).toEqual(before);
    const payload = tag('after-failed-converge');
    await expectReached(await tcpRequest(topo, 'client', POD.v4, 81, payload), dst1, {
      proto: 'tcp',
      port: 80,
      peer: EGRESS4_NEW,
      payload,
    });
  });
});

describe('adopt mode', () => {
  it('adopts an existing net1 without --master-netns; cleanup leaves it in place without the egress addresses', async () => {
    const made = await topo.createAdoptedMacvlan('net1', 'bridge');
    try {
      const path = await dir.write(
        'adopt.yaml',
        ipv4Only(EGRESS4, [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }]),
      );
      const applied = await expectAgent(topo, 'apply', path, 0, { masterNetns: false });
      expect(applied.stdout).toContain('adopted net1 (macvlan bridge)');
      expect(applied.stdout).toContain('brought net1 up');
      expect(applied.stdout).not.toContain('created net1');
      const payload = tag('adopted');
      await expectReached(await tcpRequest(topo, 'client', POD.v4, 80, payload), dst1, {
        proto: 'tcp',
        port: 80,
        peer: EGRESS4,
        payload,
      });

      const cleaned = await expectAgent(topo, 'cleanup', path, 0, { masterNetns: false });
      expect(cleaned.stdout).toContain(`removed address ${EGRESS4}/24 from net1 (adopted interface stays)`);
      const [still] = await topo.ipJson<{ ifindex: number; ifalias?: string }[]>('pod', [
        'link',
        'show',
        'net1',
      ]);
      expect(still?.ifindex).toBe(made.ifindex);
      expect(still?.ifalias).toBeUndefined();
      expect(await globalAddresses(topo, 'pod', 'net1')).toEqual([]);
      // The pod's routes as before, plus the kernel's link-local route of the interface that stays.
      const after = await routes(topo);
      expect(after.v4).toEqual(pristineRoutes.v4);
      expect(after.v6.filter((r) => !/"dst":"fe80::\/64","dev":"net1","protocol":"kernel"/.test(r))).toEqual(
        pristineRoutes.v6,
      );
      expect((await topo.exec('pod', ['nft', 'list', 'ruleset'])).stdout.trim()).toBe('');
    } finally {
      await topo.ip('pod', ['link', 'delete', 'net1'], { reject: false });
    }
  });
});

describe('invalid config', () => {
  const invalid = egressRouter({
    addresses: [{ ip: '192.0.2.300/24', gateway: PLAN.gw.v4 }],
    rules: [{ destinationIP: PLAN.dst1.v4, port: 0, protocol: 'TCP' }],
  });

  it('exits 2 and changes nothing, on a fresh pod and on a configured one', async () => {
    const path = await dir.write('invalid.yaml', invalid);
    const fresh = await podSnapshot(topo);
    const result = await expectAgent(topo, 'apply', path, 2);
    expect(result.stderr).toMatch(/^invalid config in .*invalid\.yaml; nothing was changed:/);
    expect(result.stderr).toContain('192.0.2.300');
    expect(await podSnapshot(topo)).toEqual(fresh);

    const valid = await dir.write(
      'valid.yaml',
      ipv4Only(EGRESS4, [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }]),
    );
    await expectAgent(topo, 'apply', valid, 0);
    try {
      const configured = await podSnapshot(topo);
      await expectAgent(topo, 'apply', path, 2);
      await expectAgent(topo, 'cleanup', path, 2);
      expect(await podSnapshot(topo)).toEqual(configured);
      const payload = tag('after-invalid');
      await expectReached(await tcpRequest(topo, 'client', POD.v4, 80, payload), dst1, {
        proto: 'tcp',
        port: 80,
        peer: EGRESS4,
        payload,
      });
    } finally {
      await expectAgent(topo, 'cleanup', valid, 0);
    }
    expect(await routes(topo)).toEqual(pristineRoutes);
  });
});
