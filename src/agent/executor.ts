/**
 * Runs a pass's actions in order, in as few processes as possible: consecutive `ip` commands
 * for one namespace share one `ip -batch` (split only where the family flag must change),
 * sysctls are file writes, nftables is one transaction. Every action that took effect pushes
 * its inverse; on failure (or a stop) the inverses run newest first, best effort, and the
 * failure is thrown with what was undone.
 */
import { BatchLineError, runIpBatch, runIpBatchForced } from '../link/batch.js';
import { checkBatch, loadBatch } from '../nft/nft.js';
import { AbortedError, CommandError, type Runner } from '../system/command.js';
import type { System } from '../system/system.js';
import { type Action, conntrackDeleteArgv, type Op, type Where } from './actions.js';
import type { Effects } from './effects.js';
import { type FailureReason, StepError } from './stepError.js';

export interface ExecutionContext {
  readonly system: System;
  /** The master's namespace; undefined when it is the pod's own or not visible. */
  readonly master?: Runner;
  readonly effects: Effects;
  readonly signal?: AbortSignal;
  /** Called once per action that took effect, in order. */
  readonly onDone?: (action: Action) => void;
  /** Runs after an nft action loaded: lists and compares; throws to fail the action. */
  readonly verifyTable?: (action: Action) => Promise<void>;
  /** Runs after the last action, before success is declared; throws to undo the pass. */
  readonly verifyAll?: () => Promise<void>;
}

export class ApplyFailure extends Error {
  override name = 'ApplyFailure';
  constructor(
    readonly failure: StepError,
    readonly undoFailures: readonly string[],
    /** Actions that took effect and were taken back. */
    readonly undone: readonly Action[],
    /** True when the pass was stopped rather than failed. */
    readonly aborted = false,
  ) {
    super(failure.message);
  }
}

type IpOp = Extract<Op, { type: 'ip' }>;

interface IpGroup<T> {
  readonly where: Where;
  family: 4 | 6 | undefined;
  readonly items: { readonly op: IpOp; readonly entry: T }[];
}

function compatible<T>(group: IpGroup<T>, op: IpOp): boolean {
  if (group.where !== op.where) return false;
  return op.family === undefined || group.family === undefined || group.family === op.family;
}

/** Consecutive `ip` ops that can share one process. */
function groupIp<T extends { op: Op }>(
  entries: readonly T[],
  start: number,
): { group: IpGroup<T>; next: number } {
  const first = entries[start]!.op as IpOp;
  const group: IpGroup<T> = { where: first.where, family: first.family, items: [] };
  let i = start;
  for (; i < entries.length; i++) {
    const op = entries[i]!.op;
    if (op.type !== 'ip' || !compatible(group, op)) break;
    group.family ??= op.family;
    group.items.push({ op, entry: entries[i]! });
  }
  return { group, next: i };
}

function runnerFor(ctx: ExecutionContext, where: Where): Runner {
  if (where === 'pod') return ctx.system.pod;
  if (!ctx.master) throw new Error('no master namespace to run in');
  return ctx.master;
}

const reasonOf = (action: Action, fallback: FailureReason): FailureReason => action.reason ?? fallback;

function stepFailure(action: Action, detail: string, fallback: FailureReason): StepError {
  return new StepError(action.step, reasonOf(action, fallback), action.object, detail);
}

async function runSingle(ctx: ExecutionContext, action: Action): Promise<void> {
  const op = action.op;
  switch (op.type) {
    case 'sysctl':
      await ctx.system.sysctl.write(op.key, op.value);
      return;
    case 'nft':
      await loadBatch(ctx.system.pod, op.batch, ctx.signal);
      return;
    case 'wait-dad':
      await ctx.effects.waitDad(op.device, op.address, op.cidr, ctx.signal);
      return;
    case 'announce':
      ctx.effects.announce(op.device, op.address, op.family, op.byKernel ?? false);
      return;
    case 'arp-probe':
      await ctx.effects.probeAddresses(op.device, op.addresses, ctx.signal);
      return;
    case 'conntrack-flush':
      await flushConntrack(ctx, op);
      return;
    case 'ip':
      throw new Error('ip ops run in batches');
  }
}

/** Deletes matching conntrack entries; none matching ("0 flow entries", exit 1) is no failure. */
async function flushConntrack(
  ctx: ExecutionContext,
  op: Extract<Op, { type: 'conntrack-flush' }>,
): Promise<void> {
  try {
    await ctx.system.pod.run(conntrackDeleteArgv(op), ctx.signal ? { signal: ctx.signal } : {});
  } catch (error) {
    if (error instanceof CommandError && error.exitCode === 1 && /\b0 flow entries/.test(error.stderr))
      return;
    throw error;
  }
}

