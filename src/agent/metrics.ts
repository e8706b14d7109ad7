/** Prometheus metrics: one registry per agent, the ruleset's counters read at scrape time. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RedirectRule } from '../config/model.js';
import { CONDITION_TYPES, type Conditions } from './conditions.js';
import type { ChangeKind } from './context.js';

export interface RuleConnections {
  readonly rule: RedirectRule;
  readonly connections: number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private ruleConnections: () => Promise<readonly RuleConnections[]> = async () => [];
  private conditions: () => Conditions | undefined = () => undefined;

  readonly applyDuration = new Histogram({
    name: 'egress_router_apply_duration_seconds',
    help: 'Wall time of one apply/reconcile pass, by what triggered it.',
    labelNames: ['trigger'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly reconcileFailures = new Counter({
    name: 'egress_router_reconcile_failures_total',
    help: 'Reconcile passes that failed, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly driftRepairs = new Counter({
    name: 'egress_router_drift_repairs_total',
    help: 'Changes made behind the agent\u2019s back and repaired, by kind.',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly configReloads = new Counter({
    name: 'egress_router_config_reloads_total',
    help: 'Config reloads, by result (applied, invalid, failed).',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor(version: string) {
    const self = this;
    new Counter({
      name: 'egress_router_redirect_connections_total',
      help: 'Connections redirected per rule (per-element counters of the ruleset).',
      labelNames: ['protocol', 'port', 'destination', 'target_port'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { rule, connections } of await self.ruleConnections()) {
          const labels = {
            protocol: rule.protocol,
            port: String(rule.port),
            destination: rule.destinationIP,
            target_port: String(rule.targetPort),
          };
          this.inc(labels, connections);
        }
      },
    });
    new Gauge({
      name: 'egress_router_condition',
      help: 'Status conditions: 1 for the current status of each type.',
      labelNames: ['type', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        const conditions = self.conditions();
        if (!conditions) return;
        for (const type of CONDITION_TYPES) {
          for (const status of ['True', 'False', 'Unknown'])
            this.set({ type, status }, conditions[type].status === status ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'egress_router_build_info',
      help: 'Build information; the value is always 1.',
      labelNames: ['version', 'node_version'],
      registers: [this.registry],
    }).set({ version, node_version: process.version }, 1);
    collectDefaultMetrics({ register: this.registry, prefix: 'egress_router_' });
  }

  bind(sources: {
    ruleConnections: () => Promise<readonly RuleConnections[]>;
    conditions: () => Conditions;
  }): void {
    this.ruleConnections = sources.ruleConnections;
    this.conditions = sources.conditions;
  }

  countRepair(kind: ChangeKind): void {
    this.driftRepairs.inc({ kind });
  }
}
