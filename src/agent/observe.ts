/**
 * One read of everything a pass needs, all at once: the pod's namespace (links, addresses, routes,
 * rules), the master's namespace when it is another one, the sysctls the plan touches, and the
 * nftables table unless the committed one is trusted. Read-only.
 */
import type { Family } from '../config/model.js';
import { observeNamespace } from '../link/iproute.js';
import { type Sysctl, sysctl, sysctlName } from '../link/sysctl.js';
import { tableFromListing } from '../nft/fromListing.js';
import type { NftTable } from '../nft/model.js';
import { TABLE_NAME } from '../nft/model.js';
import { listTable, type NftListing } from '../nft/nft.js';
import { compareTable } from '../nft/verify.js';
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
  /** The table as listed: null when absent, undefined when not read (trusted). */
  readonly listing?: NftListing | null;
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

export async function readKernel(
  system: System,
  options: ApplyOptions,
  readTable: boolean,
  signal?: AbortSignal,
): Promise<KernelReading> {
  const masterRunner = await masterRunnerFor(system, options);
  const keys = sysctlsToRead(options);
  const [pod, master, values, listing] = await Promise.all([
    observeNamespace(system.pod, signal),
    masterRunner ? observeNamespace(masterRunner, signal) : Promise.resolve(undefined),
    Promise.all(keys.map((k) => system.sysctl.read(k).catch(() => undefined))),
    readTable
      ? listTable(system.pod, 'inet', TABLE_NAME, signal).then((l) => l ?? null)
      : Promise.resolve(undefined),
  ]);
  return {
    pod,
    ...(master ? { master } : {}),
    masterIsPod: masterRunner === undefined,
    ...(masterRunner ? { masterRunner } : {}),
    sysctls: new Map(keys.map((k, i) => [sysctlName(k), values[i]])),
    ...(listing !== undefined ? { listing } : {}),
  };
}

/** What the table step needs to know, from the committed table or the listing. */
export function tableObservation(
  desired: NftTable,
  reading: Pick<KernelReading, 'listing'>,
  committed: NftTable | undefined,
): TableObservation {
  if (reading.listing === undefined) {
    // Not read: the committed table is taken as what the kernel holds.
    return committed
      ? { model: committed, present: true, differences: [], trusted: true }
      : { present: false, differences: [`table inet ${desired.name} is missing`], trusted: false };
  }
  if (reading.listing === null)
    return { present: false, differences: [`table inet ${desired.name} is missing`], trusted: false };
  const model = tableFromListing(desired.family, desired.name, reading.listing);
  return {
    ...(model ? { model } : {}),
    present: true,
    differences: compareTable(desired, reading.listing),
    listing: reading.listing,
    trusted: false,
  };
}
