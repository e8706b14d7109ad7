/** Hostile and malformed input: every case must come back as issues, never as an exception. */
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../../src/config/load.js';
import {
  API_VERSION,
  cniJson,
  egressRouterJson,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  loadEnv,
  nadYaml,
  paths,
  rule,
  spec,
  withRedirect,
} from './helpers.js';

/** Runs the loader, failing the test if it throws, and checks the result is well formed. */
function safely(run: () => LoadResult): LoadResult {
  let result: LoadResult | undefined;
  expect(() => {
    result = run();
  }).not.toThrow();
  const r = result!;
  if (!r.ok) expectIssues(r);
  return r;
}

const WRONG_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  '',
  'x',
  '\u0000',
  [],
  [null],
  {},
  { a: 1 },
  [[[]]],
];

describe('wrong types everywhere (EgressRouter)', () => {
  const base = {
    apiVersion: API_VERSION,
    kind: 'EgressRouter',
    metadata: { name: 'n', namespace: 'ns' },
    spec: {
      mode: 'Redirect',
      networkInterface: { macvlan: { mode: 'Bridge', master: 'eth1' } },
      addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
      redirect: {
        redirectRules: [{ destinationIP: '192.0.2.10', port: 80, protocol: 'TCP', targetPort: 8080 }],
        fallbackIP: '192.0.2.20',
      },
    },
  };

  /** Every path to a leaf or container in `value`. */
  function allPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
    if (Array.isArray(value))
      value.forEach((v, i) => {
        out.push(...allPaths(v, [...prefix, i]));
      });
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) out.push(...allPaths(v, [...prefix, k]));
    return out;
  }

  function replaced(root: unknown, path: (string | number)[], replacement: unknown): unknown {
    const copy = structuredClone(root) as Record<string | number, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path[path.length - 1]!] = replacement;
    return copy;
  }

  it('the base document is valid', () => {
    expectOk(load(JSON.stringify(base)));
  });

  const cases = allPaths(base).flatMap((path) =>
    WRONG_VALUES.map((value) => [path.join('.'), path, value] as const),
  );

  it.each(cases)('%s = %j never throws', (_name, path, value) => {
    const text = JSON.stringify(replaced(base, path, value));
    safely(() => load(text));
    // The same document through the YAML reader.
    safely(() => load(`# yaml\n${text}`));
  });

  it('reports a wrong-typed leaf at its own path', () => {
    const result = safely(() =>
      load(JSON.stringify(replaced(base, ['spec', 'redirect', 'redirectRules', 0, 'targetPort'], 'x'))),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(paths(result.issues)).toEqual(['spec.redirect.redirectRules[0].targetPort']);
  });
});

describe('wrong types everywhere (CNI and NAD)', () => {
  const base = {
    cniVersion: '0.4.0',
    type: 'egress-router',
    name: 'n',
    interfaceType: 'macvlan',
    interfaceArgs: { master: 'eth1', mode: 'bridge', mtu: '1500' },
    ip: {
      addresses: ['192.0.2.100/24'],
      gateway: '192.0.2.1',
      destinations: ['80 tcp 192.0.2.10', '192.0.2.20'],
    },
    fallbackIP: '192.0.2.20',
  };

  const leaves: (string | number)[][] = [
    ['cniVersion'],
    ['name'],
    ['interfaceType'],
    ['interfaceArgs'],
    ['interfaceArgs', 'master'],
    ['interfaceArgs', 'mode'],
    ['interfaceArgs', 'mtu'],
    ['ip'],
    ['ip', 'addresses'],
    ['ip', 'addresses', 0],
    ['ip', 'gateway'],
    ['ip', 'destinations'],
    ['ip', 'destinations', 0],
    ['ip', 'destinations', 1],
    ['fallbackIP'],
  ];

  function replaced(path: (string | number)[], value: unknown): Record<string, unknown> {
    const copy = structuredClone(base) as Record<string | number, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path[path.length - 1]!] = value;
    return copy;
  }

  it.each(leaves.flatMap((path) => WRONG_VALUES.map((value) => [path.join('.'), path, value] as const)))(
    '%s = %j never throws',
    (_name, path, value) => {
      const config = JSON.stringify(replaced(path, value));
      safely(() => load(config));
      safely(() => load(nadYaml(config)));
      safely(() => load(JSON.stringify({ cniVersion: '1.0.0', plugins: [JSON.parse(config)] })));
    },
  );

  it.each(WRONG_VALUES)('a NAD spec.config of %j never throws', (value) => {
    const text = JSON.stringify({ kind: 'NetworkAttachmentDefinition', spec: { config: value } });
    const result = safely(() => load(text));
    expect(result.ok).toBe(false);
  });

  it.each(WRONG_VALUES)('a conflist plugins of %j never throws', (value) => {
    safely(() => load(JSON.stringify({ plugins: value })));
    safely(() => load(JSON.stringify({ plugins: [value, { type: 'egress-router' }] })));
  });
});

