/**
 * The network kit's pure parts: the layout (names, address plan, routes, what a partial rebuild
 * touches, MACs), prefixes, fixtures, the ICMP drop batch and Prometheus parsing. The kit itself
 * is tested in namespaces (test/netns/kit*.test.ts).
 */
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { icmpTooBigBatch } from '../../../src/netkit/faults.js';
import {
  DEFAULT_PODS,
  egressRouter,
  isFixedPrefix,
  isKitPrefix,
  KIT_PREFIX_PATTERN,
  type Layout,
  type LayoutOptions,
  layoutSubset,
  metricValue,
  planLayout,
  randomPrefix,
} from '../../../src/netkit/index.js';

const PREFIX = 'ert0a1b2c-';
const options = (extra: Partial<LayoutOptions> = {}): LayoutOptions => ({
  ipv6: true,
  clientSubnet2: false,
  pods: DEFAULT_PODS,
  lanHost: false,
  mtu: {},
  ...extra,
});
const HA = options({
  pods: [
    { name: 'p1', node: 'node1' },
    { name: 'p2', node: 'node2' },
  ],
});

/** The ranges tests may use (common rules). */
const ALLOWED = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '198.18.0.0/15', '2001:db8::/32'].map(
  (c) => ipaddr.parseCIDR(c),
);
function allowed(text: string): boolean {
  const address = ipaddr.parse(text.split('/')[0] as string);
  return ALLOWED.some(([net, bits]) => address.kind() === net.kind() && address.match(net, bits));
}

function everyAddress(layout: Layout): string[] {
  return [
    ...layout.addresses.map((a) => a.cidr),
    ...layout.routes.flatMap((r) => [r.dest, r.via ?? '']).filter((a) => a !== '' && a !== 'default'),
  ];
}

