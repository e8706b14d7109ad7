/**
 * Strict IP literal handling. Stricter than the kernel or Go's net.ParseIP on purpose:
 * zones, leading zeros (octal in some parsers), IPv4-mapped IPv6 and prefix-less garbage are
 * rejected with a reason, so two tools can never read the same text as different addresses.
 */
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { quote } from './issues.js';
import type { Family } from './model.js';

export interface IpLiteral {
  readonly address: string;
  readonly family: Family;
}

export interface IpPrefix extends IpLiteral {
  readonly prefixLength: number;
  /** True when the text carried no `/len` and the host prefix was implied. */
  readonly bare: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}
function fail<T>(error: string): Parsed<T> {
  return { ok: false, error };
}

function parseIPv4(text: string): Parsed<IpLiteral> {
  const match = IPV4.exec(text);
  if (!match) return fail(`is not an IP address, got ${quote(text)}`);
  for (const octet of match.slice(1)) {
    if (octet.length > 1 && octet.startsWith('0')) {
      return fail(`has a leading zero in ${quote(text)} (ambiguous: octal in some tools)`);
    }
    if (Number(octet) > 255) return fail(`has an octet above 255 in ${quote(text)}`);
  }
  return ok({ address: match.slice(1).map(Number).join('.'), family: 4 });
}

function parseIPv6(text: string): Parsed<IpLiteral> {
  if (text.includes('%')) return fail(`must not carry a zone (${quote(text)})`);
  if (!isIPv6(text)) return fail(`is not an IP address, got ${quote(text)}`);
  const embedded = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let hexText = text;
  if (embedded?.[1]) {
    const v4 = parseIPv4(embedded[1]);
    if (!v4.ok) return fail(`has a malformed embedded IPv4 part in ${quote(text)}`);
    // Rewrite the dotted tail as two hex groups: ipaddr.js reads `::a.b.c.d` as `::ffff:a.b.c.d`.
    const [a = 0, b = 0, c = 0, d = 0] = v4.value.address.split('.').map(Number);
    hexText = `${text.slice(0, -embedded[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parsed = ipaddr.IPv6.parse(hexText);
  if (parsed.isIPv4MappedAddress()) {
    return fail(`is an IPv4-mapped IPv6 address (${text}); write the IPv4 address itself`);
  }
  return ok({ address: parsed.toRFC5952String(), family: 6 });
}

/** Parses one IP literal (no prefix). */
export function parseIp(text: string): Parsed<IpLiteral> {
  if (text.length === 0) return fail('must not be empty');
  if (text.length > 64) return fail('is too long to be an IP address');
  if (text.trim() !== text) return fail(`has surrounding whitespace in ${quote(text)}`);
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

/** Parses `ip/len` or a bare `ip` (which means the host prefix: /32 or /128). */
export function parsePrefix(text: string): Parsed<IpPrefix> {
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(ipText);
  if (!ip.ok) return ip;
  const max = ip.value.family === 4 ? 32 : 128;
  if (slash < 0) return ok({ ...ip.value, prefixLength: max, bare: true });
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(lenText) || Number(lenText) > max) {
    return fail(`has an invalid prefix length ${quote(lenText)} (must be 0..${max})`);
  }
  return ok({ ...ip.value, prefixLength: Number(lenText), bare: false });
}

function toIpaddr(ip: IpLiteral): ipaddr.IPv4 | ipaddr.IPv6 {
  return ip.family === 4 ? ipaddr.IPv4.parse(ip.address) : ipaddr.IPv6.parse(ip.address);
}

/** The special-purpose class of an address, or undefined for an ordinary unicast address. */
export function specialKind(ip: IpLiteral): string | undefined {
  const range = toIpaddr(ip).range();
  switch (range) {
    case 'unspecified':
      return 'the unspecified address';
    case 'loopback':
      return 'a loopback address';
    case 'multicast':
      return 'a multicast address';
    case 'broadcast':
      return 'the broadcast address';
    case 'linkLocal':
      return ip.family === 6 ? 'a link-local address (it would need a zone)' : undefined;
    default:
      return undefined;
  }
}

/** Whether `ip` lies inside `prefix`'s subnet. */
export function prefixContains(prefix: IpPrefix, ip: IpLiteral): boolean {
  if (prefix.family !== ip.family) return false;
  const net = toIpaddr(prefix);
  const candidate = toIpaddr(ip);
  return net.kind() === candidate.kind() && candidate.match(net, prefix.prefixLength);
}

/** For IPv4 subnets with room for hosts: is this the subnet's network or broadcast address? */
export function ipv4EdgeAddress(prefix: IpPrefix): 'network' | 'broadcast' | undefined {
  if (prefix.family !== 4 || prefix.prefixLength > 30) return undefined;
  const text = `${prefix.address}/${prefix.prefixLength}`;
  if (ipaddr.IPv4.networkAddressFromCIDR(text).toString() === prefix.address) return 'network';
  if (ipaddr.IPv4.broadcastAddressFromCIDR(text).toString() === prefix.address) return 'broadcast';
  return undefined;
}

/** The subnet's network address in canonical CIDR form (`192.0.2.0/24`). */
export function networkOf(prefix: IpPrefix): string {
  const text = `${prefix.address}/${prefix.prefixLength}`;
  if (prefix.family === 4)
    return `${ipaddr.IPv4.networkAddressFromCIDR(text).toString()}/${prefix.prefixLength}`;
  const bytes = ipaddr.IPv6.parse(prefix.address).toByteArray();
  for (let bit = prefix.prefixLength; bit < 128; bit++) {
    const index = bit >> 3;
    bytes[index] = (bytes[index] ?? 0) & ~(0x80 >> (bit & 7));
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${prefix.prefixLength}`;
}
