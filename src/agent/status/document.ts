/**
 * The /status document: a summary by default (counts, conditions, the rules with the most
 * connections), pages or filters for the rest. Built from the last snapshot and the cached
 * counters: answering it never starts a process, and its cost is one pass over the rules
 * without allocating per rule (the top rules are selected, not sorted), whatever the rule count.
 *   ?rules=top (default)          the TOP_RULES rules with the most connections
 *   ?rules=all&offset=N&limit=M   every rule in protocol, port order, a page at a time (limit ≤ MAX_PAGE)
 *   ?protocol=tcp&port=80         filters (with either)
 */
import type { RedirectRule } from '../../config/model.js';
import type { Condition } from '../conditions.js';
import type { Repair } from '../reconciler.js';
import type { RuleCounts } from './counters.js';
import type { StatusSnapshot } from './snapshot.js';

export const TOP_RULES = 20;
export const MAX_PAGE = 1_000;

export interface StatusDocumentInput {
  readonly snapshot: StatusSnapshot;
  readonly conditions: readonly Condition[];
  readonly rules: RuleCounts;
  readonly configSource: string;
  readonly configIssues: readonly string[];
  readonly lastRepair: Repair | null;
  /** Whether each kernel monitor runs. */
  readonly monitors: readonly boolean[];
  readonly query: URLSearchParams;
}

function integer(text: string | null, fallback: number, max: number): number {
  if (text === null || !/^\d+$/.test(text)) return fallback;
  return Math.min(Number(text), max);
}

/** Indexes of the `count` rules with the most connections among `candidates`, most first (ties: protocol, port order). */
function topRules(rules: RuleCounts, candidates: Iterable<number>, count: number): number[] {
  const top: number[] = [];
  const counts: number[] = [];
  for (const i of candidates) {
    const c = rules.connections(i);
    if (top.length === count && c <= (counts[count - 1] as number)) continue;
    let at = top.length;
    while (at > 0 && (counts[at - 1] as number) < c) at--;
    top.splice(at, 0, i);
    counts.splice(at, 0, c);
    if (top.length > count) {
      top.pop();
      counts.pop();
    }
  }
  return top;
}

function* matching(rules: RuleCounts, protocol: string | undefined, port: string | null): Generator<number> {
  for (let i = 0; i < rules.size; i++) {
    if (protocol !== undefined || port !== null) {
      const rule = rules.rule(i);
      if (protocol !== undefined && rule.protocol !== protocol) continue;
      if (port !== null && String(rule.port) !== port) continue;
    }
    yield i;
  }
}

/** How the rules shown relate to all of them: what a client needs to page on. */
export interface RuleSummary {
  readonly total: number;
  readonly matched: number;
  readonly shown: number;
  readonly offset: number;
  readonly order: 'protocol, port' | 'connections, most first';
  readonly more: boolean;
  readonly countedAt: string | null;
}

export function statusDocument(input: StatusDocumentInput): Record<string, unknown> {
  const { snapshot, query, rules } = input;
  const protocol = query.get('protocol')?.toLowerCase();
  const port = query.get('port');
  const all = query.get('rules') === 'all';
  const offset = all ? integer(query.get('offset'), 0, Number.MAX_SAFE_INTEGER) : 0;
  const limit = all ? integer(query.get('limit'), MAX_PAGE, MAX_PAGE) : TOP_RULES;
  let matched = 0;
  let page: number[];
  if (all) {
    page = [];
    for (const i of matching(rules, protocol, port)) {
      if (matched >= offset && page.length < limit) page.push(i);
      matched++;
    }
  } else {
    const counted = (function* () {
      for (const i of matching(rules, protocol, port)) {
        matched++;
        yield i;
      }
    })();
    page = topRules(rules, counted, limit);
  }
  return {
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouterAgentStatus',
    version: snapshot.version,
    conditions: input.conditions,
    config: snapshot.config ?? null,
    configSource: input.configSource,
    configIssues: input.configIssues,
    interface: snapshot.interface ?? null,
    gateways: snapshot.gateways,
    ...(snapshot.ha ? { ha: snapshot.ha } : {}),
    rules: page.map((i) => ({ ...ruleFields(rules.rule(i)), connections: rules.connections(i) })),
    ruleSummary: {
      total: rules.size,
      matched,
      shown: page.length,
      offset,
      order: all ? 'protocol, port' : 'connections, most first',
      more: offset + page.length < matched,
      countedAt: rules.readAt === undefined ? null : new Date(rules.readAt).toISOString(),
    } satisfies RuleSummary,
    programmed: snapshot.programmed ?? null,
    lastApplyTime: snapshot.lastSuccessfulSync ?? null,
    lastRepair: input.lastRepair,
    monitorsRunning: input.monitors.every(Boolean),
  };
}

function ruleFields(rule: RedirectRule) {
  return {
    protocol: rule.protocol,
    port: rule.port,
    destinationIP: rule.destinationIP,
    targetPort: rule.targetPort,
    family: rule.family,
    /** Where in the config it came from (`spec.redirect.redirectRules[3]`). */
    source: rule.source,
  };
}