describe('huge and deep input', () => {
  it('refuses input over 64 MiB before parsing it', () => {
    const text = `{"type":"egress-router","pad":"${'a'.repeat(64 * 1024 * 1024)}"}`;
    const result = safely(() => load(text));
    expectOnlyIssue(result, '', /^input is \d+ bytes; the limit is 67108864$/);
  });

  it('takes input just under the limit without crashing', () => {
    const text = `${cniJson({ ip: { addresses: ['192.0.2.5/24'] } })}\n${' '.repeat(8 * 1024 * 1024)}`;
    expectOk(safely(() => load(text)));
  });

  it('refuses 100000 nested arrays in JSON at the nesting limit, with the path', () => {
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepest = '[0]'.repeat(64);
    expectOnlyIssue(
      safely(() => load(nested)),
      deepest,
      /^nests deeper than the limit of 64 levels$/,
    );
    const inside = `{"apiVersion":"${API_VERSION}","kind":"EgressRouter","spec":{"addresses":${nested},"redirect":{}}}`;
    expectOnlyIssue(
      safely(() => load(inside)),
      `spec.addresses${'[0]'.repeat(62)}`,
      /^nests deeper than the limit of 64 levels$/,
    );
  });

  it('survives 100000 nested objects in JSON', () => {
    const nested = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    safely(() => load(nested));
    safely(() =>
      load(`{"type":"egress-router","ip":{"addresses":["192.0.2.5"]},"interfaceArgs":{"x":${nested}}}`),
    );
    safely(() => load(`{"type":"egress-router","ip":{"addresses":["192.0.2.5"], "extra": ${nested}}}`));
  });

  it('survives 100000 unclosed brackets (falls through to YAML)', () => {
    expectOnlyIssue(
      safely(() => load('['.repeat(100_000))),
      '',
      /^not valid YAML or JSON: /,
    );
  });

  it('survives 100000 nested flow sequences and mappings in YAML', () => {
    const seq = `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expectOnlyIssue(
      safely(() => load(seq)),
      '',
      /^not valid YAML or JSON: /,
    );
    const map = `a: ${'{a: '.repeat(100_000)}${'}'.repeat(100_000)}`;
    expectOnlyIssue(
      safely(() => load(map)),
      '',
      /^not valid YAML or JSON: /,
    );
    const inSpec = `kind: EgressRouter\napiVersion: ${API_VERSION}\nspec: {addresses: ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expectOnlyIssue(
      safely(() => load(inSpec)),
      '',
      /^not valid YAML or JSON: /,
    );
  });

  it('survives deeply nested block YAML', () => {
    const text = `a:\n${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}`;
    safely(() => load(text));
  });

  it('handles a list of 100000 rules', () => {
    const rules = Array.from({ length: 100_000 }, (_, i) => rule('192.0.2.10', (i % 65535) + 1));
    const result = safely(() => load(withRedirect({ redirectRules: rules })));
    // 65535 distinct ports minus the health port; the rest are duplicates.
    const issues = expectIssues(result);
    expect(issues).toHaveLength(100_000 - 65535 + 1);
  });

  it('handles a very long single string value', () => {
    const long = 'x'.repeat(10_000_000);
    const result = safely(() => load(withRedirect({ fallbackIP: long })));
    const issues = expectIssues(result);
    expect(issues[0]?.message.length).toBeLessThan(200);
    safely(() =>
      load(cniJson({ ip: { addresses: [long], destinations: [long, `${long} ${long} ${long}`] } })),
    );
    safely(() =>
      load(cniJson({ ip: { addresses: ['192.0.2.5'] }, interfaceArgs: { mtu: long.replace(/x/g, '9') } })),
    );
  });
});

describe('YAML alias bombs and tags', () => {
  it('refuses a billion-laughs alias bomb quickly', () => {
    let text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    let previous = 'a';
    for (let i = 0; i < 9; i++) {
      const name = `b${i}`;
      text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
      previous = name;
    }
    // Refused as soon as the expansion passes the node limit, at the alias that passes it.
    const issue = expectOnlyIssue(
      safely(() => load(text)),
      'b5[2]',
      /^the input holds more than the limit of 2,000,000 nodes \(keys, values and list items, YAML aliases expanded\) \(line 7\)$/,
    );
    expect(issue).toBeDefined();
  });

  it('refuses an alias bomb hidden inside an EgressRouter', () => {
    let anchors = 'x0: &x0 {ip: 192.0.2.5/24}\n';
    for (let i = 1; i < 12; i++)
      anchors += `x${i}: &x${i} [${Array(8)
        .fill(`*x${i - 1}`)
        .join(', ')}]\n`;
    const text = `apiVersion: ${API_VERSION}\nkind: EgressRouter\n${anchors}spec:\n  addresses: *x11\n  redirect: {}\n`;
    expectOnlyIssue(
      safely(() => load(text)),
      'x7[2]',
      /^the input holds more than the limit of 2,000,000 nodes/,
    );
  });

  it('allows a few ordinary aliases', () => {
    const text = `apiVersion: ${API_VERSION}\nkind: EgressRouter\nx: &x {ip: 192.0.2.5/24}\nspec:\n  addresses: [*x]\n  redirect: {}\n`;
    expectOk(safely(() => load(text)));
  });

  it('rejects an undefined alias', () => {
    expectOnlyIssue(
      safely(() => load('a: *nope\n')),
      'a',
      /^uses the alias \*nope before any anchor &nope \(line 1\)$/,
    );
  });

  it.each([
    'kind: !!js/function "x"',
    'a: !!binary aGVsbG8=',
    'a: !custom x',
    '!!set {a, b}',
    'a: !!timestamp 2001-12-14',
    '? [a, b]\n: 1\n',
  ])('does not execute or crash on %j', (text) => {
    safely(() => load(text));
  });
});

describe('bytes that are not text', () => {
  it.each([
    '\u0000',
    'kind: EgressRouter\u0000',
    `${egressRouterJson(spec())}\u0000`,
    '{"type":"egress-\u0000router"}',
  ])('refuses a NUL byte in %j', (text) => {
    expectOnlyIssue(
      safely(() => load(text)),
      '',
      /^input contains a NUL byte at offset \d+; expected YAML or JSON text$/,
    );
  });

  it('gives the offset of the first NUL byte', () => {
    expectOnlyIssue(load('abc\u0000\u0000'), '', /offset 3;/);
  });

  it.each(['\uFEFF', '\uFFFD\uFFFD', '\uD800', '\u001b[31mred', '\r\r\r', '\u2028\u2029', '\u007f'])(
    'survives %j',
    (text) => {
      safely(() => load(text));
      safely(() =>
        load(`kind: EgressRouter\napiVersion: ${API_VERSION}\nspec: {addresses: [{ip: "${text}"}]}`),
      );
    },
  );

  it('accepts a byte-order mark before JSON', () => {
    safely(() => load(`\uFEFF${egressRouterJson(spec())}`));
  });

  it('rejects control characters inside addresses and names', () => {
    const issues = expectIssues(
      load(
        egressRouterJson(
          spec({
            networkInterface: { macvlan: { master: 'eth\u0001' } },
            addresses: [{ ip: '192.0.2.5\u0007' }],
          }),
        ),
      ),
    );
    expect(paths(issues).sort()).toEqual(['spec.addresses[0].ip', 'spec.networkInterface.macvlan.master']);
  });
});

describe('port and number spellings', () => {
  it.each([
    '+80',
    '0x50',
    '8e1',
    '080',
    '８０',
    '80.0',
    '-0',
    '1e400',
    'NaN',
    'Infinity',
    '0b1010000',
    '0o120',
    '1_0',
  ])('rejects the CNI destination port %j', (port) => {
    const result = safely(() =>
      load(cniJson({ ip: { addresses: ['192.0.2.5/24'], destinations: [`${port} tcp 192.0.2.10`] } })),
    );
    expect(result.ok).toBe(false);
    safely(() =>
      load(cniJson({ ip: { addresses: ['192.0.2.5/24'], destinations: [`80 tcp 192.0.2.10 ${port}`] } })),
    );
  });

  it.each(['+80', '0x50', '8e1', '080', '1e400', 'NaN', 'Infinity', '٨٠'])(
    'rejects the legacy port %j',
    (port) => {
      const result = safely(() =>
        loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: `${port} tcp 192.0.2.10` }),
      );
      expect(result.ok).toBe(false);
    },
  );

  it.each([
    '"80"',
    '"+80"',
    '"0x50"',
    '" 80"',
    'true',
    'null',
    '[80]',
    '{}',
    '80.5',
    '-80',
    '1e400',
    '-1e400',
    '1e-400',
  ])('rejects the EgressRouter port %s (JSON)', (port) => {
    const text = withRedirect({ redirectRules: [] }).replace(
      '"redirectRules":[]',
      `"redirectRules":[{"destinationIP":"192.0.2.10","port":${port},"protocol":"TCP"}]`,
    );
    const result = safely(() => load(text));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(paths(result.issues)).toEqual(['spec.redirect.redirectRules[0].port']);
  });

  it.each(['.nan', '.inf', '-.inf', '"80"', '80.5', '0b10000000000000000', '1_000_000'])(
    'rejects the EgressRouter port %s (YAML)',
    (port) => {
      const text = `apiVersion: ${API_VERSION}\nkind: EgressRouter\nspec:\n  addresses: [{ip: 192.0.2.5/24}]\n  redirect:\n    redirectRules:\n      - {destinationIP: 192.0.2.10, port: ${port}, protocol: TCP}\n`;
      const result = safely(() => load(text));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(paths(result.issues)).toEqual(['spec.redirect.redirectRules[0].port']);
    },
  );

  // YAML 1.1, as kubectl reads manifests: these spellings are numbers there, so they are here.
  it.each([
    ['0120', 80],
    ['0x50', 80],
    ['0b1010000', 80],
    ['1_000', 1000],
  ])('reads the EgressRouter port %s as %i, as kubectl does (YAML 1.1)', (port, value) => {
    const text = `apiVersion: ${API_VERSION}\nkind: EgressRouter\nspec:\n  addresses: [{ip: 192.0.2.5/24}]\n  redirect:\n    redirectRules:\n      - {destinationIP: 192.0.2.10, port: ${port}, protocol: TCP}\n`;
    const result = load(text);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.config.redirectRules[0]?.port).toBe(value);
  });

  it.each(['1e400', '-1e400', 'NaN', '1500.0.0', '9'.repeat(400)])('rejects the CNI mtu %j', (mtu) => {
    const result = safely(() =>
      load(cniJson({ ip: { addresses: ['192.0.2.5/24'] }, interfaceArgs: { mtu } })),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(paths(result.issues)).toEqual(['interfaceArgs.mtu']);
  });

  it('rejects a JSON number mtu of 1e400 (Infinity)', () => {
    const text = cniJson({ ip: { addresses: ['192.0.2.5/24'] }, interfaceArgs: { mtu: 0 } }).replace(
      '"mtu":0',
      '"mtu":1e400',
    );
    expectOnlyIssue(
      safely(() => load(text)),
      'interfaceArgs.mtu',
      /^must be a finite number, got Infinity$/,
    );
  });
});

