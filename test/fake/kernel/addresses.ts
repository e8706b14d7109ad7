/**
 * Addresses and what the kernel does around them: the connected, local and broadcast routes an
 * IPv4 address brings (and takes away), IPv4 secondaries, IPv6 prefix routes, DAD (tentative →
 * ready, or dadfailed when a LAN host holds the address), and the automatic fe80:: link-local.
 */
import {
  broadcastOf,
  contains,
  type Ip,
  linkLocalFromMac,
  networkOf,
  type Prefix,
  sameIp,
  samePrefix,
} from '../addr.js';
import { extack } from '../errors.js';
import { addressLine } from '../ip/render.js';
import type { Address, Link, Netns, Route } from '../state.js';
import { insertRoute, removeRoutes } from './routes.js';

const KERNEL = 2;
const LOCAL_TABLE = 255;
const MAIN_TABLE = 254;

const sysctlOf = (ns: Netns, family: 'ipv4' | 'ipv6', link: Link, key: string): number =>
  Number(ns.sysctls.get(`net/${family}/conf/${link.name}/${key}`) ?? 0);

const prefixOf = (a: Address): Prefix => ({ ...a.ip, length: a.prefixlen });
const hostPrefix = (ip: Ip): Prefix => ({ ...ip, length: ip.family === 4 ? 32 : 128 });

function kernelRoute(fields: Omit<Route, 'protocol' | 'onlink'> & { protocol?: number }): Route {
  return { protocol: KERNEL, onlink: false, ...fields };
}

// ---- IPv4 ----

/** The primary address of the subnet `a` belongs to (itself when it is primary). */
function primaryOf(ns: Netns, a: Address): Address {
  if (!a.secondary) return a;
  return (
    ns
      .addressesOf(a.link)
      .find(
        (p) => p.family === 4 && !p.secondary && p.prefixlen === a.prefixlen && contains(prefixOf(p), a.ip),
      ) ?? a
  );
}

function addIpv4LocalRoute(ns: Netns, a: Address): void {
  const primary = primaryOf(ns, a);
  insertRoute(
    ns,
    kernelRoute({
      family: 4,
      table: LOCAL_TABLE,
      type: 'local',
      dst: hostPrefix(a.ip),
      dev: a.link,
      scope: 254,
      prefsrc: primary.ip,
      metric: 0,
    }),
  );
}

/** The connected and broadcast routes of a primary address on a device that is up. */
function addIpv4SubnetRoutes(ns: Netns, a: Address): void {
  if (a.secondary || !a.link.up) return;
  const loopback = a.link.kind === 'loopback';
  if (a.prefixlen < 32) {
    insertRoute(
      ns,
      kernelRoute({
        family: 4,
        table: loopback ? LOCAL_TABLE : MAIN_TABLE,
        type: loopback ? 'local' : 'unicast',
        dst: networkOf(prefixOf(a)),
        dev: a.link,
        scope: loopback ? 254 : 253,
        prefsrc: a.ip,
        metric: 0,
      }),
    );
  }
  if (a.prefixlen < 31) {
    insertRoute(
      ns,
      kernelRoute({
        family: 4,
        table: LOCAL_TABLE,
        type: 'broadcast',
        dst: hostPrefix(broadcastOf(prefixOf(a))),
        dev: a.link,
        scope: 253,
        prefsrc: a.ip,
        metric: 0,
      }),
    );
  }
}

/** IPv4 primaries go before the device's secondaries; secondaries at the end (kernel list order). */
function insertIpv4(ns: Netns, a: Address): void {
  const firstSecondary = ns.addresses.find((x) => x.link === a.link && x.family === 4 && x.secondary);
  if (a.secondary || !firstSecondary) ns.addresses.push(a);
  else ns.addresses.splice(ns.addresses.indexOf(firstSecondary), 0, a);
}

function removeIpv4(ns: Netns, a: Address): void {
  const promote =
    sysctlOf(ns, 'ipv4', a.link, 'promote_secondaries') ||
    Number(ns.sysctls.get('net/ipv4/conf/all/promote_secondaries'));
  const subnet = (x: Address) =>
    x !== a &&
    x.family === 4 &&
    x.link === a.link &&
    x.secondary &&
    x.prefixlen === a.prefixlen &&
    contains(prefixOf(a), x.ip);
  const secondaries = a.secondary ? [] : ns.addresses.filter(subnet);
  if (!a.secondary && !promote) for (const s of secondaries) removeIpv4(ns, s);
  ns.addresses.splice(ns.addresses.indexOf(a), 1);
  ns.emit('address', addressLine(a, true));
  const fromThis = (r: Route) => r.family === 4 && r.dev === a.link && r.protocol === KERNEL;
  if (!a.secondary) {
    removeRoutes(
      ns,
      (r) => fromThis(r) && r.type !== 'local' && r.prefsrc !== undefined && sameIp(r.prefsrc, a.ip),
      true,
    );
  }
  const stillHeld = ns.addresses.some((x) => x.family === 4 && sameIp(x.ip, a.ip));
  if (!stillHeld) removeRoutes(ns, (r) => fromThis(r) && r.type === 'local' && sameIp(r.dst, a.ip), true);
  const next = promote ? secondaries[0] : undefined;
  if (next) {
    next.secondary = false;
    ns.emit('address', addressLine(next));
    addIpv4SubnetRoutes(ns, next);
  }
  // The last IPv4 address gone: the kernel drops every IPv4 route through the device, silently.
  if (!ns.addresses.some((x) => x.family === 4 && x.link === a.link))
    removeRoutes(ns, (r) => r.family === 4 && r.dev === a.link, false);
}

