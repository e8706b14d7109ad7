/** `ip [-6] rule add|delete|show` (without -6: IPv4, as ip does). */
import { ToolError } from '../errors.js';
import { addRule, deleteRule, rulesOf } from '../kernel/rules.js';
import {
  type IpCommand,
  type IpContext,
  invalidArgument,
  jsonOut,
  matches,
  numberArg,
  requireJson,
} from './context.js';
import { parseProtocol, parseTable } from './names.js';
import { ruleJson } from './render.js';

interface ParsedRule {
  priority?: number;
  fwmark?: number;
  fwmask?: number;
  table?: number;
  protocol?: number;
  nop: boolean;
}

function parse(args: readonly string[]): ParsedRule {
  const out: ParsedRule = { nop: false };
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    const value = String(args[i + 1]);
    if (word === 'from' || word === 'to') {
      if (value !== 'all') throw new ToolError(`fake ip: rule ${word} ${value} is not implemented`, 2);
      i++;
    } else if (word === 'fwmark') {
      const [mark, mask] = value.split('/');
      out.fwmark = numberArg(mark, 'fwmark');
      if (mask !== undefined) out.fwmask = numberArg(mask, 'fwmask');
      i++;
    } else if (word === 'priority' || word === 'pref' || word === 'preference' || word === 'order') {
      out.priority = numberArg(value, 'preference');
      i++;
    } else if (word === 'table' || word === 'lookup') {
      out.table = parseTable(value);
      if (out.table === undefined) throw invalidArgument(value, 'invalid table ID\n');
      i++;
    } else if (word === 'protocol' || word === 'proto') {
      out.protocol = parseProtocol(value);
      if (out.protocol === undefined) throw invalidArgument(value, 'Invalid "protocol"\n');
      i++;
    } else if (word === 'nop') {
      out.nop = true;
    } else throw invalidArgument(word, 'Failed to parse rule type\n');
  }
  return out;
}

function show(ctx: IpContext): string {
  requireJson(ctx, 'ip rule show');
  return jsonOut(rulesOf(ctx.ns, ctx.family ?? 4).map((r) => ruleJson(r, ctx.details)));
}

export const ruleCommand: IpCommand = (ctx, args) => {
  const [verb, ...rest] = args;
  const family = ctx.family ?? 4;
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list')) return show(ctx);
  if (verb === 'add') {
    const rule = parse(rest);
    addRule(ctx.ns, {
      family,
      ...(rule.priority !== undefined ? { priority: rule.priority } : {}),
      ...(rule.fwmark !== undefined ? { fwmark: rule.fwmark, fwmask: rule.fwmask ?? 0xffffffff } : {}),
      // No action given: ip adds `lookup main`.
      ...(rule.nop ? {} : { table: rule.table ?? 254 }),
      protocol: rule.protocol ?? 0,
    });
    return '';
  }
  if (matches(verb, 'delete') && verb.length >= 3) {
    const rule = parse(rest);
    deleteRule(ctx.ns, { family, ...rule });
    return '';
  }
  throw new ToolError(`Command "${verb}" is unknown, try "ip rule help".`, 255);
};
