/**
 * The kit's address plan (pure): the same for every run, since namespaces keep runs apart. Only
 * the ranges set aside for documentation and benchmarking are used: 192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15 and 2001:db8::/32.
 *
 * - Cluster side: 198.18.0.0/15 and 2001:db8::/48. Each cluster subnet is a /24 and a /64 whose
 *   third octet and fourth IPv6 group read the same: 198.18.N.0/24 ↔ 2001:db8:0:N::/64.
 *   N = 0 the first router pod, 1 the client, 2 the second client, 11.. further router pods,
 *   254 the node interconnect (only with several nodes).
 * - The LAN (the egress side): 192.0.2.0/24 and 2001:db8:100::/64. Nodes hold .5, .6, …; the
 *   gateway .1; dst1 .10, dst2 .20, the LAN host .30. .100–.199 (::100–::1ff) are never
 *   configured by the kit: they are the router's egress addresses.
 * - Beyond the gateway: 198.51.100.0/24 and 2001:db8:200::/64 (the far host .10).
 * - 203.0.113.0/24 and 2001:db8:ffff::/48 are routed into a blackhole by the gateway: connections
 *   there time out.
 */

export interface HostAddress {
  readonly v4: string;
  readonly v6: string;
}

export const PLAN = {
  cluster: { v4: '198.18.0.0/15', v6: '2001:db8::/48' },
  /** The first router pod and its node's address on the pod link. */
  pod: { v4: '198.18.0.2', v6: '2001:db8::2' },
  nodePodSide: { v4: '198.18.0.1', v6: '2001:db8::1' },
  client: { v4: '198.18.1.2', v6: '2001:db8:0:1::2' },
  nodeClientSide: { v4: '198.18.1.1', v6: '2001:db8:0:1::1' },
  client2: { v4: '198.18.2.2', v6: '2001:db8:0:2::2' },
  nodeClient2Side: { v4: '198.18.2.1', v6: '2001:db8:0:2::1' },
  /** Cluster-side subnets are /24 and /64. */
  clusterPrefix: { v4: 24, v6: 64 },
  lan: { v4: '192.0.2.0/24', v6: '2001:db8:100::/64' },
  lanPrefix: { v4: 24, v6: 64 },
  /** The first node's own address on the master (eth1). */
  nodeLan: { v4: '192.0.2.5', v6: '2001:db8:100::5' },
  gw: { v4: '192.0.2.1', v6: '2001:db8:100::1' },
  dst1: { v4: '192.0.2.10', v6: '2001:db8:100::10' },
  dst2: { v4: '192.0.2.20', v6: '2001:db8:100::20' },
  /** The optional LAN host that can claim addresses (`lanHost: true`). */
  lanHost: { v4: '192.0.2.30', v6: '2001:db8:100::30' },
  farNet: { v4: '198.51.100.0/24', v6: '2001:db8:200::/64' },
  gwFar: { v4: '198.51.100.1', v6: '2001:db8:200::1' },
  far: { v4: '198.51.100.10', v6: '2001:db8:200::10' },
  /** Routed to a blackhole by gw: connections there time out. */
  blackhole: { v4: '203.0.113.1', v6: '2001:db8:ffff::1' },
  blackholeNet: { v4: '203.0.113.0/24', v6: '2001:db8:ffff::/48' },
  /** Free LAN addresses for the router's egress addresses (never configured by the kit). */
  egress: {
    v4: ['192.0.2.100', '192.0.2.101', '192.0.2.102', '192.0.2.103'],
    v6: ['2001:db8:100::100', '2001:db8:100::101', '2001:db8:100::102', '2001:db8:100::103'],
  },
} as const;

export const MAX_NODES = 4;
export const MAX_PODS = 4;

/** The cluster subnet number N of router pod `index` (0-based): 0, then 11, 12, … */
const podSubnetNumber = (index: number): number => (index === 0 ? 0 : 10 + index);

function clusterHost(n: number, host: number): HostAddress {
  return { v4: `198.18.${n}.${host}`, v6: n === 0 ? `2001:db8::${host}` : `2001:db8:0:${n}::${host}` };
}

export interface PodAddresses {
  /** The pod's own cluster address (eth0). */
  readonly pod: HostAddress;
  /** Its node's address on the pod link (the pod's gateway). */
  readonly nodeSide: HostAddress;
  /** The pod link's subnet (CIDR). */
  readonly subnet: HostAddress;
}

export function podAddresses(index: number): PodAddresses {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_PODS)
    throw new Error(`pod index ${index}: at most ${MAX_PODS} router pods`);
  const n = podSubnetNumber(index);
  const net = clusterHost(n, 0);
  return {
    pod: clusterHost(n, 2),
    nodeSide: clusterHost(n, 1),
    subnet: { v4: `${net.v4}/24`, v6: `${net.v6.replace(/::0$/, '::')}/64` },
  };
}

/** Node `index`'s own LAN address, on its master eth1: .5, .6, … */
export function nodeLanAddress(index: number): HostAddress {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_NODES)
    throw new Error(`node index ${index}: at most ${MAX_NODES} nodes`);
  return { v4: `192.0.2.${5 + index}`, v6: `2001:db8:100::${5 + index}` };
}

/** Node `index`'s address on the node interconnect (eth2, only with several nodes). */
export function interconnectAddress(index: number): HostAddress {
  return clusterHost(254, 1 + index);
}

export const INTERCONNECT_SUBNET: HostAddress = { v4: '198.18.254.0/24', v6: '2001:db8:0:254::/64' };
export const CLIENT_SUBNETS: readonly HostAddress[] = [
  { v4: '198.18.1.0/24', v6: '2001:db8:0:1::/64' },
  { v4: '198.18.2.0/24', v6: '2001:db8:0:2::/64' },
];
