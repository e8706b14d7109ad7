/**
 * Config → nftables table. One table, O(1) dispatch: per family, two maps keyed by
 * (protocol, port) give the destination address and port, and a single DNAT rule looks both
 * up. See rules/egress_router.nft for the reviewed layout.
 */
import type { AgentOptions, Family, Protocol, RedirectRule, RouterConfig } from '../config/model.js';
import { type Sysctl, sysctl } from '../link/sysctl.js';
import type { MapElement, NftChain, NftExpr, NftMap, NftRule, NftStatement, NftTable } from '../nft/model.js';
import { TABLE_NAME } from '../nft/model.js';
import { KEY_SPACE, PackedElements, type PackedMap, packKey, type TableModel } from '../nft/packed.js';

const PROTOCOL_ORDER: Record<Protocol, number> = { tcp: 0, udp: 1, sctp: 2 };
const FAMILY_SUFFIX: Record<Family, string> = { 4: '4', 6: '6' };

export const addressMapName = (family: Family): string => `redirect_addr${FAMILY_SUFFIX[family]}`;
export const portMapName = (family: Family): string => `redirect_port${FAMILY_SUFFIX[family]}`;

const meta = (key: 'iifname' | 'oifname' | 'nfproto' | 'l4proto'): NftExpr => ({ meta: { key } });
const eq = (left: NftExpr, right: NftExpr): NftStatement => ({ match: { op: '==', left, right } });
const nfproto = (family: Family): NftStatement => eq(meta('nfproto'), family === 4 ? 'ipv4' : 'ipv6');
const ipVersion = (family: Family): NftStatement =>
  eq({ payload: { protocol: family === 4 ? 'ip' : 'ip6', field: 'version' } }, family);
const natFamily = (family: Family): 'ip' | 'ip6' => (family === 4 ? 'ip' : 'ip6');
const localDestination: NftStatement = eq({ fib: { result: 'type', flags: ['daddr'] } }, 'local');
const protoPortKey: NftExpr = { concat: [meta('l4proto'), { payload: { protocol: 'th', field: 'dport' } }] };
const established: NftStatement = {
  match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] },
};

/** Deterministic order: protocol, then port. */
export function sortRules(rules: readonly RedirectRule[]): RedirectRule[] {
  return [...rules].sort(
    (a, b) => PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol] || a.port - b.port,
  );
}

function familiesOf(config: RouterConfig): Family[] {
  return ([4, 6] as const).filter((f) => config.addresses.some((a) => a.family === f));
}

/** The two redirect maps of a family, without their elements: address, then target port. */
function redirectMapShapes(family: Family): [Omit<NftMap, 'elements'>, Omit<NftMap, 'elements'>] {
  const type = ['inet_proto', 'inet_service'] as const;
  return [
    { name: addressMapName(family), type, map: family === 4 ? 'ipv4_addr' : 'ipv6_addr', counter: true },
    { name: portMapName(family), type, map: 'inet_service', counter: false },
  ];
}

function redirectMaps(config: RouterConfig, family: Family): NftMap[] {
  const rules = sortRules(config.redirectRules.filter((r) => r.family === family));
  const key = (r: RedirectRule): readonly [string, number] => [r.protocol, r.port];
  const [addresses, ports] = redirectMapShapes(family);
  return [
    { ...addresses, elements: rules.map((r): MapElement => [key(r), r.destinationIP]) },
    { ...ports, elements: rules.map((r): MapElement => [key(r), r.targetPort]) },
  ];
}

