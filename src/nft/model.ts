/**
 * The subset of libnftables' JSON schema this project emits, typed. The plan builds these
 * objects; renderers turn them into the JSON batch for `nft -j -f` or readable nft syntax.
 */

export type MetaKey = 'iifname' | 'oifname' | 'nfproto' | 'l4proto' | 'mark';

export type NftExpr =
  | string
  | number
  | { meta: { key: MetaKey } }
  | {
      payload:
        | { protocol: 'th' | 'tcp' | 'udp'; field: 'dport' }
        | { protocol: 'tcp'; field: 'flags' }
        | { protocol: 'ip' | 'ip6'; field: 'version' };
    }
  | { fib: { result: 'type'; flags: ['daddr'] } }
  | { ct: { key: 'state' | 'status' | 'mark' | 'direction' } }
  | { concat: NftExpr[] }
  | { set: (string | number)[] }
  | { map: { key: NftExpr; data: `@${string}` } };

export type NftStatement =
  | { match: { op: '==' | '!=' | 'in'; left: NftExpr; right: NftExpr | string[] } }
  | { dnat: { family: 'ip' | 'ip6'; addr: NftExpr; port?: NftExpr } }
  | { snat: { family: 'ip' | 'ip6'; addr: string } }
  | { reject: { type: 'tcp reset' } | { type: 'icmpx'; expr: 'port-unreachable' } }
  | { mangle: { key: { ct: { key: 'mark' } } | { meta: { key: 'mark' } }; value: number } }
  /** MSS clamping: lowered to the route's MTU (both directions' routes) less the headers, never raised. */
  | { mangle: { key: { 'tcp option': { name: 'maxseg'; field: 'size' } }; value: { rt: { key: 'mtu' } } } }
  | { accept: null }
  | { drop: null };

export interface NftRule {
  readonly expr: readonly NftStatement[];
  readonly comment?: string;
}

export type MapKeyType = readonly ['inet_proto', 'inet_service'];
export type MapValueType = 'ipv4_addr' | 'ipv6_addr' | 'inet_service';

/** One element: key (protocol, port) → value (address or port). */
export type MapElement = readonly [key: readonly [string, number], value: string | number];

export interface NftMap {
  readonly name: string;
  readonly type: MapKeyType;
  readonly map: MapValueType;
  /** Per-element counters: in a NAT chain they count connections. */
  readonly counter: boolean;
  readonly comment?: string;
  readonly elements: readonly MapElement[];
}

export interface NftChain {
  readonly name: string;
  readonly type: 'nat' | 'filter' | 'route';
  readonly hook: 'prerouting' | 'postrouting' | 'input' | 'forward' | 'output';
  /** Numeric on purpose: the string "dstnat" in JSON yields a chain without a hook on nft 1.0.6. */
  readonly prio: number;
  readonly policy: 'accept' | 'drop';
  readonly rules: readonly NftRule[];
}

export interface NftTable {
  readonly family: 'inet';
  readonly name: string;
  readonly maps: readonly NftMap[];
  readonly chains: readonly NftChain[];
}

export const TABLE_NAME = 'egress_router';
