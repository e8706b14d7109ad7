/**
 * Config → the network state the pod must end up with, apart from nftables: the macvlan,
 * its addresses, the routes and the sysctls. Facts only known at apply time (the cluster
 * interface's gateway, an inferred gateway) come in as `facts`; without them the plan says
 * where the value will come from.
 */
import { networkOf } from '../config/ip.js';
import type { AgentOptions, Family, MacvlanMode, RouterConfig } from '../config/model.js';

export interface PlannedLink {
  readonly name: string;
  readonly kind: 'macvlan';
  readonly mode: Lowercase<MacvlanMode>;
  /** Undefined: inferred at apply time (the interface whose subnet holds the egress address). */
  readonly master?: string;
  /** Undefined: the master's MTU. */
  readonly mtu?: number;
}

export interface PlannedAddress {
  readonly family: Family;
  readonly address: string;
  readonly prefixLength: number;
  readonly cidr: string;
}

export type RouteGateway = { readonly address: string } | { readonly previousDefaultOf: string };

export interface PlannedRoute {
  readonly family: Family;
  /** `default` or a CIDR. */
  readonly destination: string;
  readonly device: string;
  readonly via?: RouteGateway;
  readonly why: string;
}

export interface PlannedSysctl {
  readonly key: string;
  readonly value: string;
}

export interface InterfacePlan {
  readonly link: PlannedLink;
  readonly clusterInterface: string;
  readonly addresses: readonly PlannedAddress[];
  readonly routes: readonly PlannedRoute[];
  readonly sysctls: readonly PlannedSysctl[];
}

export interface PlanFacts {
  /** Gateways discovered at apply time for families whose config names none. */
  readonly inferredGateways?: Partial<Record<Family, string>>;
  /** The cluster interface's default gateway before the agent moved the default route. */
  readonly clusterGateways?: Partial<Record<Family, string>>;
}

export interface PlanOptions extends AgentOptions {
  /** Cluster/service CIDRs that must stay reachable through the cluster interface. */
  readonly clusterCidrs?: readonly string[];
}

const hostLength = (family: Family): number => (family === 4 ? 32 : 128);
const familyOfCidr = (cidr: string): Family => (cidr.includes(':') ? 6 : 4);

/** The gateway of each family: the config's, else one found at apply time. */
export function gatewaysOf(config: RouterConfig, facts: PlanFacts = {}): Partial<Record<Family, string>> {
  const result: Partial<Record<Family, string>> = {};
  for (const family of [4, 6] as const) {
    const configured = config.addresses.find((a) => a.family === family && a.gateway)?.gateway;
    const gateway = configured ?? facts.inferredGateways?.[family];
    if (gateway && config.addresses.some((a) => a.family === family)) result[family] = gateway;
  }
  return result;
}

export function planInterface(
  config: RouterConfig,
  options: PlanOptions,
  facts: PlanFacts = {},
): InterfacePlan {
  const addresses = config.addresses.map((a) => ({
    family: a.family,
    address: a.address,
    prefixLength: a.prefixLength,
    cidr: `${a.address}/${a.prefixLength}`,
  }));
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
    const known = facts.clusterGateways?.[family];
    routes.push({
      family,
      destination: cidr,
      device: options.clusterInterface,
      via: known ? { address: known } : { previousDefaultOf: options.clusterInterface },
      why: 'clients in other cluster subnets get their replies',
    });
  }
  const families = new Set(addresses.map((a) => a.family));
  const sysctls: PlannedSysctl[] = [];
  if (families.has(4)) sysctls.push({ key: 'net.ipv4.ip_forward', value: '1' });
  if (families.has(6)) sysctls.push({ key: 'net.ipv6.conf.all.forwarding', value: '1' });
  return {
    link: {
      name: options.egressInterface,
      kind: 'macvlan',
      mode: config.macvlan.mode.toLowerCase() as Lowercase<MacvlanMode>,
      ...(config.macvlan.master ? { master: config.macvlan.master } : {}),
      ...(config.macvlan.mtu ? { mtu: config.macvlan.mtu } : {}),
    },
    clusterInterface: options.clusterInterface,
    addresses,
    routes,
    sysctls,
  };
}

/** The on-link subnets of the egress addresses (for master inference and messages). */
export function egressSubnets(config: RouterConfig): string[] {
  return config.addresses.map((a) => networkOf({ ...a, bare: false }));
}