function preroutingRules(config: RouterConfig, options: AgentOptions, families: Family[]): NftRule[] {
  const fromCluster = eq(meta('iifname'), options.clusterInterface);
  const rules: NftRule[] = families.map((family) => ({
    comment: `redirect rules, IPv${family}`,
    expr: [
      fromCluster,
      localDestination,
      nfproto(family),
      eq(meta('l4proto'), { set: ['tcp', 'udp', 'sctp'] }),
      {
        dnat: {
          family: natFamily(family),
          addr: { map: { key: protoPortKey, data: `@${addressMapName(family)}` } },
          port: { map: { key: protoPortKey, data: `@${portMapName(family)}` } },
        },
      },
    ],
  }));
  const fallback = config.fallback;
  if (fallback) {
    rules.push({
      comment: 'the agent health port stays local',
      expr: [
        fromCluster,
        localDestination,
        eq({ payload: { protocol: 'tcp', field: 'dport' } }, options.healthPort),
        { accept: null },
      ],
    });
    // Ping answers for the router itself, whatever the fallback: a probe of the router (or of its
    // Service) should reach the router, and the LAN host behind the fallback is no echo service.
    rules.push({
      comment: 'ICMP to the router is answered by the router',
      expr: [
        fromCluster,
        localDestination,
        eq(meta('l4proto'), fallback.family === 4 ? 'icmp' : 'ipv6-icmp'),
        { accept: null },
      ],
    });
    rules.push({
      comment: `fallback, IPv${fallback.family}`,
      expr: [
        fromCluster,
        localDestination,
        nfproto(fallback.family),
        { dnat: { family: natFamily(fallback.family), addr: fallback.address } },
      ],
    });
  }
  return rules;
}

