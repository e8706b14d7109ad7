/** Property tests: the loaders never throw, and generated valid configs always validate and keep every rule. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseIp } from '../../../src/config/ip.js';
import type { LoadResult } from '../../../src/config/load.js';
import type { RouterConfig } from '../../../src/config/model.js';
import { readEnvFile } from '../../helpers/envFile.js';
import { API_VERSION, example, examplePath, load, loadEnv } from './helpers.js';

const RUNS = { numRuns: 300 };

/** The loader contract: ok with a config, or a non-empty list of well-formed issues. */
function checkContract(result: LoadResult): void {
  if (result.ok) {
    checkModel(result.config);
    return;
  }
  expect(Array.isArray(result.issues)).toBe(true);
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) {
    expect(typeof issue.path).toBe('string');
    expect(typeof issue.message).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

/** What an accepted config must always satisfy, however it was produced. */
function checkModel(config: RouterConfig): void {
  expect(config.addresses.length).toBeGreaterThan(0);
  const families = new Set(config.addresses.map((a) => a.family));
  const own = new Set(config.addresses.map((a) => a.address));
  expect(own.size).toBe(config.addresses.length);
  for (const a of config.addresses) {
    expect(parseIp(a.address)).toEqual({ ok: true, value: { address: a.address, family: a.family } });
    expect(a.prefixLength).toBeGreaterThanOrEqual(0);
    expect(a.prefixLength).toBeLessThanOrEqual(a.family === 4 ? 32 : 128);
    if (a.gateway !== undefined) {
      expect(parseIp(a.gateway)).toEqual({ ok: true, value: { address: a.gateway, family: a.family } });
    }
  }
  const keys = new Set<string>();
  for (const r of config.redirectRules) {
    for (const port of [r.port, r.targetPort]) {
      expect(Number.isInteger(port)).toBe(true);
      expect(port).toBeGreaterThanOrEqual(1);
      expect(port).toBeLessThanOrEqual(65535);
    }
    expect(['tcp', 'udp', 'sctp']).toContain(r.protocol);
    expect(families.has(r.family)).toBe(true);
    expect(own.has(r.destinationIP)).toBe(false);
    expect(parseIp(r.destinationIP)).toEqual({
      ok: true,
      value: { address: r.destinationIP, family: r.family },
    });
    const key = `${r.family}/${r.protocol}/${r.port}`;
    expect(keys.has(key)).toBe(false);
    keys.add(key);
  }
  if (config.fallback) {
    expect(families.has(config.fallback.family)).toBe(true);
    expect(own.has(config.fallback.address)).toBe(false);
  }
  if (config.macvlan.mtu !== undefined) {
    expect(Number.isInteger(config.macvlan.mtu)).toBe(true);
  }
}

function loadSafely(text: string): LoadResult {
  let result: LoadResult | undefined;
  expect(() => {
    result = load(text);
  }).not.toThrow();
  checkContract(result!);
  return result!;
}

function loadEnvSafely(env: Record<string, string | undefined>): LoadResult {
  let result: LoadResult | undefined;
  expect(() => {
    result = loadEnv(env);
  }).not.toThrow();
  checkContract(result!);
  return result!;
}

// ---------------------------------------------------------------------------------------------
// (1) Arbitrary and mutated input never throws.

/** Strings that are often near-valid for some field, mixed with plain noise. */
const interestingString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([ip, length]) => `${ip}/${length}`),
  fc.ipV6().map((ip) => `${ip}/64`),
  fc.constantFrom(
    'TCP',
    'tcp',
    'UDP',
    'SCTP',
    'Bridge',
    'bridge',
    'Private',
    'Redirect',
    'macvlan',
    'egress-router',
    'EgressRouter',
    'NetworkAttachmentDefinition',
    API_VERSION,
    '192.0.2.100',
    '192.0.2.1',
    '2001:db8::1',
    '::ffff:1.2.3.4',
    'fe80::1%eth0',
    '80',
    '+80',
    '0x50',
    '080',
    '8e1',
    '9099',
    '65536',
    '1500',
    '80 tcp 192.0.2.10',
    '80 tcp 192.0.2.10 8080',
    '0 tcp 192.0.2.10',
    '192.0.2.20',
    '',
    ' ',
    '\u0000',
    'eth0',
    'a/b',
  ),
);

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  interestingString,
  fc.integer({ min: -100_000, max: 100_000 }),
  fc.integer({ min: 0, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

type Mutation = {
  kind: 'drop' | 'replace' | 'string' | 'int' | 'duplicate' | 'add';
  at: number;
  value: unknown;
  key: string;
};

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop', 'replace', 'string', 'int', 'duplicate', 'add'),
  at: fc.nat(),
  value: anyValue,
  key: fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('fallbackIp', 'targetport', 'Master', 'mtu', 'gateway'),
  ),
});

