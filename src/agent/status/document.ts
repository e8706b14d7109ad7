/**
 * The /status document: a summary by default (counts, conditions, the rules with the most
 * connections), pages or filters for the rest. Built from the last snapshot and the cached
 * counters: answering it never starts a process, whatever the rule count.
 *   ?rules=top (default)          the TOP_RULES rules with the most connections
 *   ?rules=all&offset=N&limit=M   every rule in protocol, port order, a page at a time (limit ≤ MAX_PAGE)
 *   ?protocol=tcp&port=80         filters (with either)
 */
import type { Condition } from '../conditions.js';
import type { RuleConnections } from '../metrics.js';
import type { Repair } from '../reconciler.js';
import type { StatusSnapshot } from './snapshot.js';

export const TOP_RULES = 20;
export const MAX_PAGE = 1_000;

export interface StatusDocumentInput {
  readonly snapshot: StatusSnapshot;
  readonly conditions: readonly Condition[];
  readonly rules: readonly RuleConnections[];
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

export function statusDocument(input: StatusDocumentInput): Record<string, unknown> {
  const { snapshot, query } = input;
  const protocol = query.get('protocol')?.toLowerCase();
  const port = query.get('port');
  let rules = input.rules.filter(
    (r) =>
      (protocol === undefined || r.rule.protocol === protocol) &&
      (port === null || String(r.rule.port) === port),
  );
  const all = query.get('rules') === 'all';
  const offset = all ? integer(query.get('offset'), 0, Number.MAX_SAFE_INTEGER) : 0;
  const limit = all ? integer(query.get('limit'), MAX_PAGE, MAX_PAGE) : TOP_RULES;
  const matched = rules.length;
  if (!all) {
    // Stable: equal counts keep protocol, port order.
    rules = rules
      .map((r, i) => ({ r, i }))
      .sort((a, b) => b.r.connections - a.r.connections || a.i - b.i)
      .map((x) => x.r);
  }
  const page = rules.slice(offset, offset + limit);
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
    rules: page.map(({ rule, connections }) => ({ ...ruleFields(rule), connections })),
    ruleSummary: {
      total: input.rules.length,
      matched,
      shown: page.length,
      offset,
      order: all ? 'protocol, port' : 'connections, most first',
      more: offset + page.length < matched,
    },
    programmed: snapshot.programmed ?? null,
    lastApplyTime: snapshot.lastSuccessfulSync ?? null,
    lastRepair: input.lastRepair,
    monitorsRunning: input.monitors.every(Boolean),
  };
}

function ruleFields(rule: RuleConnections['rule']) {
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
