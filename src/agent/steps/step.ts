/**
 * A kernel step: given the plan and one observation of the kernel, a pure `converge` lists the
 * actions that make the kernel match (each with its inverse), and a pure `remove` lists those
 * that take the step's work away (cleanup walks the registry backwards). Adding a step is one
 * module and one registry entry.
 */
import type { RouterConfig } from '../../config/model.js';
import type { NftListing } from '../../nft/nft.js';
import type { TableModel } from '../../nft/packed.js';
import type { PlanFacts, RouterPlan } from '../../plan/routerPlan.js';
import type { Action } from '../actions.js';
import type { ApplyOptions } from '../context.js';
import type { Observed } from '../facts.js';
import type { FailureReason } from '../stepError.js';

/** The nftables table as last known: what this process committed, or what the kernel listed. */
export interface TableObservation {
  /**
   * The kernel's table in the agent's model (packed: `model.maps[i].elements` is a
   * `PackedElements`, iterable as `[[protocol, port], value]`, with `size` and `get(protocol,
   * port)`; `changedKeys(model, plan.table, map)` in src/nft/diff.ts lists the keys whose mapping
   * a plan changes); undefined when absent or not representable.
   */
  readonly model?: TableModel;
  /** Whether the table exists in the kernel. */
  readonly present: boolean;
  /** Differences between the kernel's table and the desired one (empty when unknown or equal). */
  readonly differences: readonly string[];
  /** The raw listing, only for a table the model cannot hold: a rollback restores it exactly. */
  readonly listing?: NftListing;
  /** True when `model` is what this process committed and nothing suggests the kernel changed. */
  readonly trusted: boolean;
}

export interface Observation extends Observed {
  /** Current values by dotted name; undefined when unreadable. */
  readonly sysctls: ReadonlyMap<string, string | undefined>;
  readonly table: TableObservation;
}

export interface StepInput {
  readonly config: RouterConfig;
  readonly options: ApplyOptions;
  readonly plan: RouterPlan;
  readonly facts: PlanFacts;
  readonly observed: Observation;
  /** Whether the interface may be created (false once an adopted interface was seen). */
  readonly mayCreateInterface: boolean;
  /** Whether this replica holds the egress addresses (false on an HA standby). */
  readonly holdAddresses: boolean;
  /**
   * Under HA the addresses move with the VRRP role: added without DAD (the failed active may
   * still hold them for a moment, and DAD would cost a second of every IPv6 failover) and
   * without an ARP probe; VRRP already decided who holds them.
   */
  readonly ha: boolean;
  /**
   * Egress addresses this process held after its last pass, with no conflict known: re-adding one
   * (a repair after it was deleted, or the link re-created) needs no ARP probe, it was ours a
   * moment ago; a host that claims it later is the conflict watch's to report.
   */
  readonly heldBefore?: ReadonlySet<string>;
  /** How other namespaces name the pod's for `ip link … netns` (the agent's pid). */
  readonly podNamespaceRef: string;
  /** Random hex for temporary names. */
  readonly nonce: string;
  /** The MAC address a created link gets (stable across re-creations in this pod). */
  readonly linkAddress?: string;
  /** Devices this pass creates afresh: anything the observation shows on them is gone. */
  readonly freshDevices: ReadonlySet<string>;
  /** Families whose routes through the egress interface the kernel drops in this pass (last address removed). */
  readonly flushedFamilies: ReadonlySet<4 | 6>;
}

/** Something true but not as configured, reported as Degraded without failing the pass. */
export interface Finding {
  readonly reason: string;
  readonly message: string;
  /** No traffic can pass while it holds (Available False, not only Degraded). */
  readonly blocksTraffic?: boolean;
}

export interface StepResult {
  readonly actions: readonly Action[];
  readonly findings?: readonly Finding[];
  /** Devices this step creates or re-creates (later steps see them empty). */
  readonly freshDevices?: readonly string[];
  /** Families whose routes via the egress interface the kernel will drop. */
  readonly flushedFamilies?: readonly (4 | 6)[];
  /** Worth telling, not a change ("adopted net1 (macvlan bridge)"). */
  readonly notes?: readonly string[];
}

export interface RemoveInput {
  readonly config: RouterConfig;
  readonly options: ApplyOptions;
  readonly observed: Observation;
}

export interface Step {
  readonly name: string;
  /** The failure reason for this step's actions unless an action names its own. */
  readonly reason: FailureReason;
  converge(input: StepInput): StepResult;
  remove(input: RemoveInput): readonly Action[];
}

export const noResult: StepResult = { actions: [] };
