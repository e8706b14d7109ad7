// How a load is confirmed: read back element by element while the table is small, by its shape
// (the terse listing) above ELEMENT_CHECK_LIMIT; both against the fake kernel.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { replaceTableBatch } from '../../../src/nft/json.js';
import { loadBatch } from '../../../src/nft/nft.js';
import { ELEMENT_CHECK_LIMIT, verifyLoad } from '../../../src/nft/verify.js';
import { planPackedTable } from '../../../src/plan/ruleset.js';
import { createFakeKernel, egressRouterTopology } from '../../fake/index.js';

function tableOf(rules: number) {
  const result = loadConfigText(
    JSON.stringify({
      apiVersion: 'network.operator.openshift.io/v1',
      kind: 'EgressRouter',
      spec: {
        addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
        redirect: {
          redirectRules: Array.from({ length: rules }, (_, i) => ({
            protocol: 'TCP',
            port: 1_000 + i,
            destinationIP: '192.0.2.10',
          })),
        },
      },
    }),
    DEFAULT_OPTIONS,
  );
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return planPackedTable(result.config, DEFAULT_OPTIONS);
}

describe('verifyLoad', () => {
  for (const [rules, listing] of [
    [ELEMENT_CHECK_LIMIT / 2, 'nft -j list table inet egress_router'],
    [ELEMENT_CHECK_LIMIT / 2 + 1, 'nft -j -t list ruleset inet'],
  ] as const) {
    it(`confirms ${rules * 2} elements with \`${listing}\``, async () => {
      const fake = createFakeKernel({ timing: 'instant' });
      await egressRouterTopology(fake);
      const table = tableOf(rules);
      // Loaded as the agent loads it (the batch written to a file for `nft -j -f`).
      await loadBatch(fake.system().pod, replaceTableBatch(table));
      fake.clearCommands();
      expect(await verifyLoad(fake.system().pod, table)).toEqual([]);
      expect(fake.commands().map((c) => c.argv.join(' '))).toEqual([listing]);
    });
  }
});
