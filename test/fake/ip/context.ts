/** What every `ip` subcommand needs: the namespace, the global options, and argument helpers. */
import { type Family, type Ip, type Prefix, parseIp, parsePrefix } from '../addr.js';
import { noDevice, ToolError } from '../errors.js';
import type { Host } from '../program.js';
import type { Link, Netns } from '../state.js';

export interface IpContext {
  readonly ns: Netns;
  readonly host: Host;
  readonly json: boolean;
  readonly details: boolean;
  /** -4 / -6. */
  readonly family?: Family;
  /**
   * What one ip process remembers between the lines of a batch: after a `link show`, ip 6.1's
   * `address show` prints the link fields it otherwise leaves out (linkmode, ifalias,
   * inet6_addr_gen_mode).
   */
  readonly session: { linkShown: boolean };
  /** Running a `-batch` line: some failures then read as empty output. */
  readonly batch: boolean;
}

/** A subcommand: stdout on success, a ToolError on failure. */
export type IpCommand = (ctx: IpContext, args: readonly string[]) => string;

/** iproute2's `matches()`: the word is a prefix of the keyword. */
export const matches = (word: string | undefined, keyword: string): boolean =>
  word !== undefined && word.length > 0 && keyword.startsWith(word);

export function device(ns: Netns, name: string | undefined): Link {
  const link = name === undefined ? undefined : ns.link(name);
  if (!link) throw noDevice(name ?? '');
  return link;
}

/** `ip link show dev X` / `ip address show dev X` for a missing X. */
export const noSuchDevice = (name: string): ToolError => new ToolError(`Device "${name}" does not exist.`, 1);

/** `show [dev] [NAME]`: every link in ifindex order, or the one named (which must exist). */
export function selectedLinks(ctx: IpContext, args: readonly string[]): Link[] {
  const name = args[0] === 'dev' ? args[1] : args[0];
  if (name === undefined) return [...ctx.ns.links].sort((a, b) => a.ifindex - b.ifindex);
  const link = ctx.ns.link(name);
  if (!link) throw noSuchDevice(name);
  return [link];
}

export const invalidArgument = (value: string, why: string): ToolError =>
  new ToolError(`Error: argument "${value}" is wrong: ${why}\n`, 255);

const familyWord = (family: Family | undefined): string =>
  family === 4 ? 'inet' : family === 6 ? 'inet6' : 'any valid';

export function prefixArg(text: string, family: Family | undefined): Prefix {
  const prefix = parsePrefix(text);
  if (!prefix || (family !== undefined && prefix.family !== family))
    throw new ToolError(`Error: ${familyWord(family)} prefix is expected rather than "${text}".`, 1);
  return prefix;
}

export function addressArg(text: string, family: Family | undefined): Ip {
  const ip = parseIp(text);
  if (!ip || (family !== undefined && ip.family !== family))
    throw new ToolError(`Error: ${familyWord(family)} address is expected rather than "${text}".`, 1);
  return ip;
}

export function numberArg(text: string | undefined, what: string, max = 0xffffffff): number {
  const value = text !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value > max) throw invalidArgument(text ?? '', `Invalid "${what}" value`);
  return value;
}

/** JSON as ip prints it with -json: compact, one document per command. */
export const jsonOut = (value: unknown): string => `${JSON.stringify(value)}\n`;

export function requireJson(ctx: IpContext, what: string): void {
  if (!ctx.json) throw new ToolError(`fake ip: only -json output is implemented (${what})`, 1);
}
