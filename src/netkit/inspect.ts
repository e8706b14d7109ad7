/**
 * Reading back what the agent changed in a pod (or any namespace of a topology): routes, links,
 * addresses, the nftables ruleset and the agent's maps, sysctls, policy rules. Readers only: the
 * expectations live with the tests (test/netns/kit/). `pod` arguments default to the first pod.
 */
import { pollUntil } from './process.js';
import type { Topology } from './topology.js';

/** The agent's table. */
export const AGENT_TABLE = ['inet', 'egress_router'] as const;

interface Json {
  [key: string]: unknown;
}

const sortedJson = (items: readonly unknown[]): string[] => items.map((i) => JSON.stringify(i)).sort();
const first = (topo: Topology, pod?: string): string => pod ?? topo.pod().role;

/** `ip -j route` of both families (main table), sorted, for exact before/after comparisons. */
export async function routes(topo: Topology, ns?: string): Promise<{ v4: string[]; v6: string[] }> {
  const where = first(topo, ns);
  const [v4, v6] = await Promise.all([
    topo.ipJson<Json[]>(where, ['-4', 'route', 'show', 'table', 'main']),
    topo.ipJson<Json[]>(where, ['-6', 'route', 'show', 'table', 'main']),
  ]);
  return { v4: sortedJson(v4 ?? []), v6: sortedJson(v6 ?? []) };
}

export async function linkNames(topo: Topology, ns: string): Promise<string[]> {
  const links = await topo.ipJson<{ ifname: string }[]>(ns, ['link', 'show']);
  return (links ?? []).map((l) => l.ifname).sort();
}

/** Global addresses of a device as CIDRs (empty when the device does not exist). */
export async function globalAddresses(topo: Topology, ns: string, dev: string): Promise<string[]> {
  const shown = await topo.ip(ns, ['-j', 'address', 'show', 'dev', dev], { reject: false });
  if (shown.failed) return [];
  const entries = JSON.parse(shown.stdout || '[]') as {
    addr_info?: { local: string; prefixlen: number; scope: string }[];
  }[];
  return entries
    .flatMap((e) => e.addr_info ?? [])
    .filter((a) => a.scope === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

export async function ruleset(topo: Topology, ns?: string): Promise<string> {
  return (await topo.exec(first(topo, ns), ['nft', 'list', 'ruleset'])).stdout.trim();
}

/** `sysctl KEY…` output (`key = value` lines). */
export async function sysctls(topo: Topology, ns: string, keys: readonly string[]): Promise<string> {
  return (await topo.exec(ns, ['sysctl', ...keys])).stdout.trim();
}

/** Everything the agent may touch in a pod (and its node's links), to prove nothing changed. */
export async function podSnapshot(topo: Topology, pod?: string): Promise<Record<string, unknown>> {
  const where = topo.pod(pod);
  const addresses = await topo.ipJson<
    { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[]
  >(where.role, ['address', 'show']);
  return {
    links: await linkNames(topo, where.role),
    nodeLinks: await linkNames(topo, where.node),
    addresses: (addresses ?? [])
      .flatMap((e) => (e.addr_info ?? []).map((a) => `${e.ifname} ${a.local}/${a.prefixlen}`))
      .sort(),
    routes: await routes(topo, where.role),
    ruleset: await ruleset(topo, where.role),
    sysctls: await sysctls(topo, where.role, ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']),
  };
}

/** The elements of one of the agent's maps: `tcp . 80` → its value and (counter maps) packet count. */
export async function mapElements(
  topo: Topology,
  map: string,
  pod?: string,
): Promise<Map<string, { value: string; packets?: number }>> {
  const out = (await topo.exec(first(topo, pod), ['nft', '-j', 'list', 'map', ...AGENT_TABLE, map])).stdout;
  const listed = (JSON.parse(out) as { nftables: Json[] }).nftables.find((o) => 'map' in o)?.map as
    | { elem?: unknown[] }
    | undefined;
  const elements = new Map<string, { value: string; packets?: number }>();
  for (const element of listed?.elem ?? []) {
    const [key, value] = element as [
      { concat?: unknown[]; elem?: { val?: { concat?: unknown[] }; counter?: { packets?: number } } },
      unknown,
    ];
    const concat = key.elem?.val?.concat ?? key.concat ?? [];
    const packets = key.elem?.counter?.packets;
    elements.set(concat.map(String).join(' . '), {
      value: String(value),
      ...(packets === undefined ? {} : { packets }),
    });
  }
  return elements;
}

export async function podHasLink(topo: Topology, name: string, pod?: string): Promise<boolean> {
  return !(await topo.ip(first(topo, pod), ['link', 'show', 'dev', name], { reject: false })).failed;
}

/** Whether the agent's table exists. */
export async function podHasTable(topo: Topology, pod?: string): Promise<boolean> {
  return !(await topo.exec(first(topo, pod), ['nft', 'list', 'table', ...AGENT_TABLE], { reject: false }))
    .failed;
}

export interface RouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly metric?: number;
  readonly table?: string;
}

/** IPv4 routes of the main table. */
export async function podRoutes(topo: Topology, pod?: string): Promise<RouteEntry[]> {
  return topo.ipJson<RouteEntry[]>(first(topo, pod), ['-4', 'route', 'show']);
}

/** IPv4 routes of every table (local and main included). */
export async function podRoutesAllTables(topo: Topology, pod?: string): Promise<RouteEntry[]> {
  return topo.ipJson<RouteEntry[]>(first(topo, pod), ['-4', 'route', 'show', 'table', 'all']);
}

/** IPv4 policy routing rules. */
export async function podRules(topo: Topology, pod?: string): Promise<unknown[]> {
  return topo.ipJson<unknown[]>(first(topo, pod), ['-4', 'rule', 'show']);
}

/**
 * A usable (not tentative, not failed) IPv6 link-local address of `dev`, once it has one, e.g.
 * what VRRP signals from. `exclude` skips addresses that are not the interface's own (a VIP).
 */
export async function waitForLinkLocal(
  topo: Topology,
  ns: string,
  dev: string,
  options: { exclude?: (address: string) => boolean; timeoutMs?: number } = {},
): Promise<string> {
  let found = '';
  await pollUntil(
    async () => {
      const shown = await topo.ip(ns, ['-j', '-6', 'address', 'show', 'dev', dev, 'scope', 'link'], {
        reject: false,
      });
      const entries = JSON.parse(shown.stdout || '[]') as {
        addr_info?: { local: string; tentative?: boolean; dadfailed?: boolean }[];
      }[];
      const usable = entries
        .flatMap((e) => e.addr_info ?? [])
        .find((a) => !a.tentative && !a.dadfailed && !(options.exclude?.(a.local) ?? false));
      found = usable?.local ?? '';
      return found !== '';
    },
    options.timeoutMs ?? 10_000,
    `a usable IPv6 link-local address on ${ns}/${dev}`,
  );
  return found;
}
