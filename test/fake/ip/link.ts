/** `ip link add|set|delete|show` over the fake's devices. */
import { garbage, ToolError } from '../errors.js';
import {
  createLink,
  createVethPair,
  deleteLink,
  moveLink,
  rename,
  setAlias,
  setMac,
  setMacvlanMode,
  setMtu,
  setUp,
} from '../kernel/links.js';
import type { Link, MacvlanMode, Netns } from '../state.js';
import {
  device,
  type IpCommand,
  type IpContext,
  invalidArgument,
  jsonOut,
  matches,
  numberArg,
  requireJson,
  selectedLinks,
} from './context.js';
import { linkJson } from './render.js';

const MODES: readonly MacvlanMode[] = ['private', 'vepa', 'bridge', 'passthru', 'source'];
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

const MACVLAN_USAGE =
  'Usage: ... macvlan mode MODE [flag MODE_FLAG] MODE_OPTS [bcqueuelen BC_QUEUE_LEN]\n\n' +
  'MODE: private | vepa | bridge | passthru | source\n' +
  'MODE_FLAG: null | nopromisc | nodst\n' +
  'MODE_OPTS: for mode "source":\n' +
  '\tmacaddr { { add | del } <macaddr> | set [ <macaddr> [ <macaddr>  ... ] ] | flush }\n' +
  'BC_QUEUE_LEN: Length of the rx queue for broadcast/multicast: [0-4294967295]';

function ifname(name: string | undefined): string {
  if (!name || name.length > 15 || /[\s/:]/.test(name))
    throw invalidArgument(name ?? '', '"name" not a valid ifname');
  return name;
}

function macArg(text: string | undefined): string {
  if (!text || !MAC.test(text)) throw invalidArgument(text ?? '', '"address" not a valid lladdr');
  return text.toLowerCase();
}

/** `mode M [bcqueuelen N] [flag F]` after `type macvlan`; anything else is refused with the usage. */
function macvlanArgs(args: readonly string[]): { mode?: MacvlanMode } {
  let mode: MacvlanMode | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === 'mode') {
      const value = args[++i] as MacvlanMode;
      if (!MODES.includes(value))
        throw invalidArgument(
          String(value),
          'mode must be "private", "vepa", "bridge", "passthru" or "source"',
        );
      mode = value;
    } else if (word === 'bcqueuelen' || word === 'flag') i++;
    else throw new ToolError(`macvlan: unknown option "${word}"?\n${MACVLAN_USAGE}`, 1);
  }
  return mode ? { mode } : {};
}

function targetNamespace(ctx: IpContext, value: string | undefined): Netns {
  if (value !== undefined && /^\d+$/.test(value)) {
    const ns = ctx.host.namespaceOfPid(Number(value));
    if (!ns) throw new ToolError('RTNETLINK answers: No such process', 2);
    return ns;
  }
  const path = value?.includes('/') ? value : `/run/netns/${value}`;
  const ns = ctx.host.namespaceAt(path);
  if (!ns) throw invalidArgument(value ?? '', 'Invalid "netns" value\n');
  return ns;
}

function add(ctx: IpContext, args: readonly string[]): string {
  let name: string | undefined;
  let mac: string | undefined;
  let mtu: number | undefined;
  let master: Link | undefined;
  // `netns X` creates the device straight in another namespace, its master staying here.
  let home = ctx.ns;
  let i = 0;
  for (; i < args.length && args[i] !== 'type'; i++) {
    const word = args[i];
    if (word === 'name' || word === 'dev') name = ifname(args[++i]);
    else if (word === 'netns') home = targetNamespace(ctx, args[++i]);
    else if (word === 'address') mac = macArg(args[++i]);
    else if (word === 'mtu') mtu = numberArg(args[++i], 'mtu');
    else if (word === 'link') master = device(ctx.ns, args[++i]);
    else if (name === undefined) name = ifname(word);
    else throw garbage(String(word));
  }
  const kind = args[i + 1];
  const rest = args.slice(i + 2);
  if (name === undefined) throw new ToolError('Not enough information: "dev" argument is required.', 1);
  const common = { name, ...(mac ? { mac } : {}), ...(mtu !== undefined ? { mtu } : {}) };
  if (kind === 'macvlan') {
    const { mode } = macvlanArgs(rest);
    if (!master) throw new ToolError('RTNETLINK answers: Invalid argument', 2);
    createLink(home, { ...common, kind: 'macvlan', master, mode: mode ?? 'vepa' });
  } else if (kind === 'bridge') {
    createLink(home, { ...common, kind: 'bridge' });
  } else if (kind === 'veth') {
    addVeth({ ...ctx, ns: home }, common, rest);
  } else {
    throw new ToolError(`fake ip: link type ${String(kind)} is not implemented`, 2);
  }
  return '';
}