describe('planLayout', () => {
  it('names every namespace <prefix><role> within 15 characters, in creation order', () => {
    const layout = planLayout(PREFIX, options());
    expect(layout.namespaces.map((n) => n.name)).toEqual(
      ['node', 'pod', 'cli', 'lan', 'dst1', 'dst2', 'gw', 'far'].map((s) => `${PREFIX}${s}`),
    );
    const withAll = planLayout(PREFIX, { ...HA, clientSubnet2: true, lanHost: true });
    for (const name of [
      ...withAll.namespaces.map((n) => n.name),
      ...withAll.veths.flatMap((v) => [v.a.name, v.b.name]),
    ])
      expect(name.length, name).toBeLessThanOrEqual(15);
    // Links the kit names outside hosts carry the prefix; inside hosts they are eth0/eth1/eth2.
    for (const veth of withAll.veths) {
      expect(veth.a.name.startsWith(PREFIX), veth.id).toBe(true);
      expect(veth.b.name, veth.id).toMatch(/^eth[012]$/);
    }
  });

  it('uses only the documentation and benchmarking ranges', () => {
    for (const layout of [
      planLayout(PREFIX, options()),
      planLayout(PREFIX, { ...HA, clientSubnet2: true, lanHost: true }),
    ])
      for (const address of everyAddress(layout)) expect(allowed(address), address).toBe(true);
  });

  it('leaves IPv6 out when asked, and keeps router pods at kernel ICMP rate limits', () => {
    const layout = planLayout(PREFIX, options({ ipv6: false }));
    expect(everyAddress(layout).some((a) => a.includes(':'))).toBe(false);
    const pod = layout.namespaces.find((n) => n.role === 'pod');
    expect(pod?.sysctls).toEqual([]);
    expect(layout.namespaces.find((n) => n.role === 'node')?.sysctls).toContain('net.ipv4.ip_forward=1');
    expect(layout.namespaces.find((n) => n.role === 'lan')?.sysctls).toContain(
      'net.ipv6.conf.all.disable_ipv6=1',
    );
  });

  it('routes a pod like OVN-Kubernetes leaves it: the cluster range and the default via its node', () => {
    const layout = planLayout(PREFIX, options());
    expect(layout.routes.filter((r) => r.role === 'pod')).toEqual([
      { role: 'pod', dest: '198.18.0.0/15', via: '198.18.0.1', dev: 'eth0' },
      { role: 'pod', dest: '2001:db8::/48', via: '2001:db8::1', dev: 'eth0' },
      { role: 'pod', dest: 'default', via: '198.18.0.1', dev: 'eth0' },
      { role: 'pod', dest: 'default', via: '2001:db8::1', dev: 'eth0' },
    ]);
  });

  it('puts several pods on several nodes, all masters on one LAN bridge, nodes joined by an interconnect', () => {
    const layout = planLayout(PREFIX, HA);
    expect(layout.pods.map((p) => [p.role, p.node, p.address.v4, p.address.v6, p.subnet.v4])).toEqual([
      ['p1', 'node1', '198.18.0.2', '2001:db8::2', '198.18.0.0/24'],
      ['p2', 'node2', '198.18.11.2', '2001:db8:0:11::2', '198.18.11.0/24'],
    ]);
    expect(layout.nodes.map((n) => [n.role, n.lan.v4, n.interconnect?.v4])).toEqual([
      ['node1', '192.0.2.5', '198.18.254.1'],
      ['node2', '192.0.2.6', '198.18.254.2'],
    ]);
    const lanPorts = layout.veths
      .filter((v) => v.a.role === 'lan' && v.a.bridge === 'br0')
      .map((v) => v.b.role);
    expect(lanPorts).toEqual(['node1', 'node2', 'dst1', 'dst2', 'gw']);
    expect(layout.names.core).toBe(`${PREFIX}core`);
    const routes = (role: string) => layout.routes.filter((r) => r.role === role && r.dev === 'eth2');
    expect(routes('node1')).toEqual([
      { role: 'node1', dest: '198.18.11.0/24', via: '198.18.254.2', dev: 'eth2' },
      { role: 'node1', dest: '2001:db8:0:11::/64', via: '2001:db8:0:254::2', dev: 'eth2' },
    ]);
    expect(routes('node2').map((r) => r.dest)).toEqual([
      '198.18.0.0/24',
      '2001:db8::/64',
      '198.18.1.0/24',
      '2001:db8:0:1::/64',
    ]);
    // One node needs no interconnect.
    expect(planLayout(PREFIX, options()).names.core).toBeUndefined();
  });

  it('sets MTUs on both ends of the links of each kind', () => {
    const layout = planLayout(
      PREFIX,
      options({ mtu: { podCluster: 1400, lan: 1450, clients: 1460, far: 1480 } }),
    );
    const mtu = (id: string) => layout.veths.find((v) => v.id === id)?.mtu;
    expect([
      mtu('node-pod'),
      mtu('lan-node'),
      mtu('lan-dst1'),
      mtu('lan-gw'),
      mtu('node-client'),
      mtu('gw-far'),
    ]).toEqual([1400, 1450, 1450, 1450, 1460, 1480]);
    expect(planLayout(PREFIX, options()).veths.every((v) => v.mtu === undefined)).toBe(true);
  });

  it('gives every link end a fixed, unique, locally administered unicast MAC, different per prefix', () => {
    const macs = (prefix: string) =>
      planLayout(prefix, { ...HA, lanHost: true }).veths.flatMap((v) => [v.a.mac, v.b.mac]);
    const ours = macs(PREFIX);
    expect(new Set(ours).size).toBe(ours.length);
    for (const mac of ours) expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(macs(PREFIX)).toEqual(ours);
    expect(macs('ertffffff-')[0]).not.toBe(ours[0]);
  });

  it('refuses options it cannot build, naming the option', () => {
    const bad: [Partial<LayoutOptions>, RegExp][] = [
      [{ pods: [] }, /pods: 1 to 4/],
      [{ pods: [{ name: 'lan', node: 'node' }] }, /pods\[0\]: lan is the name of another role/],
      [{ pods: [{ name: 'cli', node: 'node' }] }, /pods\[0\]: cli is the name of another role/],
      [{ pods: [{ name: 'Pod', node: 'node' }] }, /pods\[0\]\.name "Pod"/],
      [{ pods: [{ name: 'router', node: 'node' }] }, /pods\[0\]\.name "router"/],
      [
        {
          pods: [
            { name: 'p1', node: 'n1' },
            { name: 'p1', node: 'n2' },
          ],
        },
        /pods\[1\]: p1 used twice/,
      ],
      [{ mtu: { podCluster: 1200 } }, /mtu\.podCluster: 1200/],
      [
        {
          pods: [
            { name: 'p1', node: 'n1' },
            { name: 'p2', node: 'n2' },
            { name: 'p3', node: 'n3' },
            { name: 'p4', node: 'n4' },
            { name: 'p5', node: 'n5' },
          ],
        },
        /pods: 1 to 4/,
      ],
    ];
    for (const [extra, message] of bad) expect(() => planLayout(PREFIX, options(extra))).toThrow(message);
  });
});

