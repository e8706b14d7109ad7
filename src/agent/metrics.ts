/**
 * Prometheus metrics, fed by status snapshots (a sink) and, for per-rule connections, by the
 * cached counters. Families named as kube-proxy users expect: sync duration histogram, last
 * successful sync, failures, reloads, repairs, programmed rules. Counters with known label sets
 * start at 0, so `increase()` sees the first event. Per-rule series are capped: the first
 * `ruleSeriesLimit` rules (in protocol, port order: stable across scrapes) get their own series,
 * the rest are summed per destination with port="other". Standard process_* and nodejs_* metrics
 * keep their standard names. The exposition is cached briefly, so a scrape storm costs one
 * collection, not one per request.
 */
import type { RedirectRule } from '../config/model.js';
import type { ChangeKind } from './actions.js';
import { CONDITION_TYPES } from './conditions.js';
import { Counter, Gauge, Histogram, Registry, registerStandardMetrics } from './promClient.js';
import type { StatusSink, StatusSnapshot } from './status/snapshot.js';
import type { FailureReason } from './stepError.js';

export interface RuleConnections {
  readonly rule: RedirectRule;
  readonly connections: number;
}

export const DEFAULT_RULE_SERIES_LIMIT = 1_000;

const REPAIR_KINDS: readonly ChangeKind[] = ['interface', 'sysctl', 'address', 'route', 'nftables'];
const RELOAD_RESULTS = ['applied', 'invalid', 'failed'] as const;
const FAILURE_REASONS: readonly FailureReason[] = [
  'MasterNotFound',
  'InterfaceMissing',
  'InterfaceFailed',
  'DuplicateAddress',
  'AddressFailed',
  'SysctlFailed',
  'GatewayMissing',
  'RouteFailed',
  'NftablesFailed',
  'VerifyFailed',
  'ObserveFailed',
  'UnroutableDestination',
];
const HA_ROLES = ['active', 'standby', 'fault'] as const;
const FLOW_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

export interface MetricsOptions {
  readonly version: string;
  readonly ruleSeriesLimit?: number;
  /** Rules with their connection counts, from the counter cache (never spawns per scrape). */
  readonly ruleConnections: () => readonly RuleConnections[];
  /** How long one exposition is served from cache. */
  readonly cacheMs?: number;
}

export class MetricsSink implements StatusSink {
  readonly name = 'metrics';
  readonly registry = new Registry();
  private snapshot: StatusSnapshot | undefined;
  private cached: { at: number; body: Promise<string> } | undefined;
  private readonly options: MetricsOptions;
  private readonly duration: Histogram;
  private readonly failures: Counter;
  private readonly reloads: Counter;
  private readonly repairs: Counter;
  private readonly lastSync: Gauge;
  private readonly haTransitions: Counter;
  private readonly conntrackFlushes: Counter;
  private lastHaRole: string | undefined;
  private lastHaTransitions = 0;

