/**
 * Self-test of the network kit's topology options and faults, without the agent (needs root):
 * several router pods on several nodes sharing one LAN (a pod dies and comes back; a node is
 * partitioned from the LAN and healed), per-link MTUs with ICMP too-big dropped (a PMTU black
 * hole), a LAN host claiming addresses (IPv4 conflict, IPv6 DAD failure), the gateway leaving
 * the LAN and coming back, and the sweep of a crashed run's leftovers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtFile,
  capture,
  createScratchDir,
  createTopology,
  egressRouter,
  listNetns,
  NODE,
  namespacePids,
  OWNER_DIR,
  PLAN,
  podHasLink,
  pollUntil,
  run,
  type ServerHandle,
  spawnChild,
  startAgent,
  startServer,
  sweepLeftovers,
  type Topology,
  tcpRequest,
  waitForLinkLocal,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';

interface LinkJson {
  ifname: string;
  mtu: number;
  operstate: string;
  flags: string[];
  master?: string;
  address: string;
}

const mtuOf = async (topo: Topology, ns: string, dev: string): Promise<number | undefined> =>
  (await topo.ipJson<LinkJson[]>(ns, ['link', 'show', dev]))[0]?.mtu;

beforeAll(async () => {
  requireBuiltAgent();
}, 120_000);

describe('several router pods on several nodes, one LAN', () => {
  let topo: Topology;
  const servers: ServerHandle[] = [];

  beforeAll(async () => {
    topo = await createTopology({
      pods: [
        { name: 'p1', node: 'node1' },
        { name: 'p2', node: 'node2' },
      ],
    });
    servers.push(await startServer(topo, 'dst1', 'dst1', { tcp: [80] }));
  }, 120_000);

  afterAll(async () => {
    await topo?.destroy();
  });

  it('puts each pod on its own node, both masters on one LAN bridge, names within 15 characters', async () => {
    expect(Object.keys(topo.names).sort()).toEqual(
      ['client', 'core', 'dst1', 'dst2', 'far', 'gw', 'lan', 'node1', 'node2', 'p1', 'p2'].sort(),
    );
    for (const name of Object.values(topo.names)) expect(name.length).toBeLessThanOrEqual(15);
    expect(topo.pods.map((p) => [p.role, p.node, p.address.v4, p.masterNetnsPath])).toEqual([
      ['p1', 'node1', '198.18.0.2', `/run/netns/${topo.names.node1}`],
      ['p2', 'node2', '198.18.11.2', `/run/netns/${topo.names.node2}`],
    ]);
    const ports = await topo.ipJson<LinkJson[]>('lan', ['link', 'show', 'master', 'br0']);
    expect(ports.map((p) => p.ifname).sort()).toEqual(
      [
        topo.node('node1').lanPort,
        topo.node('node2').lanPort,
        topo.ifaces.lanToDst1,
        topo.ifaces.lanToDst2,
        topo.ifaces.lanToGw,
      ].sort(),
    );
    for (const node of topo.nodes) {
      const shown = await topo.ipJson<{ addr_info: { local: string }[] }[]>(node.role, [
        'addr',
        'show',
        'eth1',
      ]);
      expect(shown[0]?.addr_info.map((a) => a.local)).toContain(node.lan.v4);
    }
  });

  it("lets the client reach each pod's cluster address, IPv4 and IPv6, and each pod reach the LAN through its own node's master", async () => {
    for (const pod of topo.pods) {
      const server = await startServer(topo, pod.role, pod.role, { tcp: [9000] });
      servers.push(server);
      for (const family of ['v4', 'v6'] as const) {
        expect(
          await tcpRequest(topo, 'client', pod.address[family], 9000, `to-${pod.role}-${family}`),
        ).toMatchObject({
          ok: true,
          parsed: { name: pod.role, peer: PLAN.client[family] },
        });
      }
    }
    const [e1, e2] = PLAN.egress.v4;
    await topo.createAdoptedMacvlan('net1', 'bridge', { pod: 'p1', up: true, addresses: [`${e1}/24`] });
    await topo.createAdoptedMacvlan('net1', 'bridge', { pod: 'p2', up: true, addresses: [`${e2}/24`] });
    expect(await tcpRequest(topo, 'p1', PLAN.dst1.v4, 80, 'p1-lan')).toMatchObject({
      ok: true,
      parsed: { peer: e1 },
    });
    expect(await tcpRequest(topo, 'p2', PLAN.dst1.v4, 80, 'p2-lan')).toMatchObject({
      ok: true,
      parsed: { peer: e2 },
    });
    // One pod's macvlan reaches the other's across the two masters: they share the LAN, also by
    // IPv6 link-local (what VRRP signals from).
    expect(await tcpRequest(topo, 'p1', e2 as string, 9000, 'p1-to-p2')).toMatchObject({
      ok: true,
      parsed: { name: 'p2', peer: e1 },
    });
    await waitForLinkLocal(topo, 'p1', 'net1');
    const p2LinkLocal = await waitForLinkLocal(topo, 'p2', 'net1');
    expect(p2LinkLocal).toMatch(/^fe80:/);
    const ping = await topo.exec('p1', ['ping', '-6', '-c', '1', '-W', '2', '-I', 'net1', p2LinkLocal], {
      reject: false,
    });
    expect(ping.exitCode, ping.stdout).toBe(0);
    // nsenter into a pod by its path, as a supervisor that runs programs there would.
    const entered = await run([
      'nsenter',
      `--net=${topo.netnsPath('p2')}`,
      '--',
      'ip',
      '-j',
      'link',
      'show',
      'net1',
    ]);
    expect(entered.stdout).toContain('"ifname":"net1"');
  });

  it('partition() cuts one node from the LAN (its carrier stays up) and heal() puts it back', async () => {
    const [e1, e2] = PLAN.egress.v4;
    await topo.partition('node1');
    try {
      const [port] = await topo.ipJson<LinkJson[]>('lan', ['link', 'show', topo.node('node1').lanPort]);
      expect(port?.master).toBeUndefined();
      const [eth1] = await topo.ipJson<LinkJson[]>('node1', ['link', 'show', 'eth1']);
      expect(eth1?.operstate).toBe('UP');
      expect((await tcpRequest(topo, 'p1', PLAN.dst1.v4, 80, 'cut', 1_000)).ok).toBe(false);
      expect((await tcpRequest(topo, 'p2', e1 as string, 9000, 'cut-peer', 1_000)).ok).toBe(false);
      expect(await tcpRequest(topo, 'p2', PLAN.dst1.v4, 80, 'p2-still')).toMatchObject({
        ok: true,
        parsed: { peer: e2 },
      });
      // The cluster side is not the LAN: the client still reaches the cut node's pod.
      expect(await tcpRequest(topo, 'client', topo.pod('p1').address.v4, 9000, 'cluster')).toMatchObject({
        ok: true,
      });
    } finally {
      await topo.heal('node1');
    }
    await pollUntil(
      async () => (await tcpRequest(topo, 'p1', PLAN.dst1.v4, 80, 'healed', 1_000)).ok,
      10_000,
      'p1 to reach dst1 again',
      200,
    );
  });

  it('killPod() ends the pod: its processes, namespace and links; restorePod() brings a fresh one back', async () => {
    const p1 = topo.pod('p1');
    const inside = await namespacePids(p1.ns);
    expect(inside.length).toBeGreaterThan(0);
    await topo.killPod('p1');
    expect(await listNetns()).not.toContain(p1.ns);
    for (const pid of inside) expect(() => process.kill(pid, 0)).toThrow();
    const nodeLinks = await topo.ipJson<LinkJson[]>('node1', ['link', 'show']);
    expect(nodeLinks.map((l) => l.ifname)).not.toContain(p1.nodeLink);
    expect((await tcpRequest(topo, 'client', p1.address.v4, 9000, 'dead', 1_000)).ok).toBe(false);
    // The other pod is untouched.
    expect(await tcpRequest(topo, 'client', topo.pod('p2').address.v4, 9000, 'alive')).toMatchObject({
      ok: true,
    });

    await topo.restorePod('p1');
    const links = await topo.ipJson<LinkJson[]>('p1', ['link', 'show']);
    expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    const back = await startServer(topo, 'p1', 'p1-again', { tcp: [9000] });
    servers.push(back);
    for (const family of ['v4', 'v6'] as const) {
      expect(await tcpRequest(topo, 'client', p1.address[family], 9000, `back-${family}`)).toMatchObject({
        ok: true,
        parsed: { name: 'p1-again', peer: PLAN.client[family] },
      });
    }
  });

  it("runs the built agent in a chosen pod with its own node's master: ready, redirecting, stopped by pid", async () => {
    const dir = await createScratchDir('ert-kit-agent-');
    try {
      const config = await dir.write(
        'p1.yaml',
        egressRouter({
          addresses: [{ ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 }],
          rules: [{ destinationIP: PLAN.dst1.v4, port: 8080, protocol: 'TCP', targetPort: 80 }],
        }),
      );
      const agent = await startAgent(topo, config, { pod: 'p1', args: ['--cleanup-on-exit'] });
      try {
        expect(agent.pod).toBe('p1');
        await agent.waitReady();
        expect(
          agent.logs.some((l) => l.msg.includes(`in the namespace ${topo.pod('p1').masterNetnsPath}`)),
        ).toBe(true);
        expect((await agent.http('/readyz')).status).toBe(200);
        expect(await tcpRequest(topo, 'client', topo.pod('p1').address.v4, 8080, 'via-agent')).toMatchObject({
          ok: true,
          parsed: { name: 'dst1', peer: PLAN.egress.v4[0], port: 80 },
        });
      } finally {
        expect(await agent.stop(15_000)).toBe(0);
      }
      expect(agent.logs.at(-1)?.msg).toBe('stopped');
      expect(await podHasLink(topo, 'net1', 'p1')).toBe(false);
    } finally {
      await dir.remove();
    }
  });
});

describe('per-link MTUs and dropped ICMP too-big', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await createTopology({ mtu: { podCluster: 1400, clients: 1460, far: 1480 } });
    for (const name of ['dst1', 'far']) await startServer(topo, name, name, { tcp: [80] });
  }, 120_000);

  afterAll(async () => {
    await topo?.destroy();
  });

  it('sets the MTU on both ends of the chosen links and leaves the others at 1500', async () => {
    const expected: [string, string, number][] = [
      ['pod', 'eth0', 1400],
      ['node', topo.ifaces.nodeToPod, 1400],
      ['client', 'eth0', 1460],
      ['node', topo.ifaces.nodeToClient, 1460],
      ['gw', topo.ifaces.gwFar, 1480],
      ['far', 'eth0', 1480],
      ['node', 'eth1', 1500],
      ['lan', topo.ifaces.lanToGw, 1500],
      ['dst1', 'eth0', 1500],
      ['gw', 'eth0', 1500],
    ];
    for (const [ns, dev, mtu] of expected) expect(await mtuOf(topo, ns, dev), `${ns}/${dev}`).toBe(mtu);
  });

  it("the pod's narrower cluster link answers a too-big packet with ICMP, unless the sender drops ICMP", async () => {
    // 1408 (IPv4) and 1428 (IPv6) bytes: more than the pod link's 1400, less than the client's 1460.
    const size = '1380';
    const ping = (family: 'v4' | 'v6') =>
      topo.exec(
        'client',
        ['ping', `-${family[1]}`, '-c', '1', '-W', '1', '-M', 'do', '-s', size, PLAN.pod[family]],
        {
          reject: false,
        },
      );
    const drop = await topo.dropIcmpTooBig('client');
    try {
      for (const family of ['v4', 'v6'] as const) {
        const silent = await ping(family);
        expect(silent.exitCode).not.toBe(0);
        expect(silent.stdout).not.toMatch(/mtu ?= ?1400/);
      }
    } finally {
      await drop.restore();
    }
    expect((await ping('v4')).stdout).toMatch(/Frag needed and DF set \(mtu = 1400\)/);
    expect((await ping('v6')).stdout).toMatch(/Packet too big: mtu=1400/);
  });

  it('with the pod forwarding between its narrower cluster side and the LAN, ICMP dropped at the far end or at the gateway stalls a download; without the drop it completes', async () => {
    // The egress router's path without its NAT: client (1460) → node → pod eth0 (1400) → net1 →
    // LAN (1500) → dst1, or → gw → far (1480). Replies need full-sized segments the pod cannot
    // forward into eth0: only its ICMP (PMTU discovery) can tell the sender.
    const [e4] = PLAN.egress.v4;
    const [e6] = PLAN.egress.v6;
    await topo.createAdoptedMacvlan('net1', 'bridge', { up: true, addresses: [`${e4}/24`] });
    await topo.ip('pod', ['address', 'add', `${e6}/64`, 'dev', 'net1', 'nodad']);
    await topo.exec('pod', [
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      '-w',
      'net.ipv6.conf.all.forwarding=1',
    ]);
    for (const family of ['v4', 'v6'] as const) {
      const e = family === 'v4' ? (e4 as string) : (e6 as string);
      const client = family === 'v4' ? '198.18.1.0/24' : '2001:db8:0:1::/64';
      for (const host of [PLAN.dst1, PLAN.far])
        await topo.ip('node', ['route', 'add', host[family], 'via', PLAN.pod[family]]);
      await topo.ip('pod', ['route', 'add', PLAN.farNet[family], 'via', PLAN.gw[family], 'dev', 'net1']);
      await topo.ip('dst1', ['route', 'add', client, 'via', e]);
      await topo.ip('gw', ['route', 'add', client, 'via', e]);
    }
    const download = (server: 'dst1' | 'far', family: 'v4' | 'v6', timeoutMs = 3_000) =>
      tcpRequest(topo, 'client', PLAN[server][family], 80, 'bulk 20000', timeoutMs);
    // Before anything has been learnt, ICMP too-big dropped where it would be needed stalls it.
    for (const [where, server] of [
      ['dst1', 'dst1'],
      ['far', 'far'],
      ['gw', 'far'],
    ] as const) {
      const drop = await topo.dropIcmpTooBig(where);
      try {
        for (const family of ['v4', 'v6'] as const) {
          const stalled = await download(server, family);
          const what = `${server} ${family} with ICMP dropped at ${where}: ${JSON.stringify(stalled).slice(0, 200)}`;
          expect(stalled.ok && stalled.complete, what).toBe(false);
        }
      } finally {
        // The stalled replies are still being retransmitted by the closed (orphaned) sockets: abort
        // them before ICMP flows again, or the sender would learn the path MTU from them and the
        // next case would prove nothing.
        await topo.exec(server, ['ss', '-K', '-t', 'state', 'connected', '( sport = :80 )']);
        await drop.restore();
      }
    }
    for (const server of ['dst1', 'far'] as const) {
      for (const family of ['v4', 'v6'] as const) {
        const done = await download(server, family, 10_000);
        expect(done).toMatchObject({
          ok: true,
          complete: true,
          parsed: { name: server, payload: 'bulk 20000' },
        });
        expect(done.ok && done.bytes).toBeGreaterThan(20_000);
        // The sender learnt the path MTU from the pod's ICMP.
        expect((await topo.ip(server, ['route', 'get', PLAN.client[family]])).stdout).toMatch(/mtu 1400/);
      }
    }
  });
});

describe('a LAN host that claims addresses, and the gateway leaving the LAN', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await createTopology({ lanHost: true, mtu: { lan: 1450 } });
    await startServer(topo, 'far', 'far', { tcp: [80] });
  }, 120_000);

  afterAll(async () => {
    await topo?.destroy();
  });

  it('sets the LAN MTU on every LAN link (masters, hosts, gateway), both ends', async () => {
    for (const [ns, dev] of [
      ['node', 'eth1'],
      ['lan', topo.ifaces.lanToNode],
      ['lan', topo.ifaces.lanToGw],
      ['lan', 'br0'],
      ['dst1', 'eth0'],
      ['host', 'eth0'],
      ['gw', 'eth0'],
    ] as const)
      expect(await mtuOf(topo, ns, dev), `${ns}/${dev}`).toBe(1450);
    expect(await mtuOf(topo, 'pod', 'eth0')).toBe(1500);
  });

  it('claimAddress() on IPv4 answers ARP probes for it (a conflict) until released', async () => {
    const probe = () =>
      topo.exec('dst1', ['arping', '-D', '-c', '2', '-w', '3', '-I', 'eth0', PLAN.egress.v4[0]], {
        reject: false,
      });
    const [host] = await topo.ipJson<LinkJson[]>('host', ['link', 'show', 'eth0']);
    const claim = await topo.claimAddress(`${PLAN.egress.v4[0]}/24`);
    try {
      const taken = await probe();
      expect(taken.exitCode).toBe(1);
      expect(taken.stdout.toLowerCase()).toContain(host?.address);
    } finally {
      await claim.release();
    }
    expect((await probe()).exitCode).toBe(0);
  });

  it("claimAddress() on IPv6 makes another host's duplicate address detection fail", async () => {
    const address = `${PLAN.egress.v6[0]}/64`;
    const claim = await topo.claimAddress(address);
    try {
      await topo.ip('dst1', ['-6', 'address', 'add', address, 'dev', 'eth0']);
      await pollUntil(
        async () => {
          const [eth0] = await topo.ipJson<{ addr_info: { local: string; dadfailed?: boolean }[] }[]>(
            'dst1',
            ['-6', 'address', 'show', 'dev', 'eth0'],
          );
          return eth0?.addr_info.some((a) => a.local === PLAN.egress.v6[0] && a.dadfailed === true) ?? false;
        },
        10_000,
        'DAD to fail on dst1',
        100,
      );
    } finally {
      await topo.ip('dst1', ['-6', 'address', 'del', address, 'dev', 'eth0'], { reject: false });
      await claim.release();
    }
  });

  it('claimAddress({ announce }) tells the LAN: gratuitous ARP and an unsolicited neighbour advertisement', async () => {
    const [host] = await topo.ipJson<LinkJson[]>('host', ['link', 'show', 'eth0']);
    const v4 = PLAN.egress.v4[1] as string;
    const v6 = PLAN.egress.v6[1] as string;
    const claims: Awaited<ReturnType<Topology['claimAddress']>>[] = [];
    try {
      const lines = await capture(
        topo,
        'dst1',
        'eth0',
        ['arp or (icmp6 and ip6[40] == 136)'],
        async () => {
          claims.push(await topo.claimAddress(`${v4}/24`, { announce: true }));
          claims.push(await topo.claimAddress(`${v6}/64`, { announce: true }));
        },
        {
          until: (seen) =>
            seen.some((l) => l.includes(`Reply ${v4} is-at`)) && seen.some((l) => l.includes(`tgt is ${v6}`)),
        },
      );
      const text = lines.join('\n');
      expect(text).toContain(`Request who-has ${v4} (ff:ff:ff:ff:ff:ff) tell ${v4}`);
      expect(text).toContain(`Reply ${v4} is-at ${host?.address}`);
      expect(text).toContain(`IP6 ${v6} > ff02::1: ICMP6, neighbor advertisement, tgt is ${v6}`);
    } finally {
      for (const claim of claims) await claim.release();
    }
  });

  for (const how of ['link-down', 'namespace'] as const) {
    it(`gatewayOff('${how}') takes the gateway off the LAN and gatewayOn() brings it back`, async () => {
      const reach = (timeoutMs = 3_000) =>
        tcpRequest(topo, 'dst1', PLAN.far.v4, 80, `via-gw-${how}`, timeoutMs);
      expect(await reach()).toMatchObject({ ok: true, parsed: { name: 'far', peer: PLAN.dst1.v4 } });
      await topo.gatewayOff(how);
      try {
        if (how === 'namespace') expect(await listNetns()).not.toContain(topo.names.gw);
        else {
          const [eth0] = await topo.ipJson<LinkJson[]>('gw', ['link', 'show', 'eth0']);
          expect(eth0?.flags).toEqual(expect.arrayContaining(['NO-CARRIER', 'UP']));
        }
        expect((await reach(1_500)).ok).toBe(false);
        expect(
          (await topo.exec('dst1', ['ping', '-c', '1', '-W', '1', PLAN.gw.v4], { reject: false })).exitCode,
        ).not.toBe(0);
      } finally {
        await topo.gatewayOn();
      }
      await pollUntil(async () => (await reach(1_000)).ok, 10_000, 'far through the gateway again', 200);
      expect(await reach()).toMatchObject({ ok: true, parsed: { name: 'far', peer: PLAN.dst1.v4 } });
      for (const family of ['v4', 'v6'] as const) {
        const blackholed = await tcpRequest(topo, 'dst1', PLAN.blackhole[family], 80, 'x', 700);
        expect(blackholed).toMatchObject({ ok: false, error: 'timeout' });
      }
    });
  }
});

describe('the sweep of crashed runs', () => {
  it('removes what a killed run left, and never a live run nor a kit-looking namespace without an owner record', async () => {
    const live = await createTopology({ ipv6: false });
    const strayPrefix = `ert${randomBytes(3).toString('hex')}-`;
    const stray = `${strayPrefix}x`;
    await run(['ip', 'netns', 'add', stray]);
    // A run that dies without tearing down: it claims a prefix, makes a namespace, starts a
    // process inside it, and is SIGKILLed.
    const script = `
      const kit = await import(${JSON.stringify(builtFile('netkit/index.js'))});
      const ns = await kit.createScratchNamespace();
      kit.spawnChild(['ip', 'netns', 'exec', ns.name, 'sleep', '600']);
      console.log(ns.name);
      setInterval(() => {}, 1000);
    `;
    const crashing = spawnChild([NODE, '--input-type=module', '-e', script]);
    try {
      let name = '';
      crashing.stdout.setEncoding('utf8');
      crashing.stdout.on('data', (chunk: string) => {
        name += chunk;
      });
      await pollUntil(() => name.includes('\n'), 15_000, 'the crashing run to make its namespace');
      name = name.trim();
      const prefix = name.slice(0, 10);
      const sleeper = (await namespacePids(name))[0];
      expect(sleeper).toBeDefined();
      crashing.kill('SIGKILL');
      await crashing.exited;
      expect(await listNetns()).toContain(name);

      const report = await sweepLeftovers();
      // Every new topology sweeps first, so a test file running beside this one may have swept
      // these leftovers before us (its report names them, not ours). Either way they are gone:
      // the checks below hold for whoever swept.
      if (report.prefixes.includes(prefix)) expect(report.namespaces).toContain(name);
      else expect(report.namespaces).not.toContain(name);
      expect(report.prefixes).not.toContain(live.prefix);
      expect(report.prefixes).not.toContain(strayPrefix);
      const after = await listNetns();
      expect(after).not.toContain(name);
      expect(after).toContain(stray);
      for (const ns of Object.values(live.names)) expect(after).toContain(ns);
      await pollUntil(
        () => {
          try {
            process.kill(sleeper as number, 0);
            return false;
          } catch {
            return true;
          }
        },
        5_000,
        "the crashed run's process to be gone",
      );
      expect((await run(['ls', OWNER_DIR])).stdout).not.toContain(prefix);
    } finally {
      crashing.kill('SIGKILL');
      await run(['ip', 'netns', 'delete', stray], { reject: false });
      await live.destroy();
    }
  });
});
