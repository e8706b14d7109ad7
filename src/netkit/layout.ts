/**
 * The topology as data (pure): which namespaces, bridges, veth pairs, addresses and routes a run
 * has, computed from its options and prefix. build.ts applies a layout (or part of one: a pod
 * brought back, a gateway namespace re-created) to the system; nothing here touches it.
 *
 * Single node (the default: one router pod `pod` on node `node`):
 * ```
 *  client  eth0 198.18.1.2/24  2001:db8:0:1::2/64 ─── node <p>cli  198.18.1.1/24  2001:db8:0:1::1/64
 *  client2 eth0 198.18.2.2/24  2001:db8:0:2::2/64 ─── node <p>cli2 198.18.2.1/24  2001:db8:0:2::1/64  (option)
 *  pod     eth0 198.18.0.2/24  2001:db8::2/64     ─── node <p>pod  198.18.0.1/24  2001:db8::1/64
 *  node    eth1 192.0.2.5/24   2001:db8:100::5/64 ─── lan <p>node ┐
 *  dst1    eth0 192.0.2.10/24  2001:db8:100::10/64 ── lan <p>dst1 ├ lan br0 (a bridge: no addresses,
 *  dst2    eth0 192.0.2.20/24  2001:db8:100::20/64 ── lan <p>dst2 │  no STP, no multicast snooping,
 *  host    eth0 192.0.2.30/24  2001:db8:100::30/64 ── lan <p>host │  IPv6 off in the lan namespace)
 *  gw      eth0 192.0.2.1/24   2001:db8:100::1/64 ─── lan <p>gw   ┘             (`host`: option)
 *  gw      <p>far 198.51.100.1/24 2001:db8:200::1/64 ─── far eth0 198.51.100.10/24 2001:db8:200::10/64
 * ```
 * Several nodes (`pods: [{ name: 'p1', node: 'node1' }, { name: 'p2', node: 'node2' }]`): every
 * node's eth1 is a port of the same LAN bridge (node k holds 192.0.2.(5+k)); router pod i hangs off
 * its node on 198.18.N.0/24 (N = 0, 11, 12, …); the clients hang off the first node; the nodes
 * reach each other's pods and the clients over an interconnect bridge in namespace `core`
 * (eth2, 198.18.254.0/24), as a cluster network would, independent of the LAN. Routes:
 * - pod: cluster range and default via its node on eth0 (as a pod before the agent moves the
 *   default to net1); clients: default via the first node; nodes forward, default via gw on eth1;
 *   gw forwards, blackholes 203.0.113.0/24 and 2001:db8:ffff::/48; far, dst*, host: default via gw.
 * - The LAN has no route to the cluster range, like a real LAN.
 *
 * Sysctls: ICMP rate limits off everywhere but in router pods (which keep kernel defaults);
 * forwarding on in nodes and gw; IPv6 off in the bridge namespaces (no link-local, DAD or MLD
 * noise in captures). Host IPv6 addresses use `nodad`.
 */
import { createHash } from 'node:crypto';
import { checkRoleName, MAX_IFNAME, prefixed } from './names.js';
import {
  CLIENT_SUBNETS,
  type HostAddress,
  interconnectAddress,
  MAX_NODES,
  MAX_PODS,
  nodeLanAddress,
  PLAN,
  podAddresses,
} from './plan.js';

export interface PodSpec {
  /** The pod's role and namespace suffix (1–5 lowercase letters or digits). */
  readonly name: string;
  /** The node it runs on (same rules). */
  readonly node: string;
}

/** MTUs per kind of link, set on both ends (default: the kernel's 1500). */
export interface MtuOptions {
  /** Every router pod's eth0 and its node's end (the pod's cluster side). */
  readonly podCluster?: number;
  /** The client links. */
  readonly clients?: number;
  /** Every LAN link: the nodes' eth1 (the masters), dst*, host and gw. */
  readonly lan?: number;
  /** The gw ↔ far link. */
  readonly far?: number;
}

export interface LayoutOptions {
  readonly ipv6: boolean;
  readonly clientSubnet2: boolean;
  readonly pods: readonly PodSpec[];
  readonly lanHost: boolean;
  readonly mtu: MtuOptions;
}

export interface NamespaceSpec {
  readonly role: string;
  readonly name: string;
  readonly sysctls: readonly string[];
}

export interface BridgeSpec {
  readonly role: string;
  readonly name: string;
}

export interface VethEnd {
  readonly role: string;
  readonly name: string;
  /** A bridge in the same namespace this end is a port of. */
  readonly bridge?: string;
  /**
   * Its MAC address, fixed by the layout: a link re-created later (a pod, a gateway coming back)
   * has the same hardware address, as a real machine does, so its neighbours' caches stay valid.
   */
  readonly mac: string;
}

