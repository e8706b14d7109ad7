// The agent's own apply and cleanup (src/agent/apply.ts), unchanged, against the fake kernel:
// the kube-proxy way of testing a control loop. A pass is compared as a dump; a second pass
// changes nothing and only reads; drift is repaired alone, in one process; cleanup gives back
// exactly the namespace it found; a kernel refusal half-way is undone.
import { beforeEach, describe, expect, it } from 'vitest';
import { ApplyFailure, apply, cleanup } from '../../../src/agent/apply.js';
import type { ApplyOptions } from '../../../src/agent/context.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';
import { createFakeKernel, egressRouterTopology, FAKE_TOPOLOGY, type FakeKernel } from '../../fake/index.js';

const CONFIG = `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: { name: fake }
spec:
  networkInterface: { macvlan: { mode: Bridge, master: eth1 } }
  addresses:
    - { ip: 192.0.2.100/24, gateway: 192.0.2.1 }
    - { ip: 2001:db8:100::100/64, gateway: 2001:db8:100::1 }
  redirect:
    redirectRules:
      - { destinationIP: 192.0.2.10, port: 80, protocol: TCP }
      - { destinationIP: 2001:db8:100::10, port: 443, protocol: TCP }
`;

const OPTIONS: ApplyOptions = {
  ...DEFAULT_OPTIONS,
  masterNetns: FAKE_TOPOLOGY.node,
  clusterCidrs: [FAKE_TOPOLOGY.cluster.v4, FAKE_TOPOLOGY.cluster.v6],
};

/** The pod's namespace after a pass, up to the table (which is the rendered one, checked apart). */
const ROUTER = `link eth0 veth peer /run/netns/node:pod0 up mtu 1500
link lo loopback up mtu 65536
link net1 macvlan mode bridge master /run/netns/node:eth1 up mtu 1500 alias "egress-router-agent: created"
address eth0 198.18.0.2/24
address eth0 2001:db8::2/64 nodad
address net1 192.0.2.100/24
address net1 2001:db8:100::100/64
route default via 192.0.2.1 dev net1 proto 77
route default via 198.18.0.1 dev eth0 metric 30000
route 192.0.2.0/24 dev net1 proto kernel scope link src 192.0.2.100
route 192.0.2.1 dev net1 proto 77 scope link
route 192.0.2.5 via 198.18.0.1 dev eth0 proto 77
route 198.18.0.0/24 dev eth0 proto kernel scope link src 198.18.0.2
route 198.18.0.0/15 via 198.18.0.1 dev eth0
route default via 198.18.0.1 dev eth0 table 17746 proto 77
route 198.18.0.0/24 dev eth0 table 17746 proto 77 scope link
route 2001:db8::/64 dev eth0 proto kernel metric 256
route 2001:db8::/48 via 2001:db8::1 dev eth0 metric 1024
route 2001:db8:100::1 dev net1 proto 77 metric 1024
route 2001:db8:100::5 via 2001:db8::1 dev eth0 proto 77 metric 1024
route 2001:db8:100::/64 dev net1 proto kernel metric 256
route default via 2001:db8:100::1 dev net1 proto 77 metric 1024
route default via 2001:db8::1 dev eth0 metric 30000
route 2001:db8::/64 dev eth0 table 17746 proto 77 metric 1024
route default via 2001:db8::1 dev eth0 table 17746 proto 77 metric 1024
rule ipv4 17746: from all fwmark 0x4552 lookup 17746 proto 77
rule ipv4 17747: from all nop proto 77
rule ipv4 17748: from all fwmark 0x3e8 nop proto 77
rule ipv6 17746: from all fwmark 0x4552 lookup 17746 proto 77
rule ipv6 17747: from all nop proto 77
rule ipv6 17748: from all fwmark 0x64 nop proto 77
sysctl net.ipv4.icmp_ratelimit = 0
sysctl net.ipv4.ip_forward = 1
sysctl net.ipv6.conf.all.forwarding = 1
sysctl net.ipv6.conf.net1.ndisc_notify = 1
sysctl net.ipv6.icmp.ratelimit = 0
table inet egress_router {
`;

let fake: FakeKernel;
let config: RouterConfig;

const pass = () => apply(config, OPTIONS, { system: fake.system() });
const argvs = () => fake.commands().map((c) => c.argv.join(' '));
const POD_READS = ['ip -json -details -batch -', 'ip -6 -json rule show'];
/** The node's namespace: links, addresses and routes in one process (its rules are never read). */
const NODE_READ = 'nsenter --net=/run/netns/node -- ip -json -details -batch -';
const READS = [...POD_READS, NODE_READ];

beforeEach(async () => {
  fake = createFakeKernel({ timing: 'instant' });
  await egressRouterTopology(fake);
  const loaded = loadConfigText(CONFIG, DEFAULT_OPTIONS);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  config = loaded.config;
});

