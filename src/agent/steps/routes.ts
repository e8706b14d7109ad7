/**
 * Step 4: routes. The default route moves to the egress interface via the gateway; the pod's
 * original default is kept at a high metric (DEMOTED_METRIC) rather than deleted, so cleanup
 * can restore it and cluster routes know the cluster gateway. Routes the agent adds carry
 * protocol AGENT_ROUTE_PROTO; any such route no longer wanted is removed.
 */
import { parsePrefix, prefixContains } from '../../config/ip.js';
import type { Family } from '../../config/model.js';
import {
  AGENT_ROUTE_PROTO,
  deleteRouteArgs,
  ip,
  listAddresses,
  listRoutes,
  type RouteInfo,
  routeArgs,
} from '../../link/iproute.js';
import { gatewaysOf, type PlannedRoute, planInterface } from '../../plan/interfacePlan.js';
import type { Runner } from '../../system/command.js';
import type { StepContext } from '../context.js';
import { inStep, StepError } from '../stepError.js';

export const DEMOTED_METRIC = 30000;
const NORMAL_METRIC: Record<Family, number | undefined> = { 4: undefined, 6: 1024 };
const hostLength = (family: Family): number => (family === 4 ? 32 : 128);
const familyName = (family: Family): string => `IPv${family}`;

export interface WantedRoute {
  readonly family: Family;
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
}

export const isOurs = (r: RouteInfo): boolean => r.protocol === AGENT_ROUTE_PROTO;
/** `ip -json` prints host routes without their prefix length; compare in CIDR form. */
export const normalDst = (dst: string): string =>
  dst === 'default' || dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;
const isDemoted = (r: RouteInfo): boolean => r.dst === 'default' && r.metric === DEMOTED_METRIC && !isOurs(r);
const sameRoute = (r: RouteInfo, w: WantedRoute): boolean =>
  normalDst(r.dst) === w.dst && (r.gateway ?? undefined) === w.gateway && r.dev === w.dev;
