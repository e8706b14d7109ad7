/**
 * `run`: the egress-router pod's main container. Wires the reconciler to its triggers
 * (config directory, kernel monitors, sysctl poll, resync timer, SIGHUP), serves health and
 * status, and stops cleanly on SIGTERM/SIGINT (optionally cleaning up first).
 */
import { createHash } from 'node:crypto';
import type { HealthAddr } from '../config/healthAddr.js';
import { formatIssue } from '../config/issues.js';
import { readRedirectCounters } from '../nft/counters.js';
import { sortRules } from '../plan/ruleset.js';
import { localRunner } from '../system/command.js';
import { cleanup } from './cleanup.js';
import { conditionList } from './conditions.js';
import type { ApplyOptions } from './context.js';
import { type HealthServer, startHealthServer } from './http.js';
import type { Logger } from './logger.js';
import { AgentMetrics, type RuleConnections } from './metrics.js';
import { type ConfigLoad, Reconciler } from './reconciler.js';
import { wantedSysctls } from './steps/sysctls.js';
import {
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
}

export const fingerprintOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Debounces a burst of kernel events (one apply emits many) into one trigger. */
function debounced(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

export class Agent {
  readonly reconciler: Reconciler;
  readonly metrics: AgentMetrics;
  private readonly settings: AgentSettings;
  private server: HealthServer | undefined;
  private readonly stoppables: Stoppable[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private countersCache: { at: number; value: Promise<readonly RuleConnections[]> } | undefined;

  constructor(settings: AgentSettings) {
    this.settings = settings;
    this.metrics = new AgentMetrics(settings.version);
    this.reconciler = new Reconciler({
      options: settings.options,
      loadConfig: settings.readConfig,
      log: settings.log,
      metrics: this.metrics,
      resyncMs: settings.resyncMs,
    });
    this.metrics.bind({
      ruleConnections: () => this.ruleConnections(),
      conditions: () => this.reconciler.conditions,
    });
  }

  /** Counters are read from the kernel at most four times a second, however often metrics are scraped. */
  private ruleConnections(): Promise<readonly RuleConnections[]> {
    const now = Date.now();
    if (this.countersCache && now - this.countersCache.at < 250) return this.countersCache.value;
    const config = this.reconciler.config;
    const value = (async () => {
      if (!config) return [];
      const families = [...new Set(config.addresses.map((a) => a.family))];
      const counts = await readRedirectCounters(localRunner, families).catch(() => new Map<string, number>());
      return sortRules(config.redirectRules).map((rule) => ({
        rule,
        connections: counts.get(`${rule.family}/${rule.protocol}/${rule.port}`) ?? 0,
      }));
    })();
    this.countersCache = { at: now, value };
    return value;
  }

  async statusDocument(): Promise<unknown> {
    const r = this.reconciler;
    const config = r.config;
    return {
      apiVersion: 'network.operator.openshift.io/v1',
      kind: 'EgressRouterAgentStatus',
      version: this.settings.version,
      conditions: conditionList(r.conditions),
      config: config ?? null,
      configSource: this.settings.configPath ?? 'environment',
      configIssues: r.invalidIssues?.map(formatIssue) ?? [],
      interface: config
        ? {
            name: this.settings.options.egressInterface,
            clusterInterface: this.settings.options.clusterInterface,
            createdByAgent: r.interfaceOwned ?? null,
            master: config.macvlan.master ?? null,
            addresses: config.addresses.map((a) => `${a.address}/${a.prefixLength}`),
          }
        : null,
      gateways: r.gateways,
      rules: (await this.ruleConnections()).map(({ rule, connections }) => ({ ...rule, connections })),
      lastApplyTime: r.lastApplyTime ?? null,
      lastRepair: r.lastRepair ?? null,
    };
  }

  async start(): Promise<void> {
    const { log, healthAddr, options } = this.settings;
    this.server = await startHealthServer(
      healthAddr,
      {
        alive: () => this.reconciler.alive(),
        ready: () => {
          const available = this.reconciler.conditions.Available;
          return { ready: available.status === 'True', reason: available.reason, message: available.message };
        },
        status: () => this.statusDocument(),
        metrics: async () => ({
          contentType: this.metrics.registry.contentType,
          body: await this.metrics.registry.metrics(),
        }),
      },
      (message) => log.error(message),
    );
    log.info({ port: this.server.port, host: healthAddr.host ?? '*' }, 'health server listening');
    const drift = debounced(() => void this.reconciler.trigger('drift'), 100);
    const onMonitorExit = (why: string) => log.warn(`${why}; drift is still caught by the periodic resync`);
    this.stoppables.push(
      monitorLinksAddressesRoutes(drift, onMonitorExit),
      monitorRuleset(
        () => {
          this.reconciler.noteTableEvent();
          drift();
        },
        (why) => {
          this.reconciler.tableMonitorLost();
          onMonitorExit(why);
        },
      ),
    );
    this.stoppables.push(
      pollSysctls(
        () => {
          const config = this.reconciler.config;
          return config
            ? wantedSysctls(new Set(config.addresses.map((a) => a.family)), options.egressInterface).filter(
                (w) => w.required,
              )
            : [];
        },
        (what) => {
          log.debug({ what }, 'sysctl drift noticed');
          drift();
        },
      ),
    );
    if (this.settings.configPath) {
      this.stoppables.push(
        watchConfigDirectory(this.settings.configPath, () => void this.reconciler.trigger('config')),
      );
    }
    this.resyncTimer = setInterval(() => void this.reconciler.trigger('resync'), this.settings.resyncMs);
    await this.reconciler.trigger('startup');
  }

  /** Stops watching and serving; with cleanupOnExit, removes what was applied first. */
  async stop(): Promise<void> {
    const { log } = this.settings;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const s of this.stoppables.splice(0)) s.stop();
    await this.reconciler.stop();
    const config = this.reconciler.config;
    if (this.settings.cleanupOnExit && config) {
      try {
        await cleanup(config, this.settings.options, (change) =>
          log.info({ kind: change.kind }, change.message),
        );
        log.info('cleaned up: addresses, routes, table and created interface removed');
      } catch (error) {
        log.error(`cleanup on exit failed: ${(error as Error).message}`);
      }
    }
    await this.server?.close();
  }
}
