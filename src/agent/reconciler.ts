/**
 * What one pass of `run` does: reload the config if its bytes changed, apply (the same pass
 * `apply` runs, sending only the table's difference when the committed table is trusted), check
 * the gateways, work out the conditions, and publish an immutable status snapshot to the sinks.
 * When passes run is the scheduler's business; this module only decides what a pass means.
 */

import { isDeepStrictEqual } from 'node:util';
import { type ConfigIssue, formatIssue } from '../config/issues.js';
import type { RouterConfig } from '../config/model.js';
import { plannedFrom, type TableModel } from '../nft/packed.js';
import type { System } from '../system/system.js';
import { type Action, isEffect } from './actions.js';
import { ApplyFailure, apply } from './apply.js';
import {
  type Conditions,
  conditionsAfter,
  initialConditions,
  type PassOutcome,
  type Problem,
  rfc3339,
  setConditions,
} from './conditions.js';
import { ConflictWatch } from './conflicts.js';
import type { ApplyOptions } from './context.js';
import type { Effects } from './effects.js';
import { GatewayProber } from './gateway.js';
import type { Logger } from './logger.js';
import type { ReusedReading } from './observe.js';
import type { PassReport, Trigger } from './scheduler.js';
import type {
  GatewayStatus,
  HaStatus,
  Notice,
  PassSummary,
  StatusSink,
  StatusSnapshot,
} from './status/snapshot.js';
import type { Finding } from './steps/step.js';

export type ConfigLoad =
  | { ok: true; config: RouterConfig; fingerprint: string }
  | { ok: false; issues: ConfigIssue[]; fingerprint: string };

export interface ReconcilerDeps {
  readonly system: System;
  readonly effects?: Effects;
  readonly options: ApplyOptions;
  readonly loadConfig: () => Promise<ConfigLoad>;
  readonly log: Logger;
  /** Sinks known at start; more may join later (addSink). */
  readonly sinks: readonly StatusSink[];
  readonly version: string;
  readonly now?: () => Date;
  /** The delay the scheduler will wait before retrying after a failure (for Progressing). */
  readonly nextRetryMs?: () => number;
  /** Under HA: the role as the engine last reported it (undefined: no HA). */
  readonly ha?: () => HaStatus | undefined;
  /** Available follows the gateway (default: only under HA, where a standby can take over). */
  readonly readyRequiresGateway?: boolean;
  /** Called after every pass that ran (HA starts keepalived and follows the gateway here). */
  readonly afterPass?: (ok: boolean) => void;
  /**
   * The pod namespace's kernel events counted so far, undefined while nothing counts them (see
   * EventCount): the same count as at a reading means the reading still holds.
   */
  readonly podEvents?: () => number | undefined;
}

/** Resyncs that may skip reading the table before one must read it (6 × the 10 s resync = 1 min). */
const FULL_SYNC_EVERY = 6;
/**
 * ...and at least this many times what the last full read took apart: reading 131,069 elements
 * takes seconds, so a big table is read about every few minutes (1 % of the time), a small one
 * every FULL_SYNC_EVERY resyncs.
 */
const FULL_SYNC_COST_FACTOR = 100;
const RELOADING: ReadonlySet<Trigger> = new Set(['startup', 'config', 'signal', 'resync', 'retry']);
/**
 * Under HA, what a role change moves: the egress addresses, and the routes through the egress
 * interface that the kernel drops with its last IPv4 address (and the agent puts back).
 */
const ROLE_KINDS: ReadonlySet<string> = new Set(['address', 'announce', 'route']);
/**
 * Passes that may start from the last pass's namespace readings when they still hold: a config
 * change, a table change and an HA role change say nothing about links, addresses or routes. The
 * other passes read: a drift event, the operator's SIGHUP, a retry, and the periodic resync, which
 * is also the bound on how long a change in the master's namespace (which has no monitor) waits.
 */