describe('apply and cleanup against the fake kernel', () => {
  it('a pass builds the router: interface from the node’s namespace, sysctls, addresses, routes, table', async () => {
    const result = await pass();
    const dump = fake.dump();
    expect(
      dump.slice(0, dump.indexOf('table inet egress_router {') + 'table inet egress_router {\n'.length),
    ).toBe(ROUTER);
    expect(fake.dump(FAKE_TOPOLOGY.node)).not.toContain('ertmp');
    expect(result.changes.length).toBeGreaterThan(10);
    // Announcements go out without holding the pass up: gratuitous ARP both ways, one NA.
    expect(fake.announcements().map((a) => a.argv[0])).toEqual(['arping', 'arping', 'na6']);
  });

  it('a second pass changes nothing and only reads the kernel', async () => {
    await pass();
    const dump = fake.dump();
    fake.clearCommands();
    const again = await pass();
    expect(again.changes).toEqual([]);
    expect(argvs()).toEqual([...READS, 'nft -j list table inet egress_router']);
    expect(fake.dump()).toBe(dump);
  });

  it('drift is repaired alone, in one process', async () => {
    await pass();
    const dump = fake.dump();
    await fake.deleteRoute(['default', 'via', '192.0.2.1', 'dev', 'net1']);
    fake.clearCommands();
    const repair = await pass();
    expect(repair.changes.map((c) => c.message)).toEqual(['added route default via 192.0.2.1 dev net1']);
    const writes = fake
      .commands()
      .filter((c) => !READS.includes(c.argv.join(' ')) && !/ list /.test(c.argv.join(' ')));
    expect(writes.map((c) => [c.argv.join(' '), c.input])).toEqual([
      ['ip -4 -batch -', 'route replace default via 192.0.2.1 dev net1 proto 77\n'],
    ]);
    expect(fake.dump()).toBe(dump);
  });

  it('a lost map element is put back without touching the other elements’ counters', async () => {
    await pass();
    fake.countConnection('tcp', 443);
    await fake.deleteElement('egress_router', 'redirect_addr4', { concat: ['tcp', 80] });
    const repair = await pass();
    expect(repair.changes.map((c) => c.kind)).toEqual(['nftables']);
    const listing = await fake
      .system()
      .pod.run(['nft', '-j', 'list', 'map', 'inet', 'egress_router', 'redirect_addr6']);
    expect(listing).toContain('"counter": {"packets": 1, "bytes": 60}');
    expect(fake.dump()).toContain('elements = { tcp . 80 : 192.0.2.10 }');
  });

  it('cleanup gives back exactly the namespace it found', async () => {
    const before = { pod: fake.dump(), node: fake.dump(FAKE_TOPOLOGY.node) };
    await pass();
    const result = await cleanup(config, OPTIONS, { system: fake.system() });
    expect(result.failures).toEqual([]);
    expect({ pod: fake.dump(), node: fake.dump(FAKE_TOPOLOGY.node) }).toEqual(before);
  });

  it('a table the kernel refuses undoes the whole pass', async () => {
    const before = fake.dump();
    fake.failNext(/^nft -j -f/, {
      stderr: 'internal:0:0-0: Error: Could not process rule: Operation not permitted\n\n',
    });
    const failure = await pass().then(
      () => expect.unreachable('apply succeeded'),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ApplyFailure);
    expect((failure as ApplyFailure).undoFailures).toEqual([]);
    expect((failure as Error).message).toContain('Operation not permitted');
    expect(fake.dump()).toBe(before);
  });
});

describe('processes of a first pass', () => {
  const programs = () => argvs().map((a) => a.replace(/\/tmp\/egress-router-nft-\w+\//, 'TMP/'));

  it('the pod is read twice (before, and to verify), the node once, and writes share one ip -batch per family', async () => {
    await pass();
    const run = programs();
    for (const read of POD_READS) expect(run.filter((a) => a === read)).toHaveLength(2);
    // The pass changed nothing in the node's namespace (the link is born in the pod's).
    expect(run.filter((a) => a === NODE_READ)).toHaveLength(1);
    // The pod: the interface's lines; the forwarding and rate-limit records of each family;
    // then each family's address, routes and reply routing.
    expect(run.filter((a) => /^ip (-[46] )?-batch -$/.test(a))).toEqual([
      'ip -batch -',
      'ip -4 -batch -',
      'ip -6 -batch -',
      'ip -4 -batch -',
      'ip -6 -batch -',
    ]);
  });

  it('a table that was not there loads while the ARP probe waits, before the address is added', async () => {
    await pass();
    const run = programs();
    const probe = run.indexOf('arping -D -c 2 -w 2 -I net1 192.0.2.100');
    expect(probe).toBeGreaterThan(run.indexOf('nft -c -j -f TMP/batch.json'));
    expect(run.slice(probe + 1, probe + 3)).toEqual([
      'nft -j -f TMP/batch.json',
      'nft -j list table inet egress_router',
    ]);
    const addressAdded = fake.commands().findIndex((c) => c.input?.startsWith('address add 192.0.2.100/24'));
    expect(addressAdded).toBeGreaterThan(probe + 2);
  });

  it('an address another host holds fails the pass after that early load, and the undo deletes the table too', async () => {
    const before = fake.dump();
    fake.lan.claim('192.0.2.100');
    const failure = await pass().then(
      () => expect.unreachable('apply succeeded'),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ApplyFailure);
    expect((failure as ApplyFailure).failure.reason).toBe('DuplicateAddress');
    expect((failure as ApplyFailure).undoFailures).toEqual([]);
    expect(programs()).toContain('nft -j -f TMP/batch.json');
    expect(fake.dump()).toBe(before);
  });
});
