import { describe, expect, it } from 'vitest';
import type { DraftConfig } from '../../../src/config/draft.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { validateDraft } from '../../../src/config/validate.js';
import {
  cniJson,
  egressRouterJson,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  paths,
  rule,
  spec,
  withAddresses,
  withRedirect,
} from './helpers.js';

const V4 = { ip: '192.0.2.100/24', gateway: '192.0.2.1' };
const V6 = { ip: '2001:db8::64/64', gateway: '2001:db8::1' };
const DUAL = [V4, V6];

describe('addresses', () => {
  it('needs at least one', () => {
    expectOnlyIssue(load(withAddresses([])), 'spec.addresses', /^must list at least one address$/);
  });

  it('takes CIDR form or a bare address (host prefix)', () => {
    const config = expectOk(
      load(withAddresses([{ ip: '192.0.2.100/24' }, { ip: '192.0.2.101' }, { ip: '2001:db8::5' }])),
    );
    expect(config.addresses.map((a) => [a.address, a.prefixLength, a.family])).toEqual([
      ['192.0.2.100', 24, 4],
      ['192.0.2.101', 32, 4],
      ['2001:db8::5', 128, 6],
    ]);
  });

  it.each([
    ['192.0.2.100/33', /invalid prefix length "33"/],
    ['192.0.2.100/', /invalid prefix length ""/],
    ['192.0.2.100/024', /invalid prefix length "024"/],
    ['192.0.2.100 /24', /surrounding whitespace/],
    ['192.0.2.256/24', /octet above 255/],
    ['192.000.2.1/24', /leading zero/],
    ['fe80::1%eth0/64', /zone/],
    ['::ffff:192.0.2.1/120', /IPv4-mapped/],
    ['', /must not be empty/],
    ['example.com', /is not an IP address/],
  ])('rejects ip %j', (ip, reason) => {
    const issue = expectOnlyIssue(
      load(withAddresses([{ ip }])),
      'spec.addresses[0].ip',
      /^must be an IP address in CIDR form \(or bare\), but /,
    );
    expect(issue.message).toMatch(reason);
  });

  it.each([
    ['127.0.0.1/8', 'a loopback address', '127.0.0.1'],
    ['::1/128', 'a loopback address', '::1'],
    ['224.0.0.5/24', 'a multicast address', '224.0.0.5'],
    ['ff05::2/64', 'a multicast address', 'ff05::2'],
    ['0.0.0.0/0', 'the unspecified address', '0.0.0.0'],
    ['0.0.0.0', 'the unspecified address', '0.0.0.0'],
    ['::/0', 'the unspecified address', '::'],
    ['fe80::5/64', 'a link-local address (it would need a zone)', 'fe80::5'],
    ['255.255.255.255', 'the broadcast address', '255.255.255.255'],
  ])('rejects %s as %s', (ip, kind, shown) => {
    expectOnlyIssue(
      load(withAddresses([{ ip }])),
      'spec.addresses[0].ip',
      new RegExp(`^cannot be ${kind.replace(/[()]/g, '\\$&')}, got ${shown}$`),
    );
  });

  it.each([
    ['192.0.2.0/24', 'network', 24],
    ['192.0.2.255/24', 'broadcast', 24],
    ['10.0.0.0/30', 'network', 30],
    ['10.0.0.3/30', 'broadcast', 30],
    ['10.0.0.0/8', 'network', 8],
  ])('rejects %s, the %s address of its subnet', (ip, edge, length) => {
    const address = ip.split('/')[0];
    expectOnlyIssue(
      load(withAddresses([{ ip }])),
      'spec.addresses[0].ip',
      new RegExp(`^${address?.replace(/\./g, '\\.')} is the ${edge} address of /${length}$`),
    );
  });

  it.each([
    '192.0.2.0/31',
    '192.0.2.1/31',
    '192.0.2.0/32',
    '192.0.2.255/32',
    '10.0.0.1/30',
    '10.0.0.2/30',
    '2001:db8::/64',
    '169.254.10.10/16',
  ])('accepts %s', (ip) => {
    expectOk(load(withAddresses([{ ip }])));
  });

  it('rejects the same address twice, whatever the prefix or spelling', () => {
    const issues = expectIssues(
      load(
        withAddresses([
          { ip: '192.0.2.100/24' },
          { ip: '192.0.2.100/25' },
          { ip: '2001:db8::64/64' },
          { ip: '2001:DB8:0::64/128' },
          { ip: '192.0.2.100' },
        ]),
      ),
    );
    expect(issues).toEqual([
      { path: 'spec.addresses[1].ip', message: 'duplicates spec.addresses[0].ip (192.0.2.100)' },
      { path: 'spec.addresses[3].ip', message: 'duplicates spec.addresses[2].ip (2001:db8::64)' },
      { path: 'spec.addresses[4].ip', message: 'duplicates spec.addresses[0].ip (192.0.2.100)' },
    ]);
  });

  it('keeps several addresses of one family, in order', () => {
    const config = expectOk(load(withAddresses([{ ip: '192.0.2.101/24' }, { ip: '192.0.2.100/24' }, V6])));
    expect(config.addresses.map((a) => a.address)).toEqual(['192.0.2.101', '192.0.2.100', '2001:db8::64']);
  });
});

