/**
 * The fake kernel's state, kept as plain data per network namespace (as knftables' Fake keeps
 * its tables): links, addresses, routes, policy rules, neighbours, conntrack entries, sysctls and
 * the nftables ruleset. Behaviour lives in the modules under kernel/; this file only holds data
 * and the lookups every module needs.
 */
import type { Family, Ip, Prefix } from './addr.js';
import type { KernelEnv } from './env.js';
import type { NftRuleset } from './nft/ruleset.js';

export type LinkKind = 'loopback' | 'veth' | 'macvlan' | 'bridge';
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

export interface Link {
  /** Unique across the whole fake, unlike ifindex. */
  readonly id: number;
  ns: Netns;
  ifindex: number;
  name: string;
  readonly kind: LinkKind;
  mac: string;
  mtu: number;
  up: boolean;
  /** Once up, a virtual device keeps qdisc noqueue; before that it shows noop. */
  everUp: boolean;
  alias?: string;
  mode?: MacvlanMode;
  /** The lower device of a macvlan. */
  master?: Link;
  /** The other end of a veth pair. */
  peer?: Link;
  /** Removed from every namespace (deleted, or its veth peer / macvlan master was). */
  gone: boolean;
}

export interface Address {
  readonly link: Link;
  readonly family: Family;
  readonly ip: Ip;
  readonly prefixlen: number;
  readonly scope: 'global' | 'link' | 'host';
  secondary: boolean;
  readonly nodad: boolean;
  tentative: boolean;
  dadfailed: boolean;
  /** The kernel made it (fe80:: on up, loopback's own): dumps leave these out. */
  readonly automatic: boolean;
  /** Cancels a pending DAD timer. */
  cancelDad?: () => void;
}

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit';

export interface Route {
  readonly family: Family;
  readonly table: number;
  readonly type: RouteType;
  readonly dst: Prefix;
  readonly gateway?: Ip;
  readonly dev?: Link;
  readonly protocol: number;
  /** rtm_scope: 0 universe (global), 253 link, 254 host. */
  readonly scope: number;
  readonly prefsrc?: Ip;
  readonly metric: number;
  readonly onlink: boolean;
}

export interface PolicyRule {
  readonly family: Family;
  readonly priority: number;
  readonly fwmark?: number;
  readonly fwmask?: number;
  /** Undefined for `nop`. */
  readonly table?: number;
  readonly protocol: number;
}

export type NeighbourState = 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE' | 'INCOMPLETE' | 'FAILED';

export interface Neighbour {
  readonly link: Link;
  readonly ip: Ip;
  lladdr?: string;
  state: NeighbourState;
}

export type ConntrackProto = 'tcp' | 'udp' | 'sctp';

export interface ConntrackEntry {
  readonly proto: ConntrackProto;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

export type EventGroup = 'link' | 'address' | 'route' | 'rule' | 'nft';

export interface KernelEvent {
  readonly group: EventGroup;
  readonly line: string;
}

export const RT_TABLE = { default: 253, main: 254, local: 255 } as const;

export class Netns {
  readonly links: Link[] = [];
  /** In kernel list order per link (IPv4 appended; IPv6 sorted by scope, newest first). */
  readonly addresses: Address[] = [];
  readonly routes: Route[] = [];
  readonly rules: PolicyRule[] = [];
  readonly neighbours: Neighbour[] = [];
  readonly conntrack: ConntrackEntry[] = [];
  readonly sysctls = new Map<string, string>();
  readonly readOnlySysctls = new Set<string>();
  /** `family:table` of the FIB tables that exist (they outlive their last route). */
  readonly tables = new Set<string>(['4:254', '4:255', '6:254', '6:255']);
  readonly listeners = new Set<(event: KernelEvent) => void>();
  /** The ids this namespace gives its peers, assigned on first use like the kernel's netnsids. */
  private readonly peerIds = new Map<Netns, number>();
  private lastIfindex = 0;

  constructor(
    /** Stable handle for messages and dumps: "pod", "/run/netns/node". */
    readonly name: string,
    /** Paths that open this namespace (`/run/netns/x`, `/proc/PID/ns/net`). */
    readonly paths: Set<string>,
    readonly nft: NftRuleset,
    readonly env: KernelEnv,
  ) {}

  link(name: string): Link | undefined {
    return this.links.find((l) => l.name === name);
  }

  linkByIndex(ifindex: number): Link | undefined {
    return this.links.find((l) => l.ifindex === ifindex);
  }

  /** A new device keeps `wanted` when it is free here, as a moved device does. */
  allocateIfindex(wanted?: number): number {
    if (wanted !== undefined && !this.linkByIndex(wanted)) {
      this.lastIfindex = Math.max(this.lastIfindex, wanted);
      return wanted;
    }
    do this.lastIfindex++;
    while (this.linkByIndex(this.lastIfindex));
    return this.lastIfindex;
  }

  peerId(other: Netns): number {
    let id = this.peerIds.get(other);
    if (id === undefined) {
      id = this.peerIds.size;
      this.peerIds.set(other, id);
    }
    return id;
  }

  /** The name `ip monitor` prints for a peer namespace: its /run/netns name, else its id. */
  peerLabel(other: Netns): string {
    const named = [...other.paths].find((p) => p.startsWith('/run/netns/'));
    return named ? `link-netns ${named.slice('/run/netns/'.length)}` : `link-netnsid ${this.peerId(other)}`;
  }

  addressesOf(link: Link): Address[] {
    return this.addresses.filter((a) => a.link === link);
  }

  emit(group: EventGroup, line: string): void {
    for (const listener of this.listeners) listener({ group, line });
  }
}
