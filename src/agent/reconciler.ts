/**
 * The control loop of `run`: keeps the desired state true. Passes run one at a time;
 * triggers that arrive meanwhile are coalesced into the next pass. A pass reloads the config
 * when its fingerprint changed, applies (idempotently: a pass with nothing to do changes
 * nothing), checks the gateway, and sets the status conditions.
 */
import { isDeepStrictEqual } from 'node:util';
import { type ConfigIssue, formatIssue } from '../config/issues.js';
import type { RouterConfig } from '../config/model.js';
import type { NftTable } from '../nft/model.js';
import { localRunner } from '../system/command.js';
import { ApplyFailure, apply } from './apply.js';
import { type Conditions, type ConditionUpdate, initialConditions, setConditions } from './conditions.js';
import type { ApplyOptions, Change } from './context.js';
import { checkGateway, type GatewayHealth } from './gateway.js';
import type { Logger } from './logger.js';
import type { AgentMetrics } from './metrics.js';

export type Trigger = 'startup' | 'config' | 'signal' | 'drift' | 'resync' | 'retry';

export type ConfigLoad =
  | { ok: true; config: RouterConfig; fingerprint: string }
  | { ok: false; issues: ConfigIssue[]; fingerprint: string };

export interface ReconcilerDeps {
  readonly options: ApplyOptions;
  readonly loadConfig: () => Promise<ConfigLoad>;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  readonly resyncMs: number;
  readonly now?: () => Date;
}

export interface Repair {
  readonly time: string;
  readonly changes: readonly Change[];
}

const CONFIG_TRIGGERS: readonly Trigger[] = ['startup', 'config', 'signal', 'resync', 'retry'];
const MAX_RETRY_MS = 30_000;
/** Passes that may skip reading the table before one must read it (6 × the 10 s resync = 1 min). */
const FULL_CHECK_EVERY = 6;