export interface VethSpec {
  /** `<a role>-<b role>`, e.g. `lan-node1`. */
  readonly id: string;
  /** Created from this end; bridge ports are always the `a` end. */
  readonly a: VethEnd;
  readonly b: VethEnd;
  readonly mtu?: number;
}

export interface AddressSpec {
  readonly role: string;
  readonly dev: string;
  readonly cidr: string;
}

export interface RouteSpec {
  readonly role: string;
  readonly dest: string;
  readonly via?: string;
  readonly dev?: string;
  readonly blackhole?: boolean;
}

export interface PodLayout {
  readonly role: string;
  readonly ns: string;
  /** The role of its node. */
  readonly node: string;
  readonly index: number;
  readonly address: HostAddress;
  readonly nodeSide: HostAddress;
  readonly subnet: HostAddress;
  /** The node's end of the pod link (in the node namespace). */
  readonly nodeLink: string;
}

export interface NodeLayout {
  readonly role: string;
  readonly ns: string;
  readonly index: number;
  /** Its own LAN address, on the master. */
  readonly lan: HostAddress;
  /** The master's name in the node namespace. */
  readonly master: string;
  /** Its port on the LAN bridge (in the lan namespace). */
  readonly lanPort: string;
  /** Its address on the interconnect (several nodes only). */
  readonly interconnect?: HostAddress;
}

export interface LayoutParts {
  readonly namespaces: readonly NamespaceSpec[];
  readonly bridges: readonly BridgeSpec[];
  readonly veths: readonly VethSpec[];
  readonly addresses: readonly AddressSpec[];
  readonly routes: readonly RouteSpec[];
}

export interface Layout extends LayoutParts {
  readonly prefix: string;
  readonly ipv6: boolean;
  /** Role → namespace name, for every namespace of the run. */
  readonly names: Readonly<Record<string, string>>;
  readonly pods: readonly PodLayout[];
  readonly nodes: readonly NodeLayout[];
  /** The first node's role: the clients hang off it. */
  readonly clientNode: string;
}

export const HOST_ETH = 'eth0';
export const MASTER = 'eth1';
export const INTERCONNECT = 'eth2';
export const BRIDGE = 'br0';

const FIXED_ROLES = ['client', 'client2', 'lan', 'core', 'dst1', 'dst2', 'gw', 'far', 'host'] as const;
const SUFFIX: Readonly<Record<string, string>> = { client: 'cli', client2: 'cli2' };

/** The namespace of `role` under `prefix` (`client` → `<prefix>cli`, `pod` → `<prefix>pod`). */
export function roleNamespace(prefix: string, role: string): string {
  return prefixed(prefix, SUFFIX[role] ?? role);
}

export const DEFAULT_PODS: readonly PodSpec[] = [{ name: 'pod', node: 'node' }];

function checkPods(pods: readonly PodSpec[]): string[] {
  if (pods.length === 0 || pods.length > MAX_PODS) throw new Error(`pods: 1 to ${MAX_PODS} router pods`);
  const nodes: string[] = [];
  const seen = new Set<string>();
  for (const [i, pod] of pods.entries()) {
    checkRoleName(pod.name, `pods[${i}].name`);
    checkRoleName(pod.node, `pods[${i}].node`);
    for (const role of [pod.name, pod.node]) {
      if ((FIXED_ROLES as readonly string[]).includes(role) || role === 'cli' || role === 'cli2')
        throw new Error(`pods[${i}]: ${role} is the name of another role`);
    }
    if (seen.has(pod.name) || nodes.includes(pod.name)) throw new Error(`pods[${i}]: ${pod.name} used twice`);
    seen.add(pod.name);
    if (!nodes.includes(pod.node)) {
      if (seen.has(pod.node)) throw new Error(`pods[${i}]: ${pod.node} is a pod`);
      nodes.push(pod.node);
    }
  }
  if (nodes.length > MAX_NODES) throw new Error(`pods: at most ${MAX_NODES} nodes`);
  return nodes;
}

function checkMtu(mtu: MtuOptions): void {
  for (const [key, value] of Object.entries(mtu)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1280 || value > 9000))
      throw new Error(`mtu.${key}: ${value} is not an MTU from 1280 (IPv6's minimum) to 9000`);
  }
}