export const routeText = (r: { dst: string; gateway?: string; dev?: string }): string =>
  `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;

/** The gateway of the cluster interface's default route, demoted or not. */
export function clusterGateway(routes: readonly RouteInfo[], clusterInterface: string): string | undefined {
  return routes.find((r) => r.dst === 'default' && r.dev === clusterInterface && !isOurs(r) && r.gateway)
    ?.gateway;
}

/** The master namespace's default gateway, when it lies on one of the egress subnets of its family. */
async function inferGateway(ctx: StepContext, family: Family): Promise<string | undefined> {
  if (!ctx.master) return undefined;
  const gateway = (await listRoutes(ctx.master, family)).find(
    (r) => r.dst === 'default' && r.gateway,
  )?.gateway;
  if (!gateway) return undefined;
  const onSubnet = ctx.config.addresses.some((a) => {
    const prefix = parsePrefix(`${a.address}/${a.prefixLength}`);
    const candidate = parsePrefix(gateway);
    return a.family === family && prefix.ok && candidate.ok && prefixContains(prefix.value, candidate.value);
  });
  return onSubnet ? gateway : undefined;
}

/** Destinations of a family that are not on any egress subnet: they need a gateway. */
function offLinkTargets(ctx: StepContext, family: Family): string[] {
  const targets = [
    ...ctx.config.redirectRules.filter((r) => r.family === family).map((r) => r.destinationIP),
    ...(ctx.config.fallback?.family === family ? [ctx.config.fallback.address] : []),
  ];
  return targets.filter(
    (target) =>
      !ctx.config.addresses.some((a) => {
        const prefix = parsePrefix(`${a.address}/${a.prefixLength}`);
        const ipText = parsePrefix(target);
        return prefix.ok && ipText.ok && prefixContains(prefix.value, ipText.value);
      }),
  );
}

/** Host routes via the cluster interface to the master's own addresses: a macvlan cannot reach its master. */
async function masterHostRoutes(
  ctx: StepContext,
  current: Record<Family, RouteInfo[]>,
  clusterGateways: Partial<Record<Family, string>>,
): Promise<WantedRoute[]> {
  if (!ctx.master || ctx.master === ctx.pod) return [];
  const addresses = await listAddresses(ctx.master);
  const cluster = ctx.options.clusterInterface;
  return addresses.flatMap((a): WantedRoute[] => {
    const family: Family = a.family === 'inet' ? 4 : 6;
    const gateway = clusterGateways[family];
    if (a.scope !== 'global' || !gateway || a.local === gateway) return [];
    const address = parsePrefix(a.local);
    // Already on-link on the cluster interface: reachable without help.
    const onLink = current[family].some((r) => {
      const subnet = parsePrefix(normalDst(r.dst));
      return (
        r.dev === cluster &&
        !r.gateway &&
        subnet.ok &&
        address.ok &&
        prefixContains(subnet.value, address.value)
      );
    });
    return onLink ? [] : [{ family, dst: `${a.local}/${hostLength(family)}`, gateway, dev: cluster }];
  });
}

/** Works out every route the pod must have, from the config and what the namespaces show. */
export async function wantedRoutes(ctx: StepContext): Promise<WantedRoute[]> {
  const current = { 4: await listRoutes(ctx.pod, 4), 6: await listRoutes(ctx.pod, 6) };
  const families = new Set(ctx.config.addresses.map((a) => a.family));
  const clusterGateways: Partial<Record<Family, string>> = {};
  const inferredGateways: Partial<Record<Family, string>> = {};
  for (const family of [4, 6] as const) {
    const gw = clusterGateway(current[family], ctx.options.clusterInterface);
    if (gw) clusterGateways[family] = gw;
    if (!families.has(family) || gatewaysOf(ctx.config)[family]) continue;
    const inferred = await inferGateway(ctx, family);
    if (inferred) inferredGateways[family] = inferred;
    else {
      const offLink = offLinkTargets(ctx, family);
      if (offLink.length > 0) {
        throw new StepError(
          'routes',
          'GatewayMissing',
          offLink[0]!,
          `${familyName(family)} destination ${offLink[0]} is off-link and no ${familyName(family)} gateway is configured or found in the master's namespace (set spec.addresses[].gateway)`,
        );
      }
    }
  }
  const plan = planInterface(ctx.config, ctx.options, { inferredGateways, clusterGateways });
  const wanted = plan.routes.map((route: PlannedRoute): WantedRoute => {
    if (route.via && 'previousDefaultOf' in route.via) {
      throw new StepError(
        'routes',
        'GatewayMissing',
        route.destination,
        `--cluster-cidr ${route.destination} needs the ${familyName(route.family)} default gateway of ${route.via.previousDefaultOf}, and it has none`,
      );
    }
    return {
      family: route.family,
      dst: route.destination,
      dev: route.device,
      ...(route.via ? { gateway: route.via.address } : {}),
    };
  });
  return [...wanted, ...(await masterHostRoutes(ctx, current, clusterGateways))];
}

async function run(ctx: StepContext, what: string, args: string[]): Promise<void> {
  await inStep('routes', 'RouteFailed', what, () => ip(ctx.pod, args));
}

/** Moves a foreign default route to DEMOTED_METRIC, or back. */
/** `ip route replace` arguments that put a default route back as it was, at `metric`, with its own protocol. */
function defaultRouteArgs(family: Family, route: RouteInfo, metric: number | undefined): string[] {
  const proto = route.protocol && route.protocol !== 'unspec' ? route.protocol : undefined;
  return routeArgs(family, {
    dst: 'default',
    ...(route.gateway ? { gateway: route.gateway } : {}),
    dev: route.dev ?? '',
    ...(proto ? { protocol: proto } : {}),
    ...(metric !== undefined ? { metric } : {}),
  });
}

/** Re-adds a foreign default route at another metric, then deletes the original. */
async function moveDefaultRoute(
  pod: Runner,
  family: Family,
  route: RouteInfo,
  metric: number | undefined,
): Promise<RouteInfo> {
  await ip(pod, defaultRouteArgs(family, route, metric));
  await ip(pod, deleteRouteArgs(family, route));
  return { ...route, metric };
}

/** Moves a foreign default route to DEMOTED_METRIC, or back, as a step (errors name the step). */
const moveDefault = (ctx: StepContext, family: Family, route: RouteInfo, metric: number | undefined) =>
  inStep('routes', 'RouteFailed', routeText(route), () => moveDefaultRoute(ctx.pod, family, route, metric));

