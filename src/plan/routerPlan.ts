/**
 * The one producer of the desired state: config + options (+ facts read from the kernel) →
 * everything apply makes true: the macvlan and its attributes, sysctls, addresses, routes, the
 * reply-routing table and rule, and the nftables table. `render` prints this plan without facts
 * (placeholders say where each value will come from); apply computes it with the facts of the
 * pass and converges the kernel to it.
 */
import type { AgentOptions, Family, MacvlanMode, RouterConfig } from '../config/model.js';
import { type Sysctl, sysctl } from '../link/sysctl.js';
import type { NftTable } from '../nft/model.js';
import type { TableModel } from '../nft/packed.js';
import {
  CLUSTER_REPLY_MARK,
  icmpRateLimitSysctl,
  planPackedTable,
  planRuleset,
  rejectingFamilies,
} from './ruleset.js';

export interface LinkPlan {
  readonly name: string;
  readonly kind: 'macvlan';
  readonly mode: Lowercase<MacvlanMode>;
  /** The master's name: configured, else inferred at apply time; undefined without facts. */
  readonly master?: string;
  readonly masterSource: 'configured' | 'inferred' | 'unknown';
  /** The MTU: configured, else the master's at apply time; undefined without facts. */
  readonly mtu?: number;
  readonly mtuSource: 'configured' | 'master' | 'unknown';
}

export interface PlannedSysctl {
  readonly key: Sysctl;
  readonly value: string;
  /** False: nice to have; when /proc/sys is read-only apply warns and goes on. */
  readonly required: boolean;
  readonly why: string;
}

export interface PlannedAddress {
  readonly family: Family;
  readonly address: string;
  readonly prefixLength: number;
  readonly cidr: string;
}

/** A gateway known now, or one that only the kernel can tell (render without facts). */
export type RouteGateway = { readonly address: string } | { readonly previousDefaultOf: string };

export interface PlannedRoute {
  readonly family: Family;
  /** `default` or a CIDR. */
  readonly destination: string;
  readonly device: string;
  readonly via?: RouteGateway;
  /** Absent: the main table. */
  readonly table?: string;
  readonly why: string;
}

export interface PlannedRule {
  readonly family: Family;
  readonly fwmark: string;
  readonly table: string;
  readonly priority: number;
  readonly why: string;
}

export interface RouterPlan {
  readonly link: LinkPlan;
  readonly clusterInterface: string;
  readonly sysctls: readonly PlannedSysctl[];
  readonly addresses: readonly PlannedAddress[];
  /** Main-table routes the agent owns (protocol 77). */
  readonly routes: readonly PlannedRoute[];
  /** Routes of the reply table, and the rule that sends marked replies there. */
  readonly replyRoutes: readonly PlannedRoute[];
  readonly replyRules: readonly PlannedRule[];
  /** Said in words when the facts to list them are not known (render). */
  readonly masterHostRoutes: 'listed' | 'unknown';
  readonly replyPrefixes: 'listed' | 'unknown';
  readonly table: NftTable;
  /** The same table with packed maps, built without rendering an element (see planPackedTable). */
  readonly packedTable: TableModel;
}

/** What only the kernel can tell, read at the start of a pass. */
export interface PlanFacts {
  /** The master in its namespace (configured or inferred), with its MTU. */
  readonly master?: { readonly name: string; readonly mtu: number };
  /** Gateways found for families whose config names none (the master namespace's default gateway). */
  readonly inferredGateways?: Partial<Record<Family, string>>;
  /** The cluster interface's default gateway, before or after the agent demoted it. */
  readonly clusterGateways?: Partial<Record<Family, string>>;
  /** The cluster interface's connected prefixes. */
  readonly clusterPrefixes?: Partial<Record<Family, readonly string[]>>;
  /** The master namespace's own addresses (a macvlan cannot reach them through its master). */
  readonly masterAddresses?: readonly { readonly family: Family; readonly address: string }[];
}

export interface PlanOptions extends AgentOptions {
  /** Cluster/service CIDRs that must stay reachable through the cluster interface. */
  readonly clusterCidrs?: readonly string[];
}

/** The reply table's number and priority: the mark's value, so it is easy to recognise. */
export const REPLY_TABLE = String(CLUSTER_REPLY_MARK);
export const REPLY_FWMARK = `0x${CLUSTER_REPLY_MARK.toString(16)}`;

const hostLength = (family: Family): number => (family === 4 ? 32 : 128);
const familyOfCidr = (cidr: string): Family => (cidr.includes(':') ? 6 : 4);

export const familiesOf = (config: RouterConfig): Family[] =>
  ([4, 6] as const).filter((f) => config.addresses.some((a) => a.family === f));

/** The gateway of each family: the config's, else one found at apply time. */
export function gatewaysOf(config: RouterConfig, facts: PlanFacts = {}): Partial<Record<Family, string>> {
  const result: Partial<Record<Family, string>> = {};
  for (const family of familiesOf(config)) {
    const configured = config.addresses.find((a) => a.family === family && a.gateway)?.gateway;
    const gateway = configured ?? facts.inferredGateways?.[family];
    if (gateway) result[family] = gateway;
  }
  return result;
}

function linkPlan(config: RouterConfig, options: PlanOptions, facts: PlanFacts): LinkPlan {
  const master = config.macvlan.master ?? facts.master?.name;
  const mtu = config.macvlan.mtu ?? facts.master?.mtu;
  return {
    name: options.egressInterface,
    kind: 'macvlan',
    mode: config.macvlan.mode.toLowerCase() as Lowercase<MacvlanMode>,
    ...(master ? { master } : {}),
    masterSource: config.macvlan.master ? 'configured' : master ? 'inferred' : 'unknown',
    ...(mtu ? { mtu } : {}),
    mtuSource: config.macvlan.mtu ? 'configured' : mtu ? 'master' : 'unknown',
  };
}