export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly now: () => Date;
  private pending = new Set<Trigger>();
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 1_000;
  private stopped = false;

  config: RouterConfig | undefined;
  conditions: Conditions;
  invalidIssues: readonly ConfigIssue[] | undefined;
  lastApplyTime: string | undefined;
  lastRepair: Repair | undefined;
  lastPassStart: number | undefined;
  gateways: readonly GatewayHealth[] = [];
  interfaceOwned: boolean | undefined;
  private fingerprint: string | undefined;
  private appliedOnce = false;
  private committed: NftTable | undefined;
  private trustCommitted = false;
  private tableMonitorAlive = true;
  private tableEvents = 0;
  private tableEventsVerified = -1;
  private trustedPasses = 0;

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
    this.conditions = initialConditions(this.now());
  }

  /** Asks for a pass; returns when a pass that includes this trigger has finished. */
  trigger(reason: Trigger): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pending.add(reason);
    if (!this.running) this.running = this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const triggers = this.pending;
      this.pending = new Set();
      await this.pass(triggers);
    }
    this.running = undefined;
  }

  /** Stops scheduling passes and waits for the current one, at most `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([this.running, grace]);
    clearTimeout(timer);
  }

  /** True while the loop is not stuck in one pass. */
  alive(): boolean {
    return !this.running || this.lastPassStart === undefined || Date.now() - this.lastPassStart < 5 * 60_000;
  }

  private setConditions(updates: Parameters<typeof setConditions>[1]): void {
    this.conditions = setConditions(this.conditions, updates, this.now());
  }

  private async reloadConfig(): Promise<{ changed: boolean }> {
    const loaded = await this.deps.loadConfig();
    if (loaded.fingerprint === this.fingerprint) return { changed: false };
    this.fingerprint = loaded.fingerprint;
    const { log, metrics } = this.deps;
    if (!loaded.ok) {
      this.invalidIssues = loaded.issues;
      metrics.configReloads.inc({ result: 'invalid' });
      const first = loaded.issues[0] ? formatIssue(loaded.issues[0]) : 'invalid';
      log.error({ issues: loaded.issues.map(formatIssue) }, 'config rejected: invalid');
      const message = this.config
        ? `the new config is invalid and was not applied; the previous one stays in force: ${first}`
        : `the config is invalid: ${first}`;
      const invalid: ConditionUpdate = { status: 'True', reason: 'InvalidConfig', message };
      this.setConditions(
        this.config
          ? { Degraded: invalid }
          : {
              Degraded: invalid,
              Available: { status: 'False', reason: 'InvalidConfig', message },
              Progressing: { status: 'False', reason: 'InvalidConfig', message },
            },
      );
      return { changed: false };
    }
    this.invalidIssues = undefined;
    if (this.config && isDeepStrictEqual(this.config, loaded.config)) return { changed: false };
    const first = this.config === undefined;
    this.config = loaded.config;
    if (!first) log.info({ rules: loaded.config.redirectRules.length }, 'config changed; applying');
    return { changed: true };
  }

  private async pass(triggers: ReadonlySet<Trigger>): Promise<void> {
    const { log, metrics, options } = this.deps;
    const started = process.hrtime.bigint();
    this.lastPassStart = Date.now();
    const label = [...triggers].sort().join('+');
    let configChanged = false;
    if ([...triggers].some((t) => CONFIG_TRIGGERS.includes(t))) {
      try {
        configChanged = (await this.reloadConfig()).changed;
      } catch (error) {
        log.error({ err: (error as Error).message }, 'config could not be read');
      }
    }
    const config = this.config;
    if (!config) return;
    if (configChanged && this.committed) {
      this.setConditions({
        Progressing: { status: 'True', reason: 'Applying', message: 'applying a new config' },
      });
    }
    const trust = this.trustCommitted && this.mayTrustTable(triggers);
    const tableEventsAtStart = this.tableEvents;
    const changes: Change[] = [];
    try {
      const result = await apply(config, options, (change) => changes.push(change), {
        ...(this.committed ? { committed: this.committed } : {}),
        trustCommitted: trust,
        mayCreateInterface: this.interfaceOwned ?? true,
      });
      this.committed = result.table;
      this.trustCommitted = true;
      if (trust) this.trustedPasses++;
      else {
        // This pass read the kernel's table: events before it started are accounted for.
        this.tableEventsVerified = tableEventsAtStart;
        this.trustedPasses = 0;
      }
      this.interfaceOwned = result.interfaceOwned;
      this.lastApplyTime = this.now().toISOString();
      this.retryDelayMs = 1_000;
      for (const warning of result.warnings) log.warn(warning);
      this.report(configChanged, changes);
      this.gateways = await this.checkGateways(config);
      this.setHealthyConditions(config, configChanged, changes);
    } catch (error) {
      this.trustCommitted = false;
      this.fail(error, configChanged);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.applyDuration.observe({ trigger: label }, seconds);
    }
  }

  /**
   * Whether a pass may take the committed table as what the kernel holds, and so send only the
   * difference without listing the table first. Config-only passes may. Other passes may while
   * `nft monitor` runs and has reported nothing since the table was last read; every
   * FULL_CHECK_EVERY-th such pass reads it anyway, as the safety net. Listing a 10,000-element
   * table on every resync is what grew the agent's memory.
   */
  private mayTrustTable(triggers: ReadonlySet<Trigger>): boolean {
    if ([...triggers].every((t) => t === 'config' || t === 'signal')) return true;
    const quiet = this.tableMonitorAlive && this.tableEvents === this.tableEventsVerified;
    return quiet && this.trustedPasses < FULL_CHECK_EVERY;
  }

  /** `nft monitor` reported a change to the table (the agent's own loads included). */
  noteTableEvent(): void {
    this.tableEvents++;
  }

  /** `nft monitor` is gone: from now on every pass reads the table. */
  tableMonitorLost(): void {
    this.tableMonitorAlive = false;
  }

  /** Logs and counts what a successful pass changed: the first apply, a reload, or a drift repair. */
  private report(configChanged: boolean, changes: readonly Change[]): void {
    const { log, metrics } = this.deps;
    const firstApply = !this.appliedOnce;
    this.appliedOnce = true;
    if (firstApply || configChanged) {
      if (configChanged && !firstApply) metrics.configReloads.inc({ result: 'applied' });
      for (const change of changes) log.info({ kind: change.kind }, change.message);
      log.info({ changes: changes.length }, firstApply ? 'applied' : 'config applied');
      return;
    }
    const repairs = changes.filter((c) => c.kind !== 'announce');
    if (repairs.length === 0) return;
    for (const change of changes) {
      if (change.kind === 'announce') {
        log.info({ kind: change.kind }, change.message);
        continue;
      }
      metrics.countRepair(change.kind);
      log.warn({ kind: change.kind, repair: change.message }, `drift repaired: ${change.message}`);
    }
    this.lastRepair = { time: this.now().toISOString(), changes: repairs };
  }

  private async checkGateways(config: RouterConfig): Promise<GatewayHealth[]> {
    const results: GatewayHealth[] = [];
    for (const family of [4, 6] as const) {
      const gateway = config.addresses.find((a) => a.family === family && a.gateway)?.gateway;
      if (!gateway) continue;
      try {
        results.push(await checkGateway(localRunner, family, gateway, this.deps.options.egressInterface));
      } catch (error) {
        this.deps.log.warn({ gateway, err: (error as Error).message }, 'gateway check failed');
      }
    }
    for (const g of results.filter((r) => !r.reachable)) {
      this.deps.log.warn({ gateway: g.gateway, state: g.state }, 'gateway does not answer');
    }
    return results;
  }

  private setHealthyConditions(
    config: RouterConfig,
    configChanged: boolean,
    changes: readonly Change[],
  ): void {
    const rules = config.redirectRules.length;
    const summary = `${rules} redirect rule${rules === 1 ? '' : 's'}${config.fallback ? `, fallback ${config.fallback.address}` : ''}, egress ${config.addresses.map((a) => a.address).join(', ')}`;
    const unreachable = this.gateways.filter((g) => !g.reachable);
    let degraded: ConditionUpdate;
    if (this.invalidIssues?.[0]) {
      degraded = {
        status: 'True',
        reason: 'InvalidConfig',
        message: `the new config is invalid and was not applied; the previous one stays in force: ${formatIssue(this.invalidIssues[0])}`,
      };
    } else if (unreachable.length > 0) {
      degraded = {
        status: 'True',
        reason: 'GatewayUnreachable',
        message: unreachable
          .map((g) => `gateway ${g.gateway} does not answer (neighbour state ${g.state})`)
          .join('; '),
      };
    } else if (!configChanged && changes.some((c) => c.kind !== 'announce') && this.lastRepair) {
      degraded = {
        status: 'False',
        reason: 'DriftRepaired',
        message: `repaired at ${this.lastRepair.time}: ${this.lastRepair.changes.map((c) => c.message).join('; ')}`,
      };
    } else if (
      this.conditions.Degraded.status === 'False' &&
      this.conditions.Degraded.reason === 'DriftRepaired'
    ) {
      degraded = this.conditions.Degraded;
    } else {
      degraded = { status: 'False', reason: 'AsExpected', message: 'everything is as configured' };
    }
    this.setConditions({
      Available: { status: 'True', reason: 'Applied', message: `in place and verified: ${summary}` },
      Progressing: {
        status: 'False',
        reason: 'Applied',
        message: 'the config is applied',
      },
      Degraded: degraded,
    });
  }

  private fail(error: unknown, configChanged: boolean): void {
    const { log, metrics } = this.deps;
    const reason = error instanceof ApplyFailure ? error.failure.reason : 'ApplyFailed';
    const message = error instanceof ApplyFailure ? error.failure.message : (error as Error).message;
    metrics.reconcileFailures.inc({ reason });
    if (configChanged) metrics.configReloads.inc({ result: 'failed' });
    log.error(
      { reason, rolledBack: error instanceof ApplyFailure ? error.changesUndone.length : 0 },
      `apply failed: ${message}`,
    );
    const update: ConditionUpdate = { status: 'True', reason, message };
    this.setConditions({
      Available: { status: 'False', reason, message },
      Progressing: {
        status: 'True',
        reason: 'Retrying',
        message: `retrying in ${Math.round(this.retryDelayMs / 1000)} s`,
      },
      Degraded: update,
    });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.trigger('retry'), this.retryDelayMs);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_MS, this.deps.resyncMs);
  }
}
