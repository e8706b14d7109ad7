/** Step 5: the nftables table, loaded in one transaction and read back to confirm it. */
import { replaceTableBatch } from '../../nft/json.js';
import type { NftTable } from '../../nft/model.js';
import { listTable, loadBatch } from '../../nft/nft.js';
import { batchFromListing } from '../../nft/restore.js';
import { compareTable } from '../../nft/verify.js';
import type { StepContext } from '../context.js';
import { inStep, StepError } from '../stepError.js';

export async function ensureTable(ctx: StepContext, table: NftTable): Promise<void> {
  const label = `table ${table.family} ${table.name}`;
  const before = await inStep('nftables', 'NftablesFailed', label, () => listTable(ctx.pod, table.family, table.name));
  const differences = compareTable(table, before);
  if (differences.length === 0) return; // Already right: keep it, counters and all.
  await inStep('nftables', 'NftablesFailed', label, () => loadBatch(ctx.pod, replaceTableBatch(table)));
  ctx.undo.push(`loading ${label}`, () =>
    before
      ? loadBatch(ctx.pod, batchFromListing(table.family, table.name, before))
      : ctx.pod.run(['nft', 'delete', 'table', table.family, table.name]),
  );
  ctx.changed(before ? `replaced ${label} (${differences[0]}${differences.length > 1 ? ', …' : ''})` : `loaded ${label}`);
  const after = await inStep('nftables', 'VerifyFailed', label, () => listTable(ctx.pod, table.family, table.name));
  const left = compareTable(table, after);
  if (left.length > 0) {
    throw new StepError('nftables', 'VerifyFailed', label, `the kernel's table differs from the rendered one: ${left.join('; ')}`);
  }
}