describe('layoutSubset', () => {
  const layout = planLayout(PREFIX, options());

  it('a pod brought back: its namespace, its link, the addresses on both ends, its routes', () => {
    const part = layoutSubset(layout, { roles: ['pod'] });
    expect(part.namespaces.map((n) => n.role)).toEqual(['pod']);
    expect(part.veths.map((v) => v.id)).toEqual(['node-pod']);
    expect(part.addresses.map((a) => `${a.role} ${a.dev} ${a.cidr}`)).toEqual([
      'pod eth0 198.18.0.2/24',
      'pod eth0 2001:db8::2/64',
      `node ${PREFIX}pod 198.18.0.1/24`,
      `node ${PREFIX}pod 2001:db8::1/64`,
    ]);
    expect(part.routes.every((r) => r.role === 'pod')).toBe(true);
    expect(part.bridges).toEqual([]);
  });

  it('a gateway namespace brought back: its LAN and far links, and the far host route that went with them', () => {
    const part = layoutSubset(layout, { roles: ['gw'] });
    expect(part.veths.map((v) => v.id).sort()).toEqual(['gw-far', 'lan-gw']);
    expect(part.routes.map((r) => `${r.role} ${r.dest}`)).toEqual([
      'gw 203.0.113.0/24',
      'gw 2001:db8:ffff::/48',
      'far default',
      'far default',
    ]);
    // dst1's route via the gateway survives on its own link: not re-added.
    expect(part.routes.some((r) => r.role === 'dst1')).toBe(false);
  });

  it('a master brought back: the LAN link, the node address on it and the default route through it', () => {
    const part = layoutSubset(layout, { vethIds: ['lan-node'] });
    expect(part.namespaces).toEqual([]);
    expect(part.veths.map((v) => v.id)).toEqual(['lan-node']);
    expect(part.addresses.map((a) => `${a.role} ${a.dev} ${a.cidr}`)).toEqual([
      'node eth1 192.0.2.5/24',
      'node eth1 2001:db8:100::5/64',
    ]);
    expect(part.routes.map((r) => `${r.role} ${r.dest} ${r.via}`)).toEqual([
      'node default 192.0.2.1',
      'node default 2001:db8:100::1',
    ]);
    expect(() => layoutSubset(layout, { vethIds: ['lan-node9'] })).toThrow(/no link lan-node9/);
  });
});

