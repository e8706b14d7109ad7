/**
 * The probing tools, answered by the fake LAN (env.ts): `ping` (and the neighbour entry it
 * leaves), `arping -D` (duplicate detection) and `-U`/`-A` (recorded announcements),
 * `conntrack -D` on the fake's entries, `na6` (recorded). Silence lasts as long as the real tool
 * would wait for it (Timing.toolSecondMs per second), on the fake's clock.
 */
import { contains, type Family, formatIp, type Ip, parseIp } from './addr.js';
import { isRunning } from './linkState.js';
import type { Program, ProgramContext, ProgramResult } from './program.js';
import type { ConntrackProto, Link, Netns, Route } from './state.js';

const done = (exitCode: number, stdout = '', stderr = ''): ProgramResult => ({ exitCode, stdout, stderr });

/** Flags with a value, and the one positional argument. */
function options(
  args: readonly string[],
  withValue: readonly string[],
): { flags: Map<string, string>; target?: string } {
  const flags = new Map<string, string>();
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (withValue.includes(arg)) flags.set(arg, args[++i] ?? '');
    else if (arg.startsWith('-')) flags.set(arg, '');
    else target = arg;
  }
  return target === undefined ? { flags } : { flags, target };
}

async function wait(ctx: ProgramContext, seconds: number): Promise<void> {
  await ctx.ns.env.clock.sleep(seconds * ctx.ns.env.timing.toolSecondMs, ctx.signal);
}

/** The route a packet to `ip` out of `link` would take (main table, longest prefix). */
function routeVia(ns: Netns, link: Link, ip: Ip): Route | undefined {
  return ns.routes
    .filter(
      (r) =>
        r.family === ip.family &&
        r.table === 254 &&
        r.dev === link &&
        r.type === 'unicast' &&
        contains(r.dst, ip),
    )
    .sort((a, b) => b.dst.length - a.dst.length)[0];
}

/**
 * The source address the kernel picks: a global one of the device, else a global one of another
 * device (ping warns; the LAN cannot answer it), else the device's link-local.
 */
function sourceOf(ns: Netns, link: Link, family: Family): { ip: Ip; foreign: boolean } | undefined {
  const usable = (a: { family: Family; tentative: boolean; scope: string }) =>
    a.family === family && !a.tentative;
  const own = ns.addressesOf(link).filter(usable);
  const global = own.find((a) => a.scope === 'global');
  if (global) return { ip: global.ip, foreign: false };
  const other = ns.addresses.find((a) => usable(a) && a.scope === 'global' && a.link !== link);
  if (other) return { ip: other.ip, foreign: true };
  const local = own.find((a) => a.scope === 'link');
  return local ? { ip: local.ip, foreign: false } : undefined;
}

/** Resolves the next hop on the LAN and leaves the neighbour entry the kernel would. */
function resolveNeighbour(ns: Netns, link: Link, hop: Ip): boolean {
  const host = ns.env.lan.answering(hop);
  let entry = ns.neighbours.find(
    (n) => n.link === link && n.ip.family === hop.family && n.ip.value === hop.value,
  );
  if (!entry) {
    entry = { link, ip: hop, state: 'INCOMPLETE' };
    ns.neighbours.push(entry);
  }
  if (host) {
    entry.state = 'REACHABLE';
    entry.lladdr = host.mac;
  } else if (!entry.lladdr) entry.state = 'INCOMPLETE';
  else entry.state = 'FAILED';
  return Boolean(host);
}

export const ping: Program = async (args, ctx) => {
  const { flags, target } = options(args, ['-c', '-W', '-I', '-w', '-i', '-s']);
  const family: Family = flags.has('-6') ? 6 : 4;
  const ip = target === undefined ? undefined : parseIp(target);
  const devName = flags.get('-I');
  const link = devName === undefined ? undefined : ctx.ns.link(devName);
  if (devName !== undefined && !link)
    return done(2, '', `ping: SO_BINDTODEVICE ${devName}: No such device\n`);
  if (!ip || (flags.has('-4') || flags.has('-6') ? ip.family !== family : false))
    return done(2, '', `ping: ${target}: Address family for hostname not supported\n`);
  const out = link ?? ctx.ns.links.find((l) => routeVia(ctx.ns, l, ip));
  const route = out ? routeVia(ctx.ns, out, ip) : undefined;
  const source = out ? sourceOf(ctx.ns, out, ip.family) : undefined;
  if (!out || !route || !source || !isRunning(out))
    return done(2, '', 'ping: connect: Network is unreachable\n');
  const hop = route.gateway ?? ip;
  const reached = resolveNeighbour(ctx.ns, out, hop) && Boolean(ctx.ns.env.lan.answering(ip));
  const text = formatIp(ip);
  const from = formatIp(source.ip);
  const head =
    ip.family === 4
      ? `PING ${text} (${text}) from ${from} ${out.name}: 56(84) bytes of data.\n`
      : `PING ${text}(${text}) from ${from} ${out.name}: 56 data bytes\n`;
  const warning = source.foreign
    ? `ping: Warning: source address might be selected on device other than: ${out.name}\n`
    : '';
  if (!reached || source.foreign) {
    await wait(ctx, Number(flags.get('-W') ?? 10));
    return done(
      1,
      `${head}\n--- ${text} ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n`,
      warning,
    );
  }
  return done(
    0,
    `${head}64 bytes from ${text}: icmp_seq=1 ttl=64 time=0.100 ms\n\n--- ${text} ping statistics ---\n` +
      '1 packets transmitted, 1 received, 0% packet loss, time 0ms\nrtt min/avg/max/mdev = 0.100/0.100/0.100/0.000 ms\n',
  );
};

