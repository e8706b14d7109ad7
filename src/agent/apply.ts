/**
 * apply: make the pod an egress router and verify it. Steps in order (interface, sysctls,
 * addresses, routes, nftables), each idempotent; any failure undoes what this run changed.
 */
import type { RouterConfig } from '../config/model.js';
import { replaceTableBatch } from '../nft/json.js';
import type { NftTable } from '../nft/model.js';
import { checkBatch } from '../nft/nft.js';
import { planRuleset } from '../plan/ruleset.js';
import { localRunner, namespaceRunner, type Runner } from '../system/command.js';
import type { ApplyOptions, Change, StepContext } from './context.js';
import { inStep, StepError } from './stepError.js';
import { ensureAddresses } from './steps/addresses.js';
import { ensureLink, isOwnNamespace } from './steps/link.js';
import { ensureTable, type TableState } from './steps/nftables.js';
import { ensureReplyRouting } from './steps/replyRouting.js';
import { ensureRoutes, wantedRoutes } from './steps/routes.js';
import { ensureSysctls } from './steps/sysctls.js';
import { UndoStack } from './undo.js';

export interface ApplyResult {
  readonly changes: readonly Change[];
  readonly warnings: readonly string[];
  readonly interfaceOwned: boolean;
  /** The table now loaded and verified. */
  readonly table: NftTable;
}

export interface ApplyState extends TableState {
  /** False once an adopted interface is known: it is not the agent's to re-create. */
  readonly mayCreateInterface?: boolean;
}

export class ApplyFailure extends Error {
  override name = 'ApplyFailure';
  constructor(
    readonly failure: StepError,
    readonly undoFailures: readonly string[],
    readonly changesUndone: readonly Change[],
  ) {
    super(failure.message);
  }
}

/** The runner for the master's namespace: the pod's own when no other namespace is given. */
export async function masterRunnerFor(options: ApplyOptions, pod: Runner): Promise<Runner> {
  if (!options.masterNetns || (await isOwnNamespace(options.masterNetns).catch(() => false))) return pod;
  return namespaceRunner(options.masterNetns);
}

export async function apply(
  config: RouterConfig,
  options: ApplyOptions,
  log: (change: Change) => void = () => {},
  state: ApplyState = {},
): Promise<ApplyResult> {
  const pod = localRunner;
  const changes: Change[] = [];
  const undo = new UndoStack();
  const master = await masterRunnerFor(options, pod);
  const ctx: StepContext = {
    config,
    options,
    pod,
    master,
    undo,
    changed: (kind, message) => {
      changes.push({ kind, message });
      log({ kind, message });
    },
  };
  const table = planRuleset(config, options);
  try {
    // Ask the kernel first: a batch it would refuse must not cost us a half-built interface.
    // (Skipped when only the difference to a trusted table will be sent; that batch is checked by loading it.)
    if (!state.trustCommitted)
      await inStep('preflight', 'NftablesFailed', 'the rendered ruleset', () =>
        checkBatch(pod, replaceTableBatch(table)),
      );
    // Route planning only reads: a missing gateway is reported before anything is created.
    const wanted = await wantedRoutes(ctx);
    const link = await ensureLink(ctx, state.mayCreateInterface ?? true);
    const sysctlWarnings = await ensureSysctls(ctx);
    const addresses = await ensureAddresses(ctx);
    await ensureRoutes(ctx, wanted);
    await ensureReplyRouting(ctx);
    await ensureTable(ctx, table, state);
    return {
      changes,
      warnings: [...sysctlWarnings, ...addresses.warnings],
      interfaceOwned: link.ownedByAgent,
      table,
    };
  } catch (error) {
    const cause =
      error instanceof StepError
        ? error
        : new StepError('apply', 'InterfaceFailed', 'the pod', (error as Error).message);
    const undoFailures = await undo.unwind();
    throw new ApplyFailure(cause, undoFailures, changes);
  }
}
