// planRuleset / replaceTableBatch / tableText on models built through loadConfigText.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { type AgentOptions, DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';
import { replaceTableBatch } from '../../../src/nft/json.js';
import type { NftChain, NftMap, NftRule, NftStatement, NftTable } from '../../../src/nft/model.js';
import { tableText } from '../../../src/nft/text.js';
import { addressMapName, planRuleset, portMapName, rejectingFamilies } from '../../../src/plan/ruleset.js';

interface RuleInput {
  destinationIP: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number;
}

interface SpecInput {
  addresses: { ip: string; gateway?: string }[];
  rules?: RuleInput[];
  fallbackIP?: string;
}

function egressRouterText(spec: SpecInput): string {
  return JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: 'test' },
    spec: {
      addresses: spec.addresses,
      redirect: {
        redirectRules: spec.rules ?? [],
        ...(spec.fallbackIP !== undefined ? { fallbackIP: spec.fallbackIP } : {}),
      },
    },
  });
}

function load(spec: SpecInput, options: AgentOptions = DEFAULT_OPTIONS): RouterConfig {
  const result = loadConfigText(egressRouterText(spec), options);
  if (!result.ok) throw new Error(`test config is invalid: ${JSON.stringify(result.issues)}`);
  return result.config;
}

function plan(spec: SpecInput, options: AgentOptions = DEFAULT_OPTIONS): NftTable {
  return planRuleset(load(spec, options), options);
}

function chainOf(table: NftTable, name: string): NftChain {
  const chain = table.chains.find((c) => c.name === name);
  if (!chain) throw new Error(`no chain ${name}`);
  return chain;
}

function mapOf(table: NftTable, name: string): NftMap {
  const map = table.maps.find((m) => m.name === name);
  if (!map) throw new Error(`no map ${name}`);
  return map;
}

const has = (rule: NftRule, predicate: (s: NftStatement) => boolean): boolean => rule.expr.some(predicate);
const isDnat = (s: NftStatement): boolean => 'dnat' in s;
const isReject = (s: NftStatement): boolean => 'reject' in s;
/**
 * A family match: `meta nfproto ipvN`, or `ip version 4` / `ip6 version 6` (used in front of
 * `reject with tcp reset`, where nft 1.0.6 would list a `meta nfproto` match away).
 */
const nfprotoIs =
  (value: 'ipv4' | 'ipv6') =>
  (s: NftStatement): boolean => {
    if (!('match' in s) || typeof s.match.left !== 'object') return false;
    const left = s.match.left;
    if ('meta' in left) return left.meta.key === 'nfproto' && s.match.right === value;
    if ('payload' in left && left.payload.field === 'version') {
      return value === 'ipv4'
        ? left.payload.protocol === 'ip' && s.match.right === 4
        : left.payload.protocol === 'ip6' && s.match.right === 6;
    }
    return false;
  };

function rejectRules(table: NftTable): NftRule[] {
  return chainOf(table, 'input').rules.filter((r) => has(r, isReject));
}

const V4 = { ip: '192.0.2.100/24', gateway: '192.0.2.1' };
const V6 = { ip: '2001:db8:100::64/64', gateway: '2001:db8:100::1' };

function tcpRules(count: number, destinationIP = '192.0.2.10'): RuleInput[] {
  const rules: RuleInput[] = [];
  for (let port = 1; rules.length < count; port++) {
    if (port === DEFAULT_OPTIONS.healthPort) continue;
    rules.push({ destinationIP, port, protocol: 'TCP' });
  }
  return rules;
}