export const arping: Program = async (args, ctx) => {
  const { flags, target } = options(args, ['-c', '-w', '-I', '-s', '-i', '-W']);
  const devName = flags.get('-I') ?? '';
  const link = ctx.ns.link(devName);
  if (!link) return done(2, '', `arping: Device ${devName} not available.\n`);
  if (!link.up) return done(2, '', `arping: Interface "${devName}" is down\n`);
  const ip = target === undefined ? undefined : parseIp(target);
  if (ip?.family !== 4) return done(2, '', `arping: ${target}: Name or service not known\n`);
  const count = Number(flags.get('-c') ?? 1);
  const deadline = flags.has('-w') ? Number(flags.get('-w')) : count;
  if (flags.has('-D')) {
    const holder = isRunning(link) ? ctx.ns.env.lan.answering(ip) : undefined;
    const head = `ARPING ${target} from 0.0.0.0 ${devName}\n`;
    if (holder) {
      return done(
        1,
        `${head}Unicast reply from ${target} [${holder.mac.toUpperCase()}]  0.500ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)\n`,
      );
    }
    await wait(ctx, Math.min(count, deadline));
    return done(0, `${head}Sent ${count} probes (${count} broadcast(s))\nReceived 0 response(s)\n`);
  }
  ctx.host.record(ctx.ns, ['arping', ...args]);
  await wait(ctx, Math.min(count, deadline));
  const from = flags.get('-s') ?? '0.0.0.0';
  return done(
    0,
    `ARPING ${target} from ${from} ${devName}\nSent ${count} probes (${count} broadcast(s))\nReceived 0 response(s)\n`,
  );
};

const PROTO_NUMBERS: Record<ConntrackProto, number> = { tcp: 6, udp: 17, sctp: 132 };

export const conntrack: Program = (args, ctx) => {
  const { flags } = options(args, [
    '-p',
    '--orig-dst',
    '--orig-port-dst',
    '-d',
    '--dport',
    '--orig-src',
    '-s',
  ]);
  const banner = 'conntrack v1.4.7 (conntrack-tools): ';
  const proto = flags.get('-p') as ConntrackProto | undefined;
  const dst = flags.get('--orig-dst') ?? flags.get('-d');
  const dstIp = dst === undefined ? undefined : parseIp(dst);
  const port = flags.get('--orig-port-dst') ?? flags.get('--dport');
  const matching = ctx.ns.conntrack.filter(
    (e) =>
      (proto === undefined || e.proto === proto) &&
      (dstIp === undefined ||
        (parseIp(e.dst)?.value === dstIp.value && parseIp(e.dst)?.family === dstIp.family)) &&
      (port === undefined || e.dport === Number(port)),
  );
  const lines = matching
    .map(
      (e) =>
        `${e.proto.padEnd(8)} ${PROTO_NUMBERS[e.proto]} 120 src=${e.src} dst=${e.dst} sport=${e.sport} dport=${e.dport} ` +
        `src=${e.dst} dst=${e.src} sport=${e.dport} dport=${e.sport} mark=0 use=1\n`,
    )
    .join('');
  if (flags.has('-L')) return done(0, lines, `${banner}${matching.length} flow entries have been shown.\n`);
  if (!flags.has('-D')) return done(2, '', `${banner}fake conntrack: only -D and -L are implemented\n`);
  for (const e of matching) ctx.ns.conntrack.splice(ctx.ns.conntrack.indexOf(e), 1);
  return done(
    matching.length > 0 ? 0 : 1,
    lines,
    `${banner}${matching.length} flow entries have been deleted.\n`,
  );
};

/** Unsolicited neighbour advertisements: recorded, nothing else to do on a fake LAN. */
export const na6: Program = (args, ctx) => {
  ctx.host.record(ctx.ns, ['na6', ...args]);
  return done(0);
};