const DEFAULT_REASON: Record<Op['type'], FailureReason> = {
  ip: 'InterfaceFailed',
  sysctl: 'SysctlFailed',
  nft: 'NftablesFailed',
  'wait-dad': 'AddressFailed',
  announce: 'AddressFailed',
  'arp-probe': 'AddressFailed',
  'conntrack-flush': 'NftablesFailed',
};

/** Runs undo ops newest first; returns what could not be undone, and which actions that was. */
async function unwind(
  ctx: ExecutionContext,
  done: readonly Action[],
): Promise<{ failures: string[]; failed: Set<Action> }> {
  const ops = done
    .slice()
    .reverse()
    .flatMap((action) => (action.undo ?? []).map((op) => ({ op, action })));
  const failures: string[] = [];
  const failed = new Set<Action>();
  for (let i = 0; i < ops.length; ) {
    const entry = ops[i]!;
    if (entry.op.type === 'ip') {
      const { group, next } = groupIp(ops, i);
      i = next;
      try {
        const problems = await runIpBatchForced(
          runnerFor(ctx, group.where),
          group.family,
          group.items.map((item) => item.op.args),
        );
        for (const problem of problems) {
          const action = group.items[problem.line]?.entry.action;
          if (action) failed.add(action);
          failures.push(`could not undo "${action?.message ?? 'a change'}": ${problem.detail}`);
        }
      } catch (error) {
        for (const item of group.items) failed.add(item.entry.action);
        failures.push(`could not undo ${group.items.length} change(s): ${(error as Error).message}`);
      }
      continue;
    }
    i++;
    try {
      await runSingle(ctx, { ...entry.action, op: entry.op });
    } catch (error) {
      failed.add(entry.action);
      failures.push(`could not undo "${entry.action.message}": ${(error as Error).message}`);
    }
  }
  return { failures, failed };
}

function checkStop(ctx: ExecutionContext): void {
  if (ctx.signal?.aborted) throw new AbortedError('the agent is stopping');
}

export interface Execution {
  /** Actions that took effect, in order. */
  readonly done: readonly Action[];
  /** Optional actions that failed, in words. */
  readonly warnings: readonly string[];
}

/** Asks the kernel first: a batch it would refuse must not cost a half-built interface. */
async function precheck(ctx: ExecutionContext, actions: readonly Action[]): Promise<void> {
  for (const action of actions) {
    if (action.op.type !== 'nft' || !action.op.check) continue;
    const batch = action.op.batch;
    try {
      await checkBatch(ctx.system.pod, batch, ctx.signal);
    } catch (error) {
      if (error instanceof AbortedError) throw error;
      throw new StepError('preflight', 'NftablesFailed', action.object, (error as Error).message);
    }
  }
}

/** Runs one action that is not an `ip` line; an nft load is then read back. */
async function runOne(
  ctx: ExecutionContext,
  action: Action,
  finish: (action: Action) => void,
  warnings: string[],
): Promise<void> {
  try {
    await runSingle(ctx, action);
  } catch (error) {
    if (error instanceof AbortedError) throw error;
    if (action.optional) {
      warnings.push(`${action.optional}: ${(error as Error).message}`);
      return;
    }
    if (error instanceof StepError) throw error;
    throw stepFailure(action, (error as Error).message, DEFAULT_REASON[action.op.type]);
  }
  finish(action);
  if (action.op.type === 'nft' && ctx.verifyTable) await ctx.verifyTable(action);
}

const isFreshLoad = (action: Action): boolean => action.op.type === 'nft' && action.op.fresh === true;

/**
 * The ARP probe is a wait (about 2 s, see ADD_PROBES) that changes nothing. A load into a table
 * that was not there needs nothing the probe guards, so it runs (and is read back) meanwhile.
 * Both are awaited before anything is thrown: a taken address then fails the pass, and the undo
 * deletes the table with the rest.
 */
async function probeWhileLoading(
  ctx: ExecutionContext,
  probe: Action,
  loads: readonly Action[],
  finish: (action: Action) => void,
  warnings: string[],
): Promise<void> {
  const probing = runOne(ctx, probe, finish, warnings).then(
    () => ({ failed: false as const }),
    (error: unknown) => ({ failed: true as const, error }),
  );
  let loading: { failed: boolean; error?: unknown } = { failed: false };
  try {
    for (const load of loads) {
      checkStop(ctx);
      await runOne(ctx, load, finish, warnings);
    }
  } catch (error) {
    loading = { failed: true, error };
  }
  const probed = await probing;
  if (probed.failed) throw probed.error;
  if (loading.failed) throw loading.error;
}

/**
 * Within each run of consecutive `ip` actions of one namespace that all carry a family, the IPv4
 * ones first and then the IPv6 ones, each family in its own order: an `ip -batch` has one family
 * flag, and lines of one family never depend on lines of the other, so a dual-stack pass needs
 * two processes for its addresses, routes and rules instead of one per alternation.
 */
