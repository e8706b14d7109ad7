/**
 * Step 5: the nftables table, in one transaction, read back to confirm it.
 * With a trusted committed table (run mode, no drift suspected) only the difference is sent,
 * without listing first: unchanged elements keep their counters and a reload stays fast.
 * Otherwise the kernel's table is listed and compared, and replaced whole if it differs.
 */
import { diffTables } from '../../nft/diff.js';
import { tableFromListing } from '../../nft/fromListing.js';
import { replaceTableBatch } from '../../nft/json.js';
import type { NftTable } from '../../nft/model.js';
import { listTable, loadBatch, type NftListing } from '../../nft/nft.js';
import { batchFromListing } from '../../nft/restore.js';
import { compareTable } from '../../nft/verify.js';
import type { StepContext } from '../context.js';
import { inStep, StepError } from '../stepError.js';

export interface TableState {
  /** The table last loaded and verified by this process. */
  readonly committed?: NftTable;
  /** True when nothing suggests the kernel changed since `committed` was verified. */
  readonly trustCommitted?: boolean;
}

async function verify(ctx: StepContext, table: NftTable, label: string): Promise<void> {
  const after = await inStep('nftables', 'VerifyFailed', label, () =>
    listTable(ctx.pod, table.family, table.name),
  );
  const left = compareTable(table, after);
  if (left.length > 0) {
    throw new StepError(
      'nftables',
      'VerifyFailed',
      label,
      `the kernel's table differs from the rendered one: ${left.join('; ')}`,
    );
  }
}

function pushRestore(ctx: StepContext, table: NftTable, before: NftListing | undefined, label: string): void {
  ctx.undo.push(`loading ${label}`, () =>
    before
      ? loadBatch(ctx.pod, batchFromListing(table.family, table.name, before))
      : ctx.pod.run(['nft', 'delete', 'table', table.family, table.name]),
  );
}

export async function ensureTable(ctx: StepContext, table: NftTable, state: TableState = {}): Promise<void> {
  const label = `table ${table.family} ${table.name}`;
  if (state.committed && state.trustCommitted) {
    const update = diffTables(state.committed, table);
    if (update.kind === 'none') return;
    await inStep('nftables', 'NftablesFailed', label, () => loadBatch(ctx.pod, update.batch));
    const previous = state.committed;
    ctx.undo.push(`updating ${label}`, () => loadBatch(ctx.pod, replaceTableBatch(previous)));
    ctx.changed('nftables', `updated ${label}: ${update.summary}`);
    await verify(ctx, table, label);
    return;
  }
  const before = await inStep('nftables', 'NftablesFailed', label, () =>
    listTable(ctx.pod, table.family, table.name),
  );
  const differences = compareTable(table, before);
  if (differences.length === 0) return; // Already right: keep it, counters and all.
  // The kernel's table in the agent's model: when only elements or rules differ, only those are
  // sent, and the other elements keep their counters.
  const kernel = before ? tableFromListing(table.family, table.name, before) : undefined;
  const update = kernel ? diffTables(kernel, table) : undefined;
  const batch = update?.kind === 'incremental' ? update.batch : replaceTableBatch(table);
  await inStep('nftables', 'NftablesFailed', label, () => loadBatch(ctx.pod, batch));
  pushRestore(ctx, table, before, label);
  const why = `${differences[0]}${differences.length > 1 ? `, and ${differences.length - 1} more` : ''}`;
  const how = update?.kind === 'incremental' ? `repaired ${label}: ${update.summary}` : `replaced ${label}`;
  ctx.changed('nftables', before ? `${how} (${why})` : `loaded ${label}`);
  await verify(ctx, table, label);
}
