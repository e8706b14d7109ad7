/** Typed wrappers around `ip -json`. Reads parse the JSON; writes are argument arrays. */
import type { Family } from '../config/model.js';
import { CommandError, type Runner } from '../system/command.js';

export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly operstate?: string;
  readonly address?: string;
  readonly ifalias?: string;
  readonly linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

export interface AddressInfo {
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
  readonly scope: string;
  readonly tentative?: boolean;
  readonly dadfailed?: boolean;
}

export interface RouteInfo {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly scope?: string;
  readonly metric?: number;
  readonly flags?: readonly string[];
}

/** Routes the agent adds carry this protocol number, so it can tell its own from others. */
export const AGENT_ROUTE_PROTO = '77';

const familyFlag = (family: Family): string => (family === 4 ? '-4' : '-6');

async function json<T>(runner: Runner, args: readonly string[]): Promise<T> {
  const out = await runner.run(['ip', '-json', ...args]);
  return (out.trim() ? JSON.parse(out) : []) as T;
}

export async function listLinks(runner: Runner): Promise<LinkInfo[]> {
  return json<LinkInfo[]>(runner, ['-details', 'link', 'show']);
}

export async function findLink(runner: Runner, name: string): Promise<LinkInfo | undefined> {
  return (await listLinks(runner)).find((l) => l.ifname === name);
}

export async function listAddresses(
  runner: Runner,
  device?: string,
): Promise<(AddressInfo & { ifname: string })[]> {
  const entries = await json<{ ifname: string; addr_info?: AddressInfo[] }[]>(runner, [
    'address',
    'show',
    ...(device ? ['dev', device] : []),
  ]);
  return entries.flatMap((e) => (e.addr_info ?? []).map((a) => ({ ...a, ifname: e.ifname })));
}

export async function listRoutes(runner: Runner, family: Family, table = 'main'): Promise<RouteInfo[]> {
  try {
    return await json<RouteInfo[]>(runner, [familyFlag(family), 'route', 'show', 'table', table]);
  } catch (error) {
    // A table with no routes does not exist for the kernel: that is an empty table.
    if (error instanceof CommandError && /table does not exist/.test(error.stderr)) return [];
    throw error;
  }
}

export interface RuleInfo {
  readonly priority: number;
  readonly fwmark?: string;
  readonly table?: string;
  readonly protocol?: string;
}

export async function listRules(runner: Runner, family: Family): Promise<RuleInfo[]> {
  return json<RuleInfo[]>(runner, [familyFlag(family), 'rule', 'show']);
}

export const ip = (runner: Runner, args: readonly string[]): Promise<string> => runner.run(['ip', ...args]);

export function routeArgs(
  family: Family,
  route: {
    dst: string;
    gateway?: string;
    dev: string;
    protocol?: string;
    metric?: number;
    scope?: string;
    table?: string;
  },
): string[] {
  return [
    familyFlag(family),
    'route',
    'replace',
    route.dst,
    ...(route.gateway ? ['via', route.gateway] : []),
    'dev',
    route.dev,
    ...(route.table ? ['table', route.table] : []),
    ...(route.scope ? ['scope', route.scope] : []),
    ...(route.protocol ? ['proto', route.protocol] : []),
    ...(route.metric !== undefined ? ['metric', String(route.metric)] : []),
  ];
}

export function deleteRouteArgs(family: Family, route: RouteInfo & { table?: string }): string[] {
  return [
    familyFlag(family),
    'route',
    'delete',
    route.dst,
    ...(route.gateway ? ['via', route.gateway] : []),
    ...(route.dev ? ['dev', route.dev] : []),
    ...(route.table ? ['table', route.table] : []),
    ...(route.metric !== undefined ? ['metric', String(route.metric)] : []),
  ];
}