describe('gateways', () => {
  it('keeps a gateway inside the subnet, canonicalized', () => {
    const config = expectOk(load(withAddresses([{ ip: '2001:db8::64/64', gateway: '2001:DB8::0:1' }])));
    expect(config.addresses[0]?.gateway).toBe('2001:db8::1');
  });

  it('rejects a gateway of the other family', () => {
    const issues = expectIssues(
      load(
        withAddresses([
          { ip: '192.0.2.100/24', gateway: '2001:db8::1' },
          { ip: '2001:db8::64/64', gateway: '192.0.2.1' },
        ]),
      ),
    );
    expect(issues).toEqual([
      {
        path: 'spec.addresses[0].gateway',
        message: 'IPv6 gateway 2001:db8::1 for the IPv4 address 192.0.2.100',
      },
      {
        path: 'spec.addresses[1].gateway',
        message: 'IPv4 gateway 192.0.2.1 for the IPv6 address 2001:db8::64',
      },
    ]);
  });

  it('rejects a gateway outside the subnet', () => {
    expectOnlyIssue(
      load(withAddresses([{ ip: '192.0.2.100/25', gateway: '192.0.2.129' }])),
      'spec.addresses[0].gateway',
      /^gateway 192\.0\.2\.129 is outside the subnet 192\.0\.2\.100\/25$/,
    );
    expectOnlyIssue(
      load(withAddresses([{ ip: '2001:db8::64/64', gateway: '2001:db8:1::1' }])),
      'spec.addresses[0].gateway',
      /^gateway 2001:db8:1::1 is outside the subnet 2001:db8::64\/64$/,
    );
  });

  it('accepts any gateway for a host-prefix address (on-link host route)', () => {
    const config = expectOk(
      load(
        withAddresses([
          { ip: '192.0.2.100/32', gateway: '198.51.100.1' },
          { ip: '2001:db8::64', gateway: '2001:db8:ffff::1' },
        ]),
      ),
    );
    expect(config.addresses.map((a) => a.gateway)).toEqual(['198.51.100.1', '2001:db8:ffff::1']);
  });

  it('rejects a gateway equal to the address', () => {
    expectOnlyIssue(
      load(withAddresses([{ ip: '192.0.2.100/24', gateway: '192.0.2.100' }])),
      'spec.addresses[0].gateway',
      /^gateway 192\.0\.2\.100 is the address itself$/,
    );
    expectOnlyIssue(
      load(withAddresses([{ ip: '2001:db8::64', gateway: '2001:DB8::64' }])),
      'spec.addresses[0].gateway',
      /^gateway 2001:db8::64 is the address itself$/,
    );
  });

  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['224.0.0.1', 'a multicast address'],
    ['0.0.0.0', 'the unspecified address'],
    ['255.255.255.255', 'the broadcast address'],
  ])('rejects the gateway %s as %s', (gateway, kind) => {
    expectOnlyIssue(
      load(withAddresses([{ ip: '192.0.2.100/32', gateway }])),
      'spec.addresses[0].gateway',
      new RegExp(`^cannot be ${kind} \\(gateway\\), got ${gateway.replace(/\./g, '\\.')}$`),
    );
  });

  it('rejects a malformed gateway', () => {
    expectOnlyIssue(
      load(withAddresses([{ ip: '192.0.2.100/24', gateway: '192.0.2.1/24' }])),
      'spec.addresses[0].gateway',
      /not an IP address/,
    );
    expectOnlyIssue(
      load(withAddresses([{ ip: '192.0.2.100/24', gateway: '' }])),
      'spec.addresses[0].gateway',
      /^must not be empty$/,
    );
  });

  it('rejects two different gateways in one family', () => {
    expectOnlyIssue(
      load(
        withAddresses([
          { ip: '192.0.2.100/24', gateway: '192.0.2.1' },
          { ip: '192.0.2.101/24', gateway: '192.0.2.2' },
        ]),
      ),
      'spec.addresses[1].gateway',
      /^conflicts with spec\.addresses\[0\]\.gateway \(192\.0\.2\.1\): one IPv4 default gateway only$/,
    );
  });

  it('allows the same gateway repeated, and one gateway per family', () => {
    const config = expectOk(
      load(
        withAddresses([
          { ip: '192.0.2.100/24', gateway: '192.0.2.1' },
          { ip: '192.0.2.101/24', gateway: '192.0.2.1' },
          { ip: '192.0.2.102/24' },
          { ip: '2001:db8::64/64', gateway: '2001:db8::1' },
          { ip: '2001:db8::65/64', gateway: '2001:DB8::1' },
        ]),
      ),
    );
    expect(config.addresses.map((a) => a.gateway)).toEqual([
      '192.0.2.1',
      '192.0.2.1',
      undefined,
      '2001:db8::1',
      '2001:db8::1',
    ]);
  });
});