describe('prefixes', () => {
  it('tells kit prefixes from fixed ones; the sweep pattern matches only kit prefixes', () => {
    for (let i = 0; i < 20; i += 1) {
      expect(isKitPrefix(randomPrefix('ert'))).toBe(true);
      expect(randomPrefix('erb')).toMatch(/^erb[0-9a-f]{6}-$/);
    }
    expect(isFixedPrefix('erdemo-')).toBe(true);
    expect(isFixedPrefix('ed1a2b-')).toBe(true);
    for (const name of ['erdemo', 'Erdemo-', 'toolongname-', '-', 'e r-'])
      expect(isFixedPrefix(name), name).toBe(false);
    for (const name of ['erdemo-pod', 'ert-chk-abc123', 'ertx1b2c3-pod', 'eth0', 'fkx1b59-lan'])
      expect(KIT_PREFIX_PATTERN.test(name), name).toBe(false);
    expect(KIT_PREFIX_PATTERN.test('erb0a1b2c-node')).toBe(true);
  });
});

describe('fixtures', () => {
  const spec = {
    addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
    rules: [
      { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' as const },
      { destinationIP: '192.0.2.20', port: 5353, protocol: 'UDP' as const, targetPort: 53 },
    ],
    fallbackIP: '192.0.2.20',
    master: 'eth1',
    name: 'fixture',
  };

  it('writes the same document as JSON, compact JSON and YAML, and the agent loads it as specified', () => {
    const json = JSON.parse(egressRouter(spec));
    expect(JSON.parse(egressRouter(spec, 'compact-json'))).toEqual(json);
    expect(parseYaml(egressRouter(spec, 'yaml'))).toEqual(json);
    expect(egressRouter(spec, 'compact-json')).not.toContain('\n');
    for (const format of ['json', 'compact-json', 'yaml'] as const) {
      const result = loadConfigText(egressRouter(spec, format), DEFAULT_OPTIONS);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      if (!result.ok) continue;
      expect(
        result.config.redirectRules.map((r) => [r.protocol, r.port, r.destinationIP, r.targetPort]),
      ).toEqual([
        ['tcp', 80, '192.0.2.10', 80],
        ['udp', 5353, '192.0.2.20', 53],
      ]);
      expect(result.config).toMatchObject({
        name: 'fixture',
        macvlan: { master: 'eth1' },
        fallback: { address: '192.0.2.20' },
      });
    }
  });
});

describe('icmpTooBigBatch', () => {
  it('drops IPv4 fragmentation-needed and IPv6 packet-too-big on input, forward and output', () => {
    const batch = icmpTooBigBatch() as { nftables: { add: Record<string, Record<string, unknown>> }[] };
    const chains = batch.nftables.filter((c) => 'chain' in c.add).map((c) => c.add.chain?.hook);
    expect(chains).toEqual(['input', 'forward', 'output']);
    const rules = batch.nftables.filter((c) => 'rule' in c.add).map((c) => JSON.stringify(c.add.rule));
    expect(rules).toHaveLength(6);
    expect(rules.filter((r) => r.includes('"frag-needed"') && r.includes('"drop"'))).toHaveLength(3);
    expect(rules.filter((r) => r.includes('"packet-too-big"') && r.includes('"drop"'))).toHaveLength(3);
  });
});

describe('metricValue', () => {
  const text = [
    '# HELP egress_router_condition Condition',
    'egress_router_condition{type="Available",status="True"} 1',
    'egress_router_condition{status="False",type="Degraded"} 0',
    'egress_router_build_info{version="0.1.0"} 1',
    'egress_router_plain 42',
  ].join('\n');

  it('finds a sample by its exact label set, in any order', () => {
    expect(metricValue(text, 'egress_router_condition', { type: 'Available', status: 'True' })).toBe(1);
    expect(metricValue(text, 'egress_router_condition', { type: 'Degraded', status: 'False' })).toBe(0);
    expect(metricValue(text, 'egress_router_condition', { type: 'Available' })).toBeUndefined();
    expect(metricValue(text, 'egress_router_plain')).toBe(42);
    expect(metricValue(text, 'egress_router_missing')).toBeUndefined();
  });
});