describe('prototype pollution attempts', () => {
  it('a __proto__ key in JSON is just an unknown key', () => {
    const text = `{"__proto__":{"kind":"EgressRouter"},"type":"egress-router","ip":{"addresses":["192.0.2.5"],"__proto__":{"gateway":"192.0.2.1"}}}`;
    const result = safely(() => load(text));
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
    expect(({} as Record<string, unknown>).gateway).toBeUndefined();
    if (result.ok) expect(result.config.addresses[0]?.gateway).toBeUndefined();
  });

  it('a __proto__ key in YAML does not leak into other objects', () => {
    safely(() =>
      load('__proto__: {kind: EgressRouter}\ntype: egress-router\nip: {addresses: [192.0.2.5]}\n'),
    );
    safely(() =>
      load(
        `apiVersion: ${API_VERSION}\nkind: EgressRouter\nspec:\n  __proto__: {addresses: []}\n  addresses: [{ip: 192.0.2.5}]\n  redirect: {}\n`,
      ),
    );
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
    expect(({} as Record<string, unknown>).addresses).toBeUndefined();
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])(
    'a rule key %j is an unknown field',
    (key) => {
      const text = withRedirect({ redirectRules: [] }).replace(
        '"redirectRules":[]',
        `"redirectRules":[{"destinationIP":"192.0.2.10","port":80,"protocol":"TCP","${key}":{}}]`,
      );
      safely(() => load(text));
    },
  );
});

describe('legacy environment oddities', () => {
  it.each([
    { EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: '\u0000' },
    { EGRESS_SOURCE: '\u0000' },
    { EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: `${'80 tcp 192.0.2.10 '.repeat(100_000)}` },
    { EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: '\n'.repeat(1_000_000) },
    { EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: '\r'.repeat(10_000) },
    { EGRESS_SOURCE: 'x'.repeat(10_000_000) },
    { EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '\uFFFD', EGRESS_ROUTER_MODE: '\u0000' },
    {
      EGRESS_SOURCE: undefined,
      EGRESS_GATEWAY: undefined,
      EGRESS_DESTINATION: undefined,
      EGRESS_ROUTER_MODE: undefined,
    },
  ])('never throws: %#', (env) => {
    safely(() => loadEnv(env));
  });

  it('handles 65535 valid lines', () => {
    const lines = Array.from({ length: 65535 }, (_, i) => `${i + 1} udp 192.0.2.10`).join('\n');
    expect(
      expectOk(safely(() => loadEnv({ EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: lines })))
        .redirectRules,
    ).toHaveLength(65535);
  });
});