/**
 * `wanted` is the plan apply's preflight already made: the steps in between (link, sysctls,
 * addresses) change nothing it depends on, so only the current routes are read again.
 */
export async function ensureRoutes(ctx: StepContext, wanted: readonly WantedRoute[]): Promise<void> {
  const current = await inStep('routes', 'RouteFailed', 'routes', async () => ({
    4: await listRoutes(ctx.pod, 4),
    6: await listRoutes(ctx.pod, 6),
  }));
  for (const family of [4, 6] as const) {
    const routes = current[family];
    const want = wanted.filter((w) => w.family === family);
    const wantDefault = want.some((w) => w.dst === 'default');
    // Our own routes that are no longer wanted go first.
    for (const route of routes.filter((r) => isOurs(r) && !want.some((w) => sameRoute(r, w)))) {
      await run(ctx, routeText(route), deleteRouteArgs(family, route));
      ctx.undo.push(`removing route ${routeText(route)}`, () =>
        ip(
          ctx.pod,
          routeArgs(family, {
            dst: route.dst,
            ...(route.gateway ? { gateway: route.gateway } : {}),
            dev: route.dev ?? '',
            protocol: AGENT_ROUTE_PROTO,
          }),
        ),
      );
      ctx.changed('route', `removed route ${routeText(route)} (no longer wanted)`);
    }
    if (wantDefault) {
      // Only one previous default is kept. A foreign default on the egress interface (someone
      // replaced ours), or one appearing when the previous default is already kept, is drift:
      // it is removed, never demoted over the kept one (the same metric would overwrite it).
      let kept = routes.some(isDemoted);
      for (const route of routes.filter((r) => r.dst === 'default' && !isOurs(r) && !isDemoted(r))) {
        if (kept || route.dev === ctx.options.egressInterface) {
          await run(ctx, routeText(route), deleteRouteArgs(family, route));
          ctx.undo.push(`removing ${routeText(route)}`, () =>
            ip(ctx.pod, defaultRouteArgs(family, route, route.metric)),
          );
          ctx.changed(
            'route',
            `removed the default route ${routeText(route)} (the egress default route takes its place)`,
          );
          continue;
        }
        const original = route.metric;
        const demoted = await moveDefault(ctx, family, route, DEMOTED_METRIC);
        ctx.undo.push(`demoting ${routeText(route)}`, () => moveDefault(ctx, family, demoted, original));
        ctx.changed(
          'route',
          `kept the previous default route ${routeText(route)} at metric ${DEMOTED_METRIC}`,
        );
        kept = true;
      }
    } else {
      for (const route of routes.filter(isDemoted)) {
        const restored = await moveDefault(ctx, family, route, NORMAL_METRIC[family]);
        ctx.undo.push(`restoring ${routeText(route)}`, () =>
          moveDefault(ctx, family, restored, DEMOTED_METRIC),
        );
        ctx.changed('route', `restored the default route ${routeText(route)}`);
      }
    }
    for (const route of want) {
      if (routes.some((r) => isOurs(r) && sameRoute(r, route))) continue;
      // A route the pod already had for this destination stays as it is, and stays not ours.
      if (route.dst !== 'default' && routes.some((r) => !isOurs(r) && normalDst(r.dst) === route.dst))
        continue;
      await run(ctx, routeText(route), routeArgs(family, { ...route, protocol: AGENT_ROUTE_PROTO }));
      ctx.undo.push(`adding route ${routeText(route)}`, () =>
        ip(ctx.pod, deleteRouteArgs(family, { ...route, protocol: AGENT_ROUTE_PROTO })),
      );
      ctx.changed('route', `added route ${routeText(route)}`);
    }
  }
}

/** Cleanup: remove the agent's routes and put the previous default routes back. */
export async function removeRoutes(
  pod: Runner,
  changed: (kind: 'route', message: string) => void,
): Promise<void> {
  for (const family of [4, 6] as const) {
    const routes = await listRoutes(pod, family);
    for (const route of routes.filter(isOurs)) {
      await ip(pod, deleteRouteArgs(family, route)).catch(() => undefined);
      changed('route', `removed route ${routeText(route)}`);
    }
    for (const route of routes.filter(isDemoted)) {
      await moveDefaultRoute(pod, family, route, NORMAL_METRIC[family]);
      changed('route', `restored the default route ${routeText(route)}`);
    }
  }
}
