// The fake's nftables against the project's own nft code (src/nft): batches load as one
// transaction or not at all, listings read back into the same model and verify, a listing
// restores, counters count, and `nft monitor` reports each commit.
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';
import { readRedirectCounters } from '../../../src/nft/counters.js';
import { diffTables } from '../../../src/nft/diff.js';
import { tableFromListing } from '../../../src/nft/fromListing.js';
import { replaceTableBatch } from '../../../src/nft/json.js';
import type { NftTable } from '../../../src/nft/model.js';
import { checkBatch, listTable, loadBatch } from '../../../src/nft/nft.js';
import { packKey } from '../../../src/nft/packed.js';
import { batchFromListing } from '../../../src/nft/restore.js';
import { tableText } from '../../../src/nft/text.js';
import { compareTable } from '../../../src/nft/verify.js';
import { planRuleset } from '../../../src/plan/ruleset.js';
import type { Runner } from '../../../src/system/command.js';
import { createFakeKernel, type FakeKernel } from '../../fake/index.js';

function config(rules: string): RouterConfig {
  const loaded = loadConfigText(
    `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: { name: fake }
spec:
  networkInterface: { macvlan: { mode: Bridge } }
  addresses:
    - { ip: 192.0.2.100/24, gateway: 192.0.2.1 }
    - { ip: 2001:db8:100::100/64, gateway: 2001:db8:100::1 }
  redirect:
    redirectRules:
${rules}`,
    DEFAULT_OPTIONS,
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return loaded.config;
}

const FIRST = `      - { destinationIP: 192.0.2.10, port: 80, protocol: TCP }
      - { destinationIP: 192.0.2.20, port: 5353, protocol: UDP, targetPort: 53 }
      - { destinationIP: 2001:db8:100::10, port: 443, protocol: TCP }`;
const SECOND = `      - { destinationIP: 192.0.2.11, port: 80, protocol: TCP }
      - { destinationIP: 192.0.2.20, port: 5353, protocol: UDP, targetPort: 53 }
      - { destinationIP: 192.0.2.30, port: 8080, protocol: TCP }`;

let fake: FakeKernel;
let pod: Runner;
let first: NftTable;

beforeEach(async () => {
  fake = createFakeKernel();
  pod = fake.system().pod;
  first = planRuleset(config(FIRST), DEFAULT_OPTIONS);
  await loadBatch(pod, replaceTableBatch(first));
});

describe('fake nft: transactions', () => {
  it('loads the agent’s table; the listing verifies and reads back into the same model', async () => {
    const listing = await listTable(pod, 'inet', 'egress_router');
    expect(compareTable(first, listing)).toEqual([]);
    // The kernel keeps elements in no order of its own, so the model is compared as a diff.
    const read = tableFromListing('inet', 'egress_router', listing ?? []);
    expect(read && diffTables(read, first).kind).toBe('none');
    expect(listing?.[0]).toEqual({
      metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 },
    });
    expect(await listTable(pod, 'inet', 'nosuch')).toBeUndefined();
  });

  it('applies an incremental diff alone: other elements keep their counters', async () => {
    fake.countConnection('udp', 5353);
    fake.countConnection('tcp', 80);
    const next = planRuleset(config(SECOND), DEFAULT_OPTIONS);
    const update = diffTables(first, next);
    expect(update.kind).toBe('incremental');
    await loadBatch(pod, update.batch);
    expect(compareTable(next, await listTable(pod, 'inet', 'egress_router'))).toEqual([]);
    const counts = await readRedirectCounters(pod, [
      { family: 4, name: 'redirect_addr4' },
      { family: 6, name: 'redirect_addr6' },
    ]);
    // One typed array per family indexed by the packed (protocol, port) key; IPv6 has no rules here.
    const v4 = counts.get(4);
    expect([...counts.keys()].sort()).toEqual([4, 6]);
    expect([80, 8080].map((port) => v4?.[packKey('tcp', port) ?? -1])).toEqual([0, 0]);
    expect(v4?.[packKey('udp', 5353) ?? -1]).toBe(1);
    expect(v4?.reduce((sum, n) => sum + n, 0)).toBe(1);
  });

  it('refuses a batch as a whole when one command fails, with nft’s words', async () => {
    const element = (port: number, value: string) => ({
      add: {
        element: {
          family: 'inet',
          table: 'egress_router',
          name: 'redirect_addr4',
          elem: [[{ concat: ['tcp', port] }, value]],
        },
      },
    });
    const batch = {
      nftables: [
        { metainfo: { json_schema_version: 1 } },
        element(9999, '192.0.2.99'),
        element(80, '192.0.2.12'),
      ],
    };
    await expect(checkBatch(pod, batch)).rejects.toMatchObject({
      stderr: 'internal:0:0-0: Error: Could not process rule: File exists\n\n',
    });
    await expect(loadBatch(pod, batch)).rejects.toMatchObject({ exitCode: 1 });
    expect(compareTable(first, await listTable(pod, 'inet', 'egress_router'))).toEqual([]);
    // A value of the wrong family is refused before the kernel sees it.
    await expect(loadBatch(pod, { nftables: [element(81, '2001:db8::1')] })).rejects.toMatchObject({
      stderr:
        'internal:0:0-0: Error: Could not resolve hostname: Address family for hostname not supported\n\n',
    });
    // The same key with the same value is no change; a map in use cannot go.
    await loadBatch(pod, { nftables: [element(80, '192.0.2.10')] });
    await expect(
      loadBatch(pod, {
        nftables: [{ delete: { map: { family: 'inet', table: 'egress_router', name: 'redirect_addr4' } } }],
      }),
    ).rejects.toMatchObject({
      stderr: 'internal:0:0-0: Error: Could not process rule: Device or resource busy\n\n',
    });
  });

  it('restores a table from its listing, counters included', async () => {
    fake.countConnection('tcp', 443, { family: 6 });
    const before = await listTable(pod, 'inet', 'egress_router');
    await loadBatch(pod, replaceTableBatch(planRuleset(config(SECOND), DEFAULT_OPTIONS)));
    await loadBatch(pod, batchFromListing('inet', 'egress_router', before ?? []));
    expect(compareTable(first, await listTable(pod, 'inet', 'egress_router'))).toEqual([]);
    const counts = await readRedirectCounters(pod, [{ family: 6, name: 'redirect_addr6' }]);
    expect(counts.get(6)?.[packKey('tcp', 443) ?? -1]).toBe(1);
  });

  it('drift helpers change the table as someone else would', async () => {
    await fake.flushChain('egress_router', 'postrouting');
    await fake.deleteElement('egress_router', 'redirect_addr4', { concat: ['tcp', 80] });
    expect(compareTable(first, await listTable(pod, 'inet', 'egress_router'))).toEqual([
      'map redirect_addr4 lacks 1 element(s), e.g. tcp . 80 => 192.0.2.10',
      'chain postrouting has 0 rule(s) that differ from the 2 rendered',
    ]);
    // Someone else's changes are not the agent's commands.
    expect(fake.commands().map((c) => c.argv.slice(0, 3).join(' '))).toEqual(['nft -j -f', 'nft -j list']);
  });
});

