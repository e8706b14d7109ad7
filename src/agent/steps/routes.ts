/**
 * Main-table routes. The default route moves to the egress interface via the gateway; the pod's
 * previous default is kept at DEMOTED_METRIC rather than deleted, so cleanup can restore it and
 * cluster routes know the cluster gateway. Routes the agent adds carry protocol 77; any such
 * route no longer wanted is removed. A route the pod already had for a destination is left alone.
 */
import type { Family } from '../../config/model.js';
import {
  AGENT_ROUTE_PROTO,
  normalDst,
  type RouteInfo,
  type RouteSpec,
  routeArgs,
  routeText,
  specOf,
} from '../../link/iproute.js';
import { gatewaysOf, type PlannedRoute } from '../../plan/routerPlan.js';
import { type Action, ipOp } from '../actions.js';
import { cidrContains } from '../facts.js';
import { StepError } from '../stepError.js';
import type { Observation, Step, StepInput } from './step.js';

const STEP = 'routes';
export const DEMOTED_METRIC = 30000;
const NORMAL_METRIC: Record<Family, number | undefined> = { 4: undefined, 6: 1024 };

type Listed = RouteInfo & { readonly family: Family };

export const isOurs = (r: RouteInfo): boolean => r.protocol === AGENT_ROUTE_PROTO;
const isDemoted = (r: RouteInfo): boolean => r.dst === 'default' && r.metric === DEMOTED_METRIC && !isOurs(r);
const inTable = (r: RouteInfo, table: string | undefined): boolean =>
  (r.table ?? 'main') === (table ?? 'main') && (r.type === undefined || r.type === 'unicast');

/** A planned route with its gateway resolved (a plan made with facts always has one). */
export function resolved(route: PlannedRoute): RouteSpec {
  if (route.via && 'previousDefaultOf' in route.via) {
    throw new StepError(
      STEP,
      'GatewayMissing',
      route.destination,
      `${route.table ? `the reply route ${route.destination}` : `--cluster-cidr ${route.destination}`} needs the IPv${route.family} default gateway of ${route.via.previousDefaultOf}, and it has none`,
    );
  }
  return {
    family: route.family,
    dst: route.destination,
    dev: route.device,
    ...(route.via ? { gateway: route.via.address } : {}),
    ...(route.table ? { table: route.table } : {}),
  };
}

export const sameRoute = (r: RouteInfo, w: RouteSpec): boolean =>
  normalDst(r.dst) === normalDst(w.dst) && (r.gateway ?? undefined) === w.gateway && r.dev === w.dev;

/** The routes of a table as this pass will find them, given what earlier steps do. */
export function routesOf(input: StepInput, family: Family, table?: string): Listed[] {
  const egress = input.options.egressInterface;
  return input.observed.pod.routes.filter(
    (r) =>
      r.family === family &&
      inTable(r, table) &&
      !(r.dev && input.freshDevices.has(r.dev)) &&
      !(r.dev === egress && input.flushedFamilies.has(family)),
  );
}

const ours = (spec: RouteSpec): RouteSpec => ({ ...spec, protocol: AGENT_ROUTE_PROTO });

export function addRoute(step: string, spec: RouteSpec, message: string): Action {
  return {
    step,
    kind: 'route',
    object: routeText(spec),
    message,
    op: ipOp('pod', routeArgs('replace', ours(spec)), spec.family),
    undo: [ipOp('pod', routeArgs('delete', ours(spec)), spec.family)],
  };
}

export function deleteRoute(step: string, route: Listed, message: string): Action {
  const spec = specOf(route);
  return {
    step,
    kind: 'route',
    object: routeText(route),
    message,
    op: ipOp('pod', routeArgs('delete', spec), route.family),
    undo: [ipOp('pod', routeArgs('replace', spec), route.family)],
  };
}

/** Re-adds a foreign default route at another metric, then deletes the original: one action. */
function moveDefault(route: Listed, metric: number | undefined, message: string): Action[] {
  const from = specOf(route);
  const to: RouteSpec = { ...from, ...(metric !== undefined ? { metric } : {}) };
  if (metric === undefined) delete (to as { metric?: number }).metric;
  return [
    {
      step: STEP,
      kind: 'route',
      object: routeText(route),
      message,
      op: ipOp('pod', routeArgs('replace', to), route.family),
      undo: [ipOp('pod', routeArgs('delete', to), route.family)],
    },
    {
      step: STEP,
      kind: 'route',
      object: routeText(route),
      message: `${message} (the original removed)`,
      op: ipOp('pod', routeArgs('delete', from), route.family),
      undo: [ipOp('pod', routeArgs('replace', from), route.family)],
      quiet: true,
    },
  ];
}

