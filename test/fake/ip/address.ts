/** `ip address add|delete|show`. */
import { garbage, ToolError } from '../errors.js';
import { addAddress, deleteAddress } from '../kernel/addresses.js';
import {
  device,
  type IpCommand,
  type IpContext,
  jsonOut,
  matches,
  prefixArg,
  requireJson,
  selectedLinks,
} from './context.js';
import { linkJson } from './render.js';

function change(ctx: IpContext, args: readonly string[], verb: 'add' | 'delete'): string {
  let local: string | undefined;
  let dev: string | undefined;
  let nodad = false;
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    if (word === 'dev') dev = args[++i];
    else if (word === 'nodad') nodad = true;
    else if (word === 'noprefixroute' || word === 'home' || word === 'mngtmpaddr') continue;
    else if (word === 'local') local = args[++i];
    else if (local === undefined) local = word;
    else throw garbage(word);
  }
  if (dev === undefined) throw new ToolError('Not enough information: "dev" argument is required.', 1);
  const prefix = prefixArg(local ?? '', ctx.family);
  const link = device(ctx.ns, dev);
  if (verb === 'add') addAddress(link, prefix, { nodad });
  else deleteAddress(link, prefix);
  return '';
}

function show(ctx: IpContext, args: readonly string[]): string {
  requireJson(ctx, 'ip address show');
  const links = selectedLinks(ctx, args);
  const out = links.flatMap((link) => {
    const own = ctx.ns.addressesOf(link);
    // ip prints a device's IPv4 addresses, then its IPv6 ones.
    const entries = [...own.filter((a) => a.family === 4), ...own.filter((a) => a.family === 6)].filter(
      (a) => ctx.family === undefined || a.family === ctx.family,
    );
    if (ctx.family !== undefined && entries.length === 0) return [];
    return [
      linkJson(ctx.ns, link, {
        details: ctx.details,
        addresses: {
          entries,
          full: ctx.session.linkShown,
          ...(ctx.family !== undefined ? { family: ctx.family } : {}),
        },
      }),
    ];
  });
  return jsonOut(out);
}

export const addressCommand: IpCommand = (ctx, args) => {
  const [verb, ...rest] = args;
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list') || verb === 'lst')
    return show(ctx, rest);
  if (verb === 'add') return change(ctx, rest, 'add');
  if (matches(verb, 'delete') && verb.length >= 3) return change(ctx, rest, 'delete');
  throw new ToolError(`Command "${verb}" is unknown, try "ip address help".`, 255);
};
