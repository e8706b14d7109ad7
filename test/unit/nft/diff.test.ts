import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import type { AgentOptions, RouterConfig } from '../../../src/config/model.js';

function loadOrThrow(text: string, options: AgentOptions): RouterConfig {
  const result = loadConfigText(text, options);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { diffTables } from '../../../src/nft/diff.js';
import { tableFromListing } from '../../../src/nft/fromListing.js';
import { replaceTableBatch } from '../../../src/nft/json.js';
import type { NftTable } from '../../../src/nft/model.js';
import { planRuleset } from '../../../src/plan/ruleset.js';

function table(rules: string, fallback?: string): NftTable {
  const text = JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    spec: {
      addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
      redirect: {
        redirectRules: rules
          .split(',')
          .filter(Boolean)
          .map((r) => {
            const [protocol, port, destinationIP, targetPort] = r.split(' ');
            return {
              protocol,
              port: Number(port),
              destinationIP,
              ...(targetPort ? { targetPort: Number(targetPort) } : {}),
            };
          }),
        ...(fallback ? { fallbackIP: fallback } : {}),
      },
    },
  });
  return planRuleset(loadOrThrow(text, DEFAULT_OPTIONS), DEFAULT_OPTIONS);
}

const commands = (t: ReturnType<typeof diffTables>) => t.batch.nftables.slice(1);

describe('diffTables', () => {
  it('sends nothing when nothing changed', () => {
    const a = table('TCP 80 192.0.2.10,UDP 53 192.0.2.20');
    expect(diffTables(a, table('UDP 53 192.0.2.20,TCP 80 192.0.2.10'))).toMatchObject({
      kind: 'none',
      batch: { nftables: [] },
    });
  });

  it('replaces the whole table when there is no committed table', () => {
    const b = table('TCP 80 192.0.2.10');
    const update = diffTables(undefined, b);
    expect(update).toMatchObject({ kind: 'replace', summary: 'table replaced' });
    // Written from the packed elements, the same text as the plain batch.
    expect(JSON.stringify(update.batch)).toBe(JSON.stringify(replaceTableBatch(b)));
  });

  it('comes with its inverse: the undo takes the table back', () => {
    const a = table('TCP 80 192.0.2.10,TCP 443 192.0.2.20');
    const b = table('TCP 80 192.0.2.11,UDP 53 192.0.2.20');
    expect(JSON.stringify(diffTables(a, b).undo)).toBe(JSON.stringify(diffTables(b, a).batch));
    expect(diffTables(a, b).elements.map((e) => e.map)).toEqual(['redirect_addr4', 'redirect_port4']);
  });

  it('adds a new rule as two element additions and touches no chain', () => {
    const update = diffTables(table('TCP 80 192.0.2.10'), table('TCP 80 192.0.2.10,TCP 443 192.0.2.20'));
    expect(update.kind).toBe('incremental');
    expect(commands(update)).toEqual([
      {
        add: {
          element: {
            family: 'inet',
            table: 'egress_router',
            name: 'redirect_addr4',
            elem: [[{ concat: ['tcp', 443] }, '192.0.2.20']],
          },
        },
      },
      {
        add: {
          element: {
            family: 'inet',
            table: 'egress_router',
            name: 'redirect_port4',
            elem: [[{ concat: ['tcp', 443] }, 443]],
          },
        },
      },
    ]);
  });

  it('changes a mapping by deleting the key before adding it again, and leaves the other map alone', () => {
    const update = diffTables(table('TCP 80 192.0.2.10'), table('TCP 80 192.0.2.11'));
    expect(update.summary).toBe('map elements: 1 added, 1 removed; 0 chain(s) rewritten');
    expect(commands(update)).toEqual([
      {
        delete: {
          element: {
            family: 'inet',
            table: 'egress_router',
            name: 'redirect_addr4',
            elem: [{ concat: ['tcp', 80] }],
          },
        },
      },
      {
        add: {
          element: {
            family: 'inet',
            table: 'egress_router',
            name: 'redirect_addr4',
            elem: [[{ concat: ['tcp', 80] }, '192.0.2.11']],
          },
        },
      },
    ]);
  });

  it('removes a rule as element deletions', () => {
    const update = diffTables(table('TCP 80 192.0.2.10,UDP 53 192.0.2.20'), table('TCP 80 192.0.2.10'));
    expect(commands(update).every((c) => 'delete' in c)).toBe(true);
    expect(commands(update)).toHaveLength(2);
  });

  it('rewrites only the chains whose rules changed (adding a fallback touches prerouting and input)', () => {
    const update = diffTables(table('TCP 80 192.0.2.10'), table('TCP 80 192.0.2.10', '192.0.2.20'));
    const flushed = commands(update).flatMap((c) =>
      'flush' in c ? [(c.flush as { chain: { name: string } }).chain.name] : [],
    );
    expect(flushed.sort()).toEqual(['input', 'prerouting']);
    expect(update.summary).toBe('map elements: 0 added, 0 removed; 2 chain(s) rewritten');
  });

  it('falls back to replacement when the set of maps changes (a new family)', () => {
    const v6 = planRuleset(
      loadOrThrow(
        JSON.stringify({
          apiVersion: 'network.operator.openshift.io/v1',
          kind: 'EgressRouter',
          spec: { addresses: [{ ip: '192.0.2.100/24' }, { ip: '2001:db8::64/64' }], redirect: {} },
        }),
        DEFAULT_OPTIONS,
      ),
      DEFAULT_OPTIONS,
    );
    expect(diffTables(table('TCP 80 192.0.2.10'), v6).kind).toBe('replace');
  });
});