describe('O(1) dispatch', () => {
  it('one DNAT rule per family, whatever the number of redirect rules', () => {
    const one = plan({ addresses: [V4], rules: tcpRules(1) });
    const many = plan({ addresses: [V4], rules: tcpRules(5000) });
    for (const name of ['prerouting', 'postrouting', 'input', 'forward']) {
      expect(chainOf(many, name).rules.length, name).toBe(chainOf(one, name).rules.length);
    }
    expect(chainOf(many, 'prerouting').rules.filter((r) => has(r, isDnat))).toHaveLength(1);
    expect(mapOf(one, 'redirect_addr4').elements).toHaveLength(1);
    expect(mapOf(many, 'redirect_addr4').elements).toHaveLength(5000);
    expect(mapOf(many, 'redirect_port4').elements).toHaveLength(5000);
  });

  it('dual-stack: exactly one DNAT rule per family, each looking up its own maps', () => {
    const table = plan({
      addresses: [V4, V6],
      rules: [...tcpRules(100), ...tcpRules(100, '2001:db8:100::10')],
    });
    const dnats = chainOf(table, 'prerouting').rules.filter((r) => has(r, isDnat));
    expect(dnats).toHaveLength(2);
    const [four, six] = dnats;
    expect(has(four!, nfprotoIs('ipv4'))).toBe(true);
    expect(has(six!, nfprotoIs('ipv6'))).toBe(true);
    const text = tableText(table);
    expect(text).toContain(
      'dnat ip to meta l4proto . th dport map @redirect_addr4 : meta l4proto . th dport map @redirect_port4',
    );
    expect(text).toContain(
      'dnat ip6 to meta l4proto . th dport map @redirect_addr6 : meta l4proto . th dport map @redirect_port6',
    );
  });

  it('the DNAT rule matches only TCP, UDP and SCTP from the cluster interface to a local address', () => {
    const table = plan({ addresses: [V4], rules: tcpRules(1) });
    const rule = chainOf(table, 'prerouting').rules[0]!;
    expect(rule.expr.slice(0, 4)).toEqual([
      { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
      { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
      { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
      { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['tcp', 'udp', 'sctp'] } } },
    ]);
    const key = { concat: [{ meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] };
    expect(rule.expr[4]).toEqual({
      dnat: {
        family: 'ip',
        addr: { map: { key, data: '@redirect_addr4' } },
        port: { map: { key, data: '@redirect_port4' } },
      },
    });
  });
});

describe('map elements', () => {
  const mixed: RuleInput[] = [
    { destinationIP: '192.0.2.30', port: 9000, protocol: 'SCTP' },
    { destinationIP: '192.0.2.11', port: 443, protocol: 'TCP' },
    { destinationIP: '192.0.2.20', port: 53, protocol: 'UDP', targetPort: 5353 },
    { destinationIP: '192.0.2.21', port: 1, protocol: 'SCTP' },
    { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP', targetPort: 8080 },
    { destinationIP: '192.0.2.12', port: 65535, protocol: 'UDP' },
    { destinationIP: '192.0.2.13', port: 22, protocol: 'TCP' },
    { destinationIP: '192.0.2.14', port: 80, protocol: 'UDP' },
  ];

  it('are sorted by protocol (tcp < udp < sctp), then port', () => {
    const table = plan({ addresses: [V4], rules: mixed });
    expect(mapOf(table, 'redirect_addr4').elements).toEqual([
      [['tcp', 22], '192.0.2.13'],
      [['tcp', 80], '192.0.2.10'],
      [['tcp', 443], '192.0.2.11'],
      [['udp', 53], '192.0.2.20'],
      [['udp', 80], '192.0.2.14'],
      [['udp', 65535], '192.0.2.12'],
      [['sctp', 1], '192.0.2.21'],
      [['sctp', 9000], '192.0.2.30'],
    ]);
    expect(mapOf(table, 'redirect_port4').elements).toEqual([
      [['tcp', 22], 22],
      [['tcp', 80], 8080],
      [['tcp', 443], 443],
      [['udp', 53], 5353],
      [['udp', 80], 80],
      [['udp', 65535], 65535],
      [['sctp', 1], 1],
      [['sctp', 9000], 9000],
    ]);
  });

  it('sorts ports numerically, not as text', () => {
    const ports = [1000, 9, 100, 20, 3];
    const table = plan({
      addresses: [V4],
      rules: ports.map((port) => ({ destinationIP: '192.0.2.10', port, protocol: 'TCP' as const })),
    });
    expect(mapOf(table, 'redirect_addr4').elements.map(([key]) => key[1])).toEqual([3, 9, 20, 100, 1000]);
  });

  it('do not depend on the input order', () => {
    const reference = plan({ addresses: [V4], rules: mixed });
    const orders = [
      [...mixed].reverse(),
      [...mixed.slice(3), ...mixed.slice(0, 3)],
      [...mixed].sort((a, b) => a.destinationIP.localeCompare(b.destinationIP)),
    ];
    for (const rules of orders) {
      const table = plan({ addresses: [V4], rules });
      expect(table).toEqual(reference);
      expect(JSON.stringify(replaceTableBatch(table))).toBe(JSON.stringify(replaceTableBatch(reference)));
      expect(tableText(table)).toBe(tableText(reference));
    }
  });

  it('targetPort defaults to the port; a given targetPort goes to the port map only', () => {
    const table = plan({
      addresses: [V4],
      rules: [
        { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' },
        { destinationIP: '192.0.2.10', port: 8080, protocol: 'TCP', targetPort: 80 },
        { destinationIP: '192.0.2.10', port: 5353, protocol: 'UDP', targetPort: 53 },
        { destinationIP: '192.0.2.10', port: 7000, protocol: 'SCTP', targetPort: 7000 },
      ],
    });
    expect(mapOf(table, 'redirect_port4').elements).toEqual([
      [['tcp', 80], 80],
      [['tcp', 8080], 80],
      [['udp', 5353], 53],
      [['sctp', 7000], 7000],
    ]);
    expect(new Set(mapOf(table, 'redirect_addr4').elements.map(([, value]) => value))).toEqual(
      new Set(['192.0.2.10']),
    );
  });

  it('address maps count per element, port maps do not; both keyed by (inet_proto, inet_service)', () => {
    const table = plan({ addresses: [V4, V6], rules: tcpRules(1) });
    expect(table.maps.map((m) => [m.name, m.type, m.map, m.counter])).toEqual([
      ['redirect_addr4', ['inet_proto', 'inet_service'], 'ipv4_addr', true],
      ['redirect_port4', ['inet_proto', 'inet_service'], 'inet_service', false],
      ['redirect_addr6', ['inet_proto', 'inet_service'], 'ipv6_addr', true],
      ['redirect_port6', ['inet_proto', 'inet_service'], 'inet_service', false],
    ]);
    expect([addressMapName(4), portMapName(4), addressMapName(6), portMapName(6)]).toEqual(
      table.maps.map((m) => m.name),
    );
  });

  it('each family gets only its own rules', () => {
    const table = plan({
      addresses: [V4, V6],
      rules: [
        { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' },
        { destinationIP: '2001:db8:100::10', port: 80, protocol: 'TCP', targetPort: 8080 },
        { destinationIP: '2001:db8:100::20', port: 53, protocol: 'UDP' },
      ],
    });
    expect(mapOf(table, 'redirect_addr4').elements).toEqual([[['tcp', 80], '192.0.2.10']]);
    expect(mapOf(table, 'redirect_addr6').elements).toEqual([
      [['tcp', 80], '2001:db8:100::10'],
      [['udp', 53], '2001:db8:100::20'],
    ]);
    expect(mapOf(table, 'redirect_port6').elements).toEqual([
      [['tcp', 80], 8080],
      [['udp', 53], 53],
    ]);
  });
});

describe('IPv6 is handled like IPv4', () => {
  const v6only = (): NftTable =>
    plan({
      addresses: [V6],
      rules: [
        { destinationIP: '2001:DB8:100:0:0:0:0:10', port: 443, protocol: 'TCP', targetPort: 8443 },
        { destinationIP: '2001:db8:200::53', port: 53, protocol: 'UDP' },
      ],
    });

  it('has only the *6 maps, with canonical (RFC 5952) addresses', () => {
    const table = v6only();
    expect(table.maps.map((m) => m.name)).toEqual(['redirect_addr6', 'redirect_port6']);
    expect(mapOf(table, 'redirect_addr6').map).toBe('ipv6_addr');
    expect(mapOf(table, 'redirect_addr6').elements).toEqual([
      [['tcp', 443], '2001:db8:100::10'],
      [['udp', 53], '2001:db8:200::53'],
    ]);
    expect(mapOf(table, 'redirect_port6').elements).toEqual([
      [['tcp', 443], 8443],
      [['udp', 53], 53],
    ]);
  });

  it('uses dnat ip6 / snat ip6 and nfproto ipv6, and nothing of IPv4', () => {
    const table = v6only();
    const dnat = chainOf(table, 'prerouting').rules[0]!;
    expect(has(dnat, nfprotoIs('ipv6'))).toBe(true);
    expect(dnat.expr.find(isDnat)).toMatchObject({
      dnat: {
        family: 'ip6',
        addr: { map: { data: '@redirect_addr6' } },
        port: { map: { data: '@redirect_port6' } },
      },
    });
    expect(chainOf(table, 'postrouting').rules).toHaveLength(1);
    expect(chainOf(table, 'postrouting').rules[0]!.expr).toContainEqual({
      snat: { family: 'ip6', addr: '2001:db8:100::64' },
    });
    const json = JSON.stringify(table);
    expect(json).not.toContain('ipv4');
    expect(json).not.toContain('"ip"');
    expect(json).not.toContain('redirect_addr4');
    const rejects = rejectRules(table);
    expect(rejects).toHaveLength(2);
    for (const rule of rejects) expect(has(rule, nfprotoIs('ipv6'))).toBe(true);
  });

  it('renders IPv6 in text: ipv6_addr maps, dnat ip6, snat ip6', () => {
    const text = tableText(v6only());
    expect(text).toContain('type inet_proto . inet_service : ipv6_addr');
    expect(text).toContain('tcp . 443 : 2001:db8:100::10');
    expect(text).toContain('tcp . 443 : 8443');
    expect(text).toContain('snat ip6 to 2001:db8:100::64');
    expect(text).toContain('meta nfproto ipv6');
    expect(text).not.toContain('ipv4');
  });

  it('an IPv6 fallback is dnat ip6 to the bare address', () => {
    const table = plan({ addresses: [V6], rules: [], fallbackIP: '2001:db8:100::20' });
    const fallback = chainOf(table, 'prerouting').rules.at(-1)!;
    expect(fallback.expr.at(-1)).toEqual({ dnat: { family: 'ip6', addr: '2001:db8:100::20' } });
    expect(has(fallback, nfprotoIs('ipv6'))).toBe(true);
    expect(tableText(table)).toContain('meta nfproto ipv6 dnat ip6 to 2001:db8:100::20 comment');
  });
});

describe('fallback and reject', () => {
  const healthAccept = (rule: NftRule, port: number): boolean =>
    rule.expr.some(
      (s) =>
        'match' in s &&
        s.match.op === '==' &&
        typeof s.match.left === 'object' &&
        'payload' in s.match.left &&
        s.match.left.payload.protocol === 'tcp' &&
        s.match.right === port,
    ) && rule.expr.some((s) => 'accept' in s);

  it('with a fallback: the health port is accepted before the fallback DNAT, and nothing is rejected', () => {
    const table = plan({ addresses: [V4], rules: tcpRules(3), fallbackIP: '192.0.2.20' });
    const rules = chainOf(table, 'prerouting').rules;
    expect(rules).toHaveLength(4);
    const redirect = rules.findIndex((r) => has(r, isDnat) && JSON.stringify(r).includes('@redirect_addr4'));
    const health = rules.findIndex((r) => healthAccept(r, 9099));
    const fallback = rules.findIndex(
      (r) => JSON.stringify(r.expr.at(-1)) === JSON.stringify({ dnat: { family: 'ip', addr: '192.0.2.20' } }),
    );
    expect(redirect).toBe(0);
    expect(health).toBe(1);
    // ICMP to the router stays local (the router answers pings), before the fallback.
    expect(rules[2]!.expr.slice(2)).toEqual([
      { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'icmp' } },
      { accept: null },
    ]);
    expect(fallback).toBe(3);
    expect(rules[1]!.expr).toContainEqual({
      match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' },
    });
    expect(rules[1]!.expr).toContainEqual({
      match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' },
    });
    expect(rejectRules(table)).toEqual([]);
    expect(
      rejectingFamilies(load({ addresses: [V4], rules: tcpRules(3), fallbackIP: '192.0.2.20' })),
    ).toEqual([]);
    const text = tableText(table);
    expect(text.indexOf('tcp dport 9099 accept')).toBeGreaterThan(0);
    expect(text.indexOf('tcp dport 9099 accept')).toBeLessThan(text.indexOf('dnat ip to 192.0.2.20'));
    expect(text).not.toContain('reject');
  });

  it('a fallback without rules still keeps the health port local', () => {
    const table = plan({ addresses: [V4], fallbackIP: '192.0.2.20' });
    const rules = chainOf(table, 'prerouting').rules;
    expect(rules.map((r) => r.comment)).toEqual([
      'redirect rules, IPv4',
      'the agent health port stays local',
      'ICMP to the router is answered by the router',
      'fallback, IPv4',
    ]);
    expect(mapOf(table, 'redirect_addr4').elements).toEqual([]);
    expect(rejectRules(table)).toEqual([]);
  });

  it('dual-stack with an IPv4 fallback: only IPv6 is rejected', () => {
    const table = plan({
      addresses: [V4, V6],
      rules: [{ destinationIP: '2001:db8:100::10', port: 80, protocol: 'TCP' }],
      fallbackIP: '192.0.2.20',
    });
    const rejects = rejectRules(table);
    expect(rejects).toHaveLength(2);
    for (const rule of rejects) {
      expect(has(rule, nfprotoIs('ipv6'))).toBe(true);
      expect(has(rule, nfprotoIs('ipv4'))).toBe(false);
    }
    const prerouting = chainOf(table, 'prerouting').rules;
    expect(prerouting.at(-1)!.expr.at(-1)).toEqual({ dnat: { family: 'ip', addr: '192.0.2.20' } });
    expect(prerouting.findIndex((r) => healthAccept(r, 9099))).toBe(prerouting.length - 3);
  });

  it('dual-stack with an IPv6 fallback: only IPv4 is rejected', () => {
    const table = plan({ addresses: [V4, V6], rules: tcpRules(2), fallbackIP: '2001:db8:100::20' });
    const rejects = rejectRules(table);
    expect(rejects).toHaveLength(2);
    for (const rule of rejects) expect(has(rule, nfprotoIs('ipv4'))).toBe(true);
  });

  it('without a fallback but with rules: TCP reset (except the health port) and ICMP port-unreachable, per family', () => {
    const table = plan({
      addresses: [V4, V6],
      rules: [{ destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' }],
    });
    expect(chainOf(table, 'prerouting').rules).toHaveLength(2);
    expect(chainOf(table, 'prerouting').rules.some((r) => healthAccept(r, 9099))).toBe(false);
    const input = chainOf(table, 'input').rules;
    expect(input).toHaveLength(6);
    for (const [index, family] of [
      [2, 'ipv4'],
      [4, 'ipv6'],
    ] as const) {
      expect(input[index]!.expr).toEqual([
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
        family === 'ipv4'
          ? { match: { op: '==', left: { payload: { protocol: 'ip', field: 'version' } }, right: 4 } }
          : { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'version' } }, right: 6 } },
        { match: { op: '!=', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 9099 } },
        { reject: { type: 'tcp reset' } },
      ]);
      expect(input[index + 1]!.expr).toEqual([
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
        { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: family } },
        { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['udp', 'sctp'] } } },
        { reject: { type: 'icmpx', expr: 'port-unreachable' } },
      ]);
    }
    const text = tableText(table);
    expect(text).toContain('iifname "eth0" ip version 4 tcp dport != 9099 reject with tcp reset');
    expect(text).toContain('iifname "eth0" ip6 version 6 tcp dport != 9099 reject with tcp reset');
    expect(text).toContain(
      'iifname "eth0" meta nfproto ipv6 meta l4proto { udp, sctp } reject with icmpx port-unreachable',
    );
  });

  it('rejects come after the established and LAN-drop rules', () => {
    const input = chainOf(plan({ addresses: [V4], rules: tcpRules(1) }), 'input').rules;
    expect(input[0]!.expr).toEqual([
      { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
      { accept: null },
    ]);
    expect(input[1]!.expr).toEqual([
      { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'net1' } },
      { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['tcp', 'udp', 'sctp'] } } },
      { drop: null },
    ]);
    expect(input.slice(2).every((r) => has(r, isReject))).toBe(true);
  });

  it('no rules and no fallback: no rejects, empty maps, no fallback', () => {
    const config = load({ addresses: [V4, V6] });
    expect(rejectingFamilies(config)).toEqual([]);
    const table = planRuleset(config, DEFAULT_OPTIONS);
    expect(rejectRules(table)).toEqual([]);
    expect(chainOf(table, 'input').rules).toHaveLength(2);
    expect(table.maps).toHaveLength(4);
    for (const map of table.maps) expect(map.elements).toEqual([]);
    expect(chainOf(table, 'prerouting').rules).toHaveLength(2);
    expect(chainOf(table, 'prerouting').rules.every((r) => has(r, isDnat))).toBe(true);
    // Empty maps carry no "elem" in JSON and no "elements" line in text.
    const batch = replaceTableBatch(table);
    const maps = batch.nftables.flatMap((c) => {
      const add = c.add as { map?: Record<string, unknown> } | undefined;
      return add?.map ? [add.map] : [];
    });
    expect(maps).toHaveLength(4);
    for (const map of maps) expect(map).not.toHaveProperty('elem');
    expect(tableText(table)).not.toContain('elements');
    expect(tableText(table)).not.toContain('reject');
  });
});