export function byFamilyWithinRuns(actions: readonly Action[]): Action[] {
  const out: Action[] = [];
  const familyOf = (a: Action) => (a.op.type === 'ip' ? a.op.family : undefined);
  const whereOf = (a: Action) => (a.op.type === 'ip' ? a.op.where : undefined);
  for (let i = 0; i < actions.length; ) {
    const first = actions[i]!;
    if (familyOf(first) === undefined) {
      out.push(first);
      i++;
      continue;
    }
    let end = i;
    while (
      end < actions.length &&
      familyOf(actions[end]!) !== undefined &&
      whereOf(actions[end]!) === whereOf(first)
    )
      end++;
    const run = actions.slice(i, end);
    out.push(...run.filter((a) => familyOf(a) === 4), ...run.filter((a) => familyOf(a) === 6));
    i = end;
  }
  return out;
}

/** Executes the actions; returns those that took effect. Throws ApplyFailure after unwinding. */
export async function execute(ctx: ExecutionContext, planned: readonly Action[]): Promise<Execution> {
  const actions = byFamilyWithinRuns(planned);
  const done: Action[] = [];
  const warnings: string[] = [];
  const finish = (action: Action) => {
    done.push(action);
    ctx.onDone?.(action);
  };
  /** Actions already run out of order (a fresh load during the ARP probe). */
  const ranEarly = new Set<Action>();
  try {
    await precheck(ctx, actions);
    for (let i = 0; i < actions.length; ) {
      checkStop(ctx);
      const action = actions[i]!;
      if (ranEarly.has(action)) {
        i++;
        continue;
      }
      if (action.op.type === 'arp-probe') {
        i++;
        const loads = actions.slice(i).filter(isFreshLoad);
        for (const load of loads) ranEarly.add(load);
        await probeWhileLoading(ctx, action, loads, finish, warnings);
        continue;
      }
      if (action.op.type === 'ip') {
        const entries = actions.slice(i).map((a) => ({ op: a.op, action: a }));
        const { group, next } = groupIp(entries, 0);
        i += next;
        try {
          await runIpBatch(
            runnerFor(ctx, group.where),
            group.family,
            group.items.map((item) => item.op.args),
            ctx.signal,
          );
          for (const item of group.items) finish(item.entry.action);
        } catch (error) {
          if (!(error instanceof BatchLineError)) throw error;
          for (const item of group.items.slice(0, error.completed)) finish(item.entry.action);
          const failed = group.items[error.completed]?.entry.action ?? action;
          throw stepFailure(failed, error.detail, DEFAULT_REASON.ip);
        }
        continue;
      }
      i++;
      await runOne(ctx, action, finish, warnings);
    }
    if (done.length > 0) await ctx.verifyAll?.();
    return { done, warnings };
  } catch (error) {
    const aborted = error instanceof AbortedError || Boolean(ctx.signal?.aborted);
    const failure =
      error instanceof StepError
        ? error
        : new StepError(
            'apply',
            aborted ? 'Stopped' : 'InterfaceFailed',
            'the pod',
            aborted ? 'the agent is stopping' : (error as Error).message,
          );
    // Undo runs even when stopping: it is quick, and it leaves the previous state in place.
    const { signal: _stopping, ...withoutSignal } = ctx;
    const { failures, failed } = await unwind(withoutSignal, done);
    const undone = done.filter((a) => (a.undo?.length ?? 0) > 0 && !failed.has(a));
    throw new ApplyFailure(failure, failures, undone, aborted);
  }
}

/**
 * Best effort, for cleanup: every action is tried whatever fails before it (ip batches with
 * `-force`); nothing is undone. Returns what took effect and what did not.
 */
export async function executeForced(
  ctx: ExecutionContext,
  actions: readonly Action[],
): Promise<{ changes: Action[]; failures: string[] }> {
  const changes: Action[] = [];
  const failures: string[] = [];
  const finish = (action: Action) => {
    changes.push(action);
    ctx.onDone?.(action);
  };
  for (let i = 0; i < actions.length; ) {
    const action = actions[i]!;
    if (action.op.type === 'ip') {
      const entries = actions.slice(i).map((a) => ({ op: a.op, action: a }));
      const { group, next } = groupIp(entries, 0);
      i += next;
      try {
        const problems = await runIpBatchForced(
          runnerFor(ctx, group.where),
          group.family,
          group.items.map((item) => item.op.args),
        );
        const failed = new Set(problems.map((p) => p.line));
        group.items.forEach((item, index) => {
          if (!failed.has(index)) finish(item.entry.action);
        });
        failures.push(...problems.map((p) => p.detail));
      } catch (error) {
        failures.push((error as Error).message);
      }
      continue;
    }
    i++;
    try {
      await runSingle(ctx, action);
      finish(action);
    } catch (error) {
      failures.push(`${action.message}: ${(error as Error).message}`);
    }
  }
  return { changes, failures };
}
