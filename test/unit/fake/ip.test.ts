// The fake kernel's `ip` side, read through the project's own `ip -json` readers
// (src/link/iproute.ts) where they exist: what the kernel does around each command (routes an
// address brings and takes away, link down/up, moves between namespaces), and its refusals.
// test/netns/fake-fidelity.test.ts checks the same behaviour against the real kernel.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '../../../src/system/command.js';
import { createFakeKernel, egressRouterTopology, FAKE_TOPOLOGY, type FakeKernel } from '../../fake/index.js';
import { findLink, listAddresses, listRoutes, listRules } from './read.js';

let fake: FakeKernel;
let pod: Runner;
let node: Runner;

beforeEach(async () => {
  fake = createFakeKernel({ timing: 'instant' });
  await egressRouterTopology(fake);
  const system = fake.system();
  pod = system.pod;
  node = system.namespace(FAKE_TOPOLOGY.node);
});

/** What the agent does to bring its macvlan into the pod (src/agent/steps/link.ts). */
async function createNet1(): Promise<void> {
  await node.run(['ip', 'link', 'add', 'ert0f00', 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']);
  await node.run(['ip', 'link', 'set', 'dev', 'ert0f00', 'netns', String(process.pid)]);
  await pod.run(['ip', 'link', 'set', 'dev', 'ert0f00', 'name', 'net1']);
  await pod.run(['ip', 'link', 'set', 'dev', 'net1', 'alias', 'egress-router-agent: created', 'up']);
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('the command succeeded'),
    (error: { exitCode?: number; stderr?: string }) => ({ exitCode: error.exitCode, stderr: error.stderr }),
  );

describe('fake ip: links', () => {
  it('moves a macvlan made on a master in another namespace into the pod by the agent’s pid', async () => {
    await createNet1();
    const net1 = await findLink(pod, 'net1');
    expect(net1).toMatchObject({
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      ifalias: 'egress-router-agent: created',
      linkinfo: { info_kind: 'macvlan', info_data: { mode: 'bridge' } },
    });
    // The master is in another namespace: ip names it by index and netnsid, not by name.
    expect(net1).toHaveProperty('link_index');
    expect(net1).toHaveProperty('link_netnsid');
    expect(net1).not.toHaveProperty('link');
    expect(fake.dump()).toContain(
      'link net1 macvlan mode bridge master /run/netns/node:eth1 up mtu 1500 alias "egress-router-agent: created"',
    );
    expect(fake.dump(FAKE_TOPOLOGY.node)).not.toContain('ert0f00');
  });

  it('loses carrier with its master, and is deleted with it', async () => {
    await createNet1();
    await node.run(['ip', 'link', 'set', 'dev', 'eth1', 'down']);
    expect((await findLink(pod, 'net1'))?.flags).toEqual(['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP']);
    await node.run(['ip', 'link', 'delete', 'dev', 'eth1']);
    expect(await findLink(pod, 'net1')).toBeUndefined();
  });

  it('refuses what the kernel refuses', async () => {
    await createNet1();
    const add = (name: string, mode: string) =>
      node.run(['ip', 'link', 'add', name, 'link', 'eth1', 'type', 'macvlan', 'mode', mode]);
    expect(await failure(add('ertpt', 'passthru'))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: Invalid argument\n',
    });
    expect(
      await failure(pod.run(['ip', 'link', 'set', 'dev', 'net1', 'type', 'macvlan', 'mode', 'passthru'])),
    ).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: Invalid argument\n',
    });
    expect(await failure(pod.run(['ip', 'link', 'set', 'dev', 'net1', 'mtu', '9000']))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: Invalid argument\n',
    });
    expect(await failure(pod.run(['ip', 'link', 'set', 'dev', 'net1', 'name', 'eth0']))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: File exists\n',
    });
    expect(await failure(pod.run(['ip', 'link', 'set', 'dev', 'net1', 'netns', '999999999']))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: No such process\n',
    });
    expect(await failure(pod.run(['ip', '-json', 'link', 'show', 'dev', 'net9']))).toEqual({
      exitCode: 1,
      stderr: 'Device "net9" does not exist.\n',
    });
    // `address` is a generic link option: after `type macvlan` ip refuses it.
    const late = await failure(
      node.run([
        'ip',
        'link',
        'add',
        'ertmac',
        'link',
        'eth1',
        'type',
        'macvlan',
        'mode',
        'bridge',
        'address',
        '02:00:00:00:00:01',
      ]),
    );
    expect(late.stderr).toMatch(/^macvlan: unknown option "address"\?\nUsage:/);
    await node.run([
      'ip',
      'link',
      'add',
      'ertmac',
      'address',
      '02:00:00:00:00:01',
      'link',
      'eth1',
      'type',
      'macvlan',
      'mode',
      'bridge',
    ]);
    expect((await findLink(node, 'ertmac'))?.address).toBe('02:00:00:00:00:01');
  });

  it('changes the mode in place between non-passthru modes; a passthru macvlan takes its master’s MAC', async () => {
    await createNet1();
    await pod.run(['ip', 'link', 'set', 'dev', 'net1', 'type', 'macvlan', 'mode', 'private']);
    expect((await findLink(pod, 'net1'))?.linkinfo?.info_data?.mode).toBe('private');
    await node.run(['ip', 'link', 'add', 'vx', 'type', 'veth', 'peer', 'name', 'vy']);
    await node.run(['ip', 'link', 'add', 'ertpt', 'link', 'vx', 'type', 'macvlan', 'mode', 'passthru']);
    expect((await findLink(node, 'ertpt'))?.address).toBe((await findLink(node, 'vx'))?.address);
    expect(
      await failure(
        node.run(['ip', 'link', 'add', 'ertb', 'link', 'vx', 'type', 'macvlan', 'mode', 'bridge']),
      ),
    ).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: Invalid argument\n',
    });
  });
});