describe('redirect rules', () => {
  it.each([
    ['port', 0, /^must be 1\.\.65535, got 0$/],
    ['port', 65536, /^must be 1\.\.65535, got 65536$/],
    ['port', -80, /^must be 1\.\.65535, got -80$/],
    ['port', 80.5, /^must be 1\.\.65535, got 80\.5$/],
    ['targetPort', 0, /^must be 1\.\.65535, got 0$/],
    ['targetPort', 65536, /^must be 1\.\.65535, got 65536$/],
    ['targetPort', 1.5, /^must be 1\.\.65535, got 1\.5$/],
  ])('rejects %s %d', (field, value, message) => {
    const r = field === 'port' ? rule('192.0.2.10', value) : rule('192.0.2.10', 80, 'TCP', value);
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [r] })),
      `spec.redirect.redirectRules[0].${field}`,
      message,
    );
  });

  it('accepts the port range edges', () => {
    const config = expectOk(
      load(
        withRedirect({
          redirectRules: [rule('192.0.2.10', 1, 'TCP', 65535), rule('192.0.2.10', 65535, 'TCP', 1)],
        }),
      ),
    );
    expect(config.redirectRules.map((r) => [r.port, r.targetPort])).toEqual([
      [1, 65535],
      [65535, 1],
    ]);
  });

  it.each([
    ['127.0.0.1', /^cannot be a loopback address \(destinationIP\), got 127\.0\.0\.1$/],
    ['224.0.0.1', /^cannot be a multicast address \(destinationIP\)/],
    ['0.0.0.0', /^cannot be the unspecified address \(destinationIP\)/],
    ['255.255.255.255', /^cannot be the broadcast address \(destinationIP\)/],
    ['192.0.2.10/32', /is not an IP address/],
    ['192.0.2.010', /leading zero/],
    [' 192.0.2.10', /surrounding whitespace/],
    ['203.0.113.5:80', /is not an IP address/],
  ])('rejects the destination %j', (destinationIP, message) => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule(destinationIP, 80)] })),
      'spec.redirect.redirectRules[0].destinationIP',
      message,
    );
  });

  it('rejects an IPv6 link-local destination', () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('fe80::10', 80)] }, DUAL)),
      'spec.redirect.redirectRules[0].destinationIP',
      /^cannot be a link-local address/,
    );
  });

  it('accepts destinations beyond the gateway', () => {
    expect(
      expectOk(load(withRedirect({ redirectRules: [rule('203.0.113.7', 443)] }))).redirectRules[0]
        ?.destinationIP,
    ).toBe('203.0.113.7');
  });

  it('rejects a destination of a family the router has no address in', () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('2001:db8::10', 80)] })),
      'spec.redirect.redirectRules[0].destinationIP',
      /^IPv6 destination 2001:db8::10, but the router has no IPv6 address$/,
    );
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('192.0.2.10', 80)] }, [V6])),
      'spec.redirect.redirectRules[0].destinationIP',
      /^IPv4 destination 192\.0\.2\.10, but the router has no IPv4 address$/,
    );
  });

  it("rejects a destination that is one of the router's own addresses, in any spelling", () => {
    const issues = expectIssues(
      load(withRedirect({ redirectRules: [rule('192.0.2.100', 80), rule('2001:DB8:0::64', 80)] }, DUAL)),
    );
    expect(issues).toEqual([
      {
        path: 'spec.redirect.redirectRules[0].destinationIP',
        message: "192.0.2.100 is one of the router's own addresses",
      },
      {
        path: 'spec.redirect.redirectRules[1].destinationIP',
        message: "2001:db8::64 is one of the router's own addresses",
      },
    ]);
  });

  it('rejects the same (protocol, port) twice in one family, even with other targets', () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('192.0.2.10', 80), rule('192.0.2.11', 80, 'TCP', 8080)] })),
      'spec.redirect.redirectRules[1].port',
      /^TCP 80 is already redirected by spec\.redirect\.redirectRules\[0\] for IPv4$/,
    );
    expectOnlyIssue(
      load(
        withRedirect(
          { redirectRules: [rule('2001:db8::10', 53, 'UDP'), rule('2001:db8::10', 53, 'UDP')] },
          DUAL,
        ),
      ),
      'spec.redirect.redirectRules[1].port',
      /^UDP 53 is already redirected by spec\.redirect\.redirectRules\[0\] for IPv6$/,
    );
  });

  it('reports every later duplicate against the first', () => {
    const issues = expectIssues(
      load(
        withRedirect({
          redirectRules: [rule('192.0.2.10', 80), rule('192.0.2.11', 80), rule('192.0.2.12', 80)],
        }),
      ),
    );
    expect(paths(issues)).toEqual([
      'spec.redirect.redirectRules[1].port',
      'spec.redirect.redirectRules[2].port',
    ]);
    for (const issue of issues)
      expect(issue.message).toMatch(/by spec\.redirect\.redirectRules\[0\] for IPv4$/);
  });

  it('allows one port across protocols and across families', () => {
    const config = expectOk(
      load(
        withRedirect(
          {
            redirectRules: [
              rule('192.0.2.10', 80, 'TCP'),
              rule('192.0.2.10', 80, 'UDP'),
              rule('192.0.2.10', 80, 'SCTP'),
              rule('2001:db8::10', 80, 'TCP'),
              rule('2001:db8::10', 80, 'UDP'),
              rule('2001:db8::10', 80, 'SCTP'),
            ],
          },
          DUAL,
        ),
      ),
    );
    expect(config.redirectRules).toHaveLength(6);
    expect(config.redirectRules.map((r) => `${r.family}/${r.protocol}`)).toEqual([
      '4/tcp',
      '4/udp',
      '4/sctp',
      '6/tcp',
      '6/udp',
      '6/sctp',
    ]);
  });

  it('does not count a rejected rule as taking its port', () => {
    const config = load(withRedirect({ redirectRules: [rule('127.0.0.1', 80), rule('192.0.2.10', 80)] }));
    expect(paths(expectIssues(config))).toEqual(['spec.redirect.redirectRules[0].destinationIP']);
  });

  it("refuses TCP on the agent's health port, but not UDP or SCTP", () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('192.0.2.10', 9099)] })),
      'spec.redirect.redirectRules[0].port',
      /^TCP 9099 is the agent's health port \(change --health-addr or the rule\)$/,
    );
    expectOk(
      load(
        withRedirect({ redirectRules: [rule('192.0.2.10', 9099, 'UDP'), rule('192.0.2.10', 9099, 'SCTP')] }),
      ),
    );
    // The health port is about the local port only; a target port of 9099 is fine.
    expectOk(load(withRedirect({ redirectRules: [rule('192.0.2.10', 80, 'TCP', 9099)] })));
  });

  it('refuses the health port in IPv6 too', () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('2001:db8::10', 9099)] }, DUAL)),
      'spec.redirect.redirectRules[0].port',
      /health port/,
    );
  });

  it('follows a custom healthPort option', () => {
    const text = withRedirect({ redirectRules: [rule('192.0.2.10', 9099), rule('192.0.2.11', 8080)] });
    expectOnlyIssue(
      load(text, { ...DEFAULT_OPTIONS, healthPort: 8080 }),
      'spec.redirect.redirectRules[1].port',
      /^TCP 8080 is the agent's health port/,
    );
  });
});