function sysctlPlan(config: RouterConfig, options: PlanOptions): PlannedSysctl[] {
  const families = familiesOf(config);
  const wanted: PlannedSysctl[] = [];
  if (families.includes(4))
    wanted.push({
      key: sysctl('net', 'ipv4', 'ip_forward'),
      value: '1',
      required: true,
      why: 'the router forwards IPv4',
    });
  if (families.includes(6)) {
    wanted.push({
      key: sysctl('net', 'ipv6', 'conf', 'all', 'forwarding'),
      value: '1',
      required: true,
      why: 'the router forwards IPv6',
    });
    wanted.push({
      key: sysctl('net', 'ipv6', 'conf', options.egressInterface, 'ndisc_notify'),
      value: '1',
      required: false,
      why: 'the kernel announces new IPv6 addresses (unsolicited NA)',
    });
  }
  for (const family of rejectingFamilies(config))
    wanted.push({
      key: icmpRateLimitSysctl(family),
      value: '0',
      required: false,
      why: 'unmatched UDP/SCTP ports are refused at once, not only the first few per second per client',
    });
  return wanted;
}

function clusterGatewayOf(options: PlanOptions, facts: PlanFacts, family: Family): RouteGateway {
  const known = facts.clusterGateways?.[family];
  return known ? { address: known } : { previousDefaultOf: options.clusterInterface };
}

function mainRoutes(config: RouterConfig, options: PlanOptions, facts: PlanFacts): PlannedRoute[] {
  const routes: PlannedRoute[] = [];
  const gateways = gatewaysOf(config, facts);
  for (const family of [4, 6] as const) {
    const gateway = gateways[family];
    if (!gateway) continue;
    routes.push({
      family,
      destination: `${gateway}/${hostLength(family)}`,
      device: options.egressInterface,
      why: 'the gateway is on the egress link',
    });
    routes.push({
      family,
      destination: 'default',
      device: options.egressInterface,
      via: { address: gateway },
      why: 'egress traffic leaves through the gateway',
    });
  }
  for (const cidr of options.clusterCidrs ?? []) {
    const family = familyOfCidr(cidr);
    routes.push({
      family,
      destination: cidr,
      device: options.clusterInterface,
      via: clusterGatewayOf(options, facts, family),
      why: "the pod's own traffic to the cluster stays on the cluster interface",
    });
  }
  for (const { family, address } of facts.masterAddresses ?? []) {
    const gateway = facts.clusterGateways?.[family];
    const destination = `${address}/${hostLength(family)}`;
    if (!gateway || address === gateway || routes.some((r) => r.destination === destination)) continue;
    routes.push({
      family,
      destination,
      device: options.clusterInterface,
      via: { address: gateway },
      why: "the node's own address: a macvlan cannot reach its master",
    });
  }
  return routes;
}

function replyRouting(
  options: PlanOptions,
  facts: PlanFacts,
  families: readonly Family[],
): { routes: PlannedRoute[]; rules: PlannedRule[] } {
  const routes: PlannedRoute[] = [];
  const rules: PlannedRule[] = [];
  const known = facts.clusterGateways !== undefined;
  for (const family of families) {
    // With facts, a family whose cluster interface has no gateway needs no reply table.
    if (known && !facts.clusterGateways?.[family]) continue;
    for (const prefix of facts.clusterPrefixes?.[family] ?? []) {
      routes.push({
        family,
        destination: prefix,
        device: options.clusterInterface,
        table: REPLY_TABLE,
        why: 'replies to clients on the cluster subnet',
      });
    }
    routes.push({
      family,
      destination: 'default',
      device: options.clusterInterface,
      via: clusterGatewayOf(options, facts, family),
      table: REPLY_TABLE,
      why: 'replies to connections that came in on the cluster interface go back out of it',
    });
    rules.push({
      family,
      fwmark: REPLY_FWMARK,
      table: REPLY_TABLE,
      priority: CLUSTER_REPLY_MARK,
      why: 'marked replies use the reply table',
    });
  }
  return { routes, rules };
}

export function planRouter(config: RouterConfig, options: PlanOptions, facts: PlanFacts = {}): RouterPlan {
  const families = familiesOf(config);
  const reply = replyRouting(options, facts, families);
  let table: NftTable | undefined;
  let packedTable: TableModel | undefined;
  const plan: Omit<RouterPlan, 'packedTable'> = {
    link: linkPlan(config, options, facts),
    clusterInterface: options.clusterInterface,
    sysctls: sysctlPlan(config, options),
    addresses: config.addresses.map((a) => ({
      family: a.family,
      address: a.address,
      prefixLength: a.prefixLength,
      cidr: `${a.address}/${a.prefixLength}`,
    })),
    routes: mainRoutes(config, options, facts),
    replyRoutes: reply.routes,
    replyRules: reply.rules,
    masterHostRoutes: facts.masterAddresses ? 'listed' : 'unknown',
    replyPrefixes: facts.clusterPrefixes ? 'listed' : 'unknown',
    // Rendered on first use: a pass that trusts its committed table, or the sysctl poll, never
    // needs the whole ruleset (131,069 elements at the largest config).
    get table() {
      table ??= planRuleset(config, options);
      return table;
    },
  };
  // Not enumerable: `render -o json` prints the plan, and the packed table is its `table` again.
  return Object.defineProperty(plan, 'packedTable', {
    get() {
      packedTable ??= planPackedTable(config, options);
      return packedTable;
    },
    enumerable: false,
  }) as RouterPlan;
}