export function planLayout(prefix: string, options: LayoutOptions): Layout {
  const nodeRoles = checkPods(options.pods);
  checkMtu(options.mtu);
  const { ipv6, mtu } = options;
  const link = (suffix: string): string => prefixed(prefix, suffix);
  const several = nodeRoles.length > 1;
  const clientNode = nodeRoles[0] as string;

  const nodes: NodeLayout[] = nodeRoles.map((role, index) => ({
    role,
    ns: roleNamespace(prefix, role),
    index,
    lan: nodeLanAddress(index),
    master: MASTER,
    lanPort: link(role),
    ...(several ? { interconnect: interconnectAddress(index) } : {}),
  }));
  const pods: PodLayout[] = options.pods.map((spec, index) => {
    const addresses = podAddresses(index);
    return {
      role: spec.name,
      ns: roleNamespace(prefix, spec.name),
      node: spec.node,
      index,
      address: addresses.pod,
      nodeSide: addresses.nodeSide,
      subnet: addresses.subnet,
      nodeLink: link(spec.name),
    };
  });
  const clients = [
    { role: 'client', address: PLAN.client, nodeSide: PLAN.nodeClientSide, link: link('cli') },
    ...(options.clientSubnet2
      ? [{ role: 'client2', address: PLAN.client2, nodeSide: PLAN.nodeClient2Side, link: link('cli2') }]
      : []),
  ];
  const lanHosts = [
    { role: 'dst1', address: PLAN.dst1 },
    { role: 'dst2', address: PLAN.dst2 },
    ...(options.lanHost ? [{ role: 'host', address: PLAN.lanHost }] : []),
  ];

  // Creation order; teardown goes backwards.
  const roles = [
    ...nodeRoles,
    ...pods.map((p) => p.role),
    ...clients.map((c) => c.role),
    'lan',
    ...(several ? ['core'] : []),
    ...lanHosts.map((h) => h.role),
    'gw',
    'far',
  ];
  const names = Object.fromEntries(roles.map((role) => [role, roleNamespace(prefix, role)]));
  const noRateLimit = ['net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0'];
  const forwarding = ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'];
  const noIpv6 = ['net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.all.disable_ipv6=1'];
  const namespaces: NamespaceSpec[] = roles.map((role) => {
    const isPod = pods.some((p) => p.role === role);
    const sysctls = [
      ...(isPod ? [] : noRateLimit),
      ...(nodeRoles.includes(role) || role === 'gw' ? forwarding : []),
      ...(role === 'lan' || role === 'core' ? noIpv6 : []),
    ];
    return { role, name: names[role] as string, sysctls };
  });

  const bridges: BridgeSpec[] = [
    { role: 'lan', name: BRIDGE },
    ...(several ? [{ role: 'core', name: BRIDGE }] : []),
  ];
  // Locally administered, unicast: 02:<3 bytes of the prefix's hash>:<pair>:<end>.
  const macBase = `02:${(createHash('sha256').update(prefix).digest('hex').slice(0, 6).match(/../g) ?? []).join(':')}`;
  let pairs = 0;
  type End = Omit<VethEnd, 'mac'>;
  const veth = (a: End, b: End, linkMtu?: number): VethSpec => {
    const pair = (pairs++).toString(16).padStart(2, '0');
    return {
      id: `${a.role}-${b.role}`,
      a: { ...a, mac: `${macBase}:${pair}:00` },
      b: { ...b, mac: `${macBase}:${pair}:01` },
      ...(linkMtu === undefined ? {} : { mtu: linkMtu }),
    };
  };
  const veths: VethSpec[] = [
    ...clients.map((c) =>
      veth({ role: clientNode, name: c.link }, { role: c.role, name: HOST_ETH }, mtu.clients),
    ),
    ...pods.map((p) =>
      veth({ role: p.node, name: p.nodeLink }, { role: p.role, name: HOST_ETH }, mtu.podCluster),
    ),
    ...nodes.map((n) =>
      veth({ role: 'lan', name: n.lanPort, bridge: BRIDGE }, { role: n.role, name: MASTER }, mtu.lan),
    ),
    ...(several
      ? nodes.map((n) =>
          veth({ role: 'core', name: link(n.role), bridge: BRIDGE }, { role: n.role, name: INTERCONNECT }),
        )
      : []),
    ...lanHosts.map((h) =>
      veth({ role: 'lan', name: link(h.role), bridge: BRIDGE }, { role: h.role, name: HOST_ETH }, mtu.lan),
    ),
    veth({ role: 'lan', name: link('gw'), bridge: BRIDGE }, { role: 'gw', name: HOST_ETH }, mtu.lan),
    veth({ role: 'gw', name: link('far') }, { role: 'far', name: HOST_ETH }, mtu.far),
  ];

  const addresses: AddressSpec[] = [];
  const routes: RouteSpec[] = [];
  const addr = (role: string, dev: string, host: HostAddress, v4Len: number, v6Len: number) => {
    addresses.push({ role, dev, cidr: `${host.v4}/${v4Len}` });
    if (ipv6) addresses.push({ role, dev, cidr: `${host.v6}/${v6Len}` });
  };
  const route = (role: string, dest: HostAddress | 'default', via: HostAddress, dev: string) => {
    routes.push({ role, dest: dest === 'default' ? 'default' : dest.v4, via: via.v4, dev });
    if (ipv6) routes.push({ role, dest: dest === 'default' ? 'default' : dest.v6, via: via.v6, dev });
  };
  for (const pod of pods) {
    addr(pod.role, HOST_ETH, pod.address, 24, 64);
    addr(pod.node, pod.nodeLink, pod.nodeSide, 24, 64);
    // As OVN-Kubernetes leaves a pod: the cluster range and the default route via the node.
    route(pod.role, PLAN.cluster, pod.nodeSide, HOST_ETH);
    route(pod.role, 'default', pod.nodeSide, HOST_ETH);
  }
  for (const client of clients) {
    addr(client.role, HOST_ETH, client.address, 24, 64);
    addr(clientNode, client.link, client.nodeSide, 24, 64);
    route(client.role, 'default', client.nodeSide, HOST_ETH);
  }
  for (const node of nodes) {
    addr(node.role, MASTER, node.lan, 24, 64);
    route(node.role, 'default', PLAN.gw, MASTER);
    if (!node.interconnect) continue;
    addr(node.role, INTERCONNECT, node.interconnect, 24, 64);
    for (const other of nodes) {
      if (other === node || !other.interconnect) continue;
      for (const pod of pods.filter((p) => p.node === other.role))
        route(node.role, pod.subnet, other.interconnect, INTERCONNECT);
      if (other.role === clientNode)
        for (const subnet of CLIENT_SUBNETS.slice(0, clients.length))
          route(node.role, subnet, other.interconnect, INTERCONNECT);
    }
  }
  for (const host of lanHosts) {
    addr(host.role, HOST_ETH, host.address, 24, 64);
    route(host.role, 'default', PLAN.gw, HOST_ETH);
  }
  addr('gw', HOST_ETH, PLAN.gw, 24, 64);
  addr('gw', link('far'), PLAN.gwFar, 24, 64);
  routes.push({ role: 'gw', dest: PLAN.blackholeNet.v4, blackhole: true });
  if (ipv6) routes.push({ role: 'gw', dest: PLAN.blackholeNet.v6, blackhole: true });
  addr('far', HOST_ETH, PLAN.far, 24, 64);
  route('far', 'default', PLAN.gwFar, HOST_ETH);

  for (const name of Object.values(names)) {
    if (name.length > MAX_IFNAME) throw new Error(`namespace name too long: ${name}`);
  }
  return { prefix, ipv6, names, pods, nodes, clientNode, namespaces, bridges, veths, addresses, routes };
}

