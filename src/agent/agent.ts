/**
 * `run`: wires the loop to its triggers (config directory, kernel monitors, sysctl poll, resync
 * timer, SIGHUP), the scheduler, the status sinks (HTTP, metrics, and any extra such as the
 * Kubernetes status writer), and stops on SIGTERM/SIGINT within a bound, pre-empting any pass
 * (optionally cleaning up first).
 */
import { createHash } from 'node:crypto';
import type { HealthAddr } from '../config/healthAddr.js';
import { formatIssue } from '../config/issues.js';
import { runIpBatch, runIpBatchForced } from '../link/batch.js';
import { planRouter } from '../plan/routerPlan.js';
import { realSystem, type System } from '../system/system.js';
import { cleanup } from './apply.js';
import { conditionList } from './conditions.js';
import type { ApplyOptions } from './context.js';
import { type Effects, realEffects } from './effects.js';
import { EventCount } from './eventCount.js';
import { releaseLines, takeLines } from './ha/addresses.js';
import { HaController, type HaSettings } from './ha/controller.js';
import { type HealthServer, startHealthServer } from './http.js';
import type { Logger } from './logger.js';
import { releaseHeap } from './memory.js';
import { MetricsSink } from './metrics.js';
import { type ConfigLoad, Reconciler } from './reconciler.js';
import { Scheduler, type Trigger } from './scheduler.js';
import { CounterCache } from './status/counters.js';
import { statusDocument } from './status/document.js';
import type { StatusSink } from './status/snapshot.js';
import { sweepBatchLeftovers } from './sweep.js';
import {
  type Monitor,
  monitorLinksAddressesRoutes,
  monitorRuleset,
  pollSysctls,
  type Stoppable,
  watchConfigDirectory,
} from './watchers.js';

export interface AgentSettings {
  readonly options: ApplyOptions;
  readonly healthAddr: HealthAddr;
  readonly resyncMs: number;
  readonly cleanupOnExit: boolean;
  /** Path of the config file to watch; undefined for --from-env. */
  readonly configPath?: string;
  readonly readConfig: () => Promise<ConfigLoad>;
  readonly version: string;
  readonly log: Logger;
  readonly system?: System;
  readonly effects?: Effects;
  /** Sinks beyond HTTP and metrics (the Kubernetes status writer). */
  readonly sinks?: readonly StatusSink[];
  /** Per-rule metric series before the rest is summed per destination. */
  readonly ruleSeriesLimit?: number;
  /** A pass running longer than this makes /healthz fail (the loop is stuck). */
  readonly stuckAfterMs?: number;
  /** A pass running longer than this is reported (Degraded PassStuck) while it goes on. */
  readonly slowPassMs?: number;
  /** Active/standby under VRRP (keepalived). */
  readonly ha?: HaSettings;
  /** Available follows the gateway; default: on under HA, off for a single router. */
  readonly readyRequiresGateway?: boolean;
}

export type { HaSettings } from './ha/controller.js';

