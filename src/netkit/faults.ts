/**
 * What can go wrong around a router, on demand, for a topology (wired as Topology methods, see
 * topology.ts): a router pod dies and comes back, a node loses its master, a node's LAN port is
 * cut from the bridge (a partition), the gateway leaves the LAN (link down, or its namespace
 * gone) and returns, a LAN host claims an address (IPv4 conflicts, IPv6 DAD failures), and a
 * namespace drops ICMP "fragmentation needed" / "packet too big" (a PMTU black hole).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BRIDGE,
  HOST_ETH,
  type Layout,
  type LayoutParts,
  layoutSubset,
  type NodeLayout,
  type PodLayout,
} from './layout.js';
import { deleteNamespace, waitNamespaceGone } from './netns.js';
import { pollUntil, type RunOptions, type RunResult } from './process.js';

/** What the fault operations need from a topology. */
export interface TopologyCore {
  readonly layout: Layout;
  resolve(ns: string): string;
  ip(ns: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  exec(ns: string, argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  pod(role?: string): PodLayout;
  node(role?: string): NodeLayout;
  /** Builds part of the layout, recording the namespaces it creates. */
  build(parts: LayoutParts): Promise<void>;
  /** A namespace of this run deleted on purpose. */
  forget(name: string): void;
}

async function linkExists(core: TopologyCore, role: string, name: string): Promise<boolean> {
  return !(await core.ip(role, ['link', 'show', 'dev', name], { reject: false })).failed;
}

async function waitLinkGone(core: TopologyCore, role: string, name: string): Promise<void> {
  await pollUntil(async () => !(await linkExists(core, role, name)), 10_000, `${role}/${name} to go`);
}

export interface KillPodOptions {
  /** `nft flush ruleset` in the pod before its namespace goes (see DeleteOptions.flushNft). */
  readonly flushNft?: boolean;
}

/**
 * A pod's death: SIGKILL to every process in it, its namespace deleted; resolves once its
 * interfaces are gone (the node's end of its link, and so its macvlan, go with the namespace).
 */
export async function killPod(
  core: TopologyCore,
  role?: string,
  options: KillPodOptions = {},
): Promise<void> {
  const pod = core.pod(role);
  await deleteNamespace(pod.ns, options);
  core.forget(pod.ns);
  await waitNamespaceGone(pod.ns);
  await waitLinkGone(core, pod.node, pod.nodeLink);
}

/** A fresh namespace for a pod that was killed: eth0, addresses and routes as at the start. */
export async function restorePod(core: TopologyCore, role?: string): Promise<void> {
  await core.build(layoutSubset(core.layout, { roles: [core.pod(role).role] }));
}

/** Deletes the node's master (eth1): its LAN link goes, and every macvlan on it with it. */
export async function removeMaster(core: TopologyCore, role?: string): Promise<void> {
  const node = core.node(role);
  await core.ip(node.role, ['link', 'delete', node.master]);
  await waitLinkGone(core, 'lan', node.lanPort);
}

/** A new eth1 on the LAN bridge with the node's address and default route, as at the start. */
export async function restoreMaster(core: TopologyCore, role?: string): Promise<void> {
  const node = core.node(role);
  await core.build(layoutSubset(core.layout, { vethIds: [`lan-${node.role}`] }));
}

/** Cuts the node's port from the LAN bridge: the node keeps its carrier, the LAN is out of reach. */
export async function partition(core: TopologyCore, role?: string): Promise<void> {
  await core.ip('lan', ['link', 'set', core.node(role).lanPort, 'nomaster']);
}

/** Puts the node's port back on the LAN bridge. */
export async function heal(core: TopologyCore, role?: string): Promise<void> {
  await core.ip('lan', ['link', 'set', core.node(role).lanPort, 'master', BRIDGE]);
}

/**
 * `link-down`: gw's LAN port is set down on the bridge side (gw loses carrier but keeps its
 * addresses, as a gateway whose cable is pulled). `namespace`: gw's namespace is deleted with
 * everything in it (the far host loses its link too).
 */
export type GatewayOff = 'link-down' | 'namespace';

const gwPort = (core: TopologyCore): string => {
  const veth = core.layout.veths.find((v) => v.id === 'lan-gw');
  if (!veth) throw new Error('no gateway link in this topology');
  return veth.a.name;
};

export async function gatewayOff(core: TopologyCore, how: GatewayOff): Promise<void> {
  if (how === 'link-down') {
    await core.ip('lan', ['link', 'set', gwPort(core), 'down']);
    return;
  }
  const name = core.resolve('gw');
  await deleteNamespace(name);
  core.forget(name);
  await waitNamespaceGone(name);
  await waitLinkGone(core, 'lan', gwPort(core));
  await waitLinkGone(core, 'far', HOST_ETH);
}

export async function gatewayOn(core: TopologyCore, how: GatewayOff): Promise<void> {
  if (how === 'namespace') {
    await core.build(layoutSubset(core.layout, { roles: ['gw'] }));
    return;
  }
  await core.ip('lan', ['link', 'set', gwPort(core), 'up']);
  await pollUntil(
    async () => {
      const [link] = JSON.parse((await core.ip('gw', ['-j', 'link', 'show', HOST_ETH])).stdout) as {
        operstate: string;
      }[];
      return link?.operstate === 'UP';
    },
    10_000,
    'gw eth0 to be up again',
  );
}

export interface ClaimOptions {
  /** The LAN host that claims it (default `host`, which needs `lanHost: true`). */
  readonly host?: string;
  /**
   * Tell the LAN: for IPv4 a gratuitous ARP request and an ARP reply (arping -U, -A); for IPv6
   * an unsolicited neighbour advertisement to all nodes. Without it the host only answers probes
   * (ARP, DAD) for the address.
   */
  readonly announce?: boolean;
}

export interface Claim {
  readonly host: string;
  readonly cidr: string;
  /** Removes the address from the host again; idempotent. */
  release(): Promise<void>;
}

/**
 * A LAN host takes `cidr` (e.g. an egress address) on its eth0, immediately (IPv6: `nodad`, so it
 * holds the address and answers the router's duplicate address detection).
 */
export async function claimAddress(
  core: TopologyCore,
  cidr: string,
  options: ClaimOptions = {},
): Promise<Claim> {
  const host = options.host ?? 'host';
  if (!core.layout.names[host])
    throw new Error(
      `claimAddress: no LAN host ${host} (create the topology with lanHost: true, or name one)`,
    );
  if (!core.layout.veths.some((v) => v.id === `lan-${host}`))
    throw new Error(`claimAddress: ${host} is not on the LAN`);
  const address = cidr.split('/')[0] ?? cidr;
  const v6 = address.includes(':');
  await core.ip(host, ['address', 'add', cidr, 'dev', HOST_ETH, ...(v6 ? ['nodad'] : [])]);
  if (options.announce && v6) {
    // The kernel sends no NA for a `nodad` address; with ndisc_notify it announces every address
    // of a link whose MAC address is set (to the same value here).
    await core.exec(host, ['sysctl', '-q', '-w', `net.ipv6.conf.${HOST_ETH}.ndisc_notify=1`]);
    const [link] = JSON.parse((await core.ip(host, ['-j', 'link', 'show', HOST_ETH])).stdout) as {
      address: string;
    }[];
    if (!link) throw new Error(`claimAddress: no ${HOST_ETH} in ${host}`);
    await core.ip(host, ['link', 'set', HOST_ETH, 'address', link.address]);
  } else if (options.announce) {
    for (const mode of ['-U', '-A'])
      await core.exec(host, ['arping', '-q', mode, '-c', '1', '-I', HOST_ETH, address], {
        reject: false,
      });
  }
  let released = false;
  return {
    host,
    cidr,
    release: async () => {
      if (released) return;
      released = true;
      await core.ip(host, ['address', 'del', cidr, 'dev', HOST_ETH], { reject: false });
      if (v6 && options.announce)
        await core.exec(host, ['sysctl', '-q', '-w', `net.ipv6.conf.${HOST_ETH}.ndisc_notify=0`], {
          reject: false,
        });
    },
  };
}

export const ICMP_TABLE = 'netkit_icmp';

/** The nft batch that drops ICMP "fragmentation needed" and ICMPv6 "packet too big" (JSON). */
export function icmpTooBigBatch(): unknown {
  const table = { family: 'inet', table: ICMP_TABLE };
  const drops = [
    [
      {
        match: {
          op: '==',
          left: { payload: { protocol: 'icmp', field: 'type' } },
          right: 'destination-unreachable',
        },
      },
      { match: { op: '==', left: { payload: { protocol: 'icmp', field: 'code' } }, right: 'frag-needed' } },
      { drop: null },
    ],
    [
      {
        match: {
          op: '==',
          left: { payload: { protocol: 'icmpv6', field: 'type' } },
          right: 'packet-too-big',
        },
      },
      { drop: null },
    ],
  ];
  const hooks = ['input', 'forward', 'output'];
  return {
    nftables: [
      { add: { table: { family: 'inet', name: ICMP_TABLE } } },
      ...hooks.map((hook) => ({
        add: { chain: { ...table, name: hook, type: 'filter', hook, prio: 0, policy: 'accept' } },
      })),
      ...hooks.flatMap((hook) => drops.map((expr) => ({ add: { rule: { ...table, chain: hook, expr } } }))),
    ],
  };
}

export interface IcmpDrop {
  /** Lets ICMP through again; idempotent (fine once the namespace is gone). */
  restore(): Promise<void>;
}

/**
 * Drops ICMP fragmentation-needed (IPv4) and packet-too-big (IPv6) in namespace `ns`: arriving
 * (a far end that filters ICMP), passing through and sent by it (a gateway that does). With a
 * smaller MTU on the way, TCP then stalls at the first full-sized segment: a PMTU black hole.
 */
export async function dropIcmpTooBig(core: TopologyCore, ns: string): Promise<IcmpDrop> {
  const dir = await mkdtemp(join(tmpdir(), 'netkit-nft-'));
  try {
    const file = join(dir, 'icmp.json');
    // nft 1.0.6 cannot read JSON from a pipe.
    await writeFile(file, JSON.stringify(icmpTooBigBatch()), { mode: 0o600 });
    await core.exec(ns, ['nft', '-j', '-f', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  let restored = false;
  return {
    restore: async () => {
      if (restored) return;
      restored = true;
      await core.exec(ns, ['nft', 'delete', 'table', 'inet', ICMP_TABLE], { reject: false });
    },
  };
}
