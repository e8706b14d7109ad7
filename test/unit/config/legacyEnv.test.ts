import { describe, expect, it } from 'vitest';
import { parseLegacyEnv } from '../../../src/config/legacyEnv.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { readEnvFile } from '../../helpers/envFile.js';
import {
  examplePath,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  loadEnv,
  paths,
} from './helpers.js';

const SOURCE = { EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '192.0.2.1' };

function withDestination(text: string, extra: Record<string, string> = {}) {
  return loadEnv({ ...SOURCE, EGRESS_DESTINATION: text, ...extra });
}

describe('legacy environment: the bundled example', () => {
  it('legacy.env (read through bash) normalizes to the full model', () => {
    const env = readEnvFile(examplePath('legacy.env'));
    expect(expectOk(loadEnv(env))).toEqual({
      format: 'LegacyEnv',
      macvlan: { mode: 'Private' },
      addresses: [{ address: '192.0.2.100', prefixLength: 32, family: 4, gateway: '192.0.2.1' }],
      redirectRules: [
        {
          protocol: 'tcp',
          port: 80,
          destinationIP: '192.0.2.10',
          targetPort: 80,
          family: 4,
          source: 'EGRESS_DESTINATION line 3',
        },
        {
          protocol: 'tcp',
          port: 8080,
          destinationIP: '192.0.2.20',
          targetPort: 80,
          family: 4,
          source: 'EGRESS_DESTINATION line 4',
        },
        {
          protocol: 'udp',
          port: 5353,
          destinationIP: '192.0.2.10',
          targetPort: 53,
          family: 4,
          source: 'EGRESS_DESTINATION line 5',
        },
      ],
      fallback: { address: '192.0.2.20', family: 4, source: 'EGRESS_DESTINATION line 7' },
      legacyMode: 'init',
      notes: [],
    });
  });
});

describe('legacy environment: EGRESS_SOURCE and EGRESS_GATEWAY', () => {
  it('requires EGRESS_SOURCE', () => {
    expectOnlyIssue(loadEnv({}), 'EGRESS_SOURCE', /^is required \(the egress IPv4 address\)$/);
    expectOnlyIssue(loadEnv({ EGRESS_SOURCE: '' }), 'EGRESS_SOURCE', /^is required/);
    expectOnlyIssue(loadEnv({ EGRESS_SOURCE: ' \t\n' }), 'EGRESS_SOURCE', /^is required/);
  });

  it('does not add "at least one address" on top of the missing EGRESS_SOURCE', () => {
    expect(paths(expectIssues(loadEnv({ EGRESS_GATEWAY: '192.0.2.1' })))).toEqual(['EGRESS_SOURCE']);
  });

  it('reads a bare EGRESS_SOURCE as /32', () => {
    const config = expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100' }));
    expect(config.addresses).toEqual([{ address: '192.0.2.100', prefixLength: 32, family: 4 }]);
  });

  it('takes a prefix length on EGRESS_SOURCE', () => {
    const config = expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100/24', EGRESS_GATEWAY: '192.0.2.1' }));
    expect(config.addresses).toEqual([
      { address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' },
    ]);
  });

  it('trims surrounding whitespace of the variables', () => {
    const config = expectOk(loadEnv({ EGRESS_SOURCE: ' 192.0.2.100\n', EGRESS_GATEWAY: '\t192.0.2.1 ' }));
    expect(config.addresses[0]).toEqual({
      address: '192.0.2.100',
      prefixLength: 32,
      family: 4,
      gateway: '192.0.2.1',
    });
  });

  it('makes EGRESS_GATEWAY optional (empty counts as unset)', () => {
    expect(expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100' })).addresses[0]?.gateway).toBeUndefined();
    expect(
      expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '  ' })).addresses[0]?.gateway,
    ).toBeUndefined();
  });

  it('accepts a gateway outside a bare /32 source (reached by an on-link host route, as in 3.x)', () => {
    expect(
      expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '198.51.100.1' })).addresses[0]
        ?.gateway,
    ).toBe('198.51.100.1');
  });

  it('reports a bad EGRESS_SOURCE and EGRESS_GATEWAY at the variable', () => {
    expectOnlyIssue(loadEnv({ EGRESS_SOURCE: '192.0.2.300' }), 'EGRESS_SOURCE', /octet above 255/);
    expectOnlyIssue(
      loadEnv({ EGRESS_SOURCE: '192.0.2.100/24', EGRESS_GATEWAY: '10.0.0.1' }),
      'EGRESS_GATEWAY',
      /outside the subnet/,
    );
    expectOnlyIssue(
      loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '192.0.2.100' }),
      'EGRESS_GATEWAY',
      /is the address itself/,
    );
    expectOnlyIssue(
      loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: 'gw' }),
      'EGRESS_GATEWAY',
      /not an IP address/,
    );
  });

  it('uses macvlan mode Private, as the 3.x node did', () => {
    expect(expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100' })).macvlan).toEqual({ mode: 'Private' });
  });
});