export const fingerprintOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Debounces a burst of kernel events (one change emits several) into one trigger. */
function debounced(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

export class Agent {
  readonly reconciler: Reconciler;
  readonly scheduler: Scheduler;
  readonly metrics: MetricsSink;
  readonly counters: CounterCache;
  private readonly settings: AgentSettings;
  private readonly system: System;
  private readonly effects: Effects;
  private server: HealthServer | undefined;
  private readonly stoppables: Stoppable[] = [];
  private readonly monitors: Monitor[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Under HA: keepalived and the role the address step follows. */
  readonly ha: HaController | undefined;
  private readonly lateSinks: StatusSink[] = [];
  /** The pod namespace's kernel events, counted while `ip monitor` runs (see EventCount). */
  private readonly podEvents = new EventCount(() => performance.now());

  constructor(settings: AgentSettings) {
    this.settings = settings;
    this.system = settings.system ?? realSystem;
    this.effects =
      settings.effects ?? realEffects(this.system, { onProblem: (message) => settings.log.warn(message) });
    this.counters = new CounterCache(this.system.pod, () => this.reconciler.inForce);
    this.metrics = new MetricsSink({
      version: settings.version,
      ruleConnections: () => this.counters.current(),
      ...(settings.ruleSeriesLimit !== undefined ? { ruleSeriesLimit: settings.ruleSeriesLimit } : {}),
    });
    let scheduler: Scheduler | undefined;
    this.ha = settings.ha ? this.haController(settings.ha) : undefined;
    this.reconciler = new Reconciler({
      system: this.system,
      effects: this.effects,
      options: settings.options,
      loadConfig: settings.readConfig,
      log: settings.log,
      sinks: [this.metrics, ...(settings.sinks ?? [])],
      version: settings.version,
      podEvents: () => this.podEvents.current(),
      nextRetryMs: () => scheduler?.backoffFor((scheduler?.consecutiveFailures ?? 0) + 1) ?? 1_000,
      ...(this.ha ? { ha: () => this.ha?.status() } : {}),
      ...(settings.readyRequiresGateway !== undefined
        ? { readyRequiresGateway: settings.readyRequiresGateway }
        : {}),
      afterPass: (ok) => {
        if (ok) this.ha?.afterPass(this.reconciler.gateways.some((g) => !g.reachable));
      },
    });
    this.scheduler = new Scheduler({
      runPass: async (triggers, signal) => {
        const before = this.reconciler.inForce;
        const report = await this.reconciler.pass(triggers, signal);
        const now = this.reconciler.inForce;
        if (now && now !== before) releaseHeap(now.redirectRules.length);
        return report;
      },
      // Retries back off up to the resync interval: the operator's bound on repair latency.
      maxBackoffMs: Math.max(settings.resyncMs, 1_000),
    });
    scheduler = this.scheduler;
  }

  /** Role changes publish at once, take or release the addresses at once, then run a pass. */
  private haController(ha: HaSettings): HaController {
    const { log, options } = this.settings;
    const notice = {
      active: { type: 'Normal', reason: 'BecameActive' },
      standby: { type: 'Normal', reason: 'BecameStandby' },
      fault: { type: 'Warning', reason: 'HaFault' },
    } as const;
    return new HaController({
      settings: ha,
      interface: options.egressInterface,
      log,
      onRoleChange: (change, followed) => {
        const notices = [
          {
            ...notice[change.role],
            message: `VRRP group ${ha.group}: ${change.previous} -> ${change.role} (${change.cause})`,
          },
        ];
        if (followed) this.reconciler.roleChanged(notices);
        else this.reconciler.republish(notices);
      },
      take: () => this.followRole(true),
      release: () => this.followRole(false),
      requestPass: () => void this.request('role'),
      onRival: () => {
        // A healed partition: hosts on the other side cached the loser's MAC; tell them again.
        for (const a of this.reconciler.inForce?.addresses ?? [])
          this.effects.announce(options.egressInterface, a.address, a.family, false);
      },
    });
  }

  /** Under HA: the egress addresses on (announced) or off at once; the next pass verifies. */
  private async followRole(take: boolean): Promise<void> {
    const config = this.reconciler.inForce;
    if (!config) return;
    const device = this.settings.options.egressInterface;
    const started = performance.now();
    // One process for both families: every process start on the way to the first answer counts.
    if (take) await runIpBatch(this.system.pod, undefined, takeLines(config.addresses, device));
    else await runIpBatchForced(this.system.pod, undefined, releaseLines(config.addresses, device));
    if (take) for (const a of config.addresses) this.effects.announce(device, a.address, a.family, false);
    this.settings.log.info(
      { ms: Math.round(performance.now() - started) },
      `HA: ${take ? 'took and announced' : 'released'} ${config.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(', ')}`,
    );
  }

  /** Adds a sink once it is ready (stopped with the agent). */
  addSink(sink: StatusSink): void {
    this.lateSinks.push(sink);
    this.reconciler.addSink(sink);
  }

  request(trigger: Trigger): Promise<void> {
    return this.scheduler.request(trigger);
  }

  /** True while the loop is not stuck in one pass. */
  alive(): boolean {
    const started = this.scheduler.passStartedAt;
    return started === undefined || Date.now() - started < (this.settings.stuckAfterMs ?? 5 * 60_000);
  }

  async status(query: URLSearchParams): Promise<unknown> {
    const rules = await this.counters.fresh();
    return statusDocument({
      snapshot: this.reconciler.snapshot,
      conditions: conditionList(this.reconciler.conditions),
      rules,
      configSource: this.settings.configPath ?? 'environment',
      configIssues: this.reconciler.invalidIssues?.map(formatIssue) ?? [],
      lastRepair: this.reconciler.lastRepair ?? null,
      monitors: this.monitors.map((m) => m.alive()),
      query,
    });
  }

  /** Starts serving and watching, and asks for the first pass (it does not wait for it). */
  async start(): Promise<void> {
    const { log, healthAddr, options } = this.settings;
    this.server = await startHealthServer(
      healthAddr,
      {
        alive: () => this.alive(),
        ready: () => {
          const available = this.reconciler.conditions.Available;
          return { ready: available.status === 'True', reason: available.reason, message: available.message };
        },
        status: (query) => this.status(query),
        metrics: async () => ({
          contentType: this.metrics.contentType,
          body: await this.metrics.exposition(),
        }),
      },
      (message) => log.error(message),
    );
    log.info({ port: this.server.port, host: healthAddr.host ?? '*' }, 'health server listening');
    const drift = debounced(() => void this.request('drift'), 100);
    const tableDrift = debounced(() => void this.request('table'), 50);
    const hooks = (name: string) => ({
      onExit: (why: string, retryInMs: number) =>
        log.warn(
          { monitor: name, retryInMs },
          `${why}; restarting it; drift is still caught by the periodic resync`,
        ),
      onRestart: () => log.info({ monitor: name }, 'monitor restarted'),
    });
    const ipHooks = hooks('ip monitor');
    this.monitors.push(
      monitorLinksAddressesRoutes(
        this.system,
        () => {
          this.podEvents.event();
          drift();
        },
        {
          ...ipHooks,
          onStart: () => this.podEvents.started(),
          onExit: (why, retryInMs) => {
            this.podEvents.stopped();
            ipHooks.onExit(why, retryInMs);
          },
        },
      ),
      monitorRuleset(
        this.system,
        () => {
          this.reconciler.tableChangedBehindOurBack();
          tableDrift();
        },
        {
          ...hooks('nft monitor'),
          // While it was down, changes may have been missed: read the table next pass.
          onRestart: () => {
            this.reconciler.tableChangedBehindOurBack();
            log.info({ monitor: 'nft monitor' }, 'monitor restarted');
          },
        },
      ),
    );
    this.stoppables.push(
      pollSysctls(
        this.system,
        () => {
          const config = this.reconciler.inForce;
          return config ? planRouter(config, options).sysctls.filter((s) => s.required) : [];
        },
        (what) => {
          log.debug({ what }, 'sysctl drift noticed');
          drift();
        },
      ),
    );
    if (this.settings.configPath)
      this.stoppables.push(watchConfigDirectory(this.settings.configPath, () => void this.request('config')));
    void sweepBatchLeftovers().then((n) => {
      if (n > 0) log.info({ removed: n }, 'removed batch files left by a killed nft call');
    });
    this.resyncTimer = setInterval(() => void this.request('resync'), this.settings.resyncMs);
    const watchdog = setInterval(() => {
      const started = this.scheduler.passStartedAt;
      const slow = this.settings.slowPassMs ?? 60_000;
      if (started !== undefined && Date.now() - started > slow)
        this.reconciler.reportStuck((Date.now() - started) / 1000);
    }, 1_000);
    watchdog.unref();
    this.stoppables.push({ stop: () => clearInterval(watchdog) });
    void this.request('startup');
  }

  /** Stops watching and serving, pre-empting any pass; with cleanupOnExit, removes what was applied. */
  async stop(): Promise<void> {
    const { log } = this.settings;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.effects.stop();
    for (const s of [...this.stoppables.splice(0), ...this.monitors.splice(0)]) s.stop();
    const loopStopped = this.scheduler.stop();
    if (this.ha) {
      // Hand over at once, beside stopping the loop: keepalived sends priority 0 and a standby
      // takes the role in about one advertisement interval; the addresses go as soon as
      // keepalived has given the role up and no pass can put them back.
      await this.ha
        .handOver(loopStopped)
        .then(() => log.info('handed over: VRRP released, egress addresses removed'))
        .catch((error: Error) => log.error(`HA hand-over: ${error.message}`));
    }
    await loopStopped;
    const config = this.reconciler.config;
    if (this.settings.cleanupOnExit && config) {
      try {
        const result = await cleanup(config, this.settings.options, {
          system: this.system,
          log: (change) => log.info({ kind: change.kind }, change.message),
        });
        for (const failure of result.failures) log.warn(`cleanup: ${failure}`);
        log.info('cleaned up: addresses, routes, table and created interface removed');
      } catch (error) {
        log.error(`cleanup on exit failed: ${(error as Error).message}`);
      }
    }
    for (const sink of [...(this.settings.sinks ?? []), ...this.lateSinks])
      await sink.stop().catch(() => undefined);
    await this.server?.close();
  }
}
