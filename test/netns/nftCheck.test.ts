// The rendered table against the real nft (root): random valid configs must pass `nft -c` in
// both forms (JSON batch and text), a few are loaded and read back, and the largest map size
// loads. Everything happens in one scratch network namespace created and deleted by this file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import type { AgentOptions, Family, Protocol, RedirectRule, RouterConfig } from '../../src/config/model.js';
import { interfaceNameProblem } from '../../src/config/names.js';
import { createScratchNamespace, listNetns, type ScratchNamespace } from '../../src/netkit/index.js';
import { replaceTableBatch } from '../../src/nft/json.js';
import type { NftTable } from '../../src/nft/model.js';
import { tableText } from '../../src/nft/text.js';
import { planRuleset } from '../../src/plan/ruleset.js';

/** The kit's scratch namespace: a unique per-run name, swept if this run dies. */
let scratch: ScratchNamespace | undefined;
let dir: string | undefined;
let fileCounter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ert-nftcheck-'));
  scratch = await createScratchNamespace();
});

afterAll(async () => {
  try {
    await scratch?.destroy();
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
});

async function writeTemp(extension: string, content: string): Promise<string> {
  if (!dir) throw new Error('no temp directory');
  fileCounter += 1;
  const file = join(dir, `case-${fileCounter}.${extension}`);
  await writeFile(file, content, { mode: 0o600 });
  return file;
}

async function nft(args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  if (!scratch) throw new Error('no scratch namespace');
  const result = await scratch.exec(['nft', ...args], { reject: false, timeoutMs: 300_000 });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

async function checkJson(table: NftTable): Promise<void> {
  const file = await writeTemp('json', JSON.stringify(replaceTableBatch(table)));
  const result = await nft(['-c', '-j', '-f', file]);
  expect(result.stderr, `nft -c -j -f rejected ${file}`).toBe('');
  expect(result.exitCode).toBe(0);
}

async function checkText(table: NftTable): Promise<void> {
  const file = await writeTemp('nft', tableText(table));
  const result = await nft(['-c', '-f', file]);
  expect(result.stderr, `nft -c -f rejected ${file}`).toBe('');
  expect(result.exitCode).toBe(0);
}

// ---------------------------------------------------------------------------------------------
// Valid configs. Addresses only from 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32. The
// router's own hosts (100..199 / ::100..::1ff) and the destinations (1..99, 200..254 /
// ::1000..::ffff) never overlap, so every generated config is valid by construction.

const V4_NETS = ['192.0.2', '198.51.100'] as const;
const hex = (n: number): string => n.toString(16);

interface OwnAddress {
  family: Family;
  ip: string;
  gateway: string;
}

const ownV4: fc.Arbitrary<OwnAddress> = fc
  .record({
    net: fc.constantFrom(...V4_NETS),
    host: fc.integer({ min: 100, max: 199 }),
    prefix: fc.constantFrom('/24', '/32', ''),
  })
  .map(({ net, host, prefix }) => ({ family: 4, ip: `${net}.${host}${prefix}`, gateway: `${net}.1` }));

const ownV6: fc.Arbitrary<OwnAddress> = fc
  .record({
    subnet: fc.integer({ min: 0, max: 0xffff }),
    host: fc.integer({ min: 0x100, max: 0x1ff }),
    prefix: fc.constantFrom('/64', '/128', ''),
  })
  .map(({ subnet, host, prefix }) => ({
    family: 6,
    ip: `2001:db8:${hex(subnet)}::${hex(host)}${prefix}`,
    gateway: `2001:db8:${hex(subnet)}::1`,
  }));

const destinationV4 = fc
  .tuple(
    fc.constantFrom(...V4_NETS),
    fc.oneof(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 200, max: 254 })),
  )
  .map(([net, host]) => `${net}.${host}`);

const destinationV6 = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0x1000, max: 0xffff }))
  .map(([subnet, host]) => `2001:db8:${hex(subnet)}::${hex(host)}`);

const destination = (family: Family): fc.Arbitrary<string> => (family === 4 ? destinationV4 : destinationV6);

/**
 * Any interface name the agent accepts (its validator rejects what nft would misread: keywords
 * such as `tcp`, a leading `@`, `*`, quotes), in the charset real interfaces use.
 */
