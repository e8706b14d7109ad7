/** `ip neigh show [ADDR] [dev DEV]`: the neighbour entries the fake's pings and LAN left behind. */
import { sameIp } from '../addr.js';
import { garbage, ToolError } from '../errors.js';
import { addressArg, device, type IpCommand, jsonOut, matches, requireJson } from './context.js';
import { neighbourJson } from './render.js';

export const neighCommand: IpCommand = (ctx, args) => {
  const [verb, ...rest] = args;
  if (verb !== undefined && !matches(verb, 'show') && !matches(verb, 'list'))
    throw new ToolError(`fake ip: neigh ${verb} is not implemented`, 2);
  requireJson(ctx, 'ip neigh show');
  let address: string | undefined;
  let devName: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    if (word === 'dev') devName = rest[++i];
    else if (word === 'to') address = rest[++i];
    else if (address === undefined) address = word;
    else throw garbage(word);
  }
  const link = devName === undefined ? undefined : device(ctx.ns, devName);
  const ip = address === undefined ? undefined : addressArg(address, ctx.family);
  const entries = ctx.ns.neighbours.filter(
    (n) =>
      (link === undefined || n.link === link) &&
      (ip === undefined || sameIp(n.ip, ip)) &&
      (ctx.family === undefined || n.ip.family === ctx.family),
  );
  return jsonOut(entries.map((n) => neighbourJson(n, link === undefined)));
};
