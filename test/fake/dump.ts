/**
 * A namespace's state as stable, sorted text for `expect(fake.dump()).toBe(…)`: what the agent
 * sets up, without what the kernel always has (loopback addresses, fe80:: link-locals and their
 * routes, the local table, the default rules, sysctls at their defaults, per-device forwarding
 * keys that only follow ip_forward / conf.all.forwarding), and without MACs, ifindexes,
 * handles or counters.
 */
import { compareDestinations, formatIp } from './addr.js';
import { routeLine, ruleLine } from './ip/render.js';
import { hasCarrier } from './linkState.js';
import { tableBlock } from './nft/text.js';
import type { Address, Link, Netns, Route } from './state.js';
import { defaultOf } from './sysctl.js';

const where = (viewer: Netns, link: Link): string =>
  link.ns === viewer ? link.name : `${link.ns.name}:${link.name}`;

function linkText(ns: Netns, link: Link): string {
  const parts = [`link ${link.name} ${link.kind}`];
  if (link.mode) parts.push(`mode ${link.mode}`);
  if (link.master && !link.master.gone) parts.push(`master ${where(ns, link.master)}`);
  if (link.peer && !link.peer.gone) parts.push(`peer ${where(ns, link.peer)}`);
  parts.push(link.up ? 'up' : 'down');
  if (link.up && !hasCarrier(link)) parts.push('no-carrier');
  parts.push(`mtu ${link.mtu}`);
  if (link.alias !== undefined) parts.push(`alias ${JSON.stringify(link.alias)}`);
  return parts.join(' ');
}

function addressText(a: Address): string {
  const flags = [
    a.secondary && 'secondary',
    a.nodad && 'nodad',
    a.dadfailed && 'dadfailed',
    a.tentative && 'tentative',
  ];
  return [`address ${a.link.name} ${formatIp(a.ip)}/${a.prefixlen}`, ...flags.filter(Boolean)].join(' ');
}

/** Routes every namespace has: the local table, IPv6 fe80::/64 and multicast. */
function isBackground(r: Route): boolean {
  if (r.table === 255) return true;
  return (
    r.family === 6 && r.protocol === 2 && r.dst.length === 64 && r.dst.value >> 64n === 0xfe80000000000000n
  );
}

/** A per-device (or `all`/`default`) forwarding key that only echoes its family's switch. */
function followsSwitch(ns: Netns, path: string, value: string): boolean {
  const match = /^net\/(ipv4|ipv6)\/conf\/([^/]+)\/forwarding$/.exec(path);
  if (!match) return false;
  const [, family, device] = match;
  if (family === 'ipv6' && device === 'all') return false;
  const switchKey = family === 'ipv4' ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding';
  return ns.sysctls.get(switchKey) === value;
}

const DEFAULT_RULES = new Set(['4:0:255', '4:32766:254', '4:32767:253', '6:0:255', '6:32766:254']);

export function dumpNamespace(ns: Netns): string {
  const lines: string[] = [];
  for (const link of [...ns.links].sort((a, b) => a.name.localeCompare(b.name)))
    lines.push(linkText(ns, link));
  const addresses = ns.addresses
    .filter((a) => !a.automatic)
    .sort(
      (a, b) =>
        a.link.name.localeCompare(b.link.name) ||
        a.family - b.family ||
        (a.ip.value < b.ip.value ? -1 : a.ip.value > b.ip.value ? 1 : a.prefixlen - b.prefixlen),
    );
  lines.push(...addresses.map(addressText));
  const routes = ns.routes
    .filter((r) => !isBackground(r))
    .sort(
      (a, b) =>
        a.family - b.family || a.table - b.table || compareDestinations(a.dst, b.dst) || a.metric - b.metric,
    );
  lines.push(
    ...routes.map(
      (r) =>
        `route ${routeLine(r)
          .trim()
          .replace(/ pref medium$/, '')}`,
    ),
  );
  const rules = ns.rules.filter(
    (r) => !DEFAULT_RULES.has(`${r.family}:${r.priority}:${r.table}`) || r.protocol !== 2,
  );
  lines.push(
    ...rules.map((r) => `rule ${r.family === 4 ? 'ipv4' : 'ipv6'} ${ruleLine(r).replace('\t', ' ')}`),
  );
  const sysctls = [...ns.sysctls.entries()]
    .filter(([path, value]) => !followsSwitch(ns, path, value))
    .filter(([path, value]) => defaultOf(path) !== value)
    .sort(([a], [b]) => a.localeCompare(b));
  lines.push(...sysctls.map(([path, value]) => `sysctl ${path.split('/').join('.')} = ${value}`));
  const body = lines.join('\n');
  const tables = ns.nft.tables.map(tableBlock).join('\n');
  return `${body}\n${tables}`.replace(/\n+$/, '\n');
}
