/**
 * The FIB of a fake namespace: route add/replace/delete with the kernel's checks and errors,
 * the dump order, and the routes the kernel itself adds and removes.
 */
import {
  compareDestinations,
  contains,
  type Family,
  type Ip,
  networkOf,
  type Prefix,
  sameIp,
  samePrefix,
} from '../addr.js';
import { extack, rtnetlink, ToolError } from '../errors.js';
import { routeLine } from '../ip/render.js';
import type { Link, Netns, Route, RouteType } from '../state.js';

const tableKey = (family: Family, table: number): string => `${family}:${table}`;

/** Adds a route the kernel made (connected, local, broadcast…) and tells the monitors. */
export function insertRoute(ns: Netns, route: Route, notify = true): void {
  ns.tables.add(tableKey(route.family, route.table));
  ns.routes.push(route);
  if (notify) ns.emit('route', routeLine(route));
}

/** Removes routes. The kernel flushes IPv4 routes of a dead device without telling anyone. */
export function removeRoutes(ns: Netns, match: (r: Route) => boolean, notify: boolean): Route[] {
  const removed = ns.routes.filter(match);
  for (const route of removed) {
    ns.routes.splice(ns.routes.indexOf(route), 1);
    if (notify) ns.emit('route', routeLine(route, true));
  }
  return removed;
}

/** Tables in the kernel's hash-bucket order (id mod 256), then each table's own dump order. */
export function dumpOrder(ns: Netns, family?: Family): Route[] {
  const routes = ns.routes.filter((r) => family === undefined || r.family === family);
  const order = new Map(routes.map((r, i) => [r, i]));
  return routes.sort(
    (a, b) =>
      a.family - b.family ||
      (a.table & 255) - (b.table & 255) ||
      a.table - b.table ||
      compareDestinations(a.dst, b.dst) ||
      a.metric - b.metric ||
      (order.get(a) ?? 0) - (order.get(b) ?? 0),
  );
}

export const tableExists = (ns: Netns, family: Family, table: number): boolean =>
  ns.tables.has(tableKey(family, table));

export function createTable(ns: Netns, family: Family, table: number): void {
  ns.tables.add(tableKey(family, table));
}

export interface RouteRequest {
  readonly family: Family;
  readonly table: number;
  readonly type: RouteType;
  readonly dst: Prefix;
  readonly gateway?: Ip;
  readonly dev?: Link;
  readonly protocol?: number;
  readonly scope?: number;
  readonly metric?: number;
  readonly onlink: boolean;
}

/** The most specific directly connected route (no gateway) covering `ip`, as a nexthop check finds. */
function connectedRoute(ns: Netns, ip: Ip, tables: readonly number[]): Route | undefined {
  const candidates = ns.routes.filter(
    (r) =>
      r.family === ip.family &&
      tables.includes(r.table) &&
      !r.gateway &&
      (r.type === 'unicast' || r.type === 'local') &&
      (r.family === 6 || r.scope >= 253) &&
      contains(r.dst, ip),
  );
  return candidates.sort((a, b) => b.dst.length - a.dst.length)[0];
}

function checkNexthop(ns: Netns, req: RouteRequest): void {
  const dev = req.dev;
  if (!dev) {
    if (req.type === 'unicast' && !req.gateway) throw rtnetlink('No such device');
    return;
  }
  const tables = req.table === 254 ? [255, 254] : [req.table, 255, 254];
  if (req.gateway && !req.onlink) {
    if (req.family === 4) {
      const via = connectedRoute(ns, req.gateway, tables);
      if (via?.type !== 'unicast' || via.dev !== dev) throw extack('Nexthop has invalid gateway.');
    } else {
      const linkLocal = req.gateway.value >> 118n === 0x3fan; // fe80::/10
      const via = linkLocal ? undefined : connectedRoute(ns, req.gateway, tables);
      if (!linkLocal && (!via || via.dev !== dev)) throw rtnetlink('No route to host');
    }
  }
  if (!dev.up) {
    throw extack(
      req.family === 4 && !req.gateway ? 'Device for nexthop is not up.' : 'Nexthop device is not up.',
    );
  }
}

function defaultScope(req: RouteRequest): number {
  if (req.family === 6) return 0;
  if (req.scope !== undefined) return req.scope;
  if (req.type === 'local') return 254;
  if (req.type === 'broadcast' || req.type === 'multicast') return 253;
  return req.type === 'unicast' && !req.gateway ? 253 : 0;
}

const sameSlot = (r: Route, family: Family, table: number, dst: Prefix, metric: number): boolean =>
  r.family === family && r.table === table && samePrefix(r.dst, dst) && r.metric === metric;

/** `ip route add` (fails when the slot is taken) or `ip route replace` (takes the slot over). */
export function addRoute(ns: Netns, req: RouteRequest, mode: 'add' | 'replace'): void {
  if (req.family === 4 && networkOf(req.dst).value !== req.dst.value)
    throw extack('Invalid prefix for given prefix length.');
  checkNexthop(ns, req);
  const metric = req.metric ?? (req.family === 6 ? 1024 : 0);
  const dst = networkOf(req.dst);
  const route: Route = {
    family: req.family,
    table: req.table,
    type: req.type,
    dst,
    ...(req.gateway ? { gateway: req.gateway } : {}),
    ...(req.dev ? { dev: req.dev } : {}),
    protocol: req.protocol ?? 3,
    scope: defaultScope(req),
    metric,
    onlink: req.onlink,
  };
  const existing = ns.routes.findIndex((r) => sameSlot(r, req.family, req.table, dst, metric));
  if (existing >= 0) {
    if (mode === 'add') throw rtnetlink('File exists');
    ns.routes[existing] = route;
    ns.emit('route', routeLine(route));
    return;
  }
  insertRoute(ns, route);
}

/** What `ip route delete` matches on: the given attributes only. */
export type RouteSelector = Omit<RouteRequest, 'scope' | 'onlink'>;

/** `ip route delete`: the first route of the table that matches every given attribute. */
export function deleteRoute(ns: Netns, sel: RouteSelector): void {
  const dst = networkOf(sel.dst);
  const sameDst = ns.routes.filter(
    (r) => r.family === sel.family && r.table === sel.table && samePrefix(r.dst, dst),
  );
  // The IPv6 tree's root (::/0) always exists; without a default route on it the kernel says ENOENT.
  if (sel.family === 6 && sameDst.length === 0 && dst.length === 0)
    throw rtnetlink('No such file or directory');
  const match = dumpOrder(ns, sel.family).find(
    (r) =>
      sameDst.includes(r) &&
      (sel.family === 6 || r.type === sel.type) &&
      (sel.dev === undefined || r.dev === sel.dev) &&
      (sel.gateway === undefined || (r.gateway !== undefined && sameIp(r.gateway, sel.gateway))) &&
      (sel.protocol === undefined || r.protocol === sel.protocol) &&
      (sel.metric === undefined || r.metric === sel.metric),
  );
  if (!match) throw rtnetlink('No such process');
  removeRoutes(ns, (r) => r === match, true);
}

/** `ip route show table T` of a table that was never created fails like the kernel's dump. */
export function tableMissing(family: Family, json: boolean): ToolError {
  return new ToolError(`Error: ipv${family}: FIB table does not exist.\nDump terminated`, 2, json ? '[' : '');
}
