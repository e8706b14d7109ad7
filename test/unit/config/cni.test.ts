import { describe, expect, it } from 'vitest';
import {
  cniJson,
  example,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  nadYaml,
  paths,
} from './helpers.js';

const IP = { addresses: ['192.0.2.100/24'], gateway: '192.0.2.1' };

function withDestinations(destinations: unknown[], extra: Record<string, unknown> = {}): string {
  return cniJson({ ip: { ...IP, destinations }, ...extra });
}

describe('CNI config: the bundled example', () => {
  it('cni.json normalizes to the full model', () => {
    expect(expectOk(load(example('cni.json')))).toEqual({
      format: 'CNI',
      name: 'egress-router-cni-nad',
      macvlan: { mode: 'Bridge', master: 'eth1', mtu: 1500 },
      addresses: [{ address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' }],
      redirectRules: [
        {
          protocol: 'tcp',
          port: 80,
          destinationIP: '192.0.2.10',
          targetPort: 80,
          family: 4,
          source: 'ip.destinations[0]',
        },
        {
          protocol: 'tcp',
          port: 8080,
          destinationIP: '192.0.2.20',
          targetPort: 80,
          family: 4,
          source: 'ip.destinations[1]',
        },
        {
          protocol: 'udp',
          port: 5353,
          destinationIP: '192.0.2.10',
          targetPort: 53,
          family: 4,
          source: 'ip.destinations[2]',
        },
      ],
      fallback: { address: '192.0.2.20', family: 4, source: 'ip.destinations[3]' },
      notes: [],
    });
  });

  it('the reference config from the API document loads', () => {
    const text = JSON.stringify({
      cniVersion: '0.4.0',
      type: 'egress-router',
      name: 'egress-router-cni-nad',
      interfaceType: 'macvlan',
      interfaceArgs: { master: 'ens4', mode: 'bridge', mtu: '1500' },
      ip: {
        addresses: ['192.168.12.99/24'],
        gateway: '192.168.12.1',
        destinations: ['80 TCP 203.0.113.25', '8080 tcp 203.0.113.26 80', '203.0.113.27'],
      },
      fallbackIP: '203.0.113.27',
    });
    const config = expectOk(load(text));
    expect(config.fallback).toEqual({ address: '203.0.113.27', family: 4, source: 'ip.destinations[2]' });
    expect(config.redirectRules).toHaveLength(2);
  });
});

describe('CNI config: interfaceType and interfaceArgs', () => {
  it('defaults to macvlan bridge with no master and no MTU', () => {
    const config = expectOk(load(cniJson({ ip: IP })));
    expect(config.macvlan).toEqual({ mode: 'Bridge' });
    expect(config.format).toBe('CNI');
    expect(config.name).toBe('n');
  });

  it('accepts interfaceType macvlan and rejects others', () => {
    expectOk(load(cniJson({ ip: IP, interfaceType: 'macvlan' })));
    expectOnlyIssue(
      load(cniJson({ ip: IP, interfaceType: 'ipvlan' })),
      'interfaceType',
      /^must be one of macvlan, got "ipvlan"$/,
    );
  });

  it.each([
    ['bridge', 'Bridge'],
    ['BRIDGE', 'Bridge'],
    ['Bridge', 'Bridge'],
    ['private', 'Private'],
    ['vepa', 'VEPA'],
    ['VePa', 'VEPA'],
    ['passthru', 'Passthru'],
    ['PASSTHRU', 'Passthru'],
  ])('reads mode %s as %s (any case)', (mode, expected) => {
    expect(expectOk(load(cniJson({ ip: IP, interfaceArgs: { mode } }))).macvlan.mode).toBe(expected);
  });

  it.each(['passthrough', 'bridged', '', ' bridge'])('rejects mode %j', (mode) => {
    expectOnlyIssue(
      load(cniJson({ ip: IP, interfaceArgs: { mode } })),
      'interfaceArgs.mode',
      /^must be one of bridge, private, vepa, passthru, got /,
    );
  });

  it('keeps the master', () => {
    expect(expectOk(load(cniJson({ ip: IP, interfaceArgs: { master: 'ens4' } }))).macvlan.master).toBe(
      'ens4',
    );
  });

  it.each([
    ['1500', 1500],
    [1500, 1500],
    ['9000', 9000],
    [68, 68],
    ['65535', 65535],
  ])('reads mtu %j as %d (string or number)', (mtu, value) => {
    expect(expectOk(load(cniJson({ ip: IP, interfaceArgs: { mtu } }))).macvlan.mtu).toBe(value);
  });

  it.each(['+1500', '0x5dc', '1500.0', ' 1500', '1500 ', '', 'auto', '1.5e3'])(
    'rejects mtu text %j',
    (mtu) => {
      expectOnlyIssue(
        load(cniJson({ ip: IP, interfaceArgs: { mtu } })),
        'interfaceArgs.mtu',
        /^must be a decimal number, got /,
      );
    },
  );

  it('rejects mtu text with a leading zero', () => {
    expectOnlyIssue(
      load(cniJson({ ip: IP, interfaceArgs: { mtu: '01500' } })),
      'interfaceArgs.mtu',
      /^must not have leading zeros, got "01500"$/,
    );
  });

  it.each([
    [67, /^must be 68\.\.65535, got 67$/],
    ['0', /^must be 68\.\.65535, got 0$/],
    [65536, /^must be 68\.\.65535, got 65536$/],
    [1500.5, /^must be 68\.\.65535, got 1500\.5$/],
    [-1, /^must be 68\.\.65535, got -1$/],
  ])('rejects mtu %j by range', (mtu, message) => {
    expectOnlyIssue(load(cniJson({ ip: IP, interfaceArgs: { mtu } })), 'interfaceArgs.mtu', message);
  });

  it.each([
    [true, 'boolean true'],
    [null, 'null'],
    [[], 'a list'],
    [{}, 'an object'],
  ])('rejects mtu of type %j', (mtu, got) => {
    expectOnlyIssue(
      load(cniJson({ ip: IP, interfaceArgs: { mtu } })),
      'interfaceArgs.mtu',
      new RegExp(`^must be a string or a number, got ${got}$`),
    );
  });

  it('reports unknown interfaceArgs with a suggestion', () => {
    expectOnlyIssue(
      load(cniJson({ ip: IP, interfaceArgs: { MTU: 1500 } })),
      'interfaceArgs.MTU',
      /^unknown field \(did you mean "mtu"\?\)$/,
    );
  });
});

describe('CNI config: ip', () => {
  it('requires ip and ip.addresses', () => {
    expectOnlyIssue(load(cniJson({})), 'ip', /^is required$/);
    expectOnlyIssue(load(cniJson({ ip: {} })), 'ip.addresses', /^is required$/);
  });

  it('requires at least one address', () => {
    expectOnlyIssue(
      load(cniJson({ ip: { addresses: [] } })),
      'ip.addresses',
      /^must list at least one address$/,
    );
  });

  it('reports non-string addresses at their index', () => {
    const issues = expectIssues(load(cniJson({ ip: { addresses: ['192.0.2.1/24', 5, null] } })));
    expect(issues).toEqual([
      { path: 'ip.addresses[1]', message: 'must be a string, got number 5' },
      { path: 'ip.addresses[2]', message: 'must be a string, got null' },
    ]);
  });

  it('reports unknown ip fields with a suggestion', () => {
    expectOnlyIssue(
      load(cniJson({ ip: { ...IP, Destinations: [] } })),
      'ip.Destinations',
      /^unknown field \(did you mean "destinations"\?\)$/,
    );
  });

  it('tolerates unknown top-level keys (CNI runtime adds some)', () => {
    expectOk(load(cniJson({ ip: IP, prevResult: {}, runtimeConfig: {}, capabilities: {} })));
  });

  it('assigns the gateway to the first address of its own family', () => {
    const config = expectOk(
      load(
        cniJson({
          ip: { addresses: ['2001:db8::5/64', '192.0.2.5/24', '192.0.2.6/24'], gateway: '192.0.2.1' },
        }),
      ),
    );
    expect(config.addresses).toEqual([
      { address: '2001:db8::5', prefixLength: 64, family: 6 },
      { address: '192.0.2.5', prefixLength: 24, family: 4, gateway: '192.0.2.1' },
      { address: '192.0.2.6', prefixLength: 24, family: 4 },
    ]);
  });

  it('assigns an IPv6 gateway to the IPv6 address', () => {
    const config = expectOk(
      load(cniJson({ ip: { addresses: ['192.0.2.5/24', '2001:db8::5/64'], gateway: '2001:db8::1' } })),
    );
    expect(config.addresses[0]?.gateway).toBeUndefined();
    expect(config.addresses[1]?.gateway).toBe('2001:db8::1');
  });

  it('rejects a gateway of a family that has no address', () => {
    expectOnlyIssue(
      load(cniJson({ ip: { addresses: ['192.0.2.5/24'], gateway: '2001:db8::1' } })),
      'ip.gateway',
      /^IPv6 gateway 2001:db8::1, but ip\.addresses has no IPv6 address$/,
    );
    expectOnlyIssue(
      load(cniJson({ ip: { addresses: ['2001:db8::5/64'], gateway: '192.0.2.1' } })),
      'ip.gateway',
      /^IPv4 gateway 192\.0\.2\.1, but ip\.addresses has no IPv4 address$/,
    );
  });

  it('checks the gateway against its subnet', () => {
    expectOnlyIssue(
      load(cniJson({ ip: { addresses: ['192.0.2.5/24'], gateway: '198.51.100.1' } })),
      'ip.gateway',
      /^gateway 198\.51\.100\.1 is outside the subnet 192\.0\.2\.5\/24$/,
    );
  });

  it('rejects a malformed gateway at ip.gateway', () => {
    expectOnlyIssue(
      load(cniJson({ ip: { addresses: ['192.0.2.5/24'], gateway: '192.0.2.01' } })),
      'ip.gateway',
      /leading zero/,
    );
  });
});

describe('CNI config: destinations grammar', () => {
  it('reads "<port> <proto> <ip>" and "<port> <proto> <ip> <targetPort>"', () => {
    const config = expectOk(load(withDestinations(['80 tcp 192.0.2.10', '8080 udp 192.0.2.20 53'])));
    expect(config.redirectRules).toEqual([
      {
        protocol: 'tcp',
        port: 80,
        destinationIP: '192.0.2.10',
        targetPort: 80,
        family: 4,
        source: 'ip.destinations[0]',
      },
      {
        protocol: 'udp',
        port: 8080,
        destinationIP: '192.0.2.20',
        targetPort: 53,
        family: 4,
        source: 'ip.destinations[1]',
      },
    ]);
  });

  it.each(['tcp', 'TCP', 'Tcp', 'udp', 'UDP', 'sctp', 'SCTP', 'sCtP'])(
    'accepts protocol %s (any case)',
    (proto) => {
      const config = expectOk(load(withDestinations([`80 ${proto} 192.0.2.10`])));
      expect(config.redirectRules[0]?.protocol).toBe(proto.toLowerCase());
    },
  );

  it('tolerates extra whitespace and tabs between and around tokens', () => {
    const config = expectOk(load(withDestinations(['  80 \t TCP   192.0.2.10\t8080  '])));
    expect(config.redirectRules[0]).toMatchObject({
      port: 80,
      targetPort: 8080,
      destinationIP: '192.0.2.10',
    });
  });

  it('reads a bare IP as the fallback, wherever it stands', () => {
    const config = expectOk(load(withDestinations(['192.0.2.30', '80 tcp 192.0.2.10'])));
    expect(config.fallback).toEqual({ address: '192.0.2.30', family: 4, source: 'ip.destinations[0]' });
    expect(config.redirectRules).toHaveLength(1);
  });

  it('rejects a second fallback', () => {
    expectOnlyIssue(
      load(withDestinations(['192.0.2.30', '80 tcp 192.0.2.10', '192.0.2.31'])),
      'ip.destinations[2]',
      /^a second fallback; ip\.destinations\[0\] already is one$/,
    );
  });

  it.each(['', '   ', '80 tcp', '80 tcp 192.0.2.10 8080 extra', 'a b c d e'])(
    'rejects the line %j by shape',
    (line) => {
      expectOnlyIssue(
        load(withDestinations([line])),
        'ip.destinations[0]',
        /^expected "<port> <tcp\|udp\|sctp> <ip> \[<targetPort>\]" or a bare "<ip>" \(fallback\), got /,
      );
    },
  );

  it.each(['icmp', 'tcp6', 'any', '6'])('rejects protocol %s', (proto) => {
    expectOnlyIssue(
      load(withDestinations([`80 ${proto} 192.0.2.10`])),
      'ip.destinations[0].protocol',
      /^must be tcp, udp or sctp \(any case\), got /,
    );
  });

  it.each([
    ['+80', /^must be a decimal port number, got "\+80"$/],
    ['0x50', /^must be a decimal port number/],
    ['8e1', /^must be a decimal port number/],
    ['080', /^must not have leading zeros, got "080"$/],
    ['-1', /^must be a decimal port number/],
    ['http', /^must be a decimal port number/],
  ])('rejects port %s', (port, message) => {
    expectOnlyIssue(load(withDestinations([`${port} tcp 192.0.2.10`])), 'ip.destinations[0].port', message);
    expectOnlyIssue(
      load(withDestinations([`80 tcp 192.0.2.10 ${port}`])),
      'ip.destinations[0].targetPort',
      message,
    );
  });

  it.each([
    ['0', /^must be 1\.\.65535, got 0$/],
    ['65536', /^must be 1\.\.65535, got 65536$/],
  ])('rejects port %s by range', (port, message) => {
    expectOnlyIssue(load(withDestinations([`${port} tcp 192.0.2.10`])), 'ip.destinations[0].port', message);
    expectOnlyIssue(
      load(withDestinations([`80 tcp 192.0.2.10 ${port}`])),
      'ip.destinations[0].targetPort',
      message,
    );
  });

  it('accepts ports 1 and 65535', () => {
    const config = expectOk(load(withDestinations(['1 tcp 192.0.2.10 65535', '65535 tcp 192.0.2.10 1'])));
    expect(config.redirectRules.map((r) => [r.port, r.targetPort])).toEqual([
      [1, 65535],
      [65535, 1],
    ]);
  });

  it('reports every field problem of one line', () => {
    const issues = expectIssues(load(withDestinations(['+80 icmp 192.0.2.10 0x50'])));
    expect(paths(issues)).toEqual([
      'ip.destinations[0].port',
      'ip.destinations[0].protocol',
      'ip.destinations[0].targetPort',
    ]);
  });

  it('reports a bad destination address at the destinationIP field', () => {
    expectOnlyIssue(
      load(withDestinations(['80 tcp 192.0.2.300'])),
      'ip.destinations[0].destinationIP',
      /octet above 255/,
    );
    expectOnlyIssue(
      load(withDestinations(['80 tcp example.com'])),
      'ip.destinations[0].destinationIP',
      /not an IP address/,
    );
  });

  it('reports a bad bare fallback at the line', () => {
    expectOnlyIssue(load(withDestinations(['example.com'])), 'ip.destinations[0]', /not an IP address/);
  });

  it('rejects non-string destinations', () => {
    expectOnlyIssue(load(withDestinations([80])), 'ip.destinations[0]', /^must be a string, got number 80$/);
  });
});

describe('CNI config: top-level fallbackIP', () => {
  it('is honoured when destinations have no fallback (the Go plugin drops it)', () => {
    const config = expectOk(load(withDestinations(['80 tcp 192.0.2.10'], { fallbackIP: '192.0.2.30' })));
    expect(config.fallback).toEqual({ address: '192.0.2.30', family: 4, source: 'fallbackIP' });
  });

  it('is honoured with no destinations at all', () => {
    expect(expectOk(load(cniJson({ ip: IP, fallbackIP: '192.0.2.30' }))).fallback?.address).toBe(
      '192.0.2.30',
    );
  });

  it('may repeat the fallback line', () => {
    expectOk(load(withDestinations(['192.0.2.30'], { fallbackIP: '192.0.2.30' })));
  });

  it('may repeat the fallback line in another spelling of the same address', () => {
    const text = cniJson({
      ip: { addresses: ['2001:db8::5/64'], destinations: ['2001:db8::30'] },
      fallbackIP: '2001:DB8:0::30',
    });
    expect(expectOk(load(text)).fallback).toEqual({
      address: '2001:db8::30',
      family: 6,
      source: 'ip.destinations[0]',
    });
  });

  it('must agree with the fallback line', () => {
    expectOnlyIssue(
      load(withDestinations(['192.0.2.30'], { fallbackIP: '192.0.2.31' })),
      'fallbackIP',
      /^192\.0\.2\.31 disagrees with the fallback 192\.0\.2\.30 in ip\.destinations\[0\]$/,
    );
  });

  it('is validated like any fallback, at fallbackIP', () => {
    expectOnlyIssue(
      load(cniJson({ ip: IP, fallbackIP: '192.0.2.100' })),
      'fallbackIP',
      /router's own addresses/,
    );
    expectOnlyIssue(load(cniJson({ ip: IP, fallbackIP: 'x' })), 'fallbackIP', /not an IP address/);
    expectOnlyIssue(
      load(cniJson({ ip: IP, fallbackIP: 5 })),
      'fallbackIP',
      /^must be a string, got number 5$/,
    );
  });
});

describe('CNI config: report every problem', () => {
  it('an unknown field does not hide the other problems', () => {
    const issues = expectIssues(
      load(
        cniJson({
          interfaceArgs: { mtu: 'abc', foo: 1 },
          ip: {
            addresses: ['192.0.2.5/24'],
            gateway: '10.0.0.1',
            destinations: ['x tcp 192.0.2.9'],
            extra: 1,
          },
        }),
      ),
    );
    expect(paths(issues).sort()).toEqual(
      ['interfaceArgs.foo', 'ip.extra', 'interfaceArgs.mtu', 'ip.destinations[0].port', 'ip.gateway'].sort(),
    );
  });

  it('collects parser and validator problems together', () => {
    const issues = expectIssues(
      load(
        cniJson({
          interfaceArgs: { mode: 'weird', mtu: 10, master: 'a:b' },
          ip: {
            addresses: ['192.0.2.5/24', '127.0.0.1'],
            destinations: ['192.0.2.11', '192.0.2.12', '0 tcp 192.0.2.9'],
          },
          fallbackIP: '192.0.2.13',
        }),
      ),
    );
    // Parser problems come first, then the validator's.
    expect(paths(issues)).toEqual([
      'interfaceArgs.mode',
      'ip.destinations[1]',
      'fallbackIP',
      'ip.addresses[1]',
      'interfaceArgs.master',
      'interfaceArgs.mtu',
      'ip.destinations[2].port',
    ]);
  });
});

describe('NetworkAttachmentDefinition', () => {
  it('nad.yaml normalizes with format NetworkAttachmentDefinition', () => {
    const config = expectOk(load(example('nad.yaml')));
    expect(config).toEqual({
      format: 'NetworkAttachmentDefinition',
      name: 'egress-router-cni-nad',
      macvlan: { mode: 'Bridge' },
      addresses: [{ address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' }],
      redirectRules: [
        {
          protocol: 'tcp',
          port: 80,
          destinationIP: '192.0.2.10',
          targetPort: 80,
          family: 4,
          source: 'spec.config.ip.destinations[0]',
        },
        {
          protocol: 'tcp',
          port: 8080,
          destinationIP: '192.0.2.20',
          targetPort: 80,
          family: 4,
          source: 'spec.config.ip.destinations[1]',
        },
      ],
      notes: [
        'no IPv4 fallbackIP: other IPv4 TCP connections to the router are reset, UDP/SCTP get ICMP port-unreachable',
      ],
    });
  });

  it('reads the same as the bare CNI config', () => {
    const cni = cniJson({ ip: { ...IP, destinations: ['80 tcp 192.0.2.10'] } });
    const fromNad = expectOk(load(nadYaml(cni)));
    const bare = expectOk(load(cni));
    // Identical but for the format and where each rule came from.
    const rules = fromNad.redirectRules.map((r) => ({
      ...r,
      source: r.source.replace(/^spec\.config\./, ''),
    }));
    expect({ ...fromNad, format: 'CNI', redirectRules: rules }).toEqual(bare);
  });

  it('reads a NAD written as JSON', () => {
    const text = JSON.stringify({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      spec: { config: cniJson({ ip: IP }) },
    });
    expect(expectOk(load(text)).format).toBe('NetworkAttachmentDefinition');
  });

  it('prefixes every path with spec.config.', () => {
    const issues = expectIssues(
      load(
        nadYaml(
          cniJson({
            interfaceArgs: { mode: 'x', mtu: '+1', bogus: 1 },
            ip: {
              addresses: ['192.0.2.5/24'],
              gateway: '10.0.0.1',
              destinations: ['80 tcp 192.0.2.5', '99999 tcp 192.0.2.9'],
            },
            fallbackIP: '2001:db8::1',
          }),
        ),
      ),
    );
    expect(paths(issues).every((p) => p.startsWith('spec.config.'))).toBe(true);
    expect(paths(issues).sort()).toEqual(
      [
        'spec.config.interfaceArgs.bogus',
        'spec.config.interfaceArgs.mode',
        'spec.config.interfaceArgs.mtu',
        'spec.config.ip.gateway',
        'spec.config.ip.destinations[0].destinationIP',
        'spec.config.ip.destinations[1].port',
        'spec.config.fallbackIP',
      ].sort(),
    );
  });

  it('prefixes schema paths and keeps typo suggestions', () => {
    const issues = expectIssues(
      load(nadYaml(cniJson({ ip: { addresses: 5 }, interfaceArgs: { Master: 'x' } }))),
    );
    expectIssueAt(issues, 'spec.config.ip.addresses', /^must be a list, got number 5$/);
    expectIssueAt(issues, 'spec.config.interfaceArgs.Master', /^unknown field \(did you mean "master"\?\)$/);
  });

  it('rejects spec.config that is not valid JSON', () => {
    expectOnlyIssue(load(nadYaml('{bad')), 'spec.config', /^is not valid JSON: /);
    expectOnlyIssue(load(nadYaml('')), 'spec.config', /^is not valid JSON: /);
  });

  it('rejects spec.config that is not a string', () => {
    const text =
      'apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nspec:\n  config: {type: egress-router}\n';
    expectOnlyIssue(load(text), 'spec.config', /^must be the CNI config as a JSON string$/);
    expectOnlyIssue(
      load('kind: NetworkAttachmentDefinition\nspec: 5\n'),
      'spec.config',
      /^must be the CNI config as a JSON string$/,
    );
    expectOnlyIssue(load('kind: NetworkAttachmentDefinition\n'), 'spec.config', /^must be the CNI config/);
  });

  it('rejects a spec.config of another plugin type', () => {
    expectOnlyIssue(
      load(nadYaml('{"type":"bridge"}')),
      'spec.config',
      /^must be an egress-router CNI config \("type": "egress-router"\), got type "bridge"$/,
    );
    expectOnlyIssue(load(nadYaml('[1]')), 'spec.config', /got a list$/);
    expectOnlyIssue(load(nadYaml('null')), 'spec.config', /got null$/);
    expectOnlyIssue(load(nadYaml('"x"')), 'spec.config', /got string$/);
  });
});

describe('CNI conflist', () => {
  const conflist = (plugins: unknown[]) => JSON.stringify({ cniVersion: '1.0.0', name: 'list', plugins });

  it('reads the egress-router plugin out of plugins[]', () => {
    const config = expectOk(
      load(
        conflist([
          { type: 'tuning' },
          JSON.parse(cniJson({ ip: { ...IP, destinations: ['80 tcp 192.0.2.10'] } })),
        ]),
      ),
    );
    expect(config.format).toBe('CNI');
    expect(config.redirectRules).toHaveLength(1);
  });

  it('prefixes paths with the plugin index', () => {
    const issues = expectIssues(
      load(
        conflist([
          { type: 'tuning' },
          {
            type: 'egress-router',
            ip: { addresses: ['192.0.2.5/24'], destinations: ['80 udp 192.0.2.1 0'] },
          },
        ]),
      ),
    );
    expect(issues).toEqual([
      { path: 'plugins[1].ip.destinations[0].targetPort', message: 'must be 1..65535, got 0' },
    ]);
    const schema = expectIssues(load(conflist([{ type: 'egress-router', ip: { addressez: [] } }])));
    expect(schema).toEqual([
      { path: 'plugins[0].ip.addresses', message: 'is required' },
      { path: 'plugins[0].ip.addressez', message: 'unknown field (did you mean "addresses"?)' },
    ]);
    const typo = expectIssues(load(conflist([{ type: 'egress-router', ip: { ...IP, Gateway: 'x' } }])));
    expect(typo).toEqual([
      { path: 'plugins[0].ip.Gateway', message: 'unknown field (did you mean "gateway"?)' },
    ]);
  });

  it('is not recognized without an egress-router plugin', () => {
    expectOnlyIssue(
      load(conflist([{ type: 'bridge' }])),
      '',
      /^expected an EgressRouter .*got an object with neither/,
    );
  });
});