describe('fallbackIP', () => {
  it('rejects a fallback of a family without an address', () => {
    expectOnlyIssue(
      load(withRedirect({ fallbackIP: '2001:db8::20' })),
      'spec.redirect.fallbackIP',
      /^IPv6 fallback 2001:db8::20, but the router has no IPv6 address$/,
    );
    expectOnlyIssue(
      load(withRedirect({ fallbackIP: '192.0.2.20' }, [V6])),
      'spec.redirect.fallbackIP',
      /^IPv4 fallback 192\.0\.2\.20, but the router has no IPv4 address$/,
    );
  });

  it("rejects a fallback equal to one of the router's own addresses", () => {
    expectOnlyIssue(
      load(withRedirect({ fallbackIP: '2001:DB8::64' }, DUAL)),
      'spec.redirect.fallbackIP',
      /^2001:db8::64 is one of the router's own addresses$/,
    );
  });

  it.each([
    ['127.0.0.1', /^cannot be a loopback address \(fallbackIP\)/],
    ['::', /^cannot be the unspecified address \(fallbackIP\)/],
    ['ff02::1', /^cannot be a multicast address \(fallbackIP\)/],
    ['192.0.2.20/32', /is not an IP address/],
    ['', /^must not be empty$/],
  ])('rejects the fallback %j', (fallbackIP, message) => {
    expectOnlyIssue(load(withRedirect({ fallbackIP }, DUAL)), 'spec.redirect.fallbackIP', message);
  });

  it('may be the gateway or a destination of a rule', () => {
    expectOk(load(withRedirect({ fallbackIP: '192.0.2.1', redirectRules: [rule('192.0.2.1', 80)] })));
  });
});