describe('fake ip: addresses and the routes the kernel makes', () => {
  beforeEach(createNet1);

  it('an IPv4 address brings its connected, local and broadcast routes; a second one in the subnet is secondary', async () => {
    await pod.run(['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']);
    await pod.run(['ip', 'address', 'add', '192.0.2.101/24', 'dev', 'net1']);
    const addresses = (await listAddresses(pod, 'net1')).filter((a) => a.family === 'inet');
    expect(addresses.map((a) => [a.local, (a as { secondary?: boolean }).secondary ?? false])).toEqual([
      ['192.0.2.100', false],
      ['192.0.2.101', true],
    ]);
    expect((await listRoutes(pod, 4)).filter((r) => r.dev === 'net1')).toEqual([
      {
        dst: '192.0.2.0/24',
        dev: 'net1',
        protocol: 'kernel',
        scope: 'link',
        prefsrc: '192.0.2.100',
        flags: [],
      },
    ]);
    const local = await listRoutes(pod, 4, 'local');
    expect(
      local.filter((r) => r.dev === 'net1').map((r) => `${(r as { type?: string }).type} ${r.dst}`),
    ).toEqual(['local 192.0.2.100', 'local 192.0.2.101', 'broadcast 192.0.2.255']);
    // Without promote_secondaries, the primary takes its secondaries with it.
    await pod.run(['ip', 'address', 'delete', '192.0.2.100/24', 'dev', 'net1']);
    expect(await listAddresses(pod, 'net1')).not.toContainEqual(expect.objectContaining({ family: 'inet' }));
  });

  it('removing the last IPv4 address drops every IPv4 route through the device, the agent’s default included', async () => {
    await pod.run(['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']);
    await pod.run([
      'ip',
      '-4',
      'route',
      'replace',
      'default',
      'via',
      '192.0.2.1',
      'dev',
      'net1',
      'proto',
      '77',
    ]);
    await pod.run([
      'ip',
      '-4',
      'route',
      'replace',
      '198.51.100.0/24',
      'via',
      '192.0.2.1',
      'dev',
      'net1',
      'table',
      '17746',
    ]);
    await pod.run(['ip', 'address', 'delete', '192.0.2.100/24', 'dev', 'net1']);
    expect((await listRoutes(pod, 4)).filter((r) => r.dev === 'net1')).toEqual([]);
    expect(await listRoutes(pod, 4, '17746')).toEqual([]);
    // `replace` had taken the pod's own default over (same table, destination and metric 0).
    expect((await listRoutes(pod, 4)).map((r) => r.dst)).toEqual(['198.18.0.0/24', '198.18.0.0/15']);
  });

  it('link down keeps IPv4 addresses but drops their routes and every IPv6 address; up restores only the kernel’s routes', async () => {
    await pod.run(['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']);
    await pod.run(['ip', '-6', 'address', 'add', '2001:db8:100::100/64', 'dev', 'net1', 'nodad']);
    await pod.run([
      'ip',
      '-4',
      'route',
      'replace',
      'default',
      'via',
      '192.0.2.1',
      'dev',
      'net1',
      'proto',
      '77',
      'metric',
      '10',
    ]);
    await pod.run(['ip', 'link', 'set', 'dev', 'net1', 'down']);
    expect((await listAddresses(pod, 'net1')).map((a) => a.local)).toEqual(['192.0.2.100']);
    await pod.run(['ip', 'link', 'set', 'dev', 'net1', 'up']);
    expect((await listRoutes(pod, 4)).filter((r) => r.dev === 'net1').map((r) => r.dst)).toEqual([
      '192.0.2.0/24',
    ]);
    expect((await listAddresses(pod, 'net1')).map((a) => `${a.local} ${a.scope}`)).toEqual([
      '192.0.2.100 global',
      expect.stringMatching(/^fe80::[0-9a-f:]+ link$/),
    ]);
  });

  it('IPv6: DAD fails for an address a LAN host holds; the prefix route comes with the address', async () => {
    fake.lan.claim('2001:db8:100::101');
    await pod.run(['ip', '-6', 'address', 'add', '2001:db8:100::101/64', 'dev', 'net1']);
    await pod.run(['ip', '-6', 'address', 'add', '2001:db8:100::100/64', 'dev', 'net1']);
    expect((await listAddresses(pod, 'net1')).filter((a) => a.scope === 'global')).toEqual([
      expect.objectContaining({ local: '2001:db8:100::100', tentative: true }),
      expect.objectContaining({ local: '2001:db8:100::101', tentative: true }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const after = (await listAddresses(pod, 'net1')).filter((a) => a.scope === 'global');
    expect(after).toEqual([
      expect.not.objectContaining({ tentative: true }),
      expect.objectContaining({ local: '2001:db8:100::101', dadfailed: true, tentative: true }),
    ]);
    expect((await listRoutes(pod, 6)).map((r) => `${r.dst} ${r.dev} ${r.metric}`)).toContain(
      '2001:db8:100::/64 net1 256',
    );
  });
});

describe('fake ip: routes and rules', () => {
  beforeEach(async () => {
    await createNet1();
    await pod.run(['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']);
  });

  it('checks gateways are on-link and slots are free, as the kernel does', async () => {
    expect(
      await failure(pod.run(['ip', 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.1', 'dev', 'net1'])),
    ).toEqual({
      exitCode: 2,
      stderr: 'Error: Nexthop has invalid gateway.\n',
    });
    expect(
      await failure(
        pod.run(['ip', '-6', 'route', 'add', '2001:db8:5::/64', 'via', '2001:db8:200::1', 'dev', 'net1']),
      ),
    ).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: No route to host\n',
    });
    await pod.run(['ip', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'net1', 'metric', '5']);
    expect(
      await failure(
        pod.run(['ip', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'net1', 'metric', '5']),
      ),
    ).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: File exists\n',
    });
    // replace takes the slot (table, destination, metric) over; delete matches what is given.
    await pod.run([
      'ip',
      'route',
      'replace',
      'default',
      'via',
      '192.0.2.1',
      'dev',
      'net1',
      'metric',
      '5',
      'proto',
      '77',
    ]);
    expect((await listRoutes(pod, 4)).filter((r) => r.dst === 'default')).toEqual([
      expect.objectContaining({ gateway: '198.18.0.1', dev: 'eth0' }),
      { dst: 'default', gateway: '192.0.2.1', dev: 'net1', protocol: '77', metric: 5, flags: [] },
    ]);
    expect(await failure(pod.run(['ip', 'route', 'delete', 'default', 'metric', '6']))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: No such process\n',
    });
    await pod.run(['ip', 'route', 'delete', 'default', 'dev', 'net1']);
    expect((await listRoutes(pod, 4)).filter((r) => r.dst === 'default')).toHaveLength(1);
    // A table that never had a route does not exist: listRoutes reads that as empty.
    expect(await failure(pod.run(['ip', '-json', '-4', 'route', 'show', 'table', '17746']))).toEqual({
      exitCode: 2,
      stderr: 'Error: ipv4: FIB table does not exist.\nDump terminated\n',
    });
    expect(await listRoutes(pod, 4, '17746')).toEqual([]);
  });

  it('policy rules for both families, with the kernel’s defaults around them', async () => {
    const add = ['rule', 'add', 'fwmark', '0x4552', 'lookup', '17746', 'priority', '17746', 'protocol', '77'];
    await pod.run(['ip', '-4', ...add]);
    await pod.run(['ip', '-6', ...add]);
    expect(await failure(pod.run(['ip', '-4', ...add]))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: File exists\n',
    });
    expect(await listRules(pod, 4)).toEqual([
      { priority: 0, src: 'all', table: 'local' },
      { priority: 17746, src: 'all', fwmark: '0x4552', table: '17746', protocol: '77' },
      { priority: 32766, src: 'all', table: 'main' },
      { priority: 32767, src: 'all', table: 'default' },
    ]);
    // An IPv6 rule creates the table it looks up; an IPv4 one does not.
    expect(await listRoutes(pod, 6, '17746')).toEqual([]);
    await pod.run(['ip', '-6', 'rule', 'delete', 'priority', '17746', 'protocol', '77']);
    expect(await failure(pod.run(['ip', '-6', 'rule', 'delete', 'priority', '17746']))).toEqual({
      exitCode: 2,
      stderr: 'RTNETLINK answers: No such file or directory\n',
    });
    expect(fake.dump()).toContain('rule ipv4 17746: from all fwmark 0x4552 lookup 17746 proto 77');
  });
});