const interfaceName = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/)
  .filter((name) => interfaceNameProblem(name) === undefined);

interface RuleSpec {
  destinationIP: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number;
}

interface Case {
  text: string;
  options: AgentOptions;
  /** What the generator meant, to check the model against. */
  ruleCount: number;
  families: Family[];
}

const port = fc.integer({ min: 1, max: 65535 });

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    addresses: fc.uniqueArray(fc.oneof(ownV4, ownV6), {
      minLength: 1,
      maxLength: 2,
      selector: (a) => a.ip.replace(/\/\d+$/, ''),
    }),
    gateways: fc.boolean(),
    names: fc.uniqueArray(interfaceName, { minLength: 2, maxLength: 2 }),
    healthPort: port,
  })
  .chain(({ addresses, gateways, names, healthPort }) => {
    const families = ([4, 6] as const).filter((f) => addresses.some((a) => a.family === f));
    const family = fc.constantFrom(...families);
    const rule = family.chain((f) =>
      fc.record({
        family: fc.constant(f),
        protocol: fc.constantFrom<RuleSpec['protocol']>('TCP', 'UDP', 'SCTP'),
        port,
        targetPort: fc.option(port, { nil: undefined }),
        destinationIP: destination(f),
      }),
    );
    // Lengths spread over 0..50, empty often (fast-check's default size would stay near 10).
    const rules = fc
      .oneof(
        { arbitrary: fc.constant(0), weight: 1 },
        { arbitrary: fc.integer({ min: 1, max: 50 }), weight: 5 },
      )
      .chain((n) =>
        fc.uniqueArray(rule, {
          minLength: n,
          maxLength: n,
          selector: (r) => `${r.family}/${r.protocol}/${r.port}`,
        }),
      )
      .map((list) => list.filter((r) => !(r.protocol === 'TCP' && r.port === healthPort)));
    const fallback = fc.option(
      family.chain((f) => destination(f)),
      { nil: undefined, freq: 2 },
    );
    return fc.record({ rules, fallback }).map(({ rules, fallback }): Case => {
      // One gateway per family: only on the first address of the family.
      const seen = new Set<Family>();
      const specAddresses = addresses.map((a) => {
        const first = !seen.has(a.family);
        seen.add(a.family);
        return gateways && first ? { ip: a.ip, gateway: a.gateway } : { ip: a.ip };
      });
      const redirectRules: RuleSpec[] = rules.map((r) => ({
        destinationIP: r.destinationIP,
        port: r.port,
        protocol: r.protocol,
        ...(r.targetPort !== undefined ? { targetPort: r.targetPort } : {}),
      }));
      const text = JSON.stringify({
        apiVersion: 'network.operator.openshift.io/v1',
        kind: 'EgressRouter',
        metadata: { name: 'nft-check' },
        spec: {
          addresses: specAddresses,
          redirect: { redirectRules, ...(fallback !== undefined ? { fallbackIP: fallback } : {}) },
        },
      });
      const [egressInterface, clusterInterface] = names as [string, string];
      return {
        text,
        options: { egressInterface, clusterInterface, healthPort },
        ruleCount: redirectRules.length,
        families,
      };
    });
  });

function loadCase(c: Case): RouterConfig {
  const result = loadConfigText(c.text, c.options);
  if (!result.ok) throw new Error(`generated config is invalid: ${JSON.stringify(result.issues)}\n${c.text}`);
  expect(result.config.redirectRules).toHaveLength(c.ruleCount);
  expect([...new Set(result.config.addresses.map((a) => a.family))].sort()).toEqual(c.families);
  return result.config;
}

// ---------------------------------------------------------------------------------------------
// Reading the table back.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface ListedMap {
  name: string;
  type: Json;
  map: Json;
  stmt?: Json;
  elem?: Json[];
}