describe('the interface', () => {
  const master = (name: string) =>
    egressRouterJson(spec({ networkInterface: { macvlan: { master: name } } }));

  it.each(['eth1', 'ens4f0', 'bond0.100', 'x'.repeat(15)])('accepts master %j', (name) => {
    expect(expectOk(load(master(name))).macvlan.master).toBe(name);
  });

  it.each([
    ['x'.repeat(16), /^interface name must be at most 15 bytes/],
    ['ééééééééé', /^interface name must be at most 15 bytes/],
    ['eth/1', /^interface name may contain only letters, digits, '_', '\.' and '-', got "eth\/1"$/],
    ['eth0:1', /^interface name may contain only letters, digits/],
    ['eth 0', /^interface name may contain only letters, digits/],
    ['eth0\n', /^interface name may contain only letters, digits/],
    ['redirect', /^interface name "redirect" is an nftables keyword$/],
    ['', /^interface name must not be empty$/],
    ['..', /^interface name cannot be "\.\."$/],
  ])('rejects master %j', (name, message) => {
    expectOnlyIssue(load(master(name)), 'spec.networkInterface.macvlan.master', message);
  });

  const mtu = (value: unknown, addresses: string[]) =>
    cniJson({ interfaceArgs: { mtu: value }, ip: { addresses } });

  it.each([
    [68, ['192.0.2.5/24']],
    [65535, ['192.0.2.5/24']],
    [1280, ['2001:db8::5/64']],
    [1280, ['192.0.2.5/24', '2001:db8::5/64']],
    [9000, ['2001:db8::5/64']],
  ])('accepts mtu %d with %j', (value, addresses) => {
    expect(expectOk(load(mtu(value, addresses))).macvlan.mtu).toBe(value);
  });

  it.each([
    [67, ['192.0.2.5/24'], /^must be 68\.\.65535, got 67$/],
    [65536, ['192.0.2.5/24'], /^must be 68\.\.65535, got 65536$/],
    [1279, ['2001:db8::5/64'], /^must be 1280\.\.65535 \(IPv6 needs at least 1280\), got 1279$/],
    [
      1000,
      ['192.0.2.5/24', '2001:db8::5/64'],
      /^must be 1280\.\.65535 \(IPv6 needs at least 1280\), got 1000$/,
    ],
    [1500.5, ['192.0.2.5/24'], /^must be 68\.\.65535, got 1500\.5$/],
  ])('rejects mtu %d with %j', (value, addresses, message) => {
    expectOnlyIssue(load(mtu(value, addresses)), 'interfaceArgs.mtu', message);
  });
});

