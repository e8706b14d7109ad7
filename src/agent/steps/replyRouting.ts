/**
 * Step 4b: replies to connections that came in on the cluster interface go back out of it.
 * The ruleset marks such connections and their reply packets (CLUSTER_REPLY_MARK); here a
 * policy rule sends marked packets to a table of their own, holding the cluster interface's
 * connected prefixes and its gateway. Clients in any cluster subnet, and kubelet probes from a
 * node address, get their replies whatever the default route says.
 */
import type { Family } from '../../config/model.js';
import {
  AGENT_ROUTE_PROTO,
  deleteRouteArgs,
  ip,
  listRoutes,
  listRules,
  type RouteInfo,
  routeArgs,
} from '../../link/iproute.js';
import { CLUSTER_REPLY_MARK } from '../../plan/ruleset.js';
import type { Runner } from '../../system/command.js';
import type { StepContext } from '../context.js';
import { inStep } from '../stepError.js';
import { clusterGateway, isOurs, normalDst, routeText } from './routes.js';

export const REPLY_TABLE = String(CLUSTER_REPLY_MARK);
const FWMARK = `0x${CLUSTER_REPLY_MARK.toString(16)}`;
const familyFlag = (family: Family): string => (family === 4 ? '-4' : '-6');

interface TableRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
}

const same = (r: RouteInfo, w: TableRoute): boolean =>
  normalDst(r.dst) === normalDst(w.dst) && (r.gateway ?? undefined) === w.gateway && r.dev === w.dev;

function wantedTable(main: readonly RouteInfo[], cluster: string): TableRoute[] {
  const gateway = clusterGateway(main, cluster);
  if (!gateway) return [];
  const connected = main
    .filter((r) => r.dev === cluster && !r.gateway && r.protocol === 'kernel')
    .map((r) => ({ dst: normalDst(r.dst), dev: cluster }));
  return [...connected, { dst: 'default', gateway, dev: cluster }];
}

const ruleArgs = (family: Family, verb: 'add' | 'delete'): string[] => [
  familyFlag(family),
  'rule',
  verb,
  'fwmark',
  FWMARK,
  'lookup',
  REPLY_TABLE,
  'priority',
  REPLY_TABLE,
  'protocol',
  AGENT_ROUTE_PROTO,
];

async function run(ctx: StepContext, what: string, args: string[]): Promise<void> {
  await inStep('routes', 'RouteFailed', what, () => ip(ctx.pod, args));
}

export async function ensureReplyRouting(ctx: StepContext): Promise<void> {
  const cluster = ctx.options.clusterInterface;
  for (const family of [4, 6] as const) {
    const [main, current] = await inStep('routes', 'RouteFailed', `table ${REPLY_TABLE}`, () =>
      Promise.all([listRoutes(ctx.pod, family), listRoutes(ctx.pod, family, REPLY_TABLE)]),
    );
    const wanted = wantedTable(main, cluster);
    for (const route of current.filter((r) => isOurs(r) && !wanted.some((w) => same(r, w)))) {
      await run(ctx, routeText(route), deleteRouteArgs(family, { ...route, table: REPLY_TABLE }));
      ctx.undo.push(`removing ${routeText(route)} from table ${REPLY_TABLE}`, () =>
        ip(
          ctx.pod,
          routeArgs(family, {
            dst: route.dst,
            ...(route.gateway ? { gateway: route.gateway } : {}),
            dev: route.dev ?? cluster,
            protocol: AGENT_ROUTE_PROTO,
            table: REPLY_TABLE,
          }),
        ),
      );
      ctx.changed('route', `removed reply route ${routeText(route)} (table ${REPLY_TABLE})`);
    }
    for (const route of wanted.filter((w) => !current.some((r) => isOurs(r) && same(r, w)))) {
      await run(
        ctx,
        routeText(route),
        routeArgs(family, { ...route, protocol: AGENT_ROUTE_PROTO, table: REPLY_TABLE }),
      );
      ctx.undo.push(`adding ${routeText(route)} to table ${REPLY_TABLE}`, () =>
        ip(ctx.pod, deleteRouteArgs(family, { ...route, table: REPLY_TABLE })),
      );
      ctx.changed('route', `added reply route ${routeText(route)} (table ${REPLY_TABLE})`);
    }
    const rules = await inStep('routes', 'RouteFailed', 'policy rules', () => listRules(ctx.pod, family));
    const ours = rules.filter((r) => r.protocol === AGENT_ROUTE_PROTO);
    const good = ours.filter(
      (r) => r.fwmark === FWMARK && r.table === REPLY_TABLE && r.priority === CLUSTER_REPLY_MARK,
    );
    const want = wanted.length > 0;
    if (want && good.length === 0) {
      await run(ctx, `rule fwmark ${FWMARK}`, ruleArgs(family, 'add'));
      ctx.undo.push(`adding rule fwmark ${FWMARK}`, () => ip(ctx.pod, ruleArgs(family, 'delete')));
      ctx.changed(
        'route',
        `added rule: fwmark ${FWMARK} lookup table ${REPLY_TABLE} (replies to the cluster)`,
      );
    }
    if (!want && good.length > 0) {
      await run(ctx, `rule fwmark ${FWMARK}`, ruleArgs(family, 'delete'));
      ctx.undo.push(`removing rule fwmark ${FWMARK}`, () => ip(ctx.pod, ruleArgs(family, 'add')));
      ctx.changed('route', `removed rule fwmark ${FWMARK} (no cluster gateway)`);
    }
  }
}

/** Cleanup: the agent's rule and the reply table's routes. */
export async function removeReplyRouting(
  pod: Runner,
  changed: (kind: 'route', message: string) => void,
): Promise<void> {
  for (const family of [4, 6] as const) {
    for (const rule of (await listRules(pod, family)).filter((r) => r.protocol === AGENT_ROUTE_PROTO)) {
      await ip(pod, [
        familyFlag(family),
        'rule',
        'delete',
        'priority',
        String(rule.priority),
        'protocol',
        AGENT_ROUTE_PROTO,
      ]);
      changed('route', `removed rule fwmark ${rule.fwmark ?? '?'} lookup ${rule.table ?? '?'}`);
    }
    for (const route of (await listRoutes(pod, family, REPLY_TABLE)).filter(isOurs)) {
      await ip(pod, deleteRouteArgs(family, { ...route, table: REPLY_TABLE })).catch(() => undefined);
      changed('route', `removed reply route ${routeText(route)} (table ${REPLY_TABLE})`);
    }
  }
}
