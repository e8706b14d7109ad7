/**
 * nft set/map values: read the JSON forms nft accepts (names or numbers for protocols, the
 * `{"elem": {"val", "counter"}}` wrapper of a listing), check them against the declared type, and
 * print them back the way nft lists them.
 */
import { formatIp, parseIp } from '../addr.js';

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };
const PROTOCOL_NAMES = Object.fromEntries(Object.entries(PROTOCOLS).map(([name, n]) => [n, name]));

/** Why a value does not fit its type, worded as nft says it. */
export class ValueError extends Error {}

function typesOf(type: unknown): string[] {
  if (Array.isArray(type)) return type.map(String);
  return typeof type === 'string' ? type.split(' . ') : [];
}

function one(type: string | undefined, raw: unknown): unknown {
  switch (type) {
    case 'inet_proto': {
      if (typeof raw === 'number' || (typeof raw === 'string' && /^\d+$/.test(raw))) {
        const n = Number(raw);
        return PROTOCOL_NAMES[n] ?? n;
      }
      if (typeof raw === 'string' && raw in PROTOCOLS) return raw;
      throw new ValueError(`Could not resolve protocol name`);
    }
    case 'inet_service': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && /^\d+$/.test(raw)
            ? Number(raw)
            : Number.NaN;
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new ValueError('Could not resolve service: Servname not supported for ai_socktype');
      return n;
    }
    case 'ipv4_addr':
    case 'ipv6_addr': {
      const ip = typeof raw === 'string' ? parseIp(raw) : undefined;
      const want = type === 'ipv4_addr' ? 4 : 6;
      if (!ip) throw new ValueError('Could not resolve hostname: Name or service not known');
      if (ip.family !== want)
        throw new ValueError('Could not resolve hostname: Address family for hostname not supported');
      return formatIp(ip);
    }
    default:
      return raw;
  }
}

/** A key (or value) in its listed form, checked against the set's declared type. */
export function canonical(type: unknown, raw: unknown): unknown {
  const types = typesOf(type);
  const concat = (raw as { concat?: unknown })?.concat;
  if (types.length > 1) {
    if (!Array.isArray(concat) || concat.length !== types.length)
      throw new ValueError('datatype mismatch, expected concatenation');
    return { concat: concat.map((part, i) => one(types[i], part)) };
  }
  return one(types[0], raw);
}

export interface ParsedElement {
  readonly key: unknown;
  readonly value?: unknown;
  readonly counter?: { readonly packets: number; readonly bytes: number };
}

/** `[key, value]` for a map, `key` for a set; a key may carry a listed counter to restore. */
export function parseElement(raw: unknown, isMap: boolean): ParsedElement {
  const [key, value] = isMap && Array.isArray(raw) && raw.length === 2 ? raw : [raw, undefined];
  const wrapped = (key as { elem?: { val?: unknown; counter?: { packets?: number; bytes?: number } } })?.elem;
  const counter = wrapped?.counter;
  return {
    key: wrapped ? wrapped.val : key,
    ...(isMap ? { value } : {}),
    ...(counter ? { counter: { packets: counter.packets ?? 0, bytes: counter.bytes ?? 0 } } : {}),
  };
}

export const keyText = (key: unknown): string => JSON.stringify(key);

/** `tcp . 80`, `192.0.2.10`: a value as nft syntax prints it. */
export function valueText(value: unknown): string {
  const concat = (value as { concat?: unknown[] })?.concat;
  if (Array.isArray(concat)) return concat.map(valueText).join(' . ');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}