/** Destinations of a family that are not on any egress subnet: they need a gateway. */
function offLinkTargets(input: StepInput, family: Family): string[] {
  const { config } = input;
  const targets = [
    ...config.redirectRules.filter((r) => r.family === family).map((r) => r.destinationIP),
    ...(config.fallback?.family === family ? [config.fallback.address] : []),
  ];
  return targets.filter(
    (target) => !config.addresses.some((a) => cidrContains(`${a.address}/${a.prefixLength}`, target)),
  );
}

function checkGateways(input: StepInput): void {
  const gateways = gatewaysOf(input.config, input.facts);
  for (const family of [4, 6] as const) {
    if (!input.config.addresses.some((a) => a.family === family) || gateways[family]) continue;
    const offLink = offLinkTargets(input, family);
    if (offLink[0])
      throw new StepError(
        STEP,
        'GatewayMissing',
        offLink[0],
        `IPv${family} destination ${offLink[0]} is off-link and no IPv${family} gateway is configured or found in the master's namespace (set spec.addresses[].gateway)`,
      );
  }
}

export const routesStep: Step = {
  name: STEP,
  reason: 'RouteFailed',
  converge(input) {
    checkGateways(input);
    const wantedAll = input.plan.routes.map(resolved);
    const actions: Action[] = [];
    for (const family of [4, 6] as const) {
      const routes = routesOf(input, family);
      const want = wantedAll.filter((w) => w.family === family);
      const wantDefault = want.some((w) => w.dst === 'default');
      for (const route of routes.filter((r) => isOurs(r) && !want.some((w) => sameRoute(r, w))))
        actions.push(deleteRoute(STEP, route, `removed route ${routeText(route)} (no longer wanted)`));
      if (wantDefault) {
        // Only one previous default is kept. A foreign default on the egress interface (someone
        // replaced ours), or one appearing when the previous default is already kept, is drift:
        // it is removed, never demoted over the kept one (the same metric would overwrite it).
        let kept = routes.some(isDemoted);
        for (const route of routes.filter((r) => r.dst === 'default' && !isOurs(r) && !isDemoted(r))) {
          if (kept || route.dev === input.options.egressInterface) {
            actions.push(
              deleteRoute(
                STEP,
                route,
                `removed the default route ${routeText(route)} (the egress default route takes its place)`,
              ),
            );
            continue;
          }
          actions.push(
            ...moveDefault(
              route,
              DEMOTED_METRIC,
              `kept the previous default route ${routeText(route)} at metric ${DEMOTED_METRIC}`,
            ),
          );
          kept = true;
        }
      } else {
        for (const route of routes.filter(isDemoted))
          actions.push(
            ...moveDefault(route, NORMAL_METRIC[family], `restored the default route ${routeText(route)}`),
          );
      }
      for (const route of want) {
        if (routes.some((r) => isOurs(r) && sameRoute(r, route))) continue;
        // A route the pod already had for this destination stays as it is, and stays not ours.
        if (
          route.dst !== 'default' &&
          routes.some((r) => !isOurs(r) && normalDst(r.dst) === normalDst(route.dst))
        )
          continue;
        actions.push(addRoute(STEP, route, `added route ${routeText(route)}`));
      }
    }
    return { actions };
  },
  remove({ observed }) {
    return removeRoutes(observed);
  },
};

/** Cleanup: the agent's main-table routes go, and the previous default routes come back. */
function removeRoutes(observed: Observation): Action[] {
  const actions: Action[] = [];
  for (const route of observed.pod.routes.filter((r) => inTable(r, undefined))) {
    if (isOurs(route)) actions.push(deleteRoute(STEP, route, `removed route ${routeText(route)}`));
    else if (isDemoted(route))
      actions.push(
        ...moveDefault(route, NORMAL_METRIC[route.family], `restored the default route ${routeText(route)}`),
      );
  }
  return actions;
}