describe('legacy environment: EGRESS_ROUTER_MODE', () => {
  it('defaults to legacy (also when empty or blank)', () => {
    expect(expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100' })).legacyMode).toBe('legacy');
    expect(expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_ROUTER_MODE: '' })).legacyMode).toBe(
      'legacy',
    );
    expect(expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_ROUTER_MODE: '  ' })).legacyMode).toBe(
      'legacy',
    );
  });

  it.each(['init', 'legacy', 'unit-test', 'http-proxy', 'dns-proxy'])('accepts %s', (mode) => {
    expect(
      expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_ROUTER_MODE: ` ${mode} ` })).legacyMode,
    ).toBe(mode);
  });

  it.each(['INIT', 'Legacy', 'unit_test', 'proxy', 'bogus'])('rejects %s', (mode) => {
    expectOnlyIssue(
      loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_ROUTER_MODE: mode }),
      'EGRESS_ROUTER_MODE',
      new RegExp(`^must be one of init, legacy, unit-test, http-proxy, dns-proxy, got "${mode}"$`),
    );
  });

  it.each(['http-proxy', 'dns-proxy'])(
    '%s ignores EGRESS_DESTINATION (the proxy owns its syntax)',
    (mode) => {
      const config = expectOk(
        withDestination('example.com\n*.example.org\n80 tcp 192.0.2.10\n192.0.2.20', {
          EGRESS_ROUTER_MODE: mode,
        }),
      );
      expect(config.redirectRules).toEqual([]);
      expect(config.fallback).toBeUndefined();
      expect(config.legacyMode).toBe(mode);
      expect(config.notes).toEqual([
        `EGRESS_ROUTER_MODE=${mode}: network only; EGRESS_DESTINATION is left to the proxy`,
        'no redirect rules and no fallbackIP: nothing is redirected (egress address and SNAT only)',
      ]);
    },
  );

  it('still parses EGRESS_DESTINATION when the mode is invalid, reporting both', () => {
    const issues = expectIssues(withDestination('80 xyz 192.0.2.10', { EGRESS_ROUTER_MODE: 'nope' }));
    expect(paths(issues)).toEqual(['EGRESS_ROUTER_MODE', 'EGRESS_DESTINATION line 1 protocol']);
  });
});