export interface SubsetSelection {
  /** Namespaces built anew, with every veth that touches them. */
  readonly roles?: readonly string[];
  /** Further veth pairs built anew (their namespaces exist). */
  readonly vethIds?: readonly string[];
}

/**
 * The part of a layout that brings back namespaces or links: the selected namespaces, every veth
 * touching them or selected by id, and the addresses and routes in those namespaces or on those
 * veths' ends (a route on a re-created link vanished with it).
 */
export function layoutSubset(layout: Layout, selection: SubsetSelection): LayoutParts {
  const roles = new Set(selection.roles ?? []);
  const ids = new Set(selection.vethIds ?? []);
  for (const id of ids)
    if (!layout.veths.some((v) => v.id === id)) throw new Error(`no link ${id} in this topology`);
  const veths = layout.veths.filter((v) => ids.has(v.id) || roles.has(v.a.role) || roles.has(v.b.role));
  const ends = new Set(veths.flatMap((v) => [`${v.a.role}/${v.a.name}`, `${v.b.role}/${v.b.name}`]));
  return {
    namespaces: layout.namespaces.filter((n) => roles.has(n.role)),
    bridges: layout.bridges.filter((b) => roles.has(b.role)),
    veths,
    addresses: layout.addresses.filter((a) => roles.has(a.role) || ends.has(`${a.role}/${a.dev}`)),
    routes: layout.routes.filter(
      (r) => roles.has(r.role) || (r.dev !== undefined && ends.has(`${r.role}/${r.dev}`)),
    ),
  };
}
