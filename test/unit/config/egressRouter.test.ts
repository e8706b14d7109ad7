import { describe, expect, it } from 'vitest';
import {
  API_VERSION,
  egressRouterJson,
  example,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  paths,
  rule,
  spec,
  withRedirect,
} from './helpers.js';

const MINIMAL_YAML = `
apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata:
  name: egress-router-a
  namespace: team-a
spec:
  addresses:
    - ip: 192.0.2.100/24
      gateway: 192.0.2.1
  redirect:
    redirectRules:
      - destinationIP: 192.0.2.10
        port: 80
        protocol: TCP
`;

describe('EgressRouter: the bundled examples', () => {
  it('egressrouter.yaml normalizes to the full model', () => {
    const config = expectOk(load(example('egressrouter.yaml')));
    expect(config).toEqual({
      format: 'EgressRouter',
      name: 'egress-router-demo',
      namespace: 'egress',
      macvlan: { mode: 'Bridge' },
      addresses: [{ address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' }],
      redirectRules: [
        {
          protocol: 'tcp',
          port: 80,
          destinationIP: '192.0.2.10',
          targetPort: 80,
          family: 4,
          source: 'spec.redirect.redirectRules[0]',
        },
        {
          protocol: 'tcp',
          port: 8080,
          destinationIP: '192.0.2.20',
          targetPort: 80,
          family: 4,
          source: 'spec.redirect.redirectRules[1]',
        },
        {
          protocol: 'udp',
          port: 5353,
          destinationIP: '192.0.2.10',
          targetPort: 53,
          family: 4,
          source: 'spec.redirect.redirectRules[2]',
        },
        {
          protocol: 'tcp',
          port: 443,
          destinationIP: '198.51.100.10',
          targetPort: 443,
          family: 4,
          source: 'spec.redirect.redirectRules[3]',
        },
      ],
      fallback: { address: '192.0.2.20', family: 4, source: 'spec.redirect.fallbackIP' },
      notes: [],
    });
  });

  it('egressrouter-dualstack.yaml keeps both families, SCTP and the master', () => {
    const config = expectOk(load(example('egressrouter-dualstack.yaml')));
    expect(config.name).toBe('egress-router-dualstack');
    expect(config.namespace).toBeUndefined();
    expect(config.macvlan).toEqual({ mode: 'Bridge', master: 'eth1' });
    expect(config.addresses).toEqual([
      { address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' },
      { address: '2001:db8:100::64', prefixLength: 64, family: 6, gateway: '2001:db8:100::1' },
    ]);
    expect(config.redirectRules).toEqual([
      {
        protocol: 'tcp',
        port: 80,
        destinationIP: '192.0.2.10',
        targetPort: 80,
        family: 4,
        source: 'spec.redirect.redirectRules[0]',
      },
      {
        protocol: 'tcp',
        port: 80,
        destinationIP: '2001:db8:100::10',
        targetPort: 8080,
        family: 6,
        source: 'spec.redirect.redirectRules[1]',
      },
      {
        protocol: 'udp',
        port: 53,
        destinationIP: '2001:db8:100::20',
        targetPort: 53,
        family: 6,
        source: 'spec.redirect.redirectRules[2]',
      },
      {
        protocol: 'sctp',
        port: 9000,
        destinationIP: '192.0.2.20',
        targetPort: 9000,
        family: 4,
        source: 'spec.redirect.redirectRules[3]',
      },
    ]);
    expect(config.fallback).toBeUndefined();
    expect(config.notes).toHaveLength(2);
    expect(config.notes[0]).toMatch(/no IPv4 fallbackIP/);
    expect(config.notes[1]).toMatch(/no IPv6 fallbackIP/);
  });
});

describe('EgressRouter: YAML and JSON', () => {
  it('reads the same resource from YAML and from JSON', () => {
    const fromYaml = expectOk(load(MINIMAL_YAML));
    const fromJson = expectOk(
      load(
        JSON.stringify({
          apiVersion: API_VERSION,
          kind: 'EgressRouter',
          metadata: { name: 'egress-router-a', namespace: 'team-a' },
          spec: {
            addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
            redirect: { redirectRules: [{ destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' }] },
          },
        }),
      ),
    );
    expect(fromJson).toEqual(fromYaml);
  });

  it('accepts pretty-printed JSON and JSON with leading whitespace', () => {
    const text = JSON.stringify(JSON.parse(egressRouterJson(spec())), null, 2);
    expectOk(load(text));
    expectOk(load(`\n\n   ${text}`));
  });

  it('accepts YAML flow style and JSON-with-comments-as-YAML', () => {
    expectOk(
      load(
        '{apiVersion: network.operator.openshift.io/v1, kind: EgressRouter, spec: {addresses: [{ip: 192.0.2.5/24}], redirect: {}}}',
      ),
    );
    // Not strict JSON (comment, trailing comma), but YAML reads it.
    const yamlish = `{"apiVersion": "${API_VERSION}", "kind": "EgressRouter", # comment
      "spec": {"addresses": [{"ip": "192.0.2.5/24"}], "redirect": {},}}`;
    expectOk(load(yamlish));
  });

  it('keeps metadata.name and namespace, and tolerates other metadata and status', () => {
    const config = expectOk(
      load(
        egressRouterJson(spec(), {
          metadata: { name: 'n', namespace: 'ns', uid: 'x', labels: { a: 'b' }, generation: 3 },
          status: { conditions: [] },
        }),
      ),
    );
    expect(config.name).toBe('n');
    expect(config.namespace).toBe('ns');
  });

  it('needs no metadata', () => {
    const config = expectOk(
      load(JSON.stringify({ apiVersion: API_VERSION, kind: 'EgressRouter', spec: spec() })),
    );
    expect(config.name).toBeUndefined();
    expect(config.namespace).toBeUndefined();
  });
});

describe('EgressRouter: CRD defaults', () => {
  it('defaults mode to Redirect and the interface to macvlan Bridge', () => {
    const config = expectOk(load(egressRouterJson(spec())));
    expect(config.macvlan).toEqual({ mode: 'Bridge' });
  });

  it('defaults macvlan.mode to Bridge when only the master is given', () => {
    const config = expectOk(
      load(egressRouterJson(spec({ networkInterface: { macvlan: { master: 'ens4' } } }))),
    );
    expect(config.macvlan).toEqual({ mode: 'Bridge', master: 'ens4' });
  });

  it('defaults an empty networkInterface', () => {
    expect(expectOk(load(egressRouterJson(spec({ networkInterface: {} })))).macvlan).toEqual({
      mode: 'Bridge',
    });
  });

  it.each(['Bridge', 'Private', 'VEPA', 'Passthru'])('accepts macvlan mode %s', (mode) => {
    const config = expectOk(load(egressRouterJson(spec({ networkInterface: { macvlan: { mode } } }))));
    expect(config.macvlan.mode).toBe(mode);
  });

  it.each(['bridge', 'BRIDGE', 'Vepa', 'passthrough', ''])(
    'rejects macvlan mode %j (the CRD enum is exact)',
    (mode) => {
      expectOnlyIssue(
        load(egressRouterJson(spec({ networkInterface: { macvlan: { mode } } }))),
        'spec.networkInterface.macvlan.mode',
        /^must be one of Bridge, Private, VEPA, Passthru, got /,
      );
    },
  );

  it('accepts an explicit mode Redirect and rejects any other', () => {
    expectOk(load(egressRouterJson(spec({ mode: 'Redirect' }))));
    expectOnlyIssue(
      load(egressRouterJson(spec({ mode: 'redirect' }))),
      'spec.mode',
      /^must be one of Redirect, got "redirect"$/,
    );
  });

  it('defaults targetPort to port', () => {
    const config = expectOk(load(withRedirect({ redirectRules: [rule('192.0.2.10', 8080, 'TCP')] })));
    expect(config.redirectRules[0]).toMatchObject({ port: 8080, targetPort: 8080 });
  });
});

describe('EgressRouter: the resource envelope', () => {
  it.each(['network.operator.openshift.io/v1beta1', 'v1', 'networkoperator.openshift.io/v1', ''])(
    'rejects apiVersion %j',
    (apiVersion) => {
      const text = JSON.stringify({ apiVersion, kind: 'EgressRouter', spec: spec() });
      expectOnlyIssue(load(text), 'apiVersion', /^must be one of network\.operator\.openshift\.io\/v1, got /);
    },
  );

  it('requires apiVersion', () => {
    expectOnlyIssue(
      load(JSON.stringify({ kind: 'EgressRouter', spec: spec() })),
      'apiVersion',
      /^must be one of/,
    );
  });

  it('requires spec', () => {
    expectOnlyIssue(
      load(JSON.stringify({ apiVersion: API_VERSION, kind: 'EgressRouter' })),
      'spec',
      /^is required$/,
    );
  });

  it.each([
    [5, 'must be an object, got number 5'],
    ['x', 'must be an object, got the string "x"'],
    [[], 'must be an object, got a list'],
    [null, 'must be an object, got null'],
  ])('rejects spec %j', (value, message) => {
    expectOnlyIssue(
      load(egressRouterJson(value)),
      'spec',
      new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    );
  });

  it('rejects non-string metadata.name and metadata.namespace', () => {
    const issues = expectIssues(load(egressRouterJson(spec(), { metadata: { name: 5, namespace: [] } })));
    expectIssueAt(issues, 'metadata.name', /^must be a string, got number 5$/);
    expectIssueAt(issues, 'metadata.namespace', /^must be a string, got a list$/);
  });
});

describe('EgressRouter: spec.redirect', () => {
  it('is required in Redirect mode (explicit or defaulted)', () => {
    const noRedirect = { addresses: [{ ip: '192.0.2.100/24' }] };
    expectOnlyIssue(
      load(egressRouterJson(noRedirect)),
      'spec.redirect',
      /^is required when spec\.mode is Redirect$/,
    );
    expectOnlyIssue(
      load(egressRouterJson({ ...noRedirect, mode: 'Redirect' })),
      'spec.redirect',
      /^is required when spec\.mode is Redirect$/,
    );
  });

  it('may be empty: no rules and no fallback, with a note', () => {
    const config = expectOk(load(withRedirect({})));
    expect(config.redirectRules).toEqual([]);
    expect(config.fallback).toBeUndefined();
    expect(config.notes).toEqual([
      'no redirect rules and no fallbackIP: nothing is redirected (egress address and SNAT only)',
    ]);
  });

  it('may hold only a fallbackIP', () => {
    const config = expectOk(load(withRedirect({ fallbackIP: '192.0.2.20' })));
    expect(config.fallback).toEqual({ address: '192.0.2.20', family: 4, source: 'spec.redirect.fallbackIP' });
    expect(config.redirectRules).toEqual([]);
    expect(config.notes).toEqual([]);
  });

  it('canonicalizes destination and fallback addresses', () => {
    const config = expectOk(
      load(
        egressRouterJson({
          addresses: [{ ip: '2001:DB8::64/64' }],
          redirect: {
            redirectRules: [rule('2001:DB8:0:0::10', 80)],
            fallbackIP: '2001:0db8::0020',
          },
        }),
      ),
    );
    expect(config.addresses[0]?.address).toBe('2001:db8::64');
    expect(config.redirectRules[0]?.destinationIP).toBe('2001:db8::10');
    expect(config.fallback?.address).toBe('2001:db8::20');
  });

  it.each(['TCP', 'UDP', 'SCTP'])('accepts protocol %s and lowercases it in the model', (protocol) => {
    const config = expectOk(load(withRedirect({ redirectRules: [rule('192.0.2.10', 80, protocol)] })));
    expect(config.redirectRules[0]?.protocol).toBe(protocol.toLowerCase());
  });

  it.each(['tcp', 'Tcp', 'udp', 'sctp', 'ICMP', '', 6])(
    'rejects protocol %j as the CRD does (upper case only)',
    (protocol) => {
      expectOnlyIssue(
        load(withRedirect({ redirectRules: [rule('192.0.2.10', 80, protocol)] })),
        'spec.redirect.redirectRules[0].protocol',
        /^must be one of TCP, UDP, SCTP, got /,
      );
    },
  );

  it('requires destinationIP, port and protocol in every rule', () => {
    const issues = expectIssues(load(withRedirect({ redirectRules: [{}] })));
    expect(paths(issues).sort()).toEqual([
      'spec.redirect.redirectRules[0].destinationIP',
      'spec.redirect.redirectRules[0].port',
      'spec.redirect.redirectRules[0].protocol',
    ]);
    expectIssueAt(issues, 'spec.redirect.redirectRules[0].destinationIP', /^is required$/);
    expectIssueAt(issues, 'spec.redirect.redirectRules[0].port', /^is required$/);
  });

  it('rejects a string port (the CRD type is integer)', () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule('192.0.2.10', '80')] })),
      'spec.redirect.redirectRules[0].port',
      /^must be a number, got the string "80"$/,
    );
  });

  it('reports each bad rule at its own index and keeps checking the others', () => {
    const issues = expectIssues(
      load(
        withRedirect({
          redirectRules: [
            rule('192.0.2.10', 80),
            null,
            rule('192.0.2.11', 0),
            'x',
            rule('192.0.2.12', 81, 'tcp'),
          ],
        }),
      ),
    );
    expect(paths(issues)).toEqual([
      'spec.redirect.redirectRules[1]',
      'spec.redirect.redirectRules[2].port',
      'spec.redirect.redirectRules[3]',
      'spec.redirect.redirectRules[4].protocol',
    ]);
  });
});