const MAY_REUSE_READING: ReadonlySet<Trigger> = new Set(['config', 'table', 'role']);

/** The namespaces as the last successful pass read them, for the next pass to reuse (see MAY_REUSE_READING). */
interface LastReading {
  readonly reading: ReusedReading;
  /** The pod's event count when that reading began; undefined: no count, the pod is read again. */
  readonly podEvents: number | undefined;
}

interface AppliedState {
  readonly summary: string;
  readonly findings: readonly Finding[];
}

export interface Repair {
  readonly time: string;
  readonly changes: readonly { readonly kind: string; readonly message: string }[];
}

export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly now: () => Date;
  /** The latest valid config; not yet in force while `pendingConfig` is true. */
  private desired: RouterConfig | undefined;
  private pendingConfig = false;
  private fingerprint: string | undefined;
  /** The table last loaded and verified, packed; it records the config and options it was planned from. */
  private committed: TableModel | undefined;
  /** kube-proxy's needFullSync: the kernel's table must be read, not assumed. */
  private needFullSync = true;
  /** Foreign table changes seen, and how many a full read has accounted for. */
  private tableChanges = 0;
  private tableChangesRead = 0;
  private trustedPasses = 0;
  private lastFullSync = { at: 0, ms: 0 };
  private sequence = 0;
  private appliedOnce = false;
  /** What the last successful pass found, to re-derive the conditions when the role changes; undefined after a failure. */
  private lastApplied: AppliedState | undefined;
  /** Under HA: whether the last successful pass held the egress addresses (the role it followed). */
  private heldAddresses: boolean | undefined;
  private lastReading: LastReading | undefined;

  /** The config in force (last applied successfully). */
  inForce: RouterConfig | undefined;
  conditions: Conditions;
  invalidIssues: readonly ConfigIssue[] | undefined;
  lastRepair: Repair | undefined;
  lastSuccessfulSync: string | undefined;
  gateways: readonly GatewayStatus[] = [];
  findings: readonly Finding[] = [];
  /** Another host answering for an egress address this replica holds (found while running). */
  conflicts: readonly Finding[] = [];
  private readonly gatewayProber: GatewayProber;
  private readonly conflictWatch: ConflictWatch;
  /** Warnings of the last successful pass: logged again only after a pass without them. */
  private lastWarnings: ReadonlySet<string> = new Set();
  /** The egress addresses held after the last successful pass: a repair re-adds them unprobed. */
  private heldEgress: ReadonlySet<string> = new Set();
  /** The last pass found the egress link without carrier: announce again once it is back. */
  private carrierLost = false;
  interfaceOwned: boolean | undefined;
  master: string | undefined;
  snapshot: StatusSnapshot;

  private readonly sinks: StatusSink[];

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.sinks = [...deps.sinks];
    this.now = deps.now ?? (() => new Date());
    this.conditions = initialConditions(this.now());
    this.snapshot = this.makeSnapshot([], undefined);
    this.gatewayProber = new GatewayProber(deps.system.pod, deps.system.now);
    this.conflictWatch = new ConflictWatch(deps.system.pod, deps.log, deps.system.now);
  }

  /** The config the loop works from: the one in force, else the latest valid one. */
  get config(): RouterConfig | undefined {
    return this.inForce ?? this.desired;
  }

  /** `nft monitor` saw a change to the table that was not the agent's: read it next pass. */
  tableChangedBehindOurBack(): void {
    this.tableChanges++;
  }

  private async reloadConfig(notices: Notice[]): Promise<PassSummary['reload'] | 'first'> {
    const { log } = this.deps;
    let loaded: ConfigLoad;
    try {
      loaded = await this.deps.loadConfig();
    } catch (error) {
      log.error({ err: (error as Error).message }, 'config could not be read');
      return undefined;
    }
    if (loaded.fingerprint === this.fingerprint) return undefined;
    this.fingerprint = loaded.fingerprint;
    if (!loaded.ok) {
      this.invalidIssues = loaded.issues;
      log.error({ issues: loaded.issues.map(formatIssue) }, 'config rejected: invalid');
      const first = loaded.issues[0] ? formatIssue(loaded.issues[0]) : 'invalid';
      notices.push({ type: 'Warning', reason: 'InvalidConfig', message: `the config is invalid: ${first}` });
      return 'invalid';
    }
    this.invalidIssues = undefined;
    // Same content in other bytes (a comment, another order of keys): nothing to reload.
    if (this.desired && isDeepStrictEqual(this.desired, loaded.config)) return undefined;
    const first = this.desired === undefined;
    if (!first) log.info({ rules: loaded.config.redirectRules.length }, 'config changed; applying');
    this.desired = loaded.config;
    this.pendingConfig = true;
    // The first config is not a reload (counted as one, `increase()` would show a reload at every start).
    return first ? 'first' : 'applied';
  }

  private summary(config: RouterConfig): string {
    const rules = config.redirectRules.length;
    return `${rules} redirect rule${rules === 1 ? '' : 's'}${config.fallback ? `, fallback ${config.fallback.address}` : ''}, egress ${config.addresses.map((a) => a.address).join(', ')}`;
  }

  /** One pass. Never throws: failures become conditions and a failed report. */
  async pass(triggers: ReadonlySet<Trigger>, signal: AbortSignal): Promise<PassReport> {
    const started = performance.now();
    const notices: Notice[] = [];
    const trigger = [...triggers].sort().join('+');
    let loaded: PassSummary['reload'] | 'first';
    if ([...triggers].some((t) => RELOADING.has(t))) loaded = await this.reloadConfig(notices);
    const reload = loaded === 'first' ? undefined : loaded;
    // A new config is tried on a config change and on retries; other passes keep the one in force true.
    const tryNew =
      this.pendingConfig &&
      (reload === 'applied' ||
        loaded === 'first' ||
        triggers.has('retry') ||
        triggers.has('startup') ||
        !this.inForce);
    const config = tryNew ? this.desired : this.inForce;
    const finish = (
      outcome: PassOutcome,
      result: PassSummary['result'],
      extra: Partial<PassSummary> = {},
    ): void => {
      this.conditions = conditionsAfter(this.conditions, outcome, this.now());
      const summary: PassSummary = {
        trigger,
        durationSeconds: (performance.now() - started) / 1000,
        result,
        repairs: [],
        ...(reload ? { reload } : {}),
        ...extra,
      };
      this.publish(notices, summary);
    };
    if (!config) {
      const first = this.invalidIssues?.[0];
      finish(
        {
          kind: 'no-config',
          reason: 'InvalidConfig',
          message: first
            ? `the config is invalid: ${formatIssue(first)}`
            : 'no valid config has been read yet',
        },
        'skipped',
      );
      return { ok: true, changed: false };
    }
    const changesAtStart = this.tableChanges;
    // The committed table is trusted unless a pass failed, `nft monitor` saw another process change
    // it, or (the safety net under the monitor) every FULL_SYNC_EVERY-th resync.
    const periodic =
      triggers.has('resync') &&
      this.trustedPasses >= FULL_SYNC_EVERY &&
      performance.now() - this.lastFullSync.at >= FULL_SYNC_COST_FACTOR * this.lastFullSync.ms;
    const fullSync =
      this.needFullSync || this.tableChanges !== this.tableChangesRead || periodic || !this.committed;
    const changes: Action[] = [];
    const ha = this.deps.ha?.();
    // Counted before anything is read: an event during the reading makes it old.
    const podEvents = this.deps.podEvents?.();
    const reuse = fullSync ? undefined : this.reusableReading(triggers, podEvents);
    try {
      const result = await apply(
        config,
        this.deps.options,
        {
          system: this.deps.system,
          ...(this.deps.effects ? { effects: this.deps.effects } : {}),
          signal,
          log: (action) => changes.push(action),
        },
        {
          ...(this.committed ? { committed: this.committed } : {}),
          trustCommitted: !fullSync,
          mayCreateInterface: this.interfaceOwned ?? true,
          ...(ha ? { ha: true, holdAddresses: ha.role === 'active' } : {}),
          heldBefore: this.heldEgress,
          ...(reuse ? { reuse } : {}),
        },
      );
      // What this pass changed in the namespaces makes its reading old.
      this.lastReading = result.namespacesChanged ? undefined : { reading: result.observed, podEvents };
      // Packed once per config: a pass with the config and options the committed table was
      // planned from has nothing new to hold (and never rendered the table).
      if (!plannedFrom(this.committed, config, this.deps.options))
        this.committed = { ...result.plan.packedTable, origin: { config, options: this.deps.options } };
      this.needFullSync = false;
      if (fullSync) this.lastFullSync = { at: performance.now(), ms: performance.now() - started };
      // Changes seen after this pass read the table still need a read.
      if (fullSync) this.tableChangesRead = changesAtStart;
      if (fullSync) this.trustedPasses = 0;
      else if (triggers.has('resync')) this.trustedPasses++;
      this.interfaceOwned = result.interfaceOwned;
      this.master = result.plan.link.master;
      this.findings = result.findings;
      const configChanged = tryNew;
      // The first pass after the role moved: its address and route changes are the role's, not drift.
      const hold = ha ? ha.role === 'active' : undefined;
      const roleMoved = ha !== undefined && this.heldAddresses !== undefined && hold !== this.heldAddresses;
      this.heldAddresses = hold;
      if (tryNew) {
        this.inForce = config;
        this.pendingConfig = false;
      }
      this.lastSuccessfulSync = rfc3339(this.now());
      // A warning that stands (a sysctl /proc/sys will never let it set) is logged when it starts,
      // not on every pass; a repeat goes to debug.
      for (const warning of result.warnings)
        if (this.lastWarnings.has(warning)) this.deps.log.debug(warning);
        else this.deps.log.warn(warning);
      this.lastWarnings = new Set(result.warnings);
      const firstPass = !this.appliedOnce;
      const followedRole = roleMoved ? changes.filter((c) => ROLE_KINDS.has(c.kind)) : [];
      const repairs = this.report(configChanged, changes, notices, followedRole);
      // Probes on the wire when a fresh answer is due (resync, start, reload), bounded in rate.
      const due = [...triggers].some((t) => RELOADING.has(t));
      const holding = !ha || ha.role === 'active';
      this.gateways = await this.checkGateways(config, due);
      const v4 = config.addresses.filter((a) => a.family === 4).map((a) => a.address);
      this.conflicts = this.conflictWatch.check(this.deps.options.egressInterface, holding ? v4 : [], due);
      if (holding) this.announceAgain(config, result.findings, changes, firstPass);
      const contested = new Set(this.conflictWatch.contested());
      this.heldEgress = new Set(
        holding ? config.addresses.map((a) => a.address).filter((a) => !contested.has(a)) : [],
      );
      this.lastApplied = { summary: this.summary(config), findings: result.findings };
      finish(
        this.appliedOutcome(
          this.lastApplied,
          configChanged,
          repairs.length > 0 ? `repaired at ${this.lastRepair?.time}: ${repairs.join('; ')}` : undefined,
        ),
        'ok',
        {
          repairs: changes
            .filter((c) => !configChanged && !isEffect(c.kind) && !followedRole.includes(c))
            .map((c) => c.kind),
          conntrackFlushes: changes.flatMap((c) => (c.op.type === 'conntrack-flush' ? [c.op.protocol] : [])),
        },
      );
      this.deps.afterPass?.(true);
      return { ok: true, changed: changes.length > 0 };
    } catch (error) {
      this.needFullSync = true;
      this.lastReading = undefined;
      this.lastApplied = undefined;
      const failure = error instanceof ApplyFailure ? error : undefined;
      const reason = failure?.failure.reason ?? 'ApplyFailed';
      const message = failure?.failure.message ?? (error as Error).message;
      if (failure?.aborted) {
        this.deps.log.info({ undone: failure.undone.length }, 'pass stopped; its changes were undone');
        return { ok: true, changed: true };
      }
      const stillServing = Boolean(this.inForce && tryNew && failure && failure.undoFailures.length === 0);
      this.deps.log.error(
        { reason, rolledBack: failure?.undone.length ?? 0, undoFailures: failure?.undoFailures ?? [] },
        `apply failed: ${message}`,
      );
      notices.push({ type: 'Warning', reason, message });
      finish(
        { kind: 'failed', reason, message, retryInMs: this.deps.nextRetryMs?.() ?? 1_000, stillServing },
        'failed',
        { reason, ...(tryNew && reload ? { reload: 'failed' as const } : {}) },
      );
      return { ok: false, changed: (failure?.undone.length ?? 0) > 0 };
    }
  }

  /**
   * The last pass's readings this pass may start from: none unless every trigger allows it; the
   * master's namespace when the last pass read it; the pod's only while no kernel event came since.
   */
  private reusableReading(
    triggers: ReadonlySet<Trigger>,
    podEvents: number | undefined,
  ): ReusedReading | undefined {
    const last = this.lastReading;
    if (!last || ![...triggers].every((t) => MAY_REUSE_READING.has(t))) return undefined;
    const podHolds = podEvents !== undefined && podEvents === last.podEvents;
    return {
      ...(podHolds && last.reading.pod ? { pod: last.reading.pod } : {}),
      ...(last.reading.master ? { master: last.reading.master } : {}),
    };
  }

  /**
   * What an applied pass means for the conditions, with the HA role as it is now (a role that
   * changed during the pass counts: the controller took or released the addresses meanwhile).
   */
  private appliedOutcome(applied: AppliedState, configChanged: boolean, repaired?: string): PassOutcome {
    const ha = this.deps.ha?.();
    const standby = ha && ha.role !== 'active' ? this.notServing(ha) : undefined;
    const gatewayDown = this.gateways.filter((g) => !g.reachable);
    const mustServeGateway = this.deps.readyRequiresGateway ?? ha !== undefined;
    const blocking = applied.findings.find((f) => f.blocksTraffic);
    return {
      kind: 'applied',
      summary: applied.summary,
      problems: this.problems(),
      ...(standby ? { standby } : {}),
      ...(!standby && blocking
        ? { unavailable: { reason: blocking.reason, message: blocking.message } }
        : !standby && mustServeGateway && gatewayDown.length > 0
          ? {
              unavailable: {
                reason: 'GatewayUnreachable',
                message: `in place, but the gateway does not answer: ${gatewayDown.map((g) => g.gateway).join(', ')}`,
              },
            }
          : {}),
      ...(repaired ? { repaired } : {}),
      configChanged,
    };
  }

  private notServing(ha: HaStatus): { reason: string; message: string } {
    return ha.role === 'fault'
      ? {
          reason: 'HaFault',
          message: `VRRP group ${ha.group} is in FAULT on this replica (its interface or keepalived is down)`,
        }
      : {
          reason: 'Standby',
          message: `standby in VRRP group ${ha.group} (priority ${ha.priority}) since ${ha.since}; the active replica holds the egress addresses`,
        };
  }

  /** Degraded reasons, most important first. */
  private problems(): Problem[] {
    const problems: Problem[] = [];
    const invalid = this.invalidIssues?.[0];
    if (invalid)
      problems.push({
        reason: 'InvalidConfig',
        message: `the new config is invalid and was not applied; the previous one stays in force: ${formatIssue(invalid)}`,
      });
    problems.push(...this.findings, ...this.conflicts);
    if (this.deps.ha?.()?.role === 'fault')
      problems.push({ reason: 'HaFault', message: 'VRRP is in FAULT on this replica' });
    const unreachable = this.gateways.filter((g) => !g.reachable);
    if (unreachable.length > 0)
      problems.push({
        reason: 'GatewayUnreachable',
        message: unreachable.map((g) => `gateway ${g.gateway} does not answer (${g.state})`).join('; '),
      });
    return problems;
  }

  /** Logs what a successful pass changed; returns the drift repairs (a pass that was not a config change). */
  private report(
    configChanged: boolean,
    changes: readonly Action[],
    notices: Notice[],
    followedRole: readonly Action[] = [],
  ): string[] {
    const { log } = this.deps;
    const firstApply = !this.appliedOnce;
    this.appliedOnce = true;
    if (firstApply || configChanged) {
      for (const change of changes) log.info({ kind: change.kind }, change.message);
      log.info({ changes: changes.length }, firstApply ? 'applied' : 'config applied');
      notices.push({
        type: 'Normal',
        reason: firstApply ? 'Applied' : 'Reloaded',
        message: firstApply
          ? `applied: ${changes.length} change(s)`
          : `config reloaded: ${changes.length} change(s)`,
      });
      return [];
    }
    const repairs: string[] = [];
    for (const change of changes) {
      if (followedRole.includes(change)) {
        log.info({ kind: change.kind, ha: this.deps.ha?.()?.role }, `HA role followed: ${change.message}`);
        continue;
      }
      if (isEffect(change.kind)) {
        log.info({ kind: change.kind }, change.message);
        continue;
      }
      log.warn({ kind: change.kind, repair: change.message }, `drift repaired: ${change.message}`);
      repairs.push(change.message);
    }
    if (repairs.length > 0) {
      this.lastRepair = {
        // To the millisecond: two repairs in one second are two repairs (conditions keep seconds).
        time: this.now().toISOString(),
        changes: changes
          .filter((c) => !isEffect(c.kind) && !followedRole.includes(c))
          .map((c) => ({ kind: c.kind, message: c.message })),
      };
      notices.push({ type: 'Normal', reason: 'DriftRepaired', message: repairs.join('; ') });
    }
    return repairs;
  }

  /**
   * Announcements a pass's own changes do not cover: at start, addresses already in place (the
   * init container's `apply` added them, and its repeated announcements ended with it), and once
   * the egress link has its carrier back (switches and neighbours may have forgotten them).
   */
  private announceAgain(
    config: RouterConfig,
    findings: readonly Finding[],
    changes: readonly Action[],
    firstPass: boolean,
  ): void {
    const lost = findings.some((f) => f.reason === 'NoCarrier');
    const back = this.carrierLost && !lost;
    this.carrierLost = lost;
    if (lost || !(firstPass || back)) return;
    const why = firstPass ? 'in place at start' : 'the egress link has its carrier back';
    const announced = new Set(changes.filter((c) => c.kind === 'announce').map((c) => c.object));
    for (const a of config.addresses) {
      if (announced.has(a.address)) continue;
      this.deps.log.info({ kind: 'announce' }, `announced ${a.address} again (${why})`);
      this.deps.effects?.announce(this.deps.options.egressInterface, a.address, a.family, false);
    }
  }

  private async checkGateways(config: RouterConfig, due: boolean): Promise<GatewayStatus[]> {
    const checks = ([4, 6] as const).map(async (family) => {
      const gateway = config.addresses.find((a) => a.family === family && a.gateway)?.gateway;
      if (!gateway) return [];
      try {
        return [await this.gatewayProber.check(family, gateway, this.deps.options.egressInterface, due)];
      } catch (error) {
        this.deps.log.warn({ gateway, err: (error as Error).message }, 'gateway check failed');
        return [];
      }
    });
    const results: GatewayStatus[] = (await Promise.all(checks)).flat();
    for (const g of results.filter((r) => !r.reachable))
      this.deps.log.warn({ gateway: g.gateway, state: g.state }, 'gateway does not answer');
    return results;
  }

  private makeSnapshot(notices: readonly Notice[], pass: PassSummary | undefined): StatusSnapshot {
    const config = this.config;
    const options = this.deps.options;
    return {
      version: this.deps.version,
      sequence: this.sequence++,
      time: rfc3339(this.now()),
      conditions: this.conditions,
      ...(config
        ? {
            config: {
              ...(config.name ? { name: config.name } : {}),
              ...(config.namespace ? { namespace: config.namespace } : {}),
              format: config.format,
              addresses: config.addresses.map((a) => `${a.address}/${a.prefixLength}`),
              redirectRules: config.redirectRules.length,
              ...(config.fallback ? { fallback: config.fallback.address } : {}),
            },
            interface: {
              name: options.egressInterface,
              clusterInterface: options.clusterInterface,
              ...(this.master ? { master: this.master } : {}),
              ...(this.interfaceOwned !== undefined ? { createdByAgent: this.interfaceOwned } : {}),
              addresses: config.addresses.map((a) => `${a.address}/${a.prefixLength}`),
            },
          }
        : {}),
      gateways: this.gateways,
      ...(this.deps.ha?.() ? { ha: this.deps.ha() as HaStatus } : {}),
      ...(this.lastSuccessfulSync ? { lastSuccessfulSync: this.lastSuccessfulSync } : {}),
      notices,
      ...(pass ? { pass } : {}),
      ...(this.committed
        ? {
            programmed: {
              redirectRules: this.inForce?.redirectRules.length ?? 0,
              mapElements: Object.fromEntries(this.committed.maps.map((m) => [m.name, m.elements.size])),
            },
          }
        : {}),
    };
  }

  /** A pass has run for `seconds`: say so (Degraded) until a pass ends and sets the conditions anew. */
  reportStuck(seconds: number): void {
    if (this.conditions.Degraded.reason === 'PassStuck' && this.conditions.Degraded.status === 'True') return;
    this.conditions = setConditions(
      this.conditions,
      {
        Degraded: {
          status: 'True',
          reason: 'PassStuck',
          message: `a reconcile pass has been running for ${Math.round(seconds)} s; every command has a deadline, so it should end soon (see the log)`,
        },
      },
      this.now(),
    );
    this.publish(
      [{ type: 'Warning', reason: 'PassStuck', message: `a pass has run for ${Math.round(seconds)} s` }],
      undefined,
    );
  }

  /** A sink that starts late (the Kubernetes status writer loads in the background); it gets the current snapshot at once. */
  addSink(sink: StatusSink): void {
    this.sinks.push(sink);
    sink.publish(this.snapshot);
  }

  /** Publishes a snapshot without a pass. */
  republish(notices: readonly Notice[] = []): void {
    this.publish(notices, undefined);
  }

  /**
   * Under HA, the role changed between passes and the addresses followed it: Available follows
   * at once (the last pass verified everything else), and the pass that comes next confirms it.
   * After a failed pass nothing is re-derived.
   */
  roleChanged(notices: readonly Notice[] = []): void {
    if (this.lastApplied)
      this.conditions = conditionsAfter(
        this.conditions,
        this.appliedOutcome(this.lastApplied, false),
        this.now(),
      );
    this.publish(notices, undefined);
  }

  private publish(notices: readonly Notice[], pass: PassSummary | undefined): void {
    this.snapshot = this.makeSnapshot(notices, pass);
    for (const sink of this.sinks) {
      try {
        sink.publish(this.snapshot);
      } catch (error) {
        this.deps.log.warn({ sink: sink.name, err: (error as Error).message }, 'status sink failed');
      }
    }
  }
}