describe('legacy environment: EGRESS_DESTINATION grammar', () => {
  it('reads 3- and 4-token lines', () => {
    const config = expectOk(withDestination('80 tcp 192.0.2.10\n8080 udp 192.0.2.20 53'));
    expect(config.redirectRules).toEqual([
      {
        protocol: 'tcp',
        port: 80,
        destinationIP: '192.0.2.10',
        targetPort: 80,
        family: 4,
        source: 'EGRESS_DESTINATION line 1',
      },
      {
        protocol: 'udp',
        port: 8080,
        destinationIP: '192.0.2.20',
        targetPort: 53,
        family: 4,
        source: 'EGRESS_DESTINATION line 2',
      },
    ]);
  });

  it('accepts protocols in any case, including sctp', () => {
    const config = expectOk(withDestination('80 TCP 192.0.2.10\n81 Udp 192.0.2.10\n82 sctp 192.0.2.10'));
    expect(config.redirectRules.map((r) => r.protocol)).toEqual(['tcp', 'udp', 'sctp']);
  });

  it('skips blank lines and whole-line # comments, trimming first', () => {
    const config = expectOk(
      withDestination('\n   \n# comment\n   # indented comment\n\t\n80 tcp 192.0.2.10\n#80 tcp 192.0.2.11\n'),
    );
    expect(config.redirectRules).toHaveLength(1);
  });

  it('does not take a trailing # as a comment', () => {
    expectOnlyIssue(
      withDestination('80 tcp 192.0.2.10 # web'),
      'EGRESS_DESTINATION line 1',
      /^expected "<port>/,
    );
  });

  it('handles CRLF line endings', () => {
    const config = expectOk(
      withDestination('\r\n# c\r\n80 tcp 192.0.2.10\r\n\r\n81 udp 192.0.2.11 8080\r\n192.0.2.20\r\n'),
    );
    expect(config.redirectRules.map((r) => [r.port, r.targetPort])).toEqual([
      [80, 80],
      [81, 8080],
    ]);
    expect(config.fallback?.address).toBe('192.0.2.20');
  });

  it('numbers lines physically (blank and comment lines count), starting at 1', () => {
    const issues = expectIssues(withDestination('\n# x\n\n80 tcp 192.0.2.10\n+81 tcp 192.0.2.10'));
    expect(issues).toEqual([
      { path: 'EGRESS_DESTINATION line 5 port', message: 'must be a decimal port number, got "+81"' },
    ]);
  });

  it('counts CRLF lines the same way', () => {
    const issues = expectIssues(withDestination('# x\r\n\r\n80 tcp 192.0.2.10 0'));
    expect(paths(issues)).toEqual(['EGRESS_DESTINATION line 3 targetPort']);
  });

  it('reads a bare IP as the fallback', () => {
    const config = expectOk(withDestination('80 tcp 192.0.2.10\n192.0.2.20'));
    expect(config.fallback).toEqual({
      address: '192.0.2.20',
      family: 4,
      source: 'EGRESS_DESTINATION line 2',
    });
    expect(config.notes).toEqual([]);
  });

  it('allows only a fallback', () => {
    const config = expectOk(withDestination('192.0.2.20'));
    expect(config.redirectRules).toEqual([]);
    expect(config.fallback?.address).toBe('192.0.2.20');
  });

  it('allows comments and blank lines after the fallback', () => {
    expectOk(withDestination('192.0.2.20\n\n# the end\n   \n'));
  });

  it('rejects a rule after the fallback, naming both lines', () => {
    expectOnlyIssue(
      withDestination('80 tcp 192.0.2.10\n192.0.2.20\n# x\n81 tcp 192.0.2.10'),
      'EGRESS_DESTINATION line 4',
      /^comes after the fallback line \(EGRESS_DESTINATION line 2\); the fallback must be the last rule line$/,
    );
  });

  it('rejects a second fallback the same way', () => {
    const issues = expectIssues(withDestination('192.0.2.20\n192.0.2.21\n80 tcp 192.0.2.10'));
    expect(paths(issues)).toEqual(['EGRESS_DESTINATION line 2', 'EGRESS_DESTINATION line 3']);
    for (const issue of issues)
      expect(issue.message).toMatch(/after the fallback line \(EGRESS_DESTINATION line 1\)/);
  });

  it.each(['80', '80 tcp', '80 tcp 192.0.2.10 8080 x'])('rejects the line %j by shape', (line) => {
    const issues = expectIssues(withDestination(`\n${line}`));
    if (line === '80') {
      // A single token is a fallback address; "80" is not one.
      expect(issues).toEqual([
        { path: 'EGRESS_DESTINATION line 2', message: 'is not an IP address, got "80"' },
      ]);
    } else {
      expect(issues).toEqual([
        {
          path: 'EGRESS_DESTINATION line 2',
          message: `expected "<port> <tcp|udp|sctp> <ip> [<targetPort>]" or a bare "<ip>" (fallback), got ${JSON.stringify(line)}`,
        },
      ]);
    }
  });

  it('names the field of the line in paths', () => {
    const issues = expectIssues(withDestination('x icmp 192.0.2.300 y\n80 tcp 192.0.2.300'));
    expect(issues).toEqual([
      { path: 'EGRESS_DESTINATION line 1 port', message: 'must be a decimal port number, got "x"' },
      {
        path: 'EGRESS_DESTINATION line 1 protocol',
        message: 'must be tcp, udp or sctp (any case), got "icmp"',
      },
      { path: 'EGRESS_DESTINATION line 1 targetPort', message: 'must be a decimal port number, got "y"' },
      { path: 'EGRESS_DESTINATION line 2 destinationIP', message: 'has an octet above 255 in "192.0.2.300"' },
    ]);
  });

  it.each([
    ['0', /^must be 1\.\.65535, got 0$/],
    ['65536', /^must be 1\.\.65535, got 65536$/],
    ['080', /^must not have leading zeros/],
    ['+80', /^must be a decimal port number/],
    ['0x50', /^must be a decimal port number/],
  ])('rejects port %s', (port, message) => {
    expectOnlyIssue(withDestination(`${port} tcp 192.0.2.10`), 'EGRESS_DESTINATION line 1 port', message);
    expectOnlyIssue(
      withDestination(`80 tcp 192.0.2.10 ${port}`),
      'EGRESS_DESTINATION line 1 targetPort',
      message,
    );
  });

  it('rejects the same local port twice in one protocol, naming the first line', () => {
    expectOnlyIssue(
      withDestination('80 tcp 192.0.2.10\n# again\n80 TCP 192.0.2.11'),
      'EGRESS_DESTINATION line 3 port',
      /^TCP 80 is already redirected by EGRESS_DESTINATION line 1 for IPv4$/,
    );
  });

  it('allows the same local port in another protocol', () => {
    expect(expectOk(withDestination('53 tcp 192.0.2.10\n53 udp 192.0.2.10')).redirectRules).toHaveLength(2);
  });

  it('treats a missing EGRESS_DESTINATION as no rules', () => {
    const config = expectOk(loadEnv({ EGRESS_SOURCE: '192.0.2.100' }));
    expect(config.redirectRules).toEqual([]);
    expect(config.notes).toEqual([
      'no redirect rules and no fallbackIP: nothing is redirected (egress address and SNAT only)',
    ]);
  });

  it('checks destinations and fallback against the egress address', () => {
    const issues = expectIssues(withDestination('80 tcp 192.0.2.100\n2001:db8::1'));
    expectIssueAt(
      issues,
      'EGRESS_DESTINATION line 1 destinationIP',
      /^192\.0\.2\.100 is one of the router's own addresses$/,
    );
    expectIssueAt(
      issues,
      'EGRESS_DESTINATION line 2',
      /^IPv6 fallback 2001:db8::1, but the router has no IPv6 address$/,
    );
  });

  it('reports every bad line, not just the first', () => {
    const issues = expectIssues(
      withDestination('0 tcp 192.0.2.10\n80 foo 192.0.2.10\n81 tcp 127.0.0.1\n82 tcp 192.0.2.10 99999'),
    );
    expect(paths(issues).sort()).toEqual(
      [
        'EGRESS_DESTINATION line 1 port',
        'EGRESS_DESTINATION line 2 protocol',
        'EGRESS_DESTINATION line 3 destinationIP',
        'EGRESS_DESTINATION line 4 targetPort',
      ].sort(),
    );
  });
});

describe('legacy environment: the draft', () => {
  it('names EGRESS_SOURCE as the address path', () => {
    const { draft, issues } = parseLegacyEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '192.0.2.1' });
    expect(issues).toEqual([]);
    expect(draft?.addressesPath).toBe('EGRESS_SOURCE');
    expect(draft?.addresses).toEqual([
      {
        ip: { value: '192.0.2.100', path: 'EGRESS_SOURCE' },
        gateway: { value: '192.0.2.1', path: 'EGRESS_GATEWAY' },
      },
    ]);
  });

  it('honours a custom health port for the TCP rule check', () => {
    const env = { ...SOURCE, EGRESS_DESTINATION: '9099 tcp 192.0.2.10' };
    expectOnlyIssue(loadEnv(env), 'EGRESS_DESTINATION line 1 port', /^TCP 9099 is the agent's health port/);
    expectOk(loadEnv(env, { ...DEFAULT_OPTIONS, healthPort: 8080 }));
  });
});