describe('EgressRouter: unknown fields', () => {
  it.each([
    [{ redirect: { fallbackIp: '192.0.2.20' } }, 'spec.redirect.fallbackIp', 'fallbackIP'],
    [{ redirect: { redirectrules: [] } }, 'spec.redirect.redirectrules', 'redirectRules'],
    [{ Addresses: [] }, 'spec.Addresses', 'addresses'],
    [{ networkInterface: { Macvlan: {} } }, 'spec.networkInterface.Macvlan', 'macvlan'],
    [{ networkInterface: { macvlan: { Master: 'eth1' } } }, 'spec.networkInterface.macvlan.Master', 'master'],
    [{ addresses: [{ ip: '192.0.2.100/24', Gateway: '192.0.2.1' }] }, 'spec.addresses[0].Gateway', 'gateway'],
    [
      { redirect: { redirectRules: [{ ...rule('192.0.2.10', 80), targetport: 8080 }] } },
      'spec.redirect.redirectRules[0].targetport',
      'targetPort',
    ],
    [
      { redirect: { redirectRules: [{ ...rule('192.0.2.10', 80), destinationIp: 'x' }] } },
      'spec.redirect.redirectRules[0].destinationIp',
      'destinationIP',
    ],
  ])('reports %j with a suggestion', (overrides, path, suggestion) => {
    const issues = expectIssues(load(egressRouterJson(spec(overrides))));
    expectIssueAt(issues, path, new RegExp(`^unknown field \\(did you mean "${suggestion}"\\?\\)$`));
  });

  it('reports an unknown field with no near match plainly', () => {
    const issues = expectIssues(load(egressRouterJson(spec({ replicas: 2 }))));
    expectIssueAt(issues, 'spec.replicas', /^unknown field$/);
    const inRule = expectIssues(
      load(withRedirect({ redirectRules: [{ ...rule('192.0.2.10', 80), weight: 1 }] })),
    );
    expectIssueAt(inRule, 'spec.redirect.redirectRules[0].weight', /^unknown field$/);
  });

  it('rejects networkInterface kinds other than macvlan', () => {
    const issues = expectIssues(load(egressRouterJson(spec({ networkInterface: { ipvlan: {} } }))));
    expectIssueAt(issues, 'spec.networkInterface.ipvlan', /^unknown field$/);
  });

  it('a misspelt fallbackIP does not hide the problems of the rules', () => {
    const issues = expectIssues(
      load(withRedirect({ fallbackIp: '192.0.2.20', redirectRules: [rule('192.0.2.10', 80, 'tcp')] })),
    );
    expect(paths(issues)).toEqual(['spec.redirect.fallbackIp', 'spec.redirect.redirectRules[0].protocol']);
  });

  it('a misspelt field does not hide semantic problems elsewhere', () => {
    const issues = expectIssues(
      load(
        egressRouterJson({
          addresses: [{ ip: '192.0.2.100/24', gateway: '198.51.100.1' }],
          networkInterface: { macvlan: { Mode: 'Bridge', master: 'a/b' } },
          redirect: { redirectRules: [rule('192.0.2.10', 80), rule('192.0.2.11', 80)] },
          extra: true,
        }),
      ),
    );
    expect(paths(issues).sort()).toEqual(
      [
        'spec.extra',
        'spec.networkInterface.macvlan.Mode',
        'spec.addresses[0].gateway',
        'spec.networkInterface.macvlan.master',
        'spec.redirect.redirectRules[1].port',
      ].sort(),
    );
  });

  it('unknown top-level fields of the object are tolerated (status, managedFields...)', () => {
    expectOk(load(egressRouterJson(spec(), { status: { conditions: [] }, somethingElse: 1 })));
  });
});