/** `type veth peer [name] NAME [netns NS] [address MAC]`. */
function addVeth(
  ctx: IpContext,
  common: { name: string; mac?: string; mtu?: number },
  args: readonly string[],
): void {
  let peerName: string | undefined;
  let peerNs = ctx.ns;
  let peerMac: string | undefined;
  if (args[0] !== 'peer') throw garbage(String(args[0]));
  for (let i = 1; i < args.length; i++) {
    const word = args[i];
    if (word === 'name') peerName = ifname(args[++i]);
    else if (word === 'netns') peerNs = targetNamespace(ctx, args[++i]);
    else if (word === 'address') peerMac = macArg(args[++i]);
    else if (peerName === undefined) peerName = ifname(word);
    else throw garbage(String(word));
  }
  if (!peerName) throw new ToolError('Not enough information: "dev" argument is required.', 1);
  createVethPair(ctx.ns, common, peerNs, {
    name: peerName,
    ...(peerMac ? { mac: peerMac } : {}),
    ...(common.mtu !== undefined ? { mtu: common.mtu } : {}),
  });
}

function set(ctx: IpContext, args: readonly string[]): string {
  let i = 0;
  if (args[0] === 'dev') i++;
  const link = device(ctx.ns, args[i++]);
  const changes: {
    mode?: MacvlanMode;
    netns?: Netns;
    mtu?: number;
    name?: string;
    alias?: string;
    mac?: string;
    up?: boolean;
  } = {};
  for (; i < args.length; i++) {
    const word = args[i];
    if (word === 'up' || word === 'down') changes.up = word === 'up';
    else if (word === 'mtu') changes.mtu = numberArg(args[++i], 'mtu');
    else if (word === 'name') changes.name = ifname(args[++i]);
    else if (word === 'alias') changes.alias = args[++i] ?? '';
    else if (word === 'address') changes.mac = macArg(args[++i]);
    else if (word === 'netns') changes.netns = targetNamespace(ctx, args[++i]);
    else if (word === 'type') {
      const kind = args[++i];
      if (kind !== 'macvlan')
        throw new ToolError(`fake ip: link type ${String(kind)} changes are not implemented`, 2);
      const { mode } = macvlanArgs(args.slice(i + 1));
      if (mode) changes.mode = mode;
      break;
    } else throw garbage(String(word));
  }
  // The kernel's order: the kind's own settings, then namespace, MTU, name, alias, address, flags.
  if (changes.mode) setMacvlanMode(link, changes.mode);
  if (changes.netns) moveLink(link, changes.netns);
  if (changes.mtu !== undefined) setMtu(link, changes.mtu);
  if (changes.name) rename(link, changes.name);
  if (changes.alias !== undefined) setAlias(link, changes.alias);
  if (changes.mac) setMac(link, changes.mac);
  if (changes.up !== undefined) setUp(link, changes.up);
  return '';
}

function remove(ctx: IpContext, args: readonly string[]): string {
  const name = args[0] === 'dev' ? args[1] : args[0];
  deleteLink(device(ctx.ns, name));
  return '';
}

function show(ctx: IpContext, args: readonly string[]): string {
  requireJson(ctx, 'ip link show');
  const links = selectedLinks(ctx, args);
  ctx.session.linkShown = true;
  return jsonOut(links.map((l) => linkJson(ctx.ns, l, { details: ctx.details })));
}

export const linkCommand: IpCommand = (ctx, args) => {
  const [verb, ...rest] = args;
  if (verb === undefined || matches(verb, 'show') || matches(verb, 'list') || verb === 'lst')
    return show(ctx, rest);
  if (verb === 'add') return add(ctx, rest);
  if (verb === 'set' || verb === 'change') return set(ctx, rest);
  if (matches(verb, 'delete') && verb.length >= 3) return remove(ctx, rest);
  throw new ToolError(`Command "${verb}" is unknown, try "ip link help".`, 255);
};
