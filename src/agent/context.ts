/** Options every apply/cleanup/run pass takes, and the agent's ownership marks in the kernel. */
import { createHash } from 'node:crypto';
import type { PlanOptions } from '../plan/routerPlan.js';

export interface ApplyOptions extends PlanOptions {
  /** Path of the network namespace that holds the master (default: the agent's own). */
  readonly masterNetns?: string;
  /** How long to wait for IPv6 duplicate address detection. */
  readonly dadTimeoutMs?: number;
  /** A changed mapping also ends the TCP connections that use it (UDP and SCTP flows always move). */
  readonly flushTcpOnChange?: boolean;
}

/** The alias the agent puts on a link it created, so later runs and cleanup know it is theirs. */
export const CREATED_ALIAS = 'egress-router-agent: created';

/** Temporary names of links being created: recognisable, so a crash half-way leaves nothing unowned. */
export const TEMPORARY_LINK = /^ertmp[0-9a-f]{8}$/;
export const temporaryLinkName = (nonce: string): string => `ertmp${nonce.slice(0, 8).padEnd(8, '0')}`;

/**
 * The MAC address of a link the agent creates: locally administered, derived from the pod's
 * hostname (the pod name), the master's namespace and the interface, so every re-creation in
 * this pod (a retry, a mode change) shows the LAN the same MAC: switches see no MAC churn, peers'
 * ARP caches stay valid. Two pods never share one: their names differ.
 */
export function stableMac(hostname: string, masterNetns: string, egressInterface: string): string {
  const digest = createHash('sha256').update(`${hostname}\n${masterNetns}\n${egressInterface}`).digest();
  // 0x02: locally administered, unicast.
  const bytes = [((digest[0] ?? 0) & 0xfc) | 0x02, ...digest.subarray(1, 6)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
