/**
 * Replies to connections that came in on the cluster interface go back out of it. The ruleset
 * marks such connections and their reply packets (CLUSTER_REPLY_MARK); a policy rule sends marked
 * packets to a table of their own holding the cluster interface's connected prefixes and its
 * gateway. Clients in any cluster subnet, and kubelet probes from a node address, get their
 * replies whatever the default route says.
 */
import type { Family } from '../../config/model.js';
import { AGENT_ROUTE_PROTO, type RuleInfo, routeText } from '../../link/iproute.js';
import { type PlannedRule, REPLY_TABLE } from '../../plan/routerPlan.js';
import { type Action, ipOp } from '../actions.js';
import { addRoute, deleteRoute, isOurs, resolved, routesOf, sameRoute } from './routes.js';
import type { Observation, Step } from './step.js';

const STEP = 'reply-routing';

const ruleArgs = (
  rule: Pick<PlannedRule, 'fwmark' | 'table' | 'priority'>,
  verb: 'add' | 'delete',
): string[] => [
  'rule',
  verb,
  'fwmark',
  rule.fwmark,
  'lookup',
  rule.table,
  'priority',
  String(rule.priority),
  'protocol',
  AGENT_ROUTE_PROTO,
];

const isOurRule = (r: RuleInfo): boolean => r.protocol === AGENT_ROUTE_PROTO && r.table !== undefined;

function ruleAction(
  family: Family,
  rule: Pick<PlannedRule, 'fwmark' | 'table' | 'priority'>,
  verb: 'add' | 'delete',
): Action {
  return {
    step: STEP,
    kind: 'route',
    object: `rule fwmark ${rule.fwmark}`,
    message:
      verb === 'add'
        ? `added rule: fwmark ${rule.fwmark} lookup table ${rule.table} (replies to the cluster, IPv${family})`
        : `removed rule fwmark ${rule.fwmark} lookup table ${rule.table} (IPv${family})`,
    op: ipOp('pod', ruleArgs(rule, verb), family),
    undo: [ipOp('pod', ruleArgs(rule, verb === 'add' ? 'delete' : 'add'), family)],
  };
}

const listedRule = (r: RuleInfo) => ({ fwmark: r.fwmark ?? '', table: r.table ?? '', priority: r.priority });

export const replyRoutingStep: Step = {
  name: STEP,
  reason: 'RouteFailed',
  converge(input) {
    const actions: Action[] = [];
    const wantedRoutes = input.plan.replyRoutes.map(resolved);
    for (const family of [4, 6] as const) {
      const current = routesOf(input, family, REPLY_TABLE);
      const want = wantedRoutes.filter((w) => w.family === family);
      for (const route of current.filter((r) => isOurs(r) && !want.some((w) => sameRoute(r, w))))
        actions.push(
          deleteRoute(STEP, route, `removed reply route ${routeText(route)} (table ${REPLY_TABLE})`),
        );
      for (const route of want.filter((w) => !current.some((r) => isOurs(r) && sameRoute(r, w))))
        actions.push(addRoute(STEP, route, `added reply route ${routeText(route)} (table ${REPLY_TABLE})`));
      const wantRules = input.plan.replyRules.filter((r) => r.family === family);
      const haveRules = input.observed.pod.rules[family].filter(isOurRule);
      for (const rule of haveRules) {
        const match = wantRules.some(
          (w) => w.fwmark === rule.fwmark && w.table === rule.table && w.priority === rule.priority,
        );
        if (!match) actions.push(ruleAction(family, listedRule(rule), 'delete'));
      }
      for (const rule of wantRules) {
        const have = haveRules.some(
          (r) => r.fwmark === rule.fwmark && r.table === rule.table && r.priority === rule.priority,
        );
        if (!have) actions.push(ruleAction(family, rule, 'add'));
      }
    }
    return { actions };
  },
  remove({ observed }) {
    return removeReplyRouting(observed);
  },
};

function removeReplyRouting(observed: Observation): Action[] {
  const actions: Action[] = [];
  for (const family of [4, 6] as const) {
    for (const rule of observed.pod.rules[family].filter(isOurRule))
      actions.push(ruleAction(family, listedRule(rule), 'delete'));
    for (const route of observed.pod.routes.filter(
      (r) => r.family === family && r.table === REPLY_TABLE && isOurs(r),
    ))
      actions.push(
        deleteRoute(STEP, route, `removed reply route ${routeText(route)} (table ${REPLY_TABLE})`),
      );
  }
  return actions;
}