describe('notes', () => {
  it('says that nothing is redirected without rules and fallback', () => {
    expect(expectOk(load(withRedirect({}, DUAL))).notes).toEqual([
      'no redirect rules and no fallbackIP: nothing is redirected (egress address and SNAT only)',
    ]);
  });

  it('says, per family with an address, that other connections are rejected when it has no fallback', () => {
    const config = expectOk(
      load(withRedirect({ redirectRules: [rule('192.0.2.10', 80)], fallbackIP: '192.0.2.20' }, DUAL)),
    );
    expect(config.notes).toEqual([
      'no IPv6 fallbackIP: other IPv6 TCP connections to the router are reset, UDP/SCTP get ICMP port-unreachable',
    ]);
    const v4Only = expectOk(load(withRedirect({ redirectRules: [rule('192.0.2.10', 80)] })));
    expect(v4Only.notes).toEqual([
      'no IPv4 fallbackIP: other IPv4 TCP connections to the router are reset, UDP/SCTP get ICMP port-unreachable',
    ]);
  });

  it('has no notes when the only family has a fallback', () => {
    expect(expectOk(load(withRedirect({ fallbackIP: '192.0.2.20' }))).notes).toEqual([]);
  });
});

describe('report every problem', () => {
  it('collects independent problems from every part of the config', () => {
    const issues = expectIssues(
      load(
        egressRouterJson({
          networkInterface: { macvlan: { master: 'way-too-long-name0' } },
          addresses: [
            { ip: '192.0.2.100/24', gateway: '198.51.100.1' },
            { ip: '127.0.0.1/8' },
            { ip: '192.0.2.100/24' },
            { ip: '2001:db8::64/64', gateway: '192.0.2.1' },
          ],
          redirect: {
            redirectRules: [
              rule('192.0.2.10', 0),
              rule('192.0.2.10', 80),
              rule('192.0.2.11', 80),
              rule('192.0.2.100', 81),
              rule('192.0.2.12', 9099),
              rule('224.0.0.1', 82),
              rule('192.0.2.13', 83, 'TCP', 70000),
              rule('192.0.2.14', 84, 'tcp'),
            ],
            fallbackIP: '2001:db8::64',
          },
        }),
      ),
    );
    expect(paths(issues).sort()).toEqual(
      [
        'spec.redirect.redirectRules[7].protocol',
        'spec.addresses[0].gateway',
        'spec.addresses[1].ip',
        'spec.addresses[2].ip',
        'spec.addresses[3].gateway',
        'spec.networkInterface.macvlan.master',
        'spec.redirect.redirectRules[0].port',
        'spec.redirect.redirectRules[2].port',
        'spec.redirect.redirectRules[3].destinationIP',
        'spec.redirect.redirectRules[4].port',
        'spec.redirect.redirectRules[5].destinationIP',
        'spec.redirect.redirectRules[6].targetPort',
        'spec.redirect.fallbackIP',
      ].sort(),
    );
    expectIssueAt(issues, 'spec.redirect.fallbackIP', /own addresses/);
    expectIssueAt(issues, 'spec.redirect.redirectRules[2].port', /already redirected/);
  });
});