function postroutingRules(config: RouterConfig, options: AgentOptions, families: Family[]): NftRule[] {
  return families.map((family) => {
    const source = config.addresses.find((a) => a.family === family)!;
    return {
      comment: `SNAT to the egress address, IPv${family}`,
      expr: [
        eq(meta('oifname'), options.egressInterface),
        nfproto(family),
        // Only redirected flows: the pod's own packets (VRRP adverts from the link-local
        // address, neighbour discovery) keep their source; SNAT would make keepalived's fail.
        { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
        { snat: { family: natFamily(family), addr: source.address } },
      ],
    };
  });
}

/**
 * The pod's per-client ICMP rate limit (net.ipv4.icmp_ratelimit, net.ipv6.icmp.ratelimit): the
 * kernel sends the ICMP port unreachable of a UDP/SCTP reject through it, so by default a client
 * gets only the first six refusals, then one a second (measured: 6 of 20 probes at 20/s), and the
 * rest time out. The plan sets it to 0 (no per-client limit) for families that reject; the global
 * limit, net.ipv4.icmp_msgs_per_sec, still applies.
 */
export const icmpRateLimitSysctl = (family: Family): Sysctl =>
  family === 4 ? sysctl('net', 'ipv4', 'icmp_ratelimit') : sysctl('net', 'ipv6', 'icmp', 'ratelimit');

/** Families whose unmatched connections from the cluster are refused (no fallback of theirs). */
export function rejectingFamilies(config: RouterConfig): Family[] {
  if (config.redirectRules.length === 0 && !config.fallback) return [];
  return familiesOf(config).filter((f) => config.fallback?.family !== f);
}

function inputRules(config: RouterConfig, options: AgentOptions): NftRule[] {
  const fromCluster = eq(meta('iifname'), options.clusterInterface);
  const rules: NftRule[] = [
    { expr: [established, { accept: null }] },
    {
      comment: 'the LAN may not open connections to the router',
      expr: [
        eq(meta('iifname'), options.egressInterface),
        eq(meta('l4proto'), { set: ['tcp', 'udp', 'sctp'] }),
        { drop: null },
      ],
    },
  ];
  for (const family of rejectingFamilies(config)) {
    rules.push({
      comment: `no fallback, IPv${family}: refuse other TCP ports at once`,
      expr: [
        fromCluster,
        // Not `meta nfproto`: nft 1.0.6 lists that match away in front of `reject with tcp reset`
        // (the kernel keeps it), so the listing would not round-trip; `ip version` does.
        ipVersion(family),
        {
          match: {
            op: '!=',
            left: { payload: { protocol: 'tcp', field: 'dport' } },
            right: options.healthPort,
          },
        },
        { reject: { type: 'tcp reset' } },
      ],
    });
    rules.push({
      comment: `no fallback, IPv${family}: refuse other UDP/SCTP ports at once`,
      expr: [
        fromCluster,
        nfproto(family),
        eq(meta('l4proto'), { set: ['udp', 'sctp'] }),
        { reject: { type: 'icmpx', expr: 'port-unreachable' } },
      ],
    });
  }
  return rules;
}

/**
 * MSS clamping, both directions, both families: a forwarded SYN or SYN/ACK advertises at most what
 * fits the route it takes and the route back to its sender (`rt mtu`; the kernel only ever lowers
 * it). The cluster side is often an overlay with a smaller MTU than the LAN: without the clamp a
 * destination sends full-sized segments the router cannot forward into the cluster, and if it or
 * the path filters ICMP "fragmentation needed", downloads stall (a PMTU black hole).
 */
const mssClamp: NftRule = {
  comment: 'clamp the MSS of forwarded SYNs to the path MTU, both directions',
  expr: [
    { match: { op: 'in', left: { payload: { protocol: 'tcp', field: 'flags' } }, right: 'syn' } },
    { mangle: { key: { 'tcp option': { name: 'maxseg', field: 'size' } }, value: { rt: { key: 'mtu' } } } },
  ],
};

function forwardRules(options: AgentOptions): NftRule[] {
  return [
    // First: the SYN/ACK is already an established flow's packet.
    mssClamp,
    { expr: [established, { accept: null }] },
    {
      comment: 'only redirected flows from the cluster to the LAN',
      expr: [
        eq(meta('iifname'), options.clusterInterface),
        eq(meta('oifname'), options.egressInterface),
        { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
        { accept: null },
      ],
    },
  ];
}

/**
 * Connections that arrive on the cluster interface are marked, and their replies carry the mark
 * so a policy route (see steps/routes.ts) sends them back out of the cluster interface. Without
 * it, replies to clients outside the cluster CIDRs given, and to kubelet probes from a node
 * address, would follow the default route out of the egress interface.
 */
export const CLUSTER_REPLY_MARK = 0x4552;

function replyMarkRules(options: AgentOptions): { prerouting: NftRule[]; output: NftRule[] } {
  const replyOfMarked: NftStatement[] = [
    eq({ ct: { key: 'direction' } }, 'reply'),
    eq({ ct: { key: 'mark' } }, CLUSTER_REPLY_MARK),
    { mangle: { key: { meta: { key: 'mark' } }, value: CLUSTER_REPLY_MARK } },
  ];
  return {
    prerouting: [
      {
        comment: 'connections from the cluster are answered through the cluster interface',
        expr: [
          eq(meta('iifname'), options.clusterInterface),
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
          { mangle: { key: { ct: { key: 'mark' } }, value: CLUSTER_REPLY_MARK } },
        ],
      },
      { comment: 'forwarded replies to the cluster', expr: replyOfMarked },
    ],
    output: [{ comment: 'local replies to the cluster (health probes)', expr: replyOfMarked }],
  };
}

function planChains(config: RouterConfig, options: AgentOptions, families: Family[]): NftChain[] {
  const marks = replyMarkRules(options);
  const chains: NftChain[] = [
    {
      name: 'mark_from_cluster',
      type: 'filter',
      hook: 'prerouting',
      prio: -150,
      policy: 'accept',
      rules: marks.prerouting,
    },
    {
      name: 'mark_local_replies',
      type: 'route',
      hook: 'output',
      prio: -150,
      policy: 'accept',
      rules: marks.output,
    },
    {
      name: 'prerouting',
      type: 'nat',
      hook: 'prerouting',
      prio: -100,
      policy: 'accept',
      rules: preroutingRules(config, options, families),
    },
    {
      name: 'postrouting',
      type: 'nat',
      hook: 'postrouting',
      prio: 100,
      policy: 'accept',
      rules: postroutingRules(config, options, families),
    },
    {
      name: 'input',
      type: 'filter',
      hook: 'input',
      prio: 0,
      policy: 'accept',
      rules: inputRules(config, options),
    },
    {
      name: 'forward',
      type: 'filter',
      hook: 'forward',
      prio: 0,
      policy: 'drop',
      rules: forwardRules(options),
    },
  ];
  return chains;
}

export function planRuleset(config: RouterConfig, options: AgentOptions): NftTable {
  const families = familiesOf(config);
  const maps = families.flatMap((f) => redirectMaps(config, f));
  return { family: 'inet', name: TABLE_NAME, maps, chains: planChains(config, options, families) };
}

/**
 * The redirect maps of one family packed straight from the rules: the same elements
 * `redirectMaps` renders, without an array per element. The rules' keys are unique per family
 * (validation), so one pass over the key space orders them.
 */
function packedRedirectMaps(config: RouterConfig, family: Family): PackedMap[] {
  // Typed arrays all the way: this runs on every reload, and at 65,534 rules a builder's
  // per-element pushes and checks cost tens of ms where the two passes below cost a few.
  const slot = new Int32Array(KEY_SPACE);
  const rules = config.redirectRules;
  let count = 0;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as RedirectRule;
    if (rule.family !== family) continue;
    const key = packKey(rule.protocol, rule.port);
    if (key === undefined) continue;
    if (slot[key] === 0) count++;
    slot[key] = i + 1;
  }
  const keys = new Uint32Array(count);
  const addressIndexes = new Uint32Array(count);
  const portIndexes = new Uint32Array(count);
  const addresses: string[] = [];
  const addressIndex = new Map<string, number>();
  const ports: number[] = [];
  const portIndex = new Int32Array(65_536).fill(-1);
  let n = 0;
  for (let key = 0; key < KEY_SPACE; key++) {
    const at = slot[key] as number;
    if (at === 0) continue;
    const rule = rules[at - 1] as RedirectRule;
    let a = addressIndex.get(rule.destinationIP);
    if (a === undefined) {
      a = addresses.push(rule.destinationIP) - 1;
      addressIndex.set(rule.destinationIP, a);
    }
    let p = portIndex[rule.targetPort] as number;
    if (p < 0) {
      p = ports.push(rule.targetPort) - 1;
      portIndex[rule.targetPort] = p;
    }
    keys[n] = key;
    addressIndexes[n] = a;
    portIndexes[n] = p;
    n++;
  }
  const [addressShape, portShape] = redirectMapShapes(family);
  // Keys ascending, each once (one slot per key); the two maps share them.
  return [
    {
      ...addressShape,
      elements: count ? PackedElements.fromSorted(keys, addressIndexes, addresses) : PackedElements.empty,
    },
    {
      ...portShape,
      elements: count ? PackedElements.fromSorted(keys, portIndexes, ports) : PackedElements.empty,
    },
  ];
}

/**
 * `planRuleset` with packed maps, built without rendering an element: what the table step diffs
 * and the reconciler holds as committed. At 65,534 rules it saves the arrays per element that
 * rendering and packing again cost on every reload.
 */
export function planPackedTable(config: RouterConfig, options: AgentOptions): TableModel {
  const families = familiesOf(config);
  const maps = families.flatMap((f) => packedRedirectMaps(config, f));
  return { family: 'inet', name: TABLE_NAME, maps, chains: planChains(config, options, families) };
}

/** What a table does with new connections of one family, read back from the table itself. */
export interface RedirectTargets {
  /** (protocol, port) → the rule's destination address. */
  readonly addresses: PackedElements;
  /** (protocol, port) → the rule's target port (a key missing here keeps its own port). */
  readonly ports: PackedElements;
  /** The fallback address (same port), when the table has one for the family. */
  readonly fallback?: string;
}

/**
 * The redirects a table of this layout holds for `family` (from its maps and its fallback rule);
 * undefined when the table serves no such family. It reads a listed table as well as a planned
 * one, so the conntrack step can tell what a pass changes for established flows.
 */
export function redirectTargets(table: TableModel, family: Family): RedirectTargets | undefined {
  const addresses = table.maps.find((m) => m.name === addressMapName(family))?.elements;
  if (!addresses) return undefined;
  const ports = table.maps.find((m) => m.name === portMapName(family))?.elements ?? PackedElements.empty;
  const nat = natFamily(family);
  let fallback: string | undefined;
  for (const rule of table.chains.find((c) => c.name === 'prerouting')?.rules ?? [])
    for (const statement of rule.expr)
      if ('dnat' in statement && statement.dnat.family === nat && typeof statement.dnat.addr === 'string')
        fallback = statement.dnat.addr;
  return { addresses, ports, ...(fallback ? { fallback } : {}) };
}
