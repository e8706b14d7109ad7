/**
 * cleanup: take back what apply set up. The table, the agent's routes (the previous default
 * route restored), the config's addresses, and the interface if the agent created it.
 * Safe to run twice: whatever is already gone is skipped.
 */
import type { RouterConfig } from '../config/model.js';
import { findLink, ip, listAddresses } from '../link/iproute.js';
import { deleteTableBatch } from '../nft/json.js';
import { TABLE_NAME } from '../nft/model.js';
import { listTable, loadBatch } from '../nft/nft.js';
import { localRunner } from '../system/command.js';
import { type ApplyOptions, type Change, type ChangeKind, CREATED_ALIAS } from './context.js';
import { removeReplyRouting } from './steps/replyRouting.js';
import { removeRoutes } from './steps/routes.js';

export async function cleanup(
  config: RouterConfig,
  options: ApplyOptions,
  log: (change: Change) => void = () => {},
): Promise<Change[]> {
  const pod = localRunner;
  const changes: Change[] = [];
  const changed = (kind: ChangeKind, message: string) => {
    changes.push({ kind, message });
    log({ kind, message });
  };
  if (await listTable(pod, 'inet', TABLE_NAME)) {
    await loadBatch(pod, deleteTableBatch({ family: 'inet', name: TABLE_NAME }));
    changed('nftables', `deleted table inet ${TABLE_NAME}`);
  }
  await removeReplyRouting(pod, changed);
  await removeRoutes(pod, changed);
  const name = options.egressInterface;
  const link = await findLink(pod, name);
  if (link?.ifalias === CREATED_ALIAS) {
    await ip(pod, ['link', 'delete', 'dev', name]);
    changed('interface', `deleted ${name} (created by the agent)`);
  } else if (link) {
    const wanted = new Set(config.addresses.map((a) => `${a.address}/${a.prefixLength}`));
    for (const address of await listAddresses(pod, name)) {
      const cidr = `${address.local}/${address.prefixlen}`;
      if (!wanted.has(cidr)) continue;
      await ip(pod, ['address', 'delete', cidr, 'dev', name]);
      changed('address', `removed address ${cidr} from ${name} (adopted interface stays)`);
    }
  }
  return changes;
}