describe('EgressRouter: wrong types in spec', () => {
  it('reports every wrong-typed spec field at once', () => {
    const issues = expectIssues(
      load(egressRouterJson({ addresses: 5, mode: 1, networkInterface: [], redirect: 'x' })),
    );
    expect(issues).toEqual([
      { path: 'spec.addresses', message: 'must be a list, got number 5' },
      { path: 'spec.mode', message: 'must be one of Redirect, got 1' },
      { path: 'spec.networkInterface', message: 'must be an object, got a list' },
      { path: 'spec.redirect', message: 'must be an object, got the string "x"' },
    ]);
  });

  it('reports wrong-typed list elements each at its index', () => {
    const issues = expectIssues(
      load(
        egressRouterJson({
          addresses: [5, null, { ip: 5, gateway: [] }, {}],
          networkInterface: { macvlan: 5 },
          redirect: { redirectRules: [null, 'x', { port: '80' }] },
        }),
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'spec.networkInterface.macvlan', message: 'must be an object, got number 5' },
        { path: 'spec.addresses[0]', message: 'must be an object, got number 5' },
        { path: 'spec.addresses[1]', message: 'must be an object, got null' },
        { path: 'spec.addresses[2].ip', message: 'must be a string, got number 5' },
        { path: 'spec.addresses[2].gateway', message: 'must be a string, got a list' },
        { path: 'spec.addresses[3].ip', message: 'is required' },
        { path: 'spec.redirect.redirectRules[0]', message: 'must be an object, got null' },
        { path: 'spec.redirect.redirectRules[1]', message: 'must be an object, got the string "x"' },
        { path: 'spec.redirect.redirectRules[2].destinationIP', message: 'is required' },
        { path: 'spec.redirect.redirectRules[2].port', message: 'must be a number, got the string "80"' },
      ]),
    );
  });

  it('does not repeat "at least one address" when every address entry was malformed', () => {
    const issues = expectIssues(load(egressRouterJson({ addresses: [5], redirect: {} })));
    expect(paths(issues)).toEqual(['spec.addresses[0]', 'spec.addresses']);
    // ...but says so when the list is genuinely empty.
    expectOnlyIssue(
      load(egressRouterJson({ addresses: [], redirect: {} })),
      'spec.addresses',
      /at least one/,
    );
  });

  it('rejects a non-string fallbackIP', () => {
    expectOnlyIssue(
      load(withRedirect({ fallbackIP: 7 })),
      'spec.redirect.fallbackIP',
      /^must be a string, got number 7$/,
    );
  });

  it('rejects a redirectRules that is not a list', () => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: { a: 1 } })),
      'spec.redirect.redirectRules',
      /^must be a list, got an object$/,
    );
  });

  it('says "a finite number" for NaN and infinite ports', () => {
    const yaml = `apiVersion: ${API_VERSION}
kind: EgressRouter
spec:
  addresses: [{ip: 192.0.2.5/24}]
  redirect:
    redirectRules:
      - {destinationIP: 192.0.2.1, port: .nan, protocol: TCP}
      - {destinationIP: 192.0.2.2, port: .inf, protocol: TCP}
      - {destinationIP: 192.0.2.3, port: 1e400, protocol: TCP}
`;
    const issues = expectIssues(load(yaml));
    expect(issues).toEqual([
      { path: 'spec.redirect.redirectRules[0].port', message: 'must be a finite number, got NaN' },
      { path: 'spec.redirect.redirectRules[1].port', message: 'must be a finite number, got Infinity' },
      { path: 'spec.redirect.redirectRules[2].port', message: 'must be a finite number, got Infinity' },
    ]);
    const json = withRedirect({ redirectRules: [] }).replace(
      '"redirectRules":[]',
      '"redirectRules":[{"destinationIP":"192.0.2.1","port":1e400,"protocol":"TCP"}]',
    );
    expectOnlyIssue(
      load(json),
      'spec.redirect.redirectRules[0].port',
      /^must be a finite number, got Infinity$/,
    );
  });
});