describe('SNAT', () => {
  it("uses each family's first address, on the egress interface only, for redirected flows only", () => {
    const table = plan({
      addresses: [
        { ip: '192.0.2.100/24', gateway: '192.0.2.1' },
        { ip: '2001:db8:100::64/64' },
        { ip: '192.0.2.101/24' },
        { ip: '2001:db8:100::65/64' },
      ],
      rules: tcpRules(1),
    });
    expect(chainOf(table, 'postrouting').rules.map((r) => r.expr)).toEqual([
      [
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'net1' } },
        { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
        { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
        { snat: { family: 'ip', addr: '192.0.2.100' } },
      ],
      [
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'net1' } },
        { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv6' } },
        { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
        { snat: { family: 'ip6', addr: '2001:db8:100::64' } },
      ],
    ]);
  });

  it('follows the order of the config, not the numeric order', () => {
    const table = plan({ addresses: [{ ip: '198.51.100.200/24' }, { ip: '192.0.2.5/24' }] });
    expect(chainOf(table, 'postrouting').rules).toHaveLength(1);
    expect(chainOf(table, 'postrouting').rules[0]!.expr.at(-1)).toEqual({
      snat: { family: 'ip', addr: '198.51.100.200' },
    });
  });
});

describe('chains', () => {
  it('have numeric priorities (-150, -150, -100, 100, 0, 0), policies, and the forward policy is drop', () => {
    const table = plan({ addresses: [V4], rules: tcpRules(1) });
    expect(table.family).toBe('inet');
    expect(table.name).toBe('egress_router');
    expect(table.chains.map((c) => [c.name, c.type, c.hook, c.prio, c.policy])).toEqual([
      ['mark_from_cluster', 'filter', 'prerouting', -150, 'accept'],
      ['mark_local_replies', 'route', 'output', -150, 'accept'],
      ['prerouting', 'nat', 'prerouting', -100, 'accept'],
      ['postrouting', 'nat', 'postrouting', 100, 'accept'],
      ['input', 'filter', 'input', 0, 'accept'],
      ['forward', 'filter', 'forward', 0, 'drop'],
    ]);
    for (const chain of table.chains) expect(typeof chain.prio).toBe('number');
    const text = tableText(table);
    expect(text).toContain('type nat hook prerouting priority -100; policy accept;');
    expect(text).toContain('type nat hook postrouting priority 100; policy accept;');
    expect(text).toContain('type filter hook input priority 0; policy accept;');
    expect(text).toContain('type filter hook forward priority 0; policy drop;');
    expect(text).not.toContain('dstnat');
    expect(text).not.toContain('srcnat');
  });

  it('marks connections from the cluster interface, and their replies, so replies go back out of it', () => {
    const table = plan(
      { addresses: [V4], rules: tcpRules(1) },
      { ...DEFAULT_OPTIONS, clusterInterface: 'ens3' },
    );
    const mark = { ct: { key: 'mark' } };
    const replyOfMarked = [
      { match: { op: '==', left: { ct: { key: 'direction' } }, right: 'reply' } },
      { match: { op: '==', left: mark, right: 0x4552 } },
      { mangle: { key: { meta: { key: 'mark' } }, value: 0x4552 } },
    ];
    expect(chainOf(table, 'mark_from_cluster').rules.map((r) => r.expr)).toEqual([
      [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ens3' } },
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
        { mangle: { key: mark, value: 0x4552 } },
      ],
      replyOfMarked,
    ]);
    expect(chainOf(table, 'mark_local_replies').rules.map((r) => r.expr)).toEqual([replyOfMarked]);
    expect(tableText(table)).toContain('iifname "ens3" ct state new ct mark set 17746');
    expect(tableText(table)).toContain('ct direction reply ct mark 17746 meta mark set 17746');
  });

  it('forward clamps the MSS of SYNs first, then accepts only established flows and DNATed flows from the cluster to the LAN', () => {
    const table = plan({ addresses: [V4], rules: tcpRules(1) });
    expect(chainOf(table, 'forward').rules.map((r) => r.expr)).toEqual([
      [
        { match: { op: 'in', left: { payload: { protocol: 'tcp', field: 'flags' } }, right: 'syn' } },
        {
          mangle: {
            key: { 'tcp option': { name: 'maxseg', field: 'size' } },
            value: { rt: { key: 'mtu' } },
          },
        },
      ],
      [
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
        { accept: null },
      ],
      [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'net1' } },
        { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
        { accept: null },
      ],
    ]);
  });
});

