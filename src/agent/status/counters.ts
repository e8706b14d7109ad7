/**
 * Per-rule connection counts, read from the ruleset's per-element counters: at most one `nft` at
 * a time, and no more often than every `minIntervalMs`, or ten times what the last read took
 * (a read costs as much as listing every element: at 131,069 rules, seconds of nft's CPU),
 * however many readers ask. /metrics takes the last values at once; /status waits a bounded
 * time for a read in flight, then answers with the last values and says when they were read.
 * No request ever starts a process of its own.
 *
 * Rules are kept in protocol, port order (then IPv4 before IPv6) without sorting: an index by
 * packed key is filled once per config, in one pass.
 */
import type { RedirectRule, RouterConfig } from '../../config/model.js';
import { KEY_SPACE, readRedirectCounters } from '../../nft/counters.js';
import { packKey } from '../../nft/packed.js';
import { addressMapName } from '../../plan/ruleset.js';
import type { Runner } from '../../system/command.js';
import type { RuleConnections } from '../metrics.js';

/** How long /status waits for a counter read in flight before it answers with the last values. */
export const STATUS_WAIT_MS = 300;
const COST_FACTOR = 10;

/** Every rule in protocol, port order, each with its connections. */
export interface RuleCounts {
  readonly size: number;
  rule(i: number): RedirectRule;
  connections(i: number): number;
  /** Epoch ms of the counter read these come from; undefined before the first. */
  readonly readAt: number | undefined;
}

/** Rule indexes in protocol, port, family order (a counting pass over the key space). */
function ruleOrder(rules: readonly RedirectRule[]): Uint32Array {
  const slots = new Int32Array(KEY_SPACE * 2).fill(-1);
  rules.forEach((rule, i) => {
    const key = packKey(rule.protocol, rule.port);
    if (key !== undefined) slots[key * 2 + (rule.family === 6 ? 1 : 0)] = i;
  });
  const order = new Uint32Array(rules.length);
  let n = 0;
  for (const index of slots) if (index >= 0) order[n++] = index;
  return n === rules.length ? order : order.subarray(0, n);
}

export class CounterCache {
  private counts = new Map<4 | 6, Float64Array>();
  private readAt: number | undefined;
  private lastCostMs = 0;
  private inFlight: Promise<void> | undefined;
  private ordered: { config: RouterConfig; order: Uint32Array } | undefined;

  constructor(
    private readonly runner: Runner,
    private readonly config: () => RouterConfig | undefined,
    private readonly minIntervalMs = 250,
  ) {}

  private order(config: RouterConfig): Uint32Array {
    if (this.ordered?.config !== config) this.ordered = { config, order: ruleOrder(config.redirectRules) };
    return this.ordered.order;
  }

  /** Starts a background read if the values are stale and none is running. */
  refresh(): void {
    const config = this.config();
    if (!config || this.inFlight) return;
    const interval = Math.max(this.minIntervalMs, this.lastCostMs * COST_FACTOR);
    if (this.readAt !== undefined && Date.now() - this.readAt < interval) return;
    const started = Date.now();
    const families = [...new Set(config.addresses.map((a) => a.family))];
    const maps = families.map((family) => ({ family, name: addressMapName(family) }));
    this.inFlight = readRedirectCounters(this.runner, maps)
      .then((counts) => {
        this.counts = counts;
      })
      .catch(() => undefined)
      .finally(() => {
        this.readAt = Date.now();
        this.lastCostMs = this.readAt - started;
        this.inFlight = undefined;
      });
  }

  /** The last known counts of every rule, without waiting; refreshes in the background. */
  counted(): RuleCounts {
    this.refresh();
    const config = this.config();
    const rules = config?.redirectRules ?? [];
    const order = config ? this.order(config) : new Uint32Array(0);
    const counts = this.counts;
    const rule = (i: number) => rules[order[i] as number] as RedirectRule;
    return {
      size: order.length,
      rule,
      connections: (i) => {
        const r = rule(i);
        const key = packKey(r.protocol, r.port);
        return key === undefined ? 0 : (counts.get(r.family)?.[key] ?? 0);
      },
      readAt: this.readAt,
    };
  }

  /** Every rule in protocol, port order with its last known count (for the metrics). */
  current(): RuleConnections[] {
    const counts = this.counted();
    return Array.from({ length: counts.size }, (_, i) => ({
      rule: counts.rule(i),
      connections: counts.connections(i),
    }));
  }

  /** The counts, after waiting up to `waitMs` for a read if the last one is stale (shared by every caller). */
  async fresh(waitMs = STATUS_WAIT_MS): Promise<RuleCounts> {
    this.refresh();
    const reading = this.inFlight;
    if (reading) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reading, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    }
    return this.counted();
  }
}
