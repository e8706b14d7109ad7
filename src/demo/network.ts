/**
 * The demo's virtual network: the network kit's default topology (src/netkit/layout.ts has the
 * picture), IPv4 only, in namespaces named PREFIX + role (`erdemo-pod`, `erdemo-cli`, …). The
 * prefix is fixed, so a later run can find and remove what an interrupted one left behind, and
 * the network outlives the demo process with --keep. Nothing is created in the caller's own
 * namespace.
 *
 *   client 198.18.1.2 ── node 198.18.1.1 | 198.18.0.1 ── pod eth0 198.18.0.2
 *   node eth1 192.0.2.5 (the macvlan master) ── lan bridge ── dst1 192.0.2.10, dst2 192.0.2.20,
 *   gw 192.0.2.1 ── far 198.51.100.10
 */
import { roleNamespace } from '../netkit/layout.js';
import { destroyNamespacesWithPrefix } from '../netkit/netns.js';
import { PLAN } from '../netkit/plan.js';
import { createTopology, type Topology } from '../netkit/topology.js';

export const DEFAULT_PREFIX = 'erdemo-';
const ROLES = ['client', 'node', 'pod', 'lan', 'dst1', 'dst2', 'gw', 'far'] as const;
export type Namespaces = Readonly<Record<(typeof ROLES)[number], string>>;

/** The namespace of each role under PREFIX (`erdemo-pod`, `erdemo-cli` for the client). */
export function namespacesFor(prefix: string): Namespaces {
  return Object.fromEntries(ROLES.map((role) => [role, roleNamespace(prefix, role)])) as Namespaces;
}

export const ADDRESSES = {
  client: PLAN.client.v4,
  podCluster: PLAN.pod.v4,
  nodeLan: PLAN.nodeLan.v4,
  egress: PLAN.egress.v4[0],
  dst1: PLAN.dst1.v4,
  dst2: PLAN.dst2.v4,
  gateway: PLAN.gw.v4,
  far: PLAN.far.v4,
} as const;

/** Kills every process inside the demo namespaces and deletes them; returns how many there were. */
export function destroyNetwork(prefix: string): Promise<number> {
  return destroyNamespacesWithPrefix(prefix);
}

/** Builds the network; it stays when the process exits (destroyNetwork removes it). */
export function buildNetwork(prefix: string): Promise<Topology> {
  return createTopology({ ipv6: false, prefix, keepOnExit: true });
}