type Path = (string | number)[];

function containerPaths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value))
    value.forEach((v, i) => {
      out.push(...containerPaths(v, [...prefix, i]));
    });
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...containerPaths(v, [...prefix, k]));
  return out;
}

function get(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node;
}

/** Applies one mutation in place to a JSON-like tree held in `box.root`. */
function mutate(box: { root: unknown }, m: Mutation): void {
  const all = containerPaths(box.root);
  const path = all[m.at % all.length]!;
  const set = (value: unknown) => {
    if (path.length === 0) box.root = value;
    else
      (get(box.root, path.slice(0, -1)) as Record<string | number, unknown>)[path[path.length - 1]!] = value;
  };
  const current = get(box.root, path);
  switch (m.kind) {
    case 'drop':
      if (path.length === 0) return;
      {
        const parent = get(box.root, path.slice(0, -1));
        const key = path[path.length - 1]!;
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Record<string, unknown>)[key];
      }
      return;
    case 'replace':
      set(m.value);
      return;
    case 'string':
      set(typeof m.value === 'string' ? m.value : (JSON.stringify(m.value) ?? ''));
      return;
    case 'int':
      set(typeof m.value === 'number' ? Math.trunc(m.value) : 80);
      return;
    case 'duplicate':
      if (Array.isArray(current) && current.length > 0) current.push(structuredClone(current[0]));
      return;
    case 'add':
      if (current !== null && typeof current === 'object' && !Array.isArray(current))
        (current as Record<string, unknown>)[m.key] = m.value;
      else if (Array.isArray(current)) current.push(m.value);
      return;
  }
}

const EXAMPLE_DOCUMENTS: Record<string, unknown> = {
  'egressrouter.yaml': YAML.parse(example('egressrouter.yaml')),
  'egressrouter-dualstack.yaml': YAML.parse(example('egressrouter-dualstack.yaml')),
  'cni.json': JSON.parse(example('cni.json')),
  // The NAD with its config string expanded, so mutations reach inside it; re-packed below.
  'nad.yaml': (() => {
    const nad = YAML.parse(example('nad.yaml')) as { spec: { config: unknown } };
    nad.spec.config = JSON.parse(nad.spec.config as string);
    return nad;
  })(),
};

function serialize(name: string, document: unknown, asYaml: boolean): string {
  let value = document;
  if (name === 'nad.yaml' && value !== null && typeof value === 'object') {
    const nad = structuredClone(value) as { spec?: { config?: unknown } };
    if (
      nad.spec &&
      typeof nad.spec === 'object' &&
      nad.spec.config !== undefined &&
      typeof nad.spec.config !== 'string'
    ) {
      nad.spec.config = JSON.stringify(nad.spec.config);
    }
    value = nad;
  }
  return asYaml ? YAML.stringify(value) : (JSON.stringify(value) ?? 'null');
}