// ---- IPv6 ----

const scopeRank = (a: Address): number => (a.scope === 'global' ? 0 : a.scope === 'link' ? 0x20 : 0x10);

/** IPv6: sorted by scope (global first), the newest first within a scope. */
function insertIpv6(ns: Netns, a: Address): void {
  const before = ns.addresses.find(
    (x) => x.link === a.link && x.family === 6 && scopeRank(x) >= scopeRank(a),
  );
  if (before) ns.addresses.splice(ns.addresses.indexOf(before), 0, a);
  else ns.addresses.push(a);
}

function prefixRouteOf(a: Address): Route {
  return kernelRoute({
    family: 6,
    table: MAIN_TABLE,
    type: 'unicast',
    dst: networkOf(prefixOf(a)),
    dev: a.link,
    scope: 0,
    metric: 256,
  });
}

function addPrefixRoute(ns: Netns, a: Address): void {
  if (a.prefixlen === 128 || !a.link.up || a.link.kind === 'loopback') return;
  const route = prefixRouteOf(a);
  const exists = ns.routes.some(
    (r) =>
      r.family === 6 &&
      r.table === MAIN_TABLE &&
      r.dev === a.link &&
      r.metric === 256 &&
      samePrefix(r.dst, route.dst),
  );
  if (!exists) insertRoute(ns, route);
}

function addIpv6LocalRoute(ns: Netns, a: Address): void {
  insertRoute(
    ns,
    kernelRoute({
      family: 6,
      table: LOCAL_TABLE,
      type: 'local',
      dst: hostPrefix(a.ip),
      dev: a.link,
      scope: 0,
      metric: 0,
    }),
  );
}

function needsDad(ns: Netns, a: Address): boolean {
  if (a.nodad || a.link.kind === 'loopback') return false;
  return sysctlOf(ns, 'ipv6', a.link, 'accept_dad') > 0 && sysctlOf(ns, 'ipv6', a.link, 'dad_transmits') > 0;
}

function startDad(ns: Netns, a: Address): void {
  if (!a.tentative || a.dadfailed || !a.link.up || a.cancelDad) return;
  a.cancelDad = ns.env.clock.after(ns.env.timing.dadMs, () => {
    a.cancelDad = undefined;
    if (!ns.addresses.includes(a)) return;
    if (ns.env.lan.answering(a.ip)) {
      a.dadfailed = true;
      ns.emit('address', addressLine(a));
      return;
    }
    a.tentative = false;
    ns.emit('address', addressLine(a));
    addIpv6LocalRoute(ns, a);
  });
}

function removeIpv6(ns: Netns, a: Address): void {
  a.cancelDad?.();
  ns.addresses.splice(ns.addresses.indexOf(a), 1);
  ns.emit('address', addressLine(a, true));
  removeRoutes(
    ns,
    (r) =>
      r.family === 6 &&
      r.table === LOCAL_TABLE &&
      r.type === 'local' &&
      r.dev === a.link &&
      sameIp(r.dst, a.ip),
    true,
  );
  const prefix = networkOf(prefixOf(a));
  const shared = ns.addresses.some(
    (x) =>
      x.family === 6 &&
      x.link === a.link &&
      x.prefixlen === a.prefixlen &&
      samePrefix(networkOf(prefixOf(x)), prefix),
  );
  if (!shared)
    removeRoutes(
      ns,
      (r) =>
        r.family === 6 &&
        r.table === MAIN_TABLE &&
        r.dev === a.link &&
        r.protocol === KERNEL &&
        r.metric === 256 &&
        samePrefix(r.dst, prefix),
      true,
    );
}

// ---- the interface used by commands and link events ----

export interface AddressOptions {
  readonly nodad?: boolean;
  readonly automatic?: boolean;
  readonly scope?: Address['scope'];
}

function scopeFor(link: Link, ip: Ip): Address['scope'] {
  if (ip.family === 4) return ip.value >> 24n === 127n ? 'host' : 'global';
  if (link.kind === 'loopback' && ip.value === 1n) return 'host';
  return ip.value >> 118n === 0x3fan ? 'link' : 'global';
}