interface ListedChain {
  name: string;
  type: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

interface Listing {
  maps: ListedMap[];
  chains: ListedChain[];
  rules: { chain: string; expr: Json; comment?: string }[];
  raw: Json[];
}

async function listTable(): Promise<Listing> {
  const result = await nft(['-j', 'list', 'table', 'inet', 'egress_router']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const raw = (JSON.parse(result.stdout) as { nftables: Json[] }).nftables;
  const pick = <T>(key: string): T[] =>
    raw.flatMap((o) => (o && typeof o === 'object' && !Array.isArray(o) && key in o ? [o[key] as T] : []));
  return { maps: pick<ListedMap>('map'), chains: pick<ListedChain>('chain'), rules: pick('rule'), raw };
}

/** One element as "proto/port=value"; counter maps list keys as {elem: {val, counter}}. */
function listedElementKey(element: Json): string {
  if (!Array.isArray(element) || element.length !== 2)
    throw new Error(`odd element ${JSON.stringify(element)}`);
  let key = element[0] as Json;
  if (key && typeof key === 'object' && !Array.isArray(key) && 'elem' in key) {
    key = (key.elem as { val: Json }).val;
  }
  const concat = (key as { concat?: Json[] }).concat;
  if (concat?.length !== 2) throw new Error(`odd key ${JSON.stringify(key)}`);
  return `${String(concat[0])}/${String(concat[1])}=${String(element[1])}`;
}

function renderedElements(table: NftTable): Map<string, Set<string>> {
  return new Map(
    table.maps.map((m) => [
      m.name,
      new Set(m.elements.map(([key, value]) => `${key[0]}/${key[1]}=${value}`)),
    ]),
  );
}

function listedElements(listing: Listing): Map<string, Set<string>> {
  return new Map(listing.maps.map((m) => [m.name, new Set((m.elem ?? []).map(listedElementKey))]));
}

async function loadJson(table: NftTable): Promise<void> {
  const file = await writeTemp('json', JSON.stringify(replaceTableBatch(table)));
  const result = await nft(['-j', '-f', file]);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
}

/** The listing without handles and with elements in a canonical order, for comparing two loads. */
function normalized(value: Json): Json {
  if (Array.isArray(value)) return value.map(normalized);
  if (value && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'handle') continue;
      if (key === 'elem' && Array.isArray(inner)) {
        out[key] = inner.map(normalized).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      } else out[key] = normalized(inner);
    }
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------

describe('rendered tables against nft', () => {
  it('the scratch namespace exists and holds no ruleset', async () => {
    const name = scratch?.name ?? '';
    expect(name.length).toBeLessThanOrEqual(15);
    expect(await listNetns()).toContain(name);
    const ruleset = await nft(['list', 'ruleset']);
    expect(ruleset.exitCode).toBe(0);
    expect(ruleset.stdout.trim()).toBe('');
  });

  it('every valid config passes nft -c as a JSON batch and as text', async () => {
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const table = planRuleset(loadCase(c), c.options);
        await checkJson(table);
        await checkText(table);
      }),
      { numRuns: 100 },
    );
  }, 300_000);