describe('options', () => {
  const options: AgentOptions = { egressInterface: 'macvlan0', clusterInterface: 'ens3', healthPort: 8443 };

  it('--interface, --cluster-interface and the health port appear where they belong', () => {
    const config = load(
      {
        addresses: [V4, V6],
        rules: [...tcpRules(3), { destinationIP: '192.0.2.10', port: 9099, protocol: 'TCP' }],
      },
      options,
    );
    const table = planRuleset(config, options);
    const json = JSON.stringify(table);
    expect(json).not.toContain('"eth0"');
    expect(json).not.toContain('"net1"');
    // The default health port appears nowhere in the chains (only as a redirect key in the maps).
    expect(JSON.stringify(table.chains)).not.toContain('9099');
    // TCP 9099 is an ordinary redirect once the health port moved.
    expect(mapOf(table, 'redirect_addr4').elements).toContainEqual([['tcp', 9099], '192.0.2.10']);
    const prerouting = chainOf(table, 'prerouting').rules;
    for (const rule of prerouting) {
      expect(rule.expr[0]).toEqual({
        match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ens3' },
      });
    }
    for (const rule of chainOf(table, 'postrouting').rules) {
      expect(rule.expr[0]).toEqual({
        match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'macvlan0' },
      });
    }
    const input = chainOf(table, 'input').rules;
    expect(input[1]!.expr[0]).toEqual({
      match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'macvlan0' },
    });
    for (const rule of input.slice(2)) {
      expect(rule.expr[0]).toEqual({
        match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ens3' },
      });
    }
    expect(input.filter((r) => JSON.stringify(r).includes('"!="'))).toHaveLength(2);
    for (const rule of input.filter((r) => JSON.stringify(r).includes('"!="'))) {
      expect(rule.expr).toContainEqual({
        match: { op: '!=', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8443 },
      });
    }
    expect(chainOf(table, 'forward').rules[2]!.expr.slice(0, 2)).toEqual([
      { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ens3' } },
      { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'macvlan0' } },
    ]);
    const text = tableText(table);
    expect(text).toContain('iifname "ens3" fib daddr type local meta nfproto ipv4');
    expect(text).toContain('oifname "macvlan0" meta nfproto ipv4 ct status dnat snat ip to 192.0.2.100');
    expect(text).toContain('iifname "macvlan0" meta l4proto { tcp, udp, sctp } drop');
    expect(text).toContain('tcp dport != 8443 reject with tcp reset');
    expect(text).toContain('iifname "ens3" oifname "macvlan0" ct status dnat accept');
    expect(text).not.toContain('9099 reject');
  });

  it('the fallback health rule uses the configured health port', () => {
    const table = plan({ addresses: [V4], rules: tcpRules(1), fallbackIP: '192.0.2.20' }, options);
    expect(chainOf(table, 'prerouting').rules[1]!.expr).toEqual([
      { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ens3' } },
      { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8443 } },
      { accept: null },
    ]);
    expect(tableText(table)).toContain('iifname "ens3" fib daddr type local tcp dport 8443 accept');
  });
});

