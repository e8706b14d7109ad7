/**
 * The network for the HA engine tests (keepalived without the agent), on the kit: two router
 * pods on two nodes sharing one LAN, each pod with a `net1` (a bridge-mode macvlan on its node's
 * master, up, as Multus would attach it) and nothing else on it: VRRP needs only net1's automatic
 * IPv6 link-local address.
 */
import { createTopology, type Topology, waitForLinkLocal } from '../../../src/netkit/index.js';

export type Pod = 'p1' | 'p2';
export const PODS: readonly Pod[] = ['p1', 'p2'];
export const TWO_PODS = [
  { name: 'p1', node: 'node1' },
  { name: 'p2', node: 'node2' },
] as const;

export const nodeOf = (topo: Topology, pod: Pod): string => topo.pod(pod).node;

/** `nsenter --net=PATH --`: what the engine's commandPrefix needs to run keepalived in a pod. */
export const enter = (topo: Topology, pod: Pod): string[] => [
  'nsenter',
  `--net=${topo.netnsPath(pod)}`,
  '--',
];

/** Gives a pod a net1 (again, as after the agent re-created it). */
export async function addNet1(topo: Topology, pod: Pod): Promise<void> {
  await topo.createAdoptedMacvlan('net1', 'bridge', { pod, up: true });
}

/** A pod killed earlier back with a fresh namespace and a new net1. */
export async function recreatePod(topo: Topology, pod: Pod): Promise<void> {
  await topo.restorePod(pod);
  await addNet1(topo, pod);
}

/** The pod's own link-local address on net1 once usable (DAD done), not keepalived's VIP. */
export function linkLocal(topo: Topology, pod: Pod): Promise<string> {
  return waitForLinkLocal(topo, pod, 'net1', { exclude: (a) => a.startsWith('fe80::5e:') });
}

/** The two pods, each with its net1. */
export async function createEngineNet(): Promise<Topology> {
  const topo = await createTopology({ pods: TWO_PODS, ipv6: false });
  try {
    for (const pod of PODS) await addNet1(topo, pod);
  } catch (error) {
    await topo.destroy();
    throw error;
  }
  return topo;
}

/** Whether the pod's namespace exists and has net1. */
export async function hasNet1(topo: Topology, pod: Pod): Promise<boolean> {
  return !(await topo.ip(pod, ['link', 'show', 'net1'], { reject: false })).failed;
}
