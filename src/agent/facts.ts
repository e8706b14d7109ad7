/**
 * The facts a plan needs that only the kernel knows, derived purely from one observation of the
 * pod's namespace and the master's: which master, its MTU, gateways found in the master's
 * namespace, the cluster interface's gateway and prefixes, and the master's own addresses.
 */
import { parsePrefix, prefixContains } from '../config/ip.js';
import type { Family, RouterConfig } from '../config/model.js';
import {
  AGENT_ROUTE_PROTO,
  type LinkInfo,
  type NamespaceState,
  normalDst,
  type RouteInfo,
} from '../link/iproute.js';
import type { PlanFacts, PlanOptions } from '../plan/routerPlan.js';

/** Whether `cidr` (or a bare address, a host prefix) contains the address `ip`. */
export function cidrContains(cidr: string, ip: string): boolean {
  const prefix = parsePrefix(cidr);
  const address = parsePrefix(ip);
  return prefix.ok && address.ok && prefixContains(prefix.value, address.value);
}

const mainTable = (routes: NamespaceState['routes']) =>
  routes.filter((r) => r.table === undefined || r.table === 'main');
const isOurs = (r: RouteInfo): boolean => r.protocol === AGENT_ROUTE_PROTO;

/** The cluster interface's default gateway (demoted by the agent or not). */
export function clusterGatewayOf(
  pod: NamespaceState,
  clusterInterface: string,
  family: Family,
): string | undefined {
  return mainTable(pod.routes).find(
    (r) =>
      r.family === family && r.dst === 'default' && r.dev === clusterInterface && !isOurs(r) && r.gateway,
  )?.gateway;
}

export interface MasterChoice {
  readonly link?: LinkInfo;
  /** Why none was found, for MasterNotFound. */
  readonly problem?: string;
}

/** The configured master, else the interface whose subnet holds an egress address, else the default route's. */
export function chooseMaster(
  config: RouterConfig,
  options: PlanOptions,
  master: NamespaceState,
): MasterChoice {
  const configured = config.macvlan.master;
  if (configured) {
    const link = master.links.find((l) => l.ifname === configured);
    return link ? { link } : { problem: `master interface ${configured} does not exist` };
  }
  for (const egress of config.addresses) {
    const holder = master.addresses.find(
      (a) =>
        a.scope === 'global' &&
        a.ifname !== options.egressInterface &&
        cidrContains(`${a.local}/${a.prefixlen}`, egress.address),
    );
    const link = holder && master.links.find((l) => l.ifname === holder.ifname);
    if (link) return { link };
  }
  for (const family of [4, 6] as const) {
    const route = mainTable(master.routes).find(
      (r) => r.family === family && r.dst === 'default' && r.dev && r.dev !== options.egressInterface,
    );
    const link = route && master.links.find((l) => l.ifname === route.dev);
    if (link) return { link };
  }
  const wanted = config.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(', ');
  return {
    problem: `no master given and none can be inferred: no interface has a subnet holding ${wanted}, and there is no default route`,
  };
}

/** The master namespace's default gateway of a family, when it lies on an egress subnet of that family. */
function inferredGateway(config: RouterConfig, master: NamespaceState, family: Family): string | undefined {
  const gateway = mainTable(master.routes).find(
    (r) => r.family === family && r.dst === 'default' && r.gateway,
  )?.gateway;
  if (!gateway) return undefined;
  const onSubnet = config.addresses.some(
    (a) => a.family === family && cidrContains(`${a.address}/${a.prefixLength}`, gateway),
  );
  return onSubnet ? gateway : undefined;
}

export interface Observed {
  readonly pod: NamespaceState;
  /** The master's namespace when it is another one than the pod's; undefined when not visible. */
  readonly master?: NamespaceState;
  /** The master is in the pod's own namespace (no --master-netns, or it names the pod's). */
  readonly masterIsPod: boolean;
}

export function factsFrom(config: RouterConfig, options: PlanOptions, observed: Observed): PlanFacts {
  const masterNs = observed.masterIsPod ? observed.pod : observed.master;
  const clusterGateways: Partial<Record<Family, string>> = {};
  const clusterPrefixes: Partial<Record<Family, string[]>> = {};
  const inferredGateways: Partial<Record<Family, string>> = {};
  const main = mainTable(observed.pod.routes);
  for (const family of [4, 6] as const) {
    const gateway = clusterGatewayOf(observed.pod, options.clusterInterface, family);
    if (gateway) clusterGateways[family] = gateway;
    clusterPrefixes[family] = main
      .filter(
        (r) =>
          r.family === family &&
          r.dev === options.clusterInterface &&
          !r.gateway &&
          r.protocol === 'kernel' &&
          // Link-local replies never need the table: they never leave the link.
          !r.dst.startsWith('fe80:'),
      )
      .map((r) => normalDst(r.dst));
    if (masterNs && !config.addresses.some((a) => a.family === family && a.gateway)) {
      const inferred = inferredGateway(config, masterNs, family);
      if (inferred) inferredGateways[family] = inferred;
    }
  }
  const choice = masterNs ? chooseMaster(config, options, masterNs) : {};
  const onClusterLink = (family: Family, address: string) =>
    main.some(
      (r) =>
        r.family === family &&
        r.dev === options.clusterInterface &&
        !r.gateway &&
        r.dst !== 'default' &&
        cidrContains(normalDst(r.dst), address),
    );
  const masterAddresses =
    observed.master && !observed.masterIsPod
      ? observed.master.addresses
          .filter((a) => a.scope === 'global')
          .map((a) => ({ family: (a.family === 'inet' ? 4 : 6) as Family, address: a.local }))
          .filter((a) => !onClusterLink(a.family, a.address))
      : undefined;
  return {
    ...(choice.link ? { master: { name: choice.link.ifname, mtu: choice.link.mtu } } : {}),
    inferredGateways,
    clusterGateways,
    clusterPrefixes,
    ...(masterAddresses ? { masterAddresses } : {}),
  };
}
