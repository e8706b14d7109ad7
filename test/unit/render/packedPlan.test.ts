// The packed plan (planPackedTable) is what the table step diffs and the reconciler commits; the
// rendered one (planRuleset) is what `render` prints and a full load sends. They must be the same
// table: same chains, and the same elements in the same order once the rendered maps are packed.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';
import { packTable } from '../../../src/nft/packed.js';
import { planPackedTable, planRuleset } from '../../../src/plan/ruleset.js';

type Protocol = 'TCP' | 'UDP' | 'SCTP';
interface Rule {
  destinationIP: string;
  port: number;
  protocol: Protocol;
  targetPort?: number;
}

function config(
  rules: Rule[],
  options: { fallbackIP?: string; v4?: boolean; v6?: boolean } = {},
): RouterConfig {
  const { v4 = true, v6 = false } = options;
  const text = JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: 'packed' },
    spec: {
      addresses: [
        ...(v4 ? [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }] : []),
        ...(v6 ? [{ ip: '2001:db8:100::100/64', gateway: '2001:db8:100::1' }] : []),
      ],
      redirect: { redirectRules: rules, ...(options.fallbackIP ? { fallbackIP: options.fallbackIP } : {}) },
    },
  });
  const result = loadConfigText(text, DEFAULT_OPTIONS);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

function expectSameTable(cfg: RouterConfig): void {
  const rendered = packTable(planRuleset(cfg, DEFAULT_OPTIONS));
  const packed = planPackedTable(cfg, DEFAULT_OPTIONS);
  if (!rendered) throw new Error('the rendered table cannot be packed');
  expect(packed.chains).toEqual(rendered.chains);
  expect(packed.maps.map((m) => m.name)).toEqual(rendered.maps.map((m) => m.name));
  for (const [i, map] of packed.maps.entries()) {
    const { elements, ...shape } = map;
    const { elements: renderedElements, ...renderedShape } = rendered.maps[i]!;
    expect(shape).toEqual(renderedShape);
    expect(elements.toArray()).toEqual(renderedElements.toArray());
    expect(elements.equals(renderedElements)).toBe(true);
  }
}

/** A small deterministic generator (no Math.random: a failure must reproduce). */
function* numbers(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield x;
  }
}

describe('planPackedTable', () => {
  it('is the rendered table, packed: one family, with and without a fallback', () => {
    const rules: Rule[] = [
      { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' },
      { destinationIP: '192.0.2.11', port: 53, protocol: 'UDP', targetPort: 5353 },
      { destinationIP: '192.0.2.10', port: 9, protocol: 'SCTP' },
      { destinationIP: '192.0.2.12', port: 65_535, protocol: 'TCP', targetPort: 1 },
    ];
    expectSameTable(config(rules));
    expectSameTable(config(rules, { fallbackIP: '192.0.2.20' }));
    expectSameTable(config([]));
  });

  it('is the rendered table, packed: dual stack, IPv6 only', () => {
    const rules: Rule[] = [
      { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' },
      { destinationIP: '2001:db8:100::10', port: 80, protocol: 'TCP', targetPort: 8080 },
      { destinationIP: '2001:db8:100::11', port: 53, protocol: 'UDP' },
    ];
    expectSameTable(config(rules, { v6: true }));
    expectSameTable(config(rules.slice(1), { v4: false, v6: true, fallbackIP: '2001:db8:100::20' }));
  });

  it('is the rendered table, packed: rules in any order, many destinations and target ports', () => {
    for (const seed of [1, 2, 3]) {
      const next = numbers(seed);
      const used = new Set<string>();
      const rules: Rule[] = [];
      const protocols: Protocol[] = ['TCP', 'UDP', 'SCTP'];
      while (rules.length < 3_000) {
        const protocol = protocols[next.next().value % 3]!;
        const port = 1 + (next.next().value % 65_535);
        if (port === DEFAULT_OPTIONS.healthPort || used.has(`${protocol}/${port}`)) continue;
        used.add(`${protocol}/${port}`);
        const v = next.next().value;
        rules.push({
          destinationIP: `192.0.2.${10 + (v % 40)}`,
          port,
          protocol,
          ...(v % 3 === 0 ? { targetPort: 1 + (v % 65_535) } : {}),
        });
      }
      expectSameTable(config(rules, { fallbackIP: '192.0.2.99' }));
    }
  });
});
