/**
 * The nftables table, in one transaction. With a trusted committed table (run mode, nothing
 * suggests the kernel changed) only the difference is sent, and its inverse is the undo: a
 * reload of one rule at 65,535 rules costs what it costs at 10. Otherwise the kernel's table (as
 * listed) is diffed the same way, or replaced whole when its shape differs. A full load is checked
 * with `nft -c` before anything in the pass is touched; every load is read back and compared.
 */
import { diffTables } from '../../nft/diff.js';
import { deleteTableBatch, type NftJsonBatch, replaceTableBatch } from '../../nft/json.js';
import { batchFromListing } from '../../nft/restore.js';
import type { Action } from '../actions.js';
import type { Step, StepInput } from './step.js';

const STEP = 'nftables';

function loadAction(
  label: string,
  message: string,
  batch: NftJsonBatch,
  undo: NftJsonBatch,
  check: boolean,
): Action {
  return {
    step: STEP,
    kind: 'nftables',
    object: label,
    message,
    op: { type: 'nft', batch, label, ...(check ? { check } : {}) },
    undo: [{ type: 'nft', batch: undo, label }],
  };
}

function converge(input: StepInput): Action[] {
  const desired = input.plan.table;
  const label = `table ${desired.family} ${desired.name}`;
  const observed = input.observed.table;
  if (observed.trusted && observed.model) {
    const update = diffTables(observed.model, desired);
    if (update.kind === 'none') return [];
    const undo = diffTables(desired, observed.model);
    const message =
      update.kind === 'incremental' ? `updated ${label}: ${update.summary}` : `replaced ${label}`;
    return [loadAction(label, message, update.batch, undo.batch, update.kind === 'replace')];
  }
  if (observed.present && observed.differences.length === 0) return []; // Already right: counters and all.
  const undo = observed.listing
    ? batchFromListing(desired.family, desired.name, observed.listing)
    : deleteTableBatch(desired);
  if (!observed.present)
    return [loadAction(label, `loaded ${label}`, replaceTableBatch(desired), undo, true)];
  const update = observed.model ? diffTables(observed.model, desired) : undefined;
  const why = `${observed.differences[0]}${observed.differences.length > 1 ? `, and ${observed.differences.length - 1} more` : ''}`;
  if (update?.kind === 'incremental')
    return [loadAction(label, `repaired ${label}: ${update.summary} (${why})`, update.batch, undo, false)];
  return [loadAction(label, `replaced ${label} (${why})`, replaceTableBatch(desired), undo, true)];
}

export const nftablesStep: Step = {
  name: STEP,
  reason: 'NftablesFailed',
  converge: (input) => ({ actions: converge(input) }),
  remove({ observed }) {
    if (!observed.table.present) return [];
    const name = observed.table.model?.name ?? 'egress_router';
    return [
      {
        step: STEP,
        kind: 'nftables',
        object: `table inet ${name}`,
        message: `deleted table inet ${name}`,
        op: { type: 'nft', batch: deleteTableBatch({ family: 'inet', name }), label: `table inet ${name}` },
      },
    ];
  },
};
