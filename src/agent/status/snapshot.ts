/**
 * The agent's status after a pass: one immutable snapshot, published to every sink (the HTTP
 * endpoints, the metrics, the Kubernetes status writer). Sinks never reach into the control
 * loop; they read what the snapshot says, and a slow or failing sink never delays a pass.
 */
import type { Condition, ConditionType } from '../conditions.js';

export type HaRole = 'active' | 'standby' | 'fault';

export interface HaStatus {
  readonly mode: 'vrrp';
  readonly role: HaRole;
  /** VRRP virtual router id (--ha-group). */
  readonly group: number;
  readonly priority: number;
  /** RFC 3339: when this replica entered `role`. */
  readonly since: string;
  readonly transitions: number;
}

export interface GatewayStatus {
  readonly family: 4 | 6;
  readonly gateway: string;
  readonly reachable: boolean;
  /** What the probe saw, for humans ("answers (aa:bb:cc:dd:ee:ff)", "no answer to 2 ARP probes"). */
  readonly state: string;
}

/**
 * Something that happened in a pass that an operator may want told once, e.g. as a Kubernetes
 * Event: Normal for Applied / Reloaded / DriftRepaired / BecameActive, Warning for a Degraded
 * reason (InvalidConfig, DuplicateAddress, GatewayUnreachable …).
 */
export interface Notice {
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, as Kubernetes Event reasons and condition reasons are. */
  readonly reason: string;
  readonly message: string;
}

export interface ConfigSummary {
  /** metadata.name / the CNI network name. */
  readonly name?: string;
  readonly namespace?: string;
  readonly format: string;
  readonly addresses: readonly string[];
  readonly redirectRules: number;
  readonly fallback?: string;
}

/** What the pass behind a snapshot did, for counters (metrics) and logs. */
export interface PassSummary {
  /** The triggers, joined: "config", "drift+resync". */
  readonly trigger: string;
  readonly durationSeconds: number;
  readonly result: 'ok' | 'failed' | 'skipped';
  /** Failure reason when result is failed. */
  readonly reason?: string;
  /** Kinds of drift repaired (one entry per change). */
  readonly repairs: readonly string[];
  /** The protocol of each conntrack flush the pass made (a changed or removed mapping). */
  readonly conntrackFlushes?: readonly ('tcp' | 'udp' | 'sctp')[];
  /** A config reload this pass dealt with. */
  readonly reload?: 'applied' | 'invalid' | 'failed';
}

export interface StatusSnapshot {
  readonly version: string;
  /** Increases with every published snapshot. */
  readonly sequence: number;
  /** RFC 3339: when this snapshot was made. */
  readonly time: string;
  readonly conditions: Readonly<Record<ConditionType, Condition>>;
  readonly config?: ConfigSummary;
  readonly ha?: HaStatus;
  readonly gateways: readonly GatewayStatus[];
  /** RFC 3339 time of the last pass that ended with everything in place. */
  readonly lastSuccessfulSync?: string;
  /** What this pass did that deserves telling (empty on a quiet pass). */
  readonly notices: readonly Notice[];
  /** The pass behind this snapshot; undefined for a snapshot not made by a pass (a role change). */
  readonly pass?: PassSummary;
  /** The egress interface as found: its master (configured or inferred) and whether the agent made it. */
  readonly interface?: {
    readonly name: string;
    readonly clusterInterface: string;
    readonly master?: string;
    readonly createdByAgent?: boolean;
    readonly addresses: readonly string[];
  };
  /** Counts of what is programmed: rules and map elements, by map. */
  readonly programmed?: {
    readonly redirectRules: number;
    readonly mapElements: Readonly<Record<string, number>>;
  };
}

/**
 * A consumer of snapshots. `publish` must return at once (queue, debounce, write in the
 * background) and must not throw; `stop` flushes what is worth flushing, within its own bound.
 */
export interface StatusSink {
  readonly name: string;
  publish(snapshot: StatusSnapshot): void;
  stop(): Promise<void>;
}
