/**
 * State → what iproute2 6.1 prints: `-json` objects with their keys in ip's order, and the
 * one-line `ip -o monitor` text. The shapes were taken from the real tools (see the fidelity
 * test, test/netns/fake-fidelity.test.ts).
 */
import { type Family, formatDestination, formatIp } from '../addr.js';
import { linkFlags, operstate, qdisc } from '../linkState.js';
import type { Address, Link, Neighbour, Netns, PolicyRule, Route } from '../state.js';
import { protocolName, RT_SCOPE, RTPROT, scopeName, tableName } from './names.js';

type Json = Record<string, unknown>;

const FOREVER = 4294967295;

/** `link` (same namespace) or `link_index` + `link_netnsid` (another one) for a macvlan or veth. */
function lowerOf(viewer: Netns, link: Link): { same?: Link; other?: Link } {
  const lower = link.kind === 'macvlan' ? link.master : link.kind === 'veth' ? link.peer : undefined;
  if (!lower || lower.gone) return {};
  return lower.ns === viewer ? { same: lower } : { other: lower };
}

const isLoopback = (link: Link): boolean => link.kind === 'loopback';

function detailsJson(link: Link, genMode: boolean): Json {
  const info: Json | undefined =
    link.kind === 'macvlan'
      ? { info_kind: 'macvlan', info_data: { mode: link.mode, bcqueuelen: 1000, usedbcqueuelen: 1000 } }
      : link.kind === 'veth'
        ? { info_kind: 'veth' }
        : link.kind === 'bridge'
          ? { info_kind: 'bridge', info_data: { stp_state: 0, vlan_filtering: 0 } }
          : undefined;
  return {
    promiscuity: hasMacvlans(link) ? 1 : 0,
    allmulti: 0,
    min_mtu: isLoopback(link) ? 0 : 68,
    max_mtu: isLoopback(link) ? 0 : 65535,
    ...(info ? { linkinfo: info } : {}),
    ...(genMode ? { inet6_addr_gen_mode: 'eui64' } : {}),
    num_tx_queues: link.kind === 'veth' ? 2 : 1,
    num_rx_queues: link.kind === 'veth' ? 2 : 1,
    gso_max_size: 65536,
    gso_max_segs: 65535,
    tso_max_size: link.kind === 'bridge' ? 65536 : 524280,
    tso_max_segs: 65535,
    gro_max_size: 65536,
  };
}

/** A macvlan puts its master (a veth here, without unicast filtering) in promiscuous mode. */
function hasMacvlans(link: Link): boolean {
  return link.ns.env.namespaces().some((ns) => ns.links.some((l) => l.master === link && !l.gone));
}

export interface LinkJsonOptions {
  readonly details: boolean;
  /**
   * `ip address show`: link-layer fields only without a family filter; linkmode, ifalias and
   * inet6_addr_gen_mode only when `full` (after a `link show` in the same batch).
   */
  readonly addresses?: {
    readonly family?: Family;
    readonly entries: readonly Address[];
    readonly full?: boolean;
  };
}

export function linkJson(viewer: Netns, link: Link, options: LinkJsonOptions): Json {
  const lower = lowerOf(viewer, link);
  const showLinkLayer = !options.addresses || options.addresses.family === undefined;
  const out: Json = { ifindex: link.ifindex };
  if (lower.same) out.link = lower.same.name;
  if (lower.other) out.link_index = lower.other.ifindex;
  Object.assign(out, {
    ifname: link.name,
    flags: linkFlags(link),
    mtu: link.mtu,
    qdisc: qdisc(link),
    operstate: operstate(link),
  });
  const full = !options.addresses || options.addresses.full === true;
  if (full) out.linkmode = 'DEFAULT';
  out.group = 'default';
  out.txqlen = 1000;
  if (showLinkLayer) {
    out.link_type = isLoopback(link) ? 'loopback' : 'ether';
    out.address = link.mac;
    out.broadcast = isLoopback(link) ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff';
  }
  if (lower.other) out.link_netnsid = viewer.peerId(lower.other.ns);
  if (options.details) Object.assign(out, detailsJson(link, full));
  if (full && link.alias !== undefined) out.ifalias = link.alias;
  if (options.addresses) out.addr_info = options.addresses.entries.map(addressJson);
  return out;
}

function addressFlags(a: Address): string[] {
  const flags: string[] = [];
  if (a.secondary) flags.push('secondary');
  if (a.nodad) flags.push('nodad');
  if (a.dadfailed) flags.push('dadfailed');
  if (a.tentative) flags.push('tentative');
  return flags;
}

export function addressJson(a: Address): Json {
  const out: Json = {
    family: a.family === 4 ? 'inet' : 'inet6',
    local: formatIp(a.ip),
    prefixlen: a.prefixlen,
    scope: a.scope,
  };
  for (const flag of addressFlags(a)) out[flag] = true;
  if (a.family === 4) out.label = a.link.name;
  out.valid_life_time = FOREVER;
  out.preferred_life_time = FOREVER;
  return out;
}