describe('property: the loaders never throw', () => {
  it('the bundled examples are valid to start with', () => {
    for (const [name, document] of Object.entries(EXAMPLE_DOCUMENTS)) {
      expect(loadSafely(serialize(name, document, false)).ok, name).toBe(true);
      expect(loadSafely(serialize(name, document, true)).ok, name).toBe(true);
    }
  });

  it('arbitrary JSON values, as JSON and as YAML', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        loadSafely(JSON.stringify(value));
        loadSafely(YAML.stringify(value));
      }),
      RUNS,
    );
  });

  it('arbitrary JSON values in the places the formats look at', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), (a, b) => {
        loadSafely(JSON.stringify({ apiVersion: API_VERSION, kind: 'EgressRouter', metadata: a, spec: b }));
        loadSafely(
          JSON.stringify({
            apiVersion: API_VERSION,
            kind: 'EgressRouter',
            spec: { addresses: a, redirect: b },
          }),
        );
        loadSafely(JSON.stringify({ type: 'egress-router', ip: a, interfaceArgs: b, fallbackIP: a }));
        loadSafely(
          JSON.stringify({ kind: 'NetworkAttachmentDefinition', spec: { config: JSON.stringify(a) } }),
        );
        loadSafely(JSON.stringify({ plugins: [a, { type: 'egress-router', ip: b }] }));
      }),
      RUNS,
    );
  });

  it('arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (text) => {
          loadSafely(text);
          loadSafely(`kind: EgressRouter\napiVersion: ${API_VERSION}\n${text}`);
          loadSafely(`{"type":"egress-router",${text}`);
        },
      ),
      RUNS,
    );
  });

  it('mutated versions of the bundled examples, as JSON and as YAML', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(EXAMPLE_DOCUMENTS)),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (name, mutations, asYaml) => {
          const box = { root: structuredClone(EXAMPLE_DOCUMENTS[name]) };
          for (const m of mutations) mutate(box, m);
          loadSafely(serialize(name, box.root, asYaml));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated text of the bundled examples', () => {
    const texts = ['egressrouter.yaml', 'egressrouter-dualstack.yaml', 'cni.json', 'nad.yaml'].map(example);
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.string({ maxLength: 8 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (text, edits) => {
          let edited = text;
          for (const [at, remove, insert] of edits) {
            const i = at % (edited.length + 1);
            edited = edited.slice(0, i) + insert + edited.slice(i + remove);
          }
          loadSafely(edited);
        },
      ),
      RUNS,
    );
  });

  const legacyExample = readEnvFile(examplePath('legacy.env'));
  const envValue = fc.oneof(interestingString, fc.string(), fc.constant(undefined));

  it('arbitrary legacy environments', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            EGRESS_SOURCE: envValue,
            EGRESS_GATEWAY: envValue,
            EGRESS_DESTINATION: fc.oneof(
              envValue,
              fc.array(interestingString, { maxLength: 8 }).map((lines) => lines.join('\n')),
            ),
            EGRESS_ROUTER_MODE: fc.oneof(
              envValue,
              fc.constantFrom('init', 'legacy', 'unit-test', 'http-proxy', 'dns-proxy'),
            ),
          },
          { requiredKeys: [] },
        ),
        (env) => {
          loadEnvSafely(env);
        },
      ),
      RUNS,
    );
  });

  it('mutated versions of the bundled legacy environment', () => {
    const lines = (legacyExample.EGRESS_DESTINATION ?? '').split('\n');
    expect(loadEnvSafely(legacyExample).ok).toBe(true);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('dropLine', 'replaceToken', 'replaceLine', 'addLine', 'variable'),
            at: fc.nat(),
            token: fc.nat({ max: 4 }),
            text: interestingString,
            variable: fc.constantFrom('EGRESS_SOURCE', 'EGRESS_GATEWAY', 'EGRESS_ROUTER_MODE'),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        fc.constantFrom('\n', '\r\n'),
        (edits, eol) => {
          const env: Record<string, string | undefined> = { ...legacyExample };
          const current = [...lines];
          for (const e of edits) {
            const i = e.at % Math.max(current.length, 1);
            if (e.kind === 'dropLine') current.splice(i, 1);
            else if (e.kind === 'replaceLine') current[i] = e.text;
            else if (e.kind === 'addLine') current.splice(i, 0, e.text);
            else if (e.kind === 'variable') env[e.variable] = e.text;
            else {
              const tokens = (current[i] ?? '').trim().split(/\s+/);
              tokens[e.token % Math.max(tokens.length, 1)] = e.text;
              current[i] = tokens.join(' ');
            }
          }
          env.EGRESS_DESTINATION = current.join(eol);
          loadEnvSafely(env);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (2) Generated valid configs always validate and keep every rule.

type Proto = 'TCP' | 'UDP' | 'SCTP';
interface GenRule {
  readonly family: 4 | 6;
  readonly protocol: Proto;
  readonly port: number;
  readonly destination: string;
  readonly targetPort?: number;
}

const HEALTH_PORT = 9099;

/** A host in 192.0.2.0/24 other than .0, .1 (the gateway) and .255. */
const egressV4 = fc.integer({ min: 2, max: 254 }).map((h) => `192.0.2.${h}`);
/** Destinations live in other documentation ranges, so they can never be the router's address. */
const destinationV4 = fc
  .tuple(fc.constantFrom('198.51.100', '203.0.113', '192.0.2'), fc.integer({ min: 1, max: 254 }))
  .map(([net, h]) => `${net}.${h}`);
const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
/** An IPv6 destination in 2001:db8:1::/48, written in a random but equivalent spelling. */
const destinationV6 = fc
  .tuple(fc.array(hextet, { minLength: 5, maxLength: 5 }), fc.constantFrom('canonical', 'upper', 'expanded'))
  .map(([groups, style]) => {
    const full = ['2001', 'db8', '1', ...groups];
    if (style === 'expanded') return full.map((g) => g.padStart(4, '0')).join(':');
    const parsed = parseIp(full.join(':'));
    if (!parsed.ok) throw new Error(parsed.error);
    return style === 'upper' ? parsed.value.address.toUpperCase() : parsed.value.address;
  });

const port = fc.integer({ min: 1, max: 65535 });

function rulesArb(families: readonly (4 | 6)[]): fc.Arbitrary<GenRule[]> {
  const one = fc
    .record({
      family: fc.constantFrom(...families),
      protocol: fc.constantFrom<Proto>('TCP', 'UDP', 'SCTP'),
      port,
      targetPort: fc.option(port, { nil: undefined }),
      d4: destinationV4,
      d6: destinationV6,
    })
    .filter((r) => !(r.protocol === 'TCP' && r.port === HEALTH_PORT))
    .map(({ family, protocol, port: p, targetPort, d4, d6 }) => ({
      family,
      protocol,
      port: p,
      destination: family === 4 ? d4 : d6,
      ...(targetPort !== undefined ? { targetPort } : {}),
    }));
  return fc.uniqueArray(one, { selector: (r) => `${r.family}/${r.protocol}/${r.port}`, maxLength: 40 });
}

interface GenConfig {
  readonly v4: string;
  readonly prefix: number;
  readonly v6?: string;
  readonly rules: GenRule[];
  readonly fallback?: string;
  readonly mode: 'Bridge' | 'Private' | 'VEPA' | 'Passthru';
}

const genConfig: fc.Arbitrary<GenConfig> = fc
  .record({
    v4: egressV4,
    prefix: fc.integer({ min: 24, max: 30 }),
    dual: fc.boolean(),
    v6host: fc.integer({ min: 2, max: 0xffff }),
    fallback: fc.option(destinationV4, { nil: undefined }),
    mode: fc.constantFrom('Bridge' as const, 'Private' as const, 'VEPA' as const, 'Passthru' as const),
  })
  .chain((c) =>
    rulesArb(c.dual ? [4, 6] : [4]).map((rules) => ({
      // Keep the host part inside the /prefix subnet of 192.0.2.0 that also holds .1 (the gateway).
      v4: `192.0.2.${2 + (Number(c.v4.split('.')[3]) % (2 ** (32 - c.prefix) - 3))}`,
      prefix: c.prefix,
      ...(c.dual ? { v6: `2001:db8::${c.v6host.toString(16)}` } : {}),
      rules,
      ...(c.fallback !== undefined ? { fallback: c.fallback } : {}),
      mode: c.mode,
    })),
  )
  // A fallback or destination may not be the router's own address, nor its subnet's network or
  // broadcast address.
  .filter((c) => {
    const size = 2 ** (32 - c.prefix);
    const edge = (ip: string | undefined): boolean => {
      if (ip === undefined || !ip.startsWith('192.0.2.')) return false;
      const host = Number(ip.split('.')[3]) % size;
      return host === 0 || host === size - 1;
    };
    const bad = (ip: string | undefined) => ip === c.v4 || edge(ip);
    return !bad(c.fallback) && c.rules.every((r) => r.family === 6 || !bad(r.destination));
  });

function canonical(text: string): string {
  const parsed = parseIp(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value.address;
}

function expectRulesKept(config: RouterConfig, generated: GenConfig): void {
  for (const r of config.redirectRules) expect(r.source).toMatch(/\S/);
  if (config.fallback) expect(config.fallback.source).toMatch(/\S/);
  const withoutSource = <T extends { source: string }>({ source: _, ...rest }: T) => rest;
  expect(config.redirectRules.map(withoutSource)).toEqual(
    generated.rules.map((r) => ({
      protocol: r.protocol.toLowerCase(),
      port: r.port,
      destinationIP: canonical(r.destination),
      targetPort: r.targetPort ?? r.port,
      family: r.family,
    })),
  );
  expect(config.fallback && withoutSource(config.fallback)).toEqual(
    generated.fallback ? { address: generated.fallback, family: 4 } : undefined,
  );
}

function expectOkResult(result: LoadResult): RouterConfig {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.issues)}`);
  checkModel(result.config);
  return result.config;
}

describe('property: generated valid configs validate and keep every rule', () => {
  it('EgressRouter, as JSON or YAML', () => {
    fc.assert(
      fc.property(genConfig, fc.boolean(), (g, asYaml) => {
        const resource = {
          apiVersion: API_VERSION,
          kind: 'EgressRouter',
          metadata: { name: 'gen', namespace: 'ns' },
          spec: {
            networkInterface: { macvlan: { mode: g.mode, master: 'eth1' } },
            addresses: [
              { ip: `${g.v4}/${g.prefix}`, gateway: '192.0.2.1' },
              ...(g.v6 ? [{ ip: `${g.v6}/64`, gateway: '2001:db8::1' }] : []),
            ],
            redirect: {
              redirectRules: g.rules.map((r) => ({
                destinationIP: r.destination,
                port: r.port,
                protocol: r.protocol,
                ...(r.targetPort !== undefined ? { targetPort: r.targetPort } : {}),
              })),
              ...(g.fallback ? { fallbackIP: g.fallback } : {}),
            },
          },
        };
        const config = expectOkResult(load(asYaml ? YAML.stringify(resource) : JSON.stringify(resource)));
        expect(config.format).toBe('EgressRouter');
        expect(config.name).toBe('gen');
        expect(config.macvlan).toEqual({ mode: g.mode, master: 'eth1' });
        expect(config.addresses).toHaveLength(g.v6 ? 2 : 1);
        expect(config.addresses[0]).toEqual({
          address: g.v4,
          prefixLength: g.prefix,
          family: 4,
          gateway: '192.0.2.1',
        });
        expectRulesKept(config, g);
      }),
      RUNS,
    );
  });

  it('CNI config, with destinations in any protocol case', () => {
    fc.assert(
      fc.property(genConfig, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (g, upper) => {
        const destinations = g.rules.map((r, i) => {
          const proto = upper[i] ? r.protocol : r.protocol.toLowerCase();
          return [r.port, proto, r.destination, ...(r.targetPort !== undefined ? [r.targetPort] : [])].join(
            ' ',
          );
        });
        const text = JSON.stringify({
          type: 'egress-router',
          interfaceArgs: { mode: g.mode.toLowerCase(), mtu: '1500' },
          ip: {
            addresses: [`${g.v4}/${g.prefix}`, ...(g.v6 ? [`${g.v6}/64`] : [])],
            gateway: '192.0.2.1',
            destinations: [...destinations, ...(g.fallback ? [g.fallback] : [])],
          },
          ...(g.fallback ? { fallbackIP: g.fallback } : {}),
        });
        const config = expectOkResult(load(text));
        expect(config.macvlan).toEqual({ mode: g.mode, mtu: 1500 });
        expectRulesKept(config, g);
      }),
      RUNS,
    );
  });

  it('legacy environment (IPv4 rules)', () => {
    const v4Only = genConfig.map((g) => ({ ...g, rules: g.rules.filter((r) => r.family === 4) }));
    fc.assert(
      fc.property(v4Only, fc.constantFrom('\n', '\r\n'), (g, eol) => {
        const lines = g.rules.map((r) =>
          [
            r.port,
            r.protocol.toLowerCase(),
            r.destination,
            ...(r.targetPort !== undefined ? [r.targetPort] : []),
          ].join(' '),
        );
        const env = {
          EGRESS_SOURCE: `${g.v4}/${g.prefix}`,
          EGRESS_GATEWAY: '192.0.2.1',
          EGRESS_DESTINATION: ['# generated', ...lines, ...(g.fallback ? [g.fallback] : []), ''].join(eol),
        };
        const config = expectOkResult(loadEnv(env));
        expect(config.macvlan.mode).toBe('Private');
        expectRulesKept(config, g);
      }),
      RUNS,
    );
  });
});
