/**
 * Interface names the agent will put into routes and nftables rules. Stricter than Linux
 * (which allows almost any byte): nft's JSON parser reads some names as keywords (`tcp`,
 * `redirect`), `@x` as a set reference and a trailing `*` as a wildcard, and its text syntax
 * has no escapes for quotes. Real interface names (eth0, ens4f0, bond0.100, br-ex) all pass.
 */
import { quote } from './issues.js';

const NFT_KEYWORDS = new Set([
  'tcp',
  'udp',
  'sctp',
  'esp',
  'ah',
  'icmp',
  'icmpv6',
  'comp',
  'dccp',
  'udplite',
  'redirect',
]);

/** Why `name` cannot be used as an interface name here, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (Buffer.byteLength(name) > 15) return `must be at most 15 bytes, got ${quote(name)}`;
  if (name === '.' || name === '..') return `cannot be ${quote(name)}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    return `may contain only letters, digits, '_', '.' and '-', got ${quote(name.slice(0, 40))}`;
  }
  if (NFT_KEYWORDS.has(name.toLowerCase())) return `${quote(name)} is an nftables keyword`;
  return undefined;
}
