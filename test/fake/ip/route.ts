/** `ip route add|replace|delete|show`. */
import type { Family, Ip, Prefix } from '../addr.js';
import { garbage, ToolError } from '../errors.js';
import { addRoute, deleteRoute, dumpOrder, tableExists, tableMissing } from '../kernel/routes.js';
import type { Link, RouteType } from '../state.js';
import {
  addressArg,
  device,
  type IpCommand,
  type IpContext,
  invalidArgument,
  jsonOut,
  matches,
  numberArg,
  prefixArg,
  requireJson,
} from './context.js';
import { parseProtocol, parseScope, parseTable } from './names.js';
import { routeJson } from './render.js';

const TYPES: readonly RouteType[] = [
  'unicast',
  'local',
  'broadcast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
];

interface ParsedRoute {
  family: Family;
  type: RouteType;
  dst: Prefix;
  gateway?: Ip;
  dev?: Link;
  table?: number;
  protocol?: number;
  scope?: number;
  metric?: number;
  onlink: boolean;
}

/** Arguments in ip's order: each address is read with the family known so far (-4/-6, then DST). */
function parse(ctx: IpContext, args: readonly string[]): ParsedRoute {
  let type: RouteType = 'unicast';
  let family: Family | undefined = ctx.family;
  let dst: Prefix | undefined;
  let gateway: Ip | undefined;
  let dev: Link | undefined;
  const out: Partial<ParsedRoute> = { onlink: false };
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    const value = args[i + 1];
    if (word === 'via') {
      if (value === 'inet' || value === 'inet6') i++;
      gateway = addressArg(String(args[++i]), family);
      family = gateway.family;
    } else if (word === 'dev' || word === 'oif') {
      dev = device(ctx.ns, args[++i]);
    } else if (word === 'table') {
      out.table = parseTable(String(value));
      if (out.table === undefined) throw invalidArgument(String(value), '"table" value is invalid\n');
      i++;
    } else if (word === 'proto' || word === 'protocol') {
      out.protocol = parseProtocol(String(value));
      if (out.protocol === undefined) throw invalidArgument(String(value), '"protocol" value is invalid\n');
      i++;
    } else if (word === 'scope') {
      out.scope = parseScope(String(value));
      if (out.scope === undefined) throw invalidArgument(String(value), '"scope" value is invalid\n');
      i++;
    } else if (word === 'metric' || word === 'priority' || word === 'preference') {
      out.metric = numberArg(value, 'metric');
      i++;
    } else if (word === 'onlink') {
      out.onlink = true;
    } else if (dst === undefined && TYPES.includes(word as RouteType)) {
      type = word as RouteType;
    } else if (dst === undefined) {
      const text = word === 'to' ? String(args[++i]) : word;
      dst =
        text === 'default' || text === 'all'
          ? { family: family ?? 4, value: 0n, length: 0 }
          : prefixArg(text, family);
      if (text !== 'default' && text !== 'all') family = dst.family;
    } else throw garbage(word);
  }
  if (dst === undefined) throw new ToolError('Error: destination is required.', 1);
  // `default` read before the family was known is IPv4 unless a gateway said otherwise.
  const resolved: Family = family ?? 4;
  if (dst.length === 0) dst = { family: resolved, value: 0n, length: 0 };
  return {
    ...out,
    family: resolved,
    type,
    dst,
    ...(gateway ? { gateway } : {}),
    ...(dev ? { dev } : {}),
    onlink: Boolean(out.onlink),
  };
}

function defaultTable(route: ParsedRoute): number {
  return route.table ?? (['local', 'broadcast'].includes(route.type) ? 255 : 254);
}

function change(ctx: IpContext, args: readonly string[], verb: 'add' | 'replace' | 'delete'): string {
  const route = parse(ctx, args);
  const table = defaultTable(route);
  if (verb === 'delete') {
    deleteRoute(ctx.ns, {
      family: route.family,
      table,
      type: route.type,
      dst: route.dst,
      ...(route.gateway ? { gateway: route.gateway } : {}),
      ...(route.dev ? { dev: route.dev } : {}),
      ...(route.protocol !== undefined ? { protocol: route.protocol } : {}),
      ...(route.metric !== undefined ? { metric: route.metric } : {}),
    });
    return '';
  }
  addRoute(ctx.ns, { ...route, table }, verb);
  return '';
}

function show(ctx: IpContext, args: readonly string[]): string {
  requireJson(ctx, 'ip route show');
  let table: number | 'all' | undefined;
  let devName: string | undefined;
  let dstText: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    if (word === 'table') {
      const value = String(args[++i]);
      table = value === 'all' ? 'all' : parseTable(value);
      if (table === undefined) throw invalidArgument(value, '"table" value is invalid\n');
    } else if (word === 'dev') devName = args[++i];
    else if (dstText === undefined) dstText = word;
    else throw garbage(word);
  }
  const link = devName === undefined ? undefined : device(ctx.ns, devName);
  // With one table (main by default) and no -4/-6, ip asks for IPv4 only; `table all` asks for both.
  const families: Family[] = ctx.family ? [ctx.family] : table === 'all' ? [4, 6] : [4];
  const wanted = table ?? 254;
  // A missing table fails the dump, except inside a batch, where ip prints an empty list.
  for (const family of families) {
    if (wanted === 'all' || tableExists(ctx.ns, family, wanted)) continue;
    if (ctx.batch) return jsonOut([]);
    throw tableMissing(family, ctx.json);
  }
  const dst = dstText === undefined ? undefined : prefixArg(dstText, ctx.family);
  const routes = dumpOrder(ctx.ns).filter(
    (r) =>
      families.includes(r.family) &&
      (wanted === 'all' || r.table === wanted) &&
      (link === undefined || r.dev === link) &&
      (dst === undefined || (r.dst.value === dst.value && r.dst.length === dst.length)),
  );
  return jsonOut(
    routes.map((r) =>
      routeJson(r, { details: ctx.details, showTable: wanted === 'all', omitDev: link !== undefined }),
    ),
  );
}

export const routeCommand: IpCommand = (ctx, args) => {
  const [verb, ...rest] = args;
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list')) return show(ctx, rest);
  if (verb === 'add') return change(ctx, rest, 'add');
  if (matches(verb, 'replace') && verb.length >= 3) return change(ctx, rest, 'replace');
  if (matches(verb, 'delete') && verb.length >= 3) return change(ctx, rest, 'delete');
  throw new ToolError(`Command "${verb}" is unknown, try "ip route help".`, 255);
};