describe('tableFromListing', () => {
  /** What `nft -j list table` prints for a table the agent loaded: handles, counters on elements. */
  function listingOf(t: NftTable): Record<string, unknown>[] {
    return replaceTableBatch(t)
      .nftables.slice(4)
      .map((command) => {
        const [kind, object] = Object.entries(
          (command as { add: Record<string, Record<string, unknown>> }).add,
        )[0]!;
        if (kind === 'map' && object.stmt) {
          const elem = (object.elem as [unknown, unknown][] | undefined)?.map(([key, value]) => [
            { elem: { val: key, counter: { packets: 3, bytes: 180 } } },
            value,
          ]);
          return { map: { ...object, handle: 7, ...(elem ? { elem } : {}) } };
        }
        return { [kind]: { ...object, handle: 9 } };
      });
  }

  it('reads back the table it came from, so a clean kernel needs no change', () => {
    const t = table('TCP 80 192.0.2.10,UDP 5353 192.0.2.10 53', '192.0.2.20');
    const kernel = tableFromListing('inet', 'egress_router', listingOf(t));
    expect(kernel).toBeDefined();
    expect(diffTables(kernel, t).kind).toBe('none');
  });

  it('turns a lost element into a single element repair', () => {
    const t = table('TCP 80 192.0.2.10,TCP 443 192.0.2.20');
    const listing = listingOf(t).map((entry) => {
      const m = entry.map as { name: string; elem: unknown[] } | undefined;
      return m?.name === 'redirect_addr4' ? { map: { ...m, elem: m.elem.slice(0, 1) } } : entry;
    });
    const update = diffTables(tableFromListing('inet', 'egress_router', listing), t);
    expect(update.kind).toBe('incremental');
    expect(commands(update)).toHaveLength(1);
  });

  it('gives up (undefined) on objects the model cannot hold, so the caller replaces the table', () => {
    const t = table('TCP 80 192.0.2.10');
    expect(
      tableFromListing('inet', 'egress_router', [...listingOf(t), { set: { name: 'x' } }]),
    ).toBeUndefined();
    const odd = listingOf(t).map((e) => (e.map ? { map: { ...(e.map as object), type: 'ipv4_addr' } } : e));
    expect(tableFromListing('inet', 'egress_router', odd)).toBeUndefined();
  });
});