export interface RouteJsonOptions {
  readonly details: boolean;
  /** No `table` filter was given (or `table all`): routes outside main say which table. */
  readonly showTable: boolean;
  /** Filtered by `dev X`: ip leaves the device out. */
  readonly omitDev?: boolean;
}

export function routeJson(r: Route, options: RouteJsonOptions): Json {
  const out: Json = {};
  if (r.type !== 'unicast' || options.details) out.type = r.type;
  out.dst = formatDestination(r.dst);
  if (r.gateway) out.gateway = formatIp(r.gateway);
  if (r.dev && !options.omitDev) out.dev = r.dev.name;
  if (options.showTable && (r.table !== 254 || options.details)) out.table = tableName(r.table);
  if (r.protocol !== RTPROT.boot || options.details) out.protocol = protocolName(r.protocol);
  if (r.scope !== RT_SCOPE.universe || options.details) out.scope = scopeName(r.scope);
  if (r.prefsrc) out.prefsrc = formatIp(r.prefsrc);
  if (r.family === 6 || r.metric !== 0) out.metric = r.metric;
  out.flags = r.onlink ? ['onlink'] : [];
  if (r.family === 6) out.pref = 'medium';
  return out;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function ruleJson(rule: PolicyRule, details: boolean): Json {
  const out: Json = { priority: rule.priority, src: 'all' };
  if (rule.fwmark !== undefined) {
    out.fwmark = hex(rule.fwmark);
    if (rule.fwmask !== undefined && rule.fwmask !== 0xffffffff) out.fwmask = hex(rule.fwmask);
  }
  if (rule.table === undefined) out.nop = null;
  else out.table = tableName(rule.table);
  if (details || (rule.protocol !== RTPROT.unspec && rule.protocol !== RTPROT.kernel))
    out.protocol = protocolName(rule.protocol);
  return out;
}

export function neighbourJson(n: Neighbour, showDev: boolean): Json {
  return {
    dst: formatIp(n.ip),
    ...(showDev ? { dev: n.link.name } : {}),
    ...(n.lladdr ? { lladdr: n.lladdr } : {}),
    state: [n.state],
  };
}

// ---- `ip -o monitor` lines ----

const deleted = (removed: boolean): string => (removed ? 'Deleted ' : '');

export function linkLine(viewer: Netns, link: Link, removed = false, suffix = ''): string {
  const lower = lowerOf(viewer, link);
  const at = lower.same ? `@${lower.same.name}` : lower.other ? `@if${lower.other.ifindex}` : '';
  const kind = isLoopback(link) ? 'loopback' : 'ether';
  const brd = isLoopback(link) ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff';
  const netns = lower.other ? ` ${viewer.peerLabel(lower.other.ns)}` : '';
  return (
    `${deleted(removed)}${link.ifindex}: ${link.name}${at}: <${linkFlags(link).join(',')}> mtu ${link.mtu} ` +
    `qdisc ${qdisc(link)} state ${operstate(link)} group default \\    link/${kind} ${link.mac} brd ${brd}${netns}${suffix}`
  );
}

export function addressLine(a: Address, removed = false): string {
  const flags = addressFlags(a)
    .map((f) => ` ${f}`)
    .join('');
  const label = a.family === 4 ? ` ${a.link.name}` : ' ';
  return (
    `${deleted(removed)}${a.link.ifindex}: ${a.link.name}    ${a.family === 4 ? 'inet' : 'inet6'} ` +
    `${formatIp(a.ip)}/${a.prefixlen} scope ${a.scope}${flags}${label}\\       valid_lft forever preferred_lft forever`
  );
}

export function routeLine(r: Route, removed = false): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(formatDestination(r.dst));
  if (r.gateway) parts.push(`via ${formatIp(r.gateway)}`);
  if (r.dev) parts.push(`dev ${r.dev.name}`);
  if (r.table !== 254) parts.push(`table ${tableName(r.table)}`);
  if (r.protocol !== RTPROT.boot) parts.push(`proto ${protocolName(r.protocol)}`);
  if (r.scope !== RT_SCOPE.universe) parts.push(`scope ${scopeName(r.scope)}`);
  if (r.prefsrc) parts.push(`src ${formatIp(r.prefsrc)}`);
  if (r.family === 6 || r.metric !== 0) parts.push(`metric ${r.metric}`);
  if (r.onlink) parts.push('onlink');
  const tail = r.family === 6 ? ' pref medium' : ' ';
  return `${deleted(removed)}${parts.join(' ')}${tail}`;
}

export function ruleLine(rule: PolicyRule, removed = false): string {
  const parts = ['from all'];
  if (rule.fwmark !== undefined) {
    const mask = rule.fwmask !== undefined && rule.fwmask !== 0xffffffff ? `/${hex(rule.fwmask)}` : '';
    parts.push(`fwmark ${hex(rule.fwmark)}${mask}`);
  }
  parts.push(rule.table === undefined ? 'nop' : `lookup ${tableName(rule.table)}`);
  if (rule.protocol !== RTPROT.unspec && rule.protocol !== RTPROT.kernel)
    parts.push(`proto ${protocolName(rule.protocol)}`);
  return `${deleted(removed)}${rule.priority}:\t${parts.join(' ')}`;
}
