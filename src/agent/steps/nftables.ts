/**
 * The nftables table, in one transaction. With a trusted committed table (run mode, nothing
 * suggests the kernel changed) that was planned from this very config, there is nothing to do and
 * the table is not even rendered; with another config, only the difference is sent and its
 * inverse is the undo: a reload of one rule at 65,535 rules costs what it costs at 10. Otherwise
 * the kernel's table (read into the model) is diffed the same way, or replaced whole when its
 * shape differs. A full load is checked with `nft -c` before anything in the pass is touched;
 * every load is read back (src/nft/verify.ts).
 */
import { diffTables } from '../../nft/diff.js';
import { deleteTableBatch, type NftJsonBatch, replaceTableBatch } from '../../nft/json.js';
import { TABLE_NAME } from '../../nft/model.js';
import { plannedFrom, type TableModel } from '../../nft/packed.js';
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
  fresh = false,
): Action {
  return {
    step: STEP,
    kind: 'nftables',
    object: label,
    message,
    op: { type: 'nft', batch, label, ...(check ? { check } : {}), ...(fresh ? { fresh } : {}) },
    undo: [{ type: 'nft', batch: undo, label }],
  };
}

/** The plan's table, packed (built once per plan, never rendered): loads and diffs are written from it. */
const desiredOf = (input: StepInput): TableModel => input.plan.packedTable;

function converge(input: StepInput): Action[] {
  const observed = input.observed.table;
  const label = `table inet ${observed.model?.name ?? TABLE_NAME}`;
  if (observed.trusted && plannedFrom(observed.model, input.config, input.options)) return [];
  if (observed.trusted && observed.model) {
    const update = diffTables(observed.model, desiredOf(input));
    if (update.kind === 'none') return [];
    const message =
      update.kind === 'incremental' ? `updated ${label}: ${update.summary}` : `replaced ${label}`;
    return [loadAction(label, message, update.batch, update.undo, update.kind === 'replace')];
  }
  if (observed.present && observed.differences.length === 0) return []; // Already right: counters and all.
  const desired = desiredOf(input);
  if (!observed.present)
    return [
      loadAction(label, `loaded ${label}`, replaceTableBatch(desired), deleteTableBatch(desired), true, true),
    ];
  const why = `${observed.differences[0]}${observed.differences.length > 1 ? `, and ${observed.differences.length - 1} more` : ''}`;
  const update = observed.model ? diffTables(observed.model, desired) : undefined;
  if (update?.kind === 'incremental')
    return [
      loadAction(label, `repaired ${label}: ${update.summary} (${why})`, update.batch, update.undo, false),
    ];
  const undo = observed.listing
    ? batchFromListing(desired.family, desired.name, observed.listing)
    : observed.model
      ? replaceTableBatch(observed.model)
      : deleteTableBatch(desired);
  return [loadAction(label, `replaced ${label} (${why})`, replaceTableBatch(desired), undo, true)];
}

export const nftablesStep: Step = {
  name: STEP,
  reason: 'NftablesFailed',
  converge: (input) => ({ actions: converge(input) }),
  remove({ observed }) {
    if (!observed.table.present) return [];
    const name = observed.table.model?.name ?? TABLE_NAME;
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