  constructor(options: MetricsOptions) {
    this.options = options;
    const registers = [this.registry];
    const self = this;
    this.duration = new Histogram({
      name: 'egress_router_sync_duration_seconds',
      help: 'Wall time of one reconcile pass, by what triggered it.',
      labelNames: ['trigger'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lastSync = new Gauge({
      name: 'egress_router_last_successful_sync_timestamp_seconds',
      help: 'Unix time of the last pass that ended with everything in place.',
      registers,
    });
    this.failures = new Counter({
      name: 'egress_router_sync_failures_total',
      help: 'Reconcile passes that failed, by reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of FAILURE_REASONS) this.failures.inc({ reason }, 0);
    this.reloads = new Counter({
      name: 'egress_router_config_reloads_total',
      help: 'Config reloads, by result (applied, invalid, failed).',
      labelNames: ['result'],
      registers,
    });
    for (const result of RELOAD_RESULTS) this.reloads.inc({ result }, 0);
    this.repairs = new Counter({
      name: 'egress_router_drift_repairs_total',
      help: 'Changes made behind the agent\u2019s back and repaired, by kind.',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of REPAIR_KINDS) this.repairs.inc({ kind }, 0);
    this.conntrackFlushes = new Counter({
      name: 'egress_router_conntrack_flushes_total',
      help: 'Conntrack flushes after a mapping or the fallback changed or went, by protocol (one per port or fallback and cluster address).',
      labelNames: ['protocol'],
      registers,
    });
    for (const protocol of FLOW_PROTOCOLS) this.conntrackFlushes.inc({ protocol }, 0);
    this.haTransitions = new Counter({
      name: 'egress_router_ha_transitions_total',
      help: 'HA role changes of this replica, by the role entered.',
      labelNames: ['to'],
      registers,
    });
    new Gauge({
      name: 'egress_router_condition',
      help: 'Status conditions: 1 for the current status of each type.',
      labelNames: ['type', 'status'],
      registers,
      collect() {
        this.reset();
        const conditions = self.snapshot?.conditions;
        if (!conditions) return;
        for (const type of CONDITION_TYPES)
          for (const status of ['True', 'False', 'Unknown'])
            this.set({ type, status }, conditions[type].status === status ? 1 : 0);
      },
    });
    new Gauge({
      name: 'egress_router_redirect_rules',
      help: 'Redirect rules in force.',
      registers,
      collect() {
        this.set(self.snapshot?.programmed?.redirectRules ?? 0);
      },
    });
    new Gauge({
      name: 'egress_router_map_elements',
      help: 'Elements programmed in each nftables map of the table.',
      labelNames: ['map'],
      registers,
      collect() {
        this.reset();
        for (const [map, count] of Object.entries(self.snapshot?.programmed?.mapElements ?? {}))
          this.set({ map }, count);
      },
    });
    new Gauge({
      name: 'egress_router_gateway_up',
      help: 'Whether the egress gateway answers (1) or not (0), by family.',
      labelNames: ['family', 'gateway'],
      registers,
      collect() {
        this.reset();
        for (const g of self.snapshot?.gateways ?? [])
          this.set({ family: `ipv${g.family}`, gateway: g.gateway }, g.reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'egress_router_ha_role',
      help: 'HA role of this replica: 1 for the current one (absent without --ha).',
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        const ha = self.snapshot?.ha;
        if (!ha) return;
        for (const role of HA_ROLES) this.set({ role }, ha.role === role ? 1 : 0);
      },
    });
    const limit = options.ruleSeriesLimit ?? DEFAULT_RULE_SERIES_LIMIT;
    new Counter({
      name: 'egress_router_redirect_connections_total',
      help: `Connections redirected per rule (per-element counters of the ruleset); beyond ${limit} rules, summed per destination with port="other".`,
      labelNames: ['protocol', 'port', 'destination', 'target_port'],
      registers,
      collect() {
        this.reset();
        const rules = self.options.ruleConnections();
        const rest = new Map<string, number>();
        rules.forEach(({ rule, connections }, i) => {
          if (i < limit) {
            this.inc(
              {
                protocol: rule.protocol,
                port: String(rule.port),
                destination: rule.destinationIP,
                target_port: String(rule.targetPort),
              },
              connections,
            );
          } else rest.set(rule.destinationIP, (rest.get(rule.destinationIP) ?? 0) + connections);
        });
        for (const [destination, connections] of rest)
          this.inc({ protocol: 'any', port: 'other', destination, target_port: 'other' }, connections);
      },
    });
    new Gauge({
      name: 'egress_router_build_info',
      help: 'Build information; the value is always 1.',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: options.version, node_version: process.version }, 1);
    registerStandardMetrics(this.registry);
    // prom-client's three gauges named *_total break promtool's rule (only counters end in
    // _total); the same numbers stay available by type as nodejs_active_handles{type},
    // nodejs_active_requests{type} and nodejs_active_resources{type}.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      this.registry.removeSingleMetric(name);
  }

  publish(snapshot: StatusSnapshot): void {
    this.snapshot = snapshot;
    // A new snapshot is news: the next scrape collects afresh.
    this.cached = undefined;
    const pass = snapshot.pass;
    if (pass && pass.result !== 'skipped') {
      this.duration.observe({ trigger: pass.trigger }, pass.durationSeconds);
      if (pass.result === 'failed') this.failures.inc({ reason: pass.reason ?? 'ApplyFailed' });
      for (const kind of pass.repairs) this.repairs.inc({ kind });
      for (const protocol of pass.conntrackFlushes ?? []) this.conntrackFlushes.inc({ protocol });
    }
    if (pass?.reload) this.reloads.inc({ result: pass.reload });
    if (snapshot.lastSuccessfulSync) this.lastSync.set(Date.parse(snapshot.lastSuccessfulSync) / 1000);
    const ha = snapshot.ha;
    if (ha && (ha.role !== this.lastHaRole || ha.transitions !== this.lastHaTransitions)) {
      if (this.lastHaRole !== undefined && ha.role !== this.lastHaRole)
        this.haTransitions.inc({ to: ha.role });
      this.lastHaRole = ha.role;
      this.lastHaTransitions = ha.transitions;
    }
  }

  /** The exposition text, collected at most once per `cacheMs` however many scrapes arrive. */
  exposition(): Promise<string> {
    const now = Date.now();
    const cacheMs = this.options.cacheMs ?? 1_000;
    if (this.cached && now - this.cached.at < cacheMs) return this.cached.body;
    const body = this.registry.metrics();
    this.cached = { at: now, body };
    body.catch(() => {
      this.cached = undefined;
    });
    return body;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async stop(): Promise<void> {}
}
