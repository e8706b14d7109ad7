/** IP addresses and prefixes for the fake kernel: parse like iproute2, print like the kernel. */
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
}

export interface Prefix extends Ip {
  readonly length: number;
}

const bits = (family: Family): number => (family === 4 ? 32 : 128);

function fromBytes(bytes: readonly number[]): bigint {
  return bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/** Dotted quads only for IPv4 (as iproute2's get_addr), any RFC 4291 text for IPv6. */
export function parseIp(text: string): Ip | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
    return { family: 4, value: fromBytes(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) {
    return { family: 6, value: fromBytes(ipaddr.IPv6.parse(text).toByteArray()) };
  }
  return undefined;
}

/** `ADDR[/LEN]`; a bare address is a host prefix. */
export function parsePrefix(text: string): Prefix | undefined {
  const [address = '', length, ...rest] = text.split('/');
  if (rest.length > 0) return undefined;
  const ip = parseIp(address);
  if (!ip) return undefined;
  if (length === undefined) return { ...ip, length: bits(ip.family) };
  if (!/^\d{1,3}$/.test(length) || Number(length) > bits(ip.family)) return undefined;
  return { ...ip, length: Number(length) };
}

export function formatIp(ip: Ip): string {
  const width = bits(ip.family) / 8;
  const bytes: number[] = [];
  for (let i = width - 1; i >= 0; i--) bytes.push(Number((ip.value >> BigInt(i * 8)) & 0xffn));
  return ip.family === 4 ? bytes.join('.') : ipaddr.fromByteArray(bytes).toString();
}

/** The prefix with its host bits cleared: what the kernel stores as a route's destination. */
export function networkOf(prefix: Prefix): Prefix {
  const hostBits = BigInt(bits(prefix.family) - prefix.length);
  return { ...prefix, value: (prefix.value >> hostBits) << hostBits };
}

export function broadcastOf(prefix: Prefix): Ip {
  const hostBits = BigInt(bits(prefix.family) - prefix.length);
  return { family: prefix.family, value: networkOf(prefix).value | ((1n << hostBits) - 1n) };
}

export function contains(prefix: Prefix, ip: Ip): boolean {
  if (prefix.family !== ip.family) return false;
  return networkOf({ ...ip, length: prefix.length }).value === networkOf(prefix).value;
}

export const sameIp = (a: Ip, b: Ip): boolean => a.family === b.family && a.value === b.value;
export const samePrefix = (a: Prefix, b: Prefix): boolean => sameIp(a, b) && a.length === b.length;

/** Route destination text as ip prints it: `default`, a bare host address, or `net/len`. */
export function formatDestination(prefix: Prefix): string {
  if (prefix.length === 0) return 'default';
  const address = formatIp(prefix);
  return prefix.length === bits(prefix.family) ? address : `${address}/${prefix.length}`;
}

/**
 * The order the kernel dumps a routing table in. IPv4: the fib trie in key order, longer prefixes
 * first for the same key. IPv6: a post-order walk of the radix tree (more specific prefixes before
 * the ones containing them, so `default` comes last).
 */
export function compareDestinations(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.family === 4) {
    if (a.value !== b.value) return a.value < b.value ? -1 : 1;
    return b.length - a.length;
  }
  if (a.length !== b.length) {
    if (a.length < b.length && contains(a, b)) return 1;
    if (b.length < a.length && contains(b, a)) return -1;
  }
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return 0;
}

/** The EUI-64 link-local address the kernel derives from a MAC address. */
export function linkLocalFromMac(mac: string): Ip {
  const octets = mac.split(':').map((part) => Number.parseInt(part, 16));
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0] = octets;
  const interfaceId = [a ^ 0x02, b, c, 0xff, 0xfe, d, e, f];
  return { family: 6, value: (0xfe80n << 112n) | fromBytes(interfaceId) };
}