describe('validateDraft directly', () => {
  const draft = (overrides: Partial<DraftConfig> = {}): DraftConfig => ({
    format: 'CNI',
    macvlanMode: 'VEPA',
    addressesPath: 'addrs',
    addresses: [{ ip: { value: '192.0.2.5/24', path: 'a0' }, gateway: { value: '192.0.2.1', path: 'g0' } }],
    rules: [],
    notes: ['from the parser'],
    ...overrides,
  });

  it('builds the model and keeps the parser notes first', () => {
    const result = validateDraft(
      draft({
        name: { value: 'n', path: 'name' },
        namespace: { value: 'ns', path: 'namespace' },
        master: { value: 'eth1', path: 'm' },
        mtu: { value: 1400, path: 'mtu' },
        legacyMode: 'init',
        rules: [
          {
            path: 'r0',
            fieldSeparator: '.',
            protocol: 'udp',
            port: 53,
            destinationIP: '192.0.2.53',
          },
        ],
      }),
      DEFAULT_OPTIONS,
    );
    expect(result).toEqual({
      ok: true,
      config: {
        format: 'CNI',
        name: 'n',
        namespace: 'ns',
        macvlan: { mode: 'VEPA', master: 'eth1', mtu: 1400 },
        addresses: [{ address: '192.0.2.5', prefixLength: 24, family: 4, gateway: '192.0.2.1' }],
        redirectRules: [
          { protocol: 'udp', port: 53, destinationIP: '192.0.2.53', targetPort: 53, family: 4, source: 'r0' },
        ],
        legacyMode: 'init',
        notes: [
          'from the parser',
          'no IPv4 fallbackIP: other IPv4 TCP connections to the router are reset, UDP/SCTP get ICMP port-unreachable',
        ],
      },
    });
  });

  it('uses the paths the draft gives', () => {
    const result = validateDraft(
      draft({
        addresses: [],
        fallback: { value: '192.0.2.9', path: 'fb' },
        rules: [
          {
            path: 'r0',
            fieldSeparator: '.',
            protocol: 'tcp',
            port: 0,
            destinationIP: 'x',
            targetPort: -1,
          },
        ],
      }),
      DEFAULT_OPTIONS,
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(paths(result.issues)).toEqual(['addrs', 'r0.port', 'r0.targetPort', 'r0.destinationIP', 'fb']);
  });

  it('rejects non-integer and non-finite port values that bypass the parsers', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53]) {
      const result = validateDraft(
        draft({
          rules: [
            {
              path: 'r',
              fieldSeparator: ' ',
              protocol: 'tcp',
              port: value,
              destinationIP: '192.0.2.9',
            },
          ],
        }),
        DEFAULT_OPTIONS,
      );
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.issues).toEqual([{ path: 'r port', message: `must be 1..65535, got ${value}` }]);
    }
  });
});

describe('IPv6 link-local gateways', () => {
  it('accepts fe80::1 as the gateway of a global IPv6 address (no zone needed on a known interface)', () => {
    const config = expectOk(load(withAddresses([{ ip: '2001:db8:100::64/64', gateway: 'fe80::1' }])));
    expect(config.addresses[0]?.gateway).toBe('fe80::1');
  });

  it('still rejects an IPv6 link-local address as an egress address or destination', () => {
    expectOnlyIssue(load(withAddresses([{ ip: 'fe80::64/64' }])), 'spec.addresses[0].ip', /link-local/);
  });

  it('rejects a link-local gateway for an IPv4 address (family mismatch)', () => {
    expectOnlyIssue(
      load(withAddresses([{ ip: '192.0.2.100/24', gateway: 'fe80::1' }])),
      'spec.addresses[0].gateway',
      /IPv6 gateway/,
    );
  });
});