/** `ip address add`: the same errors as the kernel, then the routes and DAD it starts. */
export function addAddress(link: Link, prefix: Prefix, options: AddressOptions = {}): Address {
  const ns = link.ns;
  const own = ns.addressesOf(link).filter((a) => a.family === prefix.family);
  if (prefix.family === 4 && own.some((a) => sameIp(a.ip, prefix) && a.prefixlen === prefix.length))
    throw extack('ipv4: Address already assigned.');
  if (prefix.family === 6 && own.some((a) => sameIp(a.ip, prefix)))
    throw extack('ipv6: address already assigned.');
  const secondary =
    prefix.family === 4 &&
    own.some(
      (a) =>
        !a.secondary && a.prefixlen === prefix.length && contains({ ...a.ip, length: a.prefixlen }, prefix),
    );
  const address: Address = {
    link,
    family: prefix.family,
    ip: { family: prefix.family, value: prefix.value },
    prefixlen: prefix.length,
    scope: options.scope ?? scopeFor(link, prefix),
    secondary,
    nodad: Boolean(options.nodad),
    tentative: false,
    dadfailed: false,
    automatic: Boolean(options.automatic),
  };
  if (prefix.family === 4) {
    insertIpv4(ns, address);
    ns.emit('address', addressLine(address));
    addIpv4LocalRoute(ns, address);
    addIpv4SubnetRoutes(ns, address);
    return address;
  }
  address.tentative = needsDad(ns, address);
  insertIpv6(ns, address);
  ns.emit('address', addressLine(address));
  addPrefixRoute(ns, address);
  if (address.tentative) startDad(ns, address);
  else addIpv6LocalRoute(ns, address);
  return address;
}

/** `ip address delete`: by address and prefix length, as the kernel matches. */
export function deleteAddress(link: Link, prefix: Prefix): void {
  const ns = link.ns;
  const found = ns
    .addressesOf(link)
    .find((a) => a.family === prefix.family && sameIp(a.ip, prefix) && a.prefixlen === prefix.length);
  if (!found) throw extack(prefix.family === 4 ? 'ipv4: Address not found.' : 'ipv6: address not found.');
  if (found.family === 4) removeIpv4(ns, found);
  else removeIpv6(ns, found);
}

/** Up: the subnet routes of IPv4 addresses come back; IPv6 gets fe80::, prefix routes and DAD. */
export function linkCameUp(link: Link): void {
  const ns = link.ns;
  if (link.kind === 'loopback') {
    if (!ns.addressesOf(link).some((a) => a.family === 4))
      addAddress(link, { family: 4, value: 0x7f000001n, length: 8 }, { automatic: true });
    else for (const a of ns.addressesOf(link)) if (a.family === 4) addIpv4SubnetRoutes(ns, a);
    if (!ns.addressesOf(link).some((a) => a.family === 6))
      addAddress(link, { family: 6, value: 1n, length: 128 }, { automatic: true });
    return;
  }
  for (const a of ns.addressesOf(link)) if (a.family === 4) addIpv4SubnetRoutes(ns, a);
  insertRoute(
    ns,
    kernelRoute({
      family: 6,
      table: LOCAL_TABLE,
      type: 'multicast',
      dst: { family: 6, value: 0xffn << 120n, length: 8 },
      dev: link,
      scope: 0,
      metric: 256,
    }),
  );
  for (const a of ns.addressesOf(link)) {
    if (a.family !== 6) continue;
    addPrefixRoute(ns, a);
    startDad(ns, a);
  }
  const linkLocal = linkLocalFromMac(link.mac);
  if (!ns.addressesOf(link).some((a) => a.family === 6 && sameIp(a.ip, linkLocal)))
    addAddress(link, { ...linkLocal, length: 64 }, { automatic: true });
}

/**
 * Down (or leaving the namespace): IPv4 addresses stay but every IPv4 route through the device
 * except its local ones goes, silently; IPv6 addresses and routes go (keep_addr_on_down=0).
 */
export function linkWentDown(link: Link): void {
  const ns = link.ns;
  removeRoutes(ns, (r) => r.family === 4 && r.dev === link && r.type !== 'local', false);
  removeRoutes(ns, (r) => r.family === 6 && r.dev === link, true);
  for (const a of ns.addressesOf(link)) {
    if (a.family !== 6) continue;
    a.cancelDad?.();
    ns.addresses.splice(ns.addresses.indexOf(a), 1);
    ns.emit('address', addressLine(a, true));
  }
  for (const n of ns.neighbours.filter((x) => x.link === link))
    ns.neighbours.splice(ns.neighbours.indexOf(n), 1);
}

/** The device is deleted or moved away: everything of it goes. */
export function linkRemoved(link: Link): void {
  const ns = link.ns;
  if (link.up) linkWentDown(link);
  for (const a of ns.addressesOf(link)) {
    a.cancelDad?.();
    ns.addresses.splice(ns.addresses.indexOf(a), 1);
    ns.emit('address', addressLine(a, true));
  }
  removeRoutes(ns, (r) => r.dev === link, false);
  for (const n of ns.neighbours.filter((x) => x.link === link))
    ns.neighbours.splice(ns.neighbours.indexOf(n), 1);
}