describe('fake nft: what a test sees', () => {
  it('dumps the table in the layout of `render --format nft`', () => {
    expect(fake.dump()).toContain(tableText(first));
  });

  it('nft monitor prints each change and the new generation with the process id', async () => {
    const lines: string[] = [];
    fake.system().streamLines(
      ['nft', 'monitor'],
      (l) => lines.push(l),
      () => undefined,
    );
    const next = planRuleset(config(SECOND), DEFAULT_OPTIONS);
    await loadBatch(pod, diffTables(first, next).batch);
    await Promise.resolve();
    const pid = fake.commands().at(-1)?.pid;
    expect(lines).toEqual([
      'delete element inet egress_router redirect_addr4 { tcp . 80 : 192.0.2.10 }',
      'add element inet egress_router redirect_addr4 { tcp . 80 counter packets 0 bytes 0 : 192.0.2.11 }',
      'add element inet egress_router redirect_addr4 { tcp . 8080 counter packets 0 bytes 0 : 192.0.2.30 }',
      'add element inet egress_router redirect_port4 { tcp . 8080 : 8080 }',
      'delete element inet egress_router redirect_addr6 { tcp . 443 : 2001:db8:100::10 }',
      'delete element inet egress_router redirect_port6 { tcp . 443 : 443 }',
      `# new generation 3 by process ${pid} (nft)`,
    ]);
  });

  it('lists tables, and deletes one the way `nft delete table` does', async () => {
    expect(await pod.run(['nft', 'list', 'tables'])).toBe('table inet egress_router\n');
    await expect(pod.run(['nft', 'delete', 'table', 'inet', 'nosuch'])).rejects.toMatchObject({
      stderr:
        'Error: Could not process rule: No such file or directory\ndelete table inet nosuch\n                  ^^^^^^\n',
    });
    await pod.run(['nft', 'delete', 'table', 'inet', 'egress_router']);
    expect(await pod.run(['nft', 'list', 'tables'])).toBe('');
  });
});