describe('replaceTableBatch', () => {
  const table = plan({
    addresses: [V4, V6],
    rules: [
      { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP', targetPort: 8080 },
      { destinationIP: '2001:db8:100::10', port: 53, protocol: 'UDP' },
    ],
    fallbackIP: '192.0.2.20',
  });
  const batch = replaceTableBatch(table);
  const id = { family: 'inet', name: 'egress_router' };

  it('starts with metainfo, add table, delete table, add table', () => {
    expect(batch.nftables.slice(0, 4)).toEqual([
      { metainfo: { json_schema_version: 1 } },
      { add: { table: id } },
      { delete: { table: id } },
      { add: { table: id } },
    ]);
    expect(batch.nftables.filter((c) => 'delete' in c)).toHaveLength(1);
    expect(batch.nftables.filter((c) => 'metainfo' in c)).toHaveLength(1);
  });

  it('then adds the maps, the chains and the rules, in that order, all in the table', () => {
    const kinds = batch.nftables.slice(4).map((c) => Object.keys((c as { add: object }).add)[0]);
    const maps = table.maps.length;
    const chains = table.chains.length;
    const rules = table.chains.reduce((n, c) => n + c.rules.length, 0);
    expect(kinds).toEqual([
      ...Array<string>(maps).fill('map'),
      ...Array<string>(chains).fill('chain'),
      ...Array<string>(rules).fill('rule'),
    ]);
    for (const command of batch.nftables.slice(4)) {
      const object = Object.values((command as { add: Record<string, Record<string, unknown>> }).add)[0]!;
      expect(object.family).toBe('inet');
      expect(object.table).toBe('egress_router');
    }
  });

  it('declares maps as JSON-loadable on nft 1.0.6: array type, string map, counter stmt, concat elements', () => {
    const addMaps = batch.nftables.slice(4, 8).map((c) => (c as { add: { map: unknown } }).add.map);
    expect(addMaps).toEqual([
      {
        family: 'inet',
        table: 'egress_router',
        name: 'redirect_addr4',
        type: ['inet_proto', 'inet_service'],
        map: 'ipv4_addr',
        stmt: [{ counter: null }],
        elem: [[{ concat: ['tcp', 80] }, '192.0.2.10']],
      },
      {
        family: 'inet',
        table: 'egress_router',
        name: 'redirect_port4',
        type: ['inet_proto', 'inet_service'],
        map: 'inet_service',
        elem: [[{ concat: ['tcp', 80] }, 8080]],
      },
      {
        family: 'inet',
        table: 'egress_router',
        name: 'redirect_addr6',
        type: ['inet_proto', 'inet_service'],
        map: 'ipv6_addr',
        stmt: [{ counter: null }],
        elem: [[{ concat: ['udp', 53] }, '2001:db8:100::10']],
      },
      {
        family: 'inet',
        table: 'egress_router',
        name: 'redirect_port6',
        type: ['inet_proto', 'inet_service'],
        map: 'inet_service',
        elem: [[{ concat: ['udp', 53] }, 53]],
      },
    ]);
  });

  it('declares chains with numeric priorities and rules with their comments', () => {
    const chains = batch.nftables
      .map((c) => (c as { add?: { chain?: Record<string, unknown> } }).add?.chain)
      .filter((c) => c !== undefined);
    expect(chains.map((c) => [c.name, c.prio, c.policy])).toEqual([
      ['mark_from_cluster', -150, 'accept'],
      ['mark_local_replies', -150, 'accept'],
      ['prerouting', -100, 'accept'],
      ['postrouting', 100, 'accept'],
      ['input', 0, 'accept'],
      ['forward', 0, 'drop'],
    ]);
    const rules = batch.nftables
      .map((c) => (c as { add?: { rule?: { chain: string; expr: unknown; comment?: string } } }).add?.rule)
      .filter((r) => r !== undefined);
    expect(rules.map((r) => [r.chain, r.expr, r.comment])).toEqual(
      table.chains.flatMap((c) => c.rules.map((r) => [c.name, r.expr, r.comment])),
    );
    // Rules without a comment carry no "comment" key at all.
    expect(rules.filter((r) => !('comment' in r))).toHaveLength(2);
  });

  it('is plain JSON (survives a round trip unchanged)', () => {
    expect(JSON.parse(JSON.stringify(batch))).toEqual(batch);
  });
});

describe('tableText', () => {
  it('prints maps, then chains, as one table block ending in a newline', () => {
    const text = tableText(
      plan({
        addresses: [V4],
        rules: [
          { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' },
          { destinationIP: '192.0.2.10', port: 5353, protocol: 'UDP', targetPort: 53 },
        ],
      }),
    );
    expect(text.startsWith('table inet egress_router {\n')).toBe(true);
    expect(text.endsWith('\n}\n')).toBe(true);
    expect(text).toContain(
      [
        '\tmap redirect_addr4 {',
        '\t\ttype inet_proto . inet_service : ipv4_addr',
        '\t\tcounter',
        '\t\telements = { tcp . 80 : 192.0.2.10,',
        '\t\t\t     udp . 5353 : 192.0.2.10 }',
        '\t}',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        '\tmap redirect_port4 {',
        '\t\ttype inet_proto . inet_service : inet_service',
        '\t\telements = { tcp . 80 : 80,',
        '\t\t\t     udp . 5353 : 53 }',
        '\t}',
      ].join('\n'),
    );
    const order = ['map redirect_addr4', 'map redirect_port4', 'chain prerouting', 'chain postrouting'];
    const positions = order.map((s) => text.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text.indexOf('chain input')).toBeLessThan(text.indexOf('chain forward'));
    expect(text).toContain('ct state established,related accept');
  });
});
