/**
 * Per-rule connection counts, read from the ruleset's per-element counters: at most one `nft` at
 * a time, and no more often than every `minIntervalMs` (longer for big tables: what
 * the last read took, twice over), however many readers ask. /metrics takes the last values at once; /status
 * waits for the read in flight. No request ever starts a process of its own.
 */
import type { RedirectRule, RouterConfig } from '../../config/model.js';
import { readRedirectCounters } from '../../nft/counters.js';
import { addressMapName, sortRules } from '../../plan/ruleset.js';
import type { Runner } from '../../system/command.js';
import type { RuleConnections } from '../metrics.js';

export class CounterCache {
  private values = new Map<string, number>();
  private readAt = 0;
  private lastCostMs = 0;
  private inFlight: Promise<void> | undefined;
  private sorted: { config: RouterConfig; rules: RedirectRule[] } | undefined;

  constructor(
    private readonly runner: Runner,
    private readonly config: () => RouterConfig | undefined,
    private readonly minIntervalMs = 250,
  ) {}

  private rules(): RedirectRule[] {
    const config = this.config();
    if (!config) return [];
    if (this.sorted?.config !== config) this.sorted = { config, rules: sortRules(config.redirectRules) };
    return this.sorted.rules;
  }

  /** Starts a background read if the values are stale and none is running. */
  refresh(): void {
    const config = this.config();
    if (!config || this.inFlight) return;
    const interval = Math.max(this.minIntervalMs, this.lastCostMs * 2);
    if (Date.now() - this.readAt < interval) return;
    const started = Date.now();
    const families = [...new Set(config.addresses.map((a) => a.family))];
    const maps = families.map((family) => ({ family, name: addressMapName(family) }));
    this.inFlight = readRedirectCounters(this.runner, maps)
      .then((values) => {
        this.values = values;
      })
      .catch(() => undefined)
      .finally(() => {
        this.readAt = Date.now();
        this.lastCostMs = this.readAt - started;
        this.inFlight = undefined;
      });
  }

  /** Every rule in protocol, port order with its last known count; refreshes in the background. */
  current(): RuleConnections[] {
    this.refresh();
    return this.rules().map((rule) => ({
      rule,
      connections: this.values.get(`${rule.family}/${rule.protocol}/${rule.port}`) ?? 0,
    }));
  }

  /** The counts, waiting for a read if the last one is stale (shared by every caller). */
  async fresh(): Promise<RuleConnections[]> {
    this.refresh();
    await this.inFlight;
    return this.current();
  }
}
