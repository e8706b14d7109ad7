/**
 * One read of everything a pass needs, all at once: the pod's namespace (links, addresses, routes,
 * rules), the master's namespace when it is another one, the sysctls the plan touches, and the
 * nftables table unless the committed one is trusted: whole (into the packed model, see
 * src/nft/read.ts) for a pass that converges it, or only its shape for cleanup. Read-only.
 */
import type { Family } from '../config/model.js';
import type { NamespaceState } from '../link/iproute.js';
import { observeMasterNamespace, observeNamespace } from '../link/iproute.js';
import { type Sysctl, sysctl, sysctlName } from '../link/sysctl.js';
import { TABLE_NAME } from '../nft/model.js';
import type { TableModel } from '../nft/packed.js';
import { type KernelTable, readTable, readTableShape } from '../nft/read.js';
import { compareModel, compareTable } from '../nft/verify.js';
import { icmpRateLimitSysctl } from '../plan/ruleset.js';
import type { Runner } from '../system/command.js';
import type { System } from '../system/system.js';
import type { ApplyOptions } from './context.js';
import type { Observed } from './facts.js';
import type { TableObservation } from './steps/step.js';
import { forwardingSysctl } from './steps/sysctls.js';

export interface KernelReading extends Observed {
  readonly masterRunner?: Runner;
  readonly sysctls: ReadonlyMap<string, string | undefined>;
  /** The table as read: undefined when not read (the committed one is trusted). */
  readonly table?: KernelTable;
}

/** The master's namespace runner, or undefined when the master is in the pod's own namespace. */
export async function masterRunnerFor(system: System, options: ApplyOptions): Promise<Runner | undefined> {
  if (!options.masterNetns) return undefined;
  const own = await system.isOwnNamespace(options.masterNetns).catch(() => false);
  return own ? undefined : system.namespace(options.masterNetns);
}

export function sysctlsToRead(options: ApplyOptions): Sysctl[] {
  return [
    ...([4, 6] as const).map((f: Family) => forwardingSysctl(f)),
    sysctl('net', 'ipv6', 'conf', options.egressInterface, 'ndisc_notify'),
    ...([4, 6] as const).map((f: Family) => icmpRateLimitSysctl(f)),
  ];
}

/** What to read of the table: all of it, only whether it exists and its shape, or nothing. */
export type TableRead = boolean | 'shape';

async function readKernelTable(
  system: System,
  read: TableRead,
  signal?: AbortSignal,
): Promise<KernelTable | undefined> {
  if (read === false) return undefined;
  if (read === true) return readTable(system.pod, 'inet', TABLE_NAME, signal);
  const shape = await readTableShape(system.pod, TABLE_NAME, signal);
  return shape.present ? { present: true } : { present: false };
}

/** The sysctls a pass compares (file reads, no process). */
export async function readSysctls(
  system: System,
  options: ApplyOptions,
): Promise<ReadonlyMap<string, string | undefined>> {
  const keys = sysctlsToRead(options);
  const values = await Promise.all(keys.map((k) => system.sysctl.read(k).catch(() => undefined)));
  return new Map(keys.map((k, i) => [sysctlName(k), values[i]]));
}

/**
 * Namespace readings a pass may start from instead of reading again (the reconciler decides when
 * they still hold: see ReadingReuse in reconciler.ts).
 */
export interface ReusedReading {
  readonly pod?: NamespaceState;
  readonly master?: NamespaceState;
}

export async function readKernel(
  system: System,
  options: ApplyOptions,
  tableRead: TableRead,
  signal?: AbortSignal,
  reuse: ReusedReading = {},
): Promise<KernelReading> {
  const masterRunner = await masterRunnerFor(system, options);
  const [pod, master, sysctls, table] = await Promise.all([
    reuse.pod ?? observeNamespace(system.pod, signal),
    !masterRunner
      ? Promise.resolve(undefined)
      : (reuse.master ?? observeMasterNamespace(masterRunner, signal)),
    readSysctls(system, options),
    readKernelTable(system, tableRead, signal),
  ]);
  return {
    pod,
    ...(master ? { master } : {}),
    masterIsPod: masterRunner === undefined,
    ...(masterRunner ? { masterRunner } : {}),
    sysctls,
    ...(table !== undefined ? { table } : {}),
  };
}

/**
 * What the table step needs to know, from the committed table or the kernel's. The desired
 * table is only built when the kernel's table was read: a trusted pass never builds it.
 */
export function tableObservation(
  plan: { readonly packedTable: TableModel },
  reading: Pick<KernelReading, 'table'>,
  committed: TableModel | undefined,
): TableObservation {
  const missing = { present: false, differences: [`table inet ${TABLE_NAME} is missing`], trusted: false };
  const kernel = reading.table;
  if (kernel === undefined) {
    // Not read: the committed table is taken as what the kernel holds.
    return committed ? { model: committed, present: true, differences: [], trusted: true } : missing;
  }
  if (!kernel.present) return missing;
  if (kernel.model)
    return {
      model: kernel.model,
      present: true,
      differences: compareModel(plan.packedTable, kernel.model),
      trusted: false,
    };
  return {
    present: true,
    differences: compareTable(plan.packedTable, kernel.raw),
    ...(kernel.raw ? { listing: kernel.raw } : {}),
    trusted: false,
  };
}

/** For cleanup: whether the table is there (its shape was read), nothing else. */
export function presentTable(reading: Pick<KernelReading, 'table'>): TableObservation {
  return { present: Boolean(reading.table?.present), differences: [], trusted: false };
}
