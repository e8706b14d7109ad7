/**
 * 1. Connection setup rate vs rule count: sequential new TCP connections per second from the
 * client, through the router pod, to the LAST-defined port, for the agent's map-based table and
 * for the one-rule-per-port layout, interleaved in the same run (A B B A … per size).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { timedApply } from '../lib/agent.js';
import { egressRouter, rateRules } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import { agentSideChains, deletePerRule, loadPerRule, perRuleText } from '../lib/perRule.js';
import { ratio, round, type Summary, summarize } from '../lib/stats.js';

export type Layout = 'agent' | 'perRule';

export interface RateOptions {
  readonly sizes: readonly number[];
  readonly reps: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

export interface RatePoint {
  readonly rules: number;
  readonly tcpRules: number;
  readonly udpRules: number;
  readonly port: number;
  readonly agent: Summary;
  readonly perRule: Summary;
  /** median agent / median per-rule, and the median of the per-repetition pair ratios. */
  readonly agentOverPerRule: number;
  readonly agentOverPerRulePaired: number;
  readonly errors: { readonly agent: number; readonly perRule: number };
  /** Wall time of the loads that set the layouts up (not measured traffic). */
  readonly agentApplyMs: number;
  readonly perRuleLoadMs: number;
}

export interface RateResults {
  readonly options: RateOptions;
  readonly points: readonly RatePoint[];
  /** agent(10,000) / agent(1), from the medians. */
  readonly agent10kOver1: number;
  readonly goal: { readonly description: string; readonly target: number; readonly met: boolean | null };
}

export async function rateSuite(ctx: BenchContext, options: RateOptions): Promise<RateResults> {
  const { topo, driver } = ctx;
  const points: RatePoint[] = [];
  let perRuleLoaded = false;
  for (const size of options.sizes) {
    checkAbort(ctx);
    const rules = rateRules(size);
    const port = rules[rules.length - 1]?.port ?? 0;
    const configPath = join(ctx.tmp, `rate-${size}.json`);
    await writeFile(configPath, egressRouter(rules));
    if (perRuleLoaded) {
      await deletePerRule(topo);
      perRuleLoaded = false;
    }
    const agentApply = await timedApply(topo, configPath);
    const perRuleFile = join(ctx.tmp, `per-rule-${size}.nft`);
    const perRuleNft = perRuleText(rules, await agentSideChains(topo));
    const perRuleLoads: number[] = [];

    const use = async (layout: Layout) => {
      if (layout === 'perRule' && !perRuleLoaded) {
        perRuleLoads.push(await loadPerRule(topo, perRuleFile, perRuleNft));
        perRuleLoaded = true;
      } else if (layout === 'agent' && perRuleLoaded) {
        await deletePerRule(topo);
        perRuleLoaded = false;
        await timedApply(topo, configPath);
      }
      // Same start for every measurement: no conntrack entries left from the previous one.
      await topo.exec('pod', ['conntrack', '-F'], { reject: false });
      const probe = await driver.probe(port, 'dst1', { timeoutMs: 10_000, intervalMs: 20 });
      if (!probe.ok) throw new Error(`${layout} with ${size} rules: port ${port} does not answer from dst1`);
    };

    if (points.length === 0) {
      // Warm the client and server processes up (JIT, ARP, caches) before the first timed figure.
      await use('agent');
      await driver.rate(port, options.warmupMs * 4, 0, 'dst1');
    }
    const samples: Record<Layout, number[]> = { agent: [], perRule: [] };
    const errors: Record<Layout, number> = { agent: 0, perRule: 0 };
    const pairs: number[] = [];
    for (let rep = 0; rep < options.reps; rep += 1) {
      const order: Layout[] = rep % 2 === 0 ? ['agent', 'perRule'] : ['perRule', 'agent'];
      const got: Partial<Record<Layout, number>> = {};
      for (const layout of order) {
        checkAbort(ctx);
        await use(layout);
        const result = await driver.rate(port, options.durationMs, options.warmupMs, 'dst1');
        samples[layout].push(result.rate);
        errors[layout] += result.errors;
        got[layout] = result.rate;
        ctx.log(
          `rate ${size} rules ${layout}: ${Math.round(result.rate)} conn/s (${result.connections} in ${Math.round(result.elapsedMs)} ms, ${result.errors} errors${result.firstError ? `: ${result.firstError}` : ''})`,
        );
      }
      pairs.push(ratio(got.agent, got.perRule));
    }
    const agent = summarize(samples.agent);
    const perRule = summarize(samples.perRule);
    const tcpRules = rules.filter((r) => r.protocol === 'TCP').length;
    points.push({
      rules: size,
      tcpRules,
      udpRules: rules.length - tcpRules,
      port,
      agent,
      perRule,
      agentOverPerRule: ratio(agent.median, perRule.median),
      agentOverPerRulePaired: summarize(pairs).median,
      errors,
      agentApplyMs: round(agentApply.ms, 1),
      perRuleLoadMs: round(summarize(perRuleLoads).median, 1),
    });
  }
  if (perRuleLoaded) await deletePerRule(topo);
  const at = (rules: number) => points.find((p) => p.rules === rules)?.agent.median;
  const agent10kOver1 = ratio(at(10_000), at(1));
  return {
    options,
    points,
    agent10kOver1,
    goal: {
      description: 'agent rate at 10,000 rules >= 90% of its rate at 1 rule',
      target: 0.9,
      met: Number.isFinite(agent10kOver1) ? agent10kOver1 >= 0.9 : null,
    },
  };
}