  it('loaded for real, the maps read back hold exactly the rendered elements, and text loads the same', async () => {
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        const config = loadCase(c);
        const table = planRuleset(config, c.options);
        await loadJson(table);
        const listing = await listTable();

        expect(listedElements(listing)).toEqual(renderedElements(table));
        expect(listing.maps.map((m) => m.name)).toEqual(table.maps.map((m) => m.name));
        for (const map of table.maps) {
          const listed = listing.maps.find((m) => m.name === map.name)!;
          expect(listed.type).toEqual([...map.type]);
          expect(listed.map).toBe(map.map);
          expect(listed.stmt ?? null).toEqual(map.counter ? [{ counter: null }] : null);
        }
        // Hooks and numeric priorities survive (a string priority would give a hookless chain).
        expect(listing.chains.map((ch) => [ch.name, ch.type, ch.hook, ch.prio, ch.policy])).toEqual(
          table.chains.map((ch) => [ch.name, ch.type, ch.hook, ch.prio, ch.policy]),
        );
        for (const chain of table.chains) {
          const listed = listing.rules.filter((r) => r.chain === chain.name);
          expect(listed.map((r) => r.comment)).toEqual(chain.rules.map((r) => r.comment));
        }

        // The text form yields the same kernel state as the JSON batch.
        const fromJson = normalized(listing.raw);
        const deleted = await nft(['delete', 'table', 'inet', 'egress_router']);
        expect(deleted.exitCode).toBe(0);
        const file = await writeTemp('nft', tableText(table));
        const loaded = await nft(['-f', file]);
        expect(loaded.stderr).toBe('');
        expect(loaded.exitCode).toBe(0);
        expect(normalized((await listTable()).raw)).toEqual(fromJson);
      }),
      { numRuns: 8 },
    );
    // Clean up the table; the namespace goes in afterAll.
    await nft(['delete', 'table', 'inet', 'egress_router']);
  }, 300_000);

  it('a replacement batch drops the previous content, maps included', async () => {
    const first = planRuleset(
      loadCase({
        text: JSON.stringify({
          apiVersion: 'network.operator.openshift.io/v1',
          kind: 'EgressRouter',
          spec: {
            addresses: [{ ip: '192.0.2.100/24' }],
            redirect: {
              redirectRules: [
                { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' },
                { destinationIP: '192.0.2.11', port: 81, protocol: 'TCP' },
              ],
            },
          },
        }),
        options: { egressInterface: 'net1', clusterInterface: 'eth0', healthPort: 9099 },
        ruleCount: 2,
        families: [4],
      }),
      { egressInterface: 'net1', clusterInterface: 'eth0', healthPort: 9099 },
    );
    const second = planRuleset(
      loadCase({
        text: JSON.stringify({
          apiVersion: 'network.operator.openshift.io/v1',
          kind: 'EgressRouter',
          spec: {
            addresses: [{ ip: '2001:db8:1::100/64' }],
            redirect: { redirectRules: [{ destinationIP: '2001:db8:1::1000', port: 80, protocol: 'TCP' }] },
          },
        }),
        options: { egressInterface: 'net1', clusterInterface: 'eth0', healthPort: 9099 },
        ruleCount: 1,
        families: [6],
      }),
      { egressInterface: 'net1', clusterInterface: 'eth0', healthPort: 9099 },
    );
    await loadJson(first);
    await loadJson(second);
    const listing = await listTable();
    expect(listedElements(listing)).toEqual(renderedElements(second));
    expect(listing.maps.map((m) => m.name)).toEqual(['redirect_addr6', 'redirect_port6']);
    await nft(['delete', 'table', 'inet', 'egress_router']);
  });

  it('65535 TCP redirects (every port) pass nft -c in both forms', async () => {
    // Built as a model: a validated config cannot redirect TCP to the health port, and the
    // point here is the full key space of one protocol.
    const rules: RedirectRule[] = [];
    for (let p = 1; p <= 65535; p++) {
      rules.push({
        protocol: 'tcp' as Protocol,
        port: p,
        destinationIP: `198.51.100.${1 + (p % 99)}`,
        targetPort: 65536 - p,
        family: 4,
        source: `rule for port ${p}`,
      });
    }
    const config: RouterConfig = {
      format: 'EgressRouter',
      macvlan: { mode: 'Bridge' },
      addresses: [{ address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' }],
      redirectRules: rules,
      fallback: { address: '192.0.2.20', family: 4, source: 'fallback' },
      notes: [],
    };
    const table = planRuleset(config, {
      egressInterface: 'net1',
      clusterInterface: 'eth0',
      healthPort: 9099,
    });
    expect(table.maps[0]!.elements).toHaveLength(65535);
    await checkJson(table);
    await checkText(table);
  }, 120_000);

  it('the largest valid single-family config (every TCP port but the health port) loads for real', async () => {
    const redirectRules: RuleSpec[] = [];
    for (let p = 1; p <= 65535; p++) {
      if (p !== 9099) redirectRules.push({ destinationIP: '192.0.2.10', port: p, protocol: 'TCP' });
    }
    const c: Case = {
      text: JSON.stringify({
        apiVersion: 'network.operator.openshift.io/v1',
        kind: 'EgressRouter',
        spec: { addresses: [{ ip: '192.0.2.100/24' }], redirect: { redirectRules } },
      }),
      options: { egressInterface: 'net1', clusterInterface: 'eth0', healthPort: 9099 },
      ruleCount: 65534,
      families: [4],
    };
    const table = planRuleset(loadCase(c), c.options);
    await loadJson(table);
    const listing = await listTable();
    expect(listedElements(listing)).toEqual(renderedElements(table));
    await nft(['delete', 'table', 'inet', 'egress_router']);
  }, 120_000);
});