describe('fake ip: batches', () => {
  it('stops at the first failing line, says which, and keeps what the lines before it did', async () => {
    await createNet1();
    const input = [
      'address add 192.0.2.100/24 dev net1',
      '',
      'address add 192.0.2.100/24 dev net1',
      'address add 192.0.2.102/24 dev net1',
    ].join('\n');
    expect(await failure(pod.run(['ip', '-batch', '-'], { input }))).toEqual({
      exitCode: 1,
      stderr: 'Error: ipv4: Address already assigned.\nCommand failed -:3\n',
    });
    expect((await listAddresses(pod, 'net1')).map((a) => a.local)).toContain('192.0.2.100');
    expect((await listAddresses(pod, 'net1')).map((a) => a.local)).not.toContain('192.0.2.102');
  });

  it('reads one JSON document per line, keeps quoted words together, and ends at once on a parse error', async () => {
    await createNet1();
    const out = await pod.run(['ip', '-json', '-batch', '-'], {
      input: 'link set dev net1 alias "two words"\nlink show dev net1\nrule show\n',
    });
    const [links, rules] = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(links).toMatchObject([{ ifname: 'net1', ifalias: 'two words' }]);
    expect(rules).toHaveLength(3);
    expect(
      await failure(
        pod.run(['ip', '-6', '-batch', '-'], {
          input: 'route add 198.51.100.0/24 dev net1\nlink set dev net1 down\n',
        }),
      ),
    ).toEqual({
      exitCode: 1,
      stderr: 'Error: inet6 prefix is expected rather than "198.51.100.0/24".\n',
    });
    expect((await findLink(pod, 'net1'))?.flags).toContain('UP');
  });
});
