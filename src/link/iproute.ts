/**
 * What `ip -json` prints, typed, and the argument lists the agent writes. One read of a whole
 * namespace (`observeNamespace`) replaces the many small listings of the first version.
 */
import type { Family } from '../config/model.js';
import type { Runner } from '../system/command.js';

export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly operstate?: string;
  readonly address?: string;
  readonly ifalias?: string;
  /** The lower device's name when it is in the same namespace. */
  readonly link?: string | null;
  /** The lower device's ifindex, when it lives in another namespace (`link_netnsid` set). */
  readonly link_index?: number;
  readonly link_netnsid?: number;
  readonly linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

export interface AddressInfo {
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
  readonly scope: string;
  readonly tentative?: boolean;
  readonly dadfailed?: boolean;
  /** IPv4: a secondary address of its subnet (deleting the primary deletes it too). */
  readonly secondary?: boolean;
}

export interface DeviceAddress extends AddressInfo {
  readonly ifname: string;
}

export interface RouteInfo {
  /** `default`, an address (host route, printed without /32 or /128), or a CIDR. */
  readonly dst: string;
  readonly type?: string;
  readonly gateway?: string;
  readonly dev?: string;
  /** Absent for the main table. */
  readonly table?: string;
  readonly protocol?: string;
  readonly scope?: string;
  readonly metric?: number;
  readonly prefsrc?: string;
  readonly flags?: readonly string[];
}

export interface RuleInfo {
  readonly priority: number;
  readonly fwmark?: string;
  readonly table?: string;
  readonly protocol?: string;
  readonly nop?: null;
}

/** One namespace as the kernel shows it, read in one go. */
export interface NamespaceState {
  readonly links: readonly LinkInfo[];
  readonly addresses: readonly DeviceAddress[];
  /** Every table, both families; `family` added from the destination or gateway. */
  readonly routes: readonly (RouteInfo & { readonly family: Family })[];
  readonly rules: Readonly<Record<Family, readonly RuleInfo[]>>;
}

/** Routes and rules the agent adds carry this protocol number, so it can tell its own from others. */
export const AGENT_ROUTE_PROTO = '77';

export const familyFlag = (family: Family): '-4' | '-6' => (family === 4 ? '-4' : '-6');

/** `ip -json` prints host routes without their prefix length; compare in CIDR form. */
export const normalDst = (dst: string): string =>
  dst === 'default' || dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;

export const routeText = (r: {
  dst: string;
  gateway?: string | undefined;
  dev?: string | undefined;
}): string => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;

const OBSERVE_LINES = ['link show', 'address show', 'route show table all', 'rule show'] as const;

function parseArrays(out: string, expected: number): unknown[][] {
  const lines = out.split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== expected)
    throw new Error(`ip -batch printed ${lines.length} listing(s), expected ${expected}`);
  return lines.map((line) => JSON.parse(line) as unknown[]);
}

/** `route show table all` lists both families; the kernel tags every IPv6 route with a preference. */
function routeFamily(route: RouteInfo & { pref?: string }): Family {
  if (route.pref !== undefined) return 6;
  const probe = route.dst === 'default' ? (route.gateway ?? '') : route.dst;
  return probe.includes(':') ? 6 : 4;
}

/**
 * Reads a namespace: links (with details), addresses, routes of every table and policy rules.
 * Two processes: one `ip -batch` for everything, and the IPv6 rules (a batch line cannot carry
 * a family).
 */
export async function observeNamespace(runner: Runner, signal?: AbortSignal): Promise<NamespaceState> {
  const batch = runner.run(['ip', '-json', '-details', '-batch', '-'], {
    input: `${OBSERVE_LINES.join('\n')}\n`,
    ...(signal ? { signal } : {}),
  });
  const rules6 = runner.run(['ip', '-6', '-json', 'rule', 'show'], signal ? { signal } : {});
  // Both awaited together: a stop aborts both, and a rejection left unawaited would end the process.
  const [batchOut, rules6Out] = await Promise.all([batch, rules6]);
  const [links, addressed, routes, rules4] = parseArrays(batchOut, OBSERVE_LINES.length) as [
    LinkInfo[],
    (LinkInfo & { addr_info?: AddressInfo[] })[],
    RouteInfo[],
    RuleInfo[],
  ];
  const v6 = rules6Out.trim();
  return {
    links,
    addresses: addressed.flatMap((l) => (l.addr_info ?? []).map((a) => ({ ...a, ifname: l.ifname }))),
    routes: routes.map((r) => ({ ...r, family: routeFamily(r) })),
    rules: { 4: rules4, 6: v6 ? (JSON.parse(v6) as RuleInfo[]) : [] },
  };
}

const MASTER_LINES = ['link show', 'address show', 'route show table all'] as const;

/**
 * Reads the master's namespace (another one than the pod's): its links, addresses and routes,
 * from which the master, its MTU and the gateways are found. One process: its policy rules are
 * never the agent's and nothing reads them.
 */
export async function observeMasterNamespace(runner: Runner, signal?: AbortSignal): Promise<NamespaceState> {
  const out = await runner.run(['ip', '-json', '-details', '-batch', '-'], {
    input: `${MASTER_LINES.join('\n')}\n`,
    ...(signal ? { signal } : {}),
  });
  const [links, addressed, routes] = parseArrays(out, MASTER_LINES.length) as [
    LinkInfo[],
    (LinkInfo & { addr_info?: AddressInfo[] })[],
    RouteInfo[],
  ];
  return {
    links,
    addresses: addressed.flatMap((l) => (l.addr_info ?? []).map((a) => ({ ...a, ifname: l.ifname }))),
    routes: routes.map((r) => ({ ...r, family: routeFamily(r) })),
    rules: { 4: [], 6: [] },
  };
}

export interface RouteSpec {
  readonly family: Family;
  /** `default` or a CIDR. */
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
  readonly table?: string;
  readonly scope?: string;
  readonly protocol?: string;
  readonly metric?: number;
}

/** `route replace|delete …` arguments (no leading `ip`, no family flag: the batch carries it). */
export function routeArgs(verb: 'replace' | 'delete', route: RouteSpec): string[] {
  return [
    'route',
    verb,
    route.dst,
    ...(route.gateway ? ['via', route.gateway] : []),
    'dev',
    route.dev,
    ...(route.table && route.table !== 'main' ? ['table', route.table] : []),
    ...(route.scope && verb === 'replace' ? ['scope', route.scope] : []),
    ...(route.protocol ? ['proto', route.protocol] : []),
    ...(route.metric !== undefined ? ['metric', String(route.metric)] : []),
  ];
}

/** The spec that recreates a listed route exactly (for undo), keeping its own protocol. */
export function specOf(route: RouteInfo & { family: Family }): RouteSpec {
  const protocol = route.protocol && route.protocol !== 'unspec' ? route.protocol : undefined;
  return {
    family: route.family,
    dst: normalDst(route.dst),
    ...(route.gateway ? { gateway: route.gateway } : {}),
    dev: route.dev ?? '',
    ...(route.table ? { table: route.table } : {}),
    ...(protocol ? { protocol } : {}),
    ...(route.metric !== undefined ? { metric: route.metric } : {}),
  };
}
