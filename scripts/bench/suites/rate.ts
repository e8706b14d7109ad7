/**
 * 1. New connections/s and bulk throughput through the router pod (issue 12), for three layouts
 * on the same topology (lib/layouts.ts): the agent's table, the minimal NAT ruleset that does the
 * same job, and plain forwarding with no NAT (the path's limit). Interleaved A B C C B A … per
 * size, conntrack flushed before every measurement.
 *
 * The traffic is the C generator and server (tools/conngen.c, tools/connserv.c; built into the
 * run's temp dir), not the Node client, which was the ceiling (about 5,500 conn/s). Before the
 * sizes, the suite records why this generator is not the ceiling: the same generator and server
 * on one LAN segment with no router between them, one generator against two in parallel through
 * the agent, and the server's CPU during each measurement.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAN } from '../../../src/netkit/index.js';
import { timedApply } from '../lib/agent.js';
import { egressRouter, type Rule, rateRules } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import {
  agentTableText,
  deleteTables,
  LAYOUTS,
  type Layout,
  loadNft,
  MINIMAL_TABLE,
  type MinimalParts,
  minimalNatText,
  PART_NAMES,
  plainForwardRoutes,
  podTables,
  replacing,
} from '../lib/layouts.js';
import { AGENT_TABLE } from '../lib/perRule.js';
import { freshPod } from '../lib/podState.js';
import { ratio, round, type Summary, summarize } from '../lib/stats.js';
import {
  buildCTools,
  CONNSERV_PORT,
  type ConnServer,
  type CTools,
  type GenTarget,
  genBulk,
  genProbe,
  genRate,
  startConnServer,
} from '../lib/traffic.js';

export type { Layout };

export interface RateOptions {
  readonly sizes: readonly number[];
  /** Repetitions per layout and size; two make one A B C C B A round. */
  readonly reps: number;
  readonly durationMs: number;
  readonly bulkMs: number;
  readonly warmupMs: number;
  /** Generator processes and connections in flight per process. */
  readonly workers: number;
  readonly concurrency: number;
  /** Bulk streams (one process each). */
  readonly streams: number;
  /** Server processes (SO_REUSEPORT). */
  readonly serverWorkers: number;
  /** Rounds of the not-the-ceiling evidence. */
  readonly ceilingReps: number;
  /** Rounds of the scratch-ruleset ablation at 1 rule (0: none). */
  readonly ablationReps: number;
}

/**
 * Short measurements, many rounds: the machine is shared, and its load moves on a scale of
 * seconds, so the figures to read are the medians of ratios taken within one round.
 */
export function rateOptions(quick: boolean): RateOptions {
  return {
    sizes: quick ? [1, 10_000] : [1, 10_000, 65_535],
    reps: quick ? 4 : 20,
    durationMs: 500,
    bulkMs: 500,
    warmupMs: 200,
    workers: 2,
    concurrency: 16,
    streams: 1,
    serverWorkers: 2,
    ceilingReps: quick ? 2 : 3,
    ablationReps: quick ? 2 : 6,
  };
}

export interface LayoutFigures {
  /** New connections/s (completed request/reply/close inside the window). */
  readonly rate: Summary;
  /** Bulk bytes/s received by the client (one download stream per `streams`). */
  readonly bulk: Summary;
  readonly errors: number;
  readonly firstError?: string;
  /** The server's CPU ÷ wall time while the connection figure ran (1 = one core). */
  readonly serverCpu: Summary;
  /** The generator's CPU (its system calls' kernel work included) ÷ wall time. */
  readonly generatorCpu: Summary;
  /**
   * Connections per CPU second of the generator and the server together. The kernel here
   * charges softirq work to the task it interrupts (no IRQ time accounting), and on veth the
   * routers' forwarding runs in the sender's softirq, so this is mostly the path's cost per
   * connection, and it does not drop when other work takes the CPUs away (the rate does).
   */
  readonly perCpuSecond: Summary;
}

export interface LayoutRatios {
  /** median ÷ median, and the median of the per-round pair ratios. */
  readonly agentOverMinimal: number;
  readonly agentOverMinimalPaired: number;
  readonly agentOverPlain: number;
  readonly minimalOverPlain: number;
}

export interface RatePoint {
  readonly rules: number;
  readonly tcpRules: number;
  readonly udpRules: number;
  readonly port: number;
  readonly layouts: Record<Layout, LayoutFigures>;
  readonly rate: LayoutRatios;
  readonly bulk: LayoutRatios;
  readonly perCpuSecond: LayoutRatios;
  /** Wall time of the loads that set the layouts up (not measured traffic). */
  readonly agentApplyMs: number;
  readonly minimalLoadMs: number;
}

export interface CeilingEvidence {
  /** dst2 -> dst1 on the LAN bridge: the same generator and server, no router in between. */
  readonly lanDirect: { readonly rate: Summary; readonly bulk: Summary };
  /** One generator through the agent (1 rule), and two at once (their sum), same settings each. */
  readonly oneGenerator: Summary;
  readonly twoGenerators: Summary;
  readonly loadAverage: readonly number[];
}

/** One scratch ruleset of the ablation: what it is, and its figures. */
export interface AblationVariant {
  readonly label: string;
  readonly rate: Summary;
  readonly bulk: Summary;
  /** Connections per CPU second of the generator and the server (see LayoutFigures). */
  readonly perCpuSecond: Summary;
  readonly errors: number;
}

export interface Ablation {
  readonly rules: number;
  readonly variants: readonly AblationVariant[];
}

export interface RateResults {
  readonly options: RateOptions;
  readonly ceiling: CeilingEvidence;
  /** The agent, the minimal table, the agent-like scratch table, and it without one part each. */
  readonly ablation?: Ablation;
  readonly points: readonly RatePoint[];
  /** agent(10,000) / agent(1), from the medians. */
  readonly agent10kOver1: number;
  readonly goal: { readonly description: string; readonly target: number; readonly met: boolean | null };
  /** Issue 12: agent ÷ minimal NAT, connections/s and bulk, at every size. */
  readonly goalMinimal: {
    readonly description: string;
    readonly target: number;
    readonly met: boolean | null;
  };
}

/**
 * The rate results of a results.json written before issue 12 (agent against one rule per port,
 * the Node client), so that `--from-json` still renders the older runs kept in git.
 */
export interface LegacyRatePoint {
  readonly rules: number;
  readonly tcpRules: number;
  readonly udpRules: number;
  readonly agent: Summary;
  readonly perRule: Summary;
  readonly agentOverPerRule: number;
}

export interface LegacyRateResults {
  readonly options: { readonly reps: number; readonly durationMs: number };
  readonly points: readonly LegacyRatePoint[];
  readonly agent10kOver1: number;
  readonly goal: RateResults['goal'];
}

export function isLegacyRate(rate: RateResults | LegacyRateResults): rate is LegacyRateResults {
  return rate.points.some((p) => !('layouts' in p));
}

const cpuShare = (cpuMs: number, wallMs: number) => round(cpuMs / wallMs, 3);

/** Rules whose target is connserv's port (the rate configs' shape otherwise). */
function connservRules(size: number): Rule[] {
  return rateRules(size).map((rule) => ({ ...rule, targetPort: CONNSERV_PORT }));
}

async function ceilingEvidence(
  ctx: BenchContext,
  tools: CTools,
  options: RateOptions,
  viaAgent: GenTarget,
): Promise<CeilingEvidence> {
  const { topo } = ctx;
  const gen = { durationMs: options.durationMs, warmupMs: options.warmupMs, workers: options.workers };
  const run = { ...gen, concurrency: options.concurrency, expect: 'dst1' };
  const lan: GenTarget = { from: 'dst2', host: PLAN.dst1.v4, port: CONNSERV_PORT };
  const lanRate: number[] = [];
  const lanBulk: number[] = [];
  const one: number[] = [];
  const two: number[] = [];
  for (let rep = 0; rep < options.ceilingReps; rep += 1) {
    checkAbort(ctx);
    lanRate.push((await genRate(topo, tools, lan, run)).rate);
    lanBulk.push(
      (
        await genBulk(topo, tools, lan, {
          durationMs: options.bulkMs,
          warmupMs: options.warmupMs,
          streams: options.streams,
        })
      ).bytesPerSecond,
    );
    await topo.exec('pod', ['conntrack', '-F'], { reject: false });
    one.push((await genRate(topo, tools, viaAgent, run)).rate);
    await topo.exec('pod', ['conntrack', '-F'], { reject: false });
    const pair = await Promise.all([
      genRate(topo, tools, viaAgent, run),
      genRate(topo, tools, viaAgent, run),
    ]);
    two.push(pair[0].rate + pair[1].rate);
    ctx.log(
      `rate ceiling: LAN direct ${Math.round(lanRate.at(-1) ?? 0)} conn/s, ${((lanBulk.at(-1) ?? 0) / 1e6).toFixed(0)} MB/s; through the agent one generator ${Math.round(one.at(-1) ?? 0)}, two ${Math.round(pair[0].rate)} + ${Math.round(pair[1].rate)}`,
    );
  }
  return {
    lanDirect: { rate: summarize(lanRate), bulk: summarize(lanBulk) },
    oneGenerator: summarize(one),
    twoGenerators: summarize(two),
    loadAverage: (await import('node:os')).loadavg().map((v) => round(v, 2)),
  };
}

/**
 * Which of the agent's features cost, at 1 rule: the agent's own table; the minimal table; the
 * agent-like scratch table (the minimal one with every part of MinimalParts); and that without
 * one part at a time. Round r visits the variants rotated by r, every other round reversed.
 */
async function ablationRuns(
  ctx: BenchContext,
  tools: CTools,
  options: RateOptions,
  scratch: string,
  server: ConnServer,
): Promise<Ablation> {
  const { topo } = ctx;
  const rules = connservRules(1);
  const port = rules[0]?.port ?? 0;
  const target: GenTarget = { from: 'client', host: PLAN.pod.v4, port };
  const configPath = join(ctx.tmp, 'ablation.json');
  await writeFile(configPath, egressRouter(rules));
  await deleteTables(topo, scratch, await podTables(topo));
  await timedApply(topo, configPath);
  const agentText = await agentTableText(topo);
  const all: MinimalParts = Object.fromEntries(PART_NAMES.map((p) => [p, true]));
  const variants: { label: string; parts?: MinimalParts }[] = [
    { label: 'agent' },
    { label: 'minimal NAT', parts: {} },
    { label: 'agent-like (minimal + every part)', parts: all },
    ...PART_NAMES.map((name) => ({ label: `agent-like without ${name}`, parts: { ...all, [name]: false } })),
  ];
  const got = variants.map(() => ({
    rate: [] as number[],
    bulk: [] as number[],
    perCpuSecond: [] as number[],
    errors: 0,
  }));
  let loaded = -1;
  for (let pass = 0; pass < options.ablationReps; pass += 1) {
    const order = variants.map((_, i) => (i + pass) % variants.length);
    if (pass % 2 === 1) order.reverse();
    for (const index of order) {
      checkAbort(ctx);
      const variant = variants[index];
      const figures = got[index];
      if (!variant || !figures) continue;
      if (loaded !== index) {
        const present = await podTables(topo);
        const text = variant.parts ? minimalNatText(rules, { parts: variant.parts }) : agentText;
        await loadNft(topo, scratch, replacing(present, text));
        loaded = index;
      }
      await topo.exec('pod', ['conntrack', '-F'], { reject: false });
      if (!(await genProbe(topo, tools, target, 'dst1')))
        throw new Error(`ablation ${variant.label}: no answer`);
      const cpuBefore = await server.cpuMs();
      const conns = await genRate(topo, tools, target, {
        durationMs: options.durationMs,
        warmupMs: options.warmupMs,
        workers: options.workers,
        concurrency: options.concurrency,
        expect: 'dst1',
      });
      const serverMs = (await server.cpuMs()) - cpuBefore;
      figures.perCpuSecond.push(round((conns.connectionsAll / (conns.cpuMs + serverMs)) * 1000, 1));
      const bulk = await genBulk(topo, tools, target, {
        durationMs: options.bulkMs,
        warmupMs: options.warmupMs,
        streams: options.streams,
      });
      figures.rate.push(conns.rate);
      figures.bulk.push(bulk.bytesPerSecond);
      figures.errors += conns.errors + bulk.errors;
      ctx.log(
        `rate ablation ${variant.label}: ${Math.round(conns.rate)} conn/s, bulk ${(bulk.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
      );
    }
  }
  return {
    rules: 1,
    variants: variants.map((v, i) => ({
      label: v.label,
      rate: summarize(got[i]?.rate ?? []),
      bulk: summarize(got[i]?.bulk ?? []),
      perCpuSecond: summarize(got[i]?.perCpuSecond ?? []),
      errors: got[i]?.errors ?? 0,
    })),
  };
}

function ratios(
  values: Record<Layout, Summary>,
  pairs: readonly (Partial<Record<Layout, number>> | undefined)[],
): LayoutRatios {
  return {
    agentOverMinimal: ratio(values.agent.median, values.minimalNat.median),
    agentOverMinimalPaired: summarize(
      pairs.map((p) => ratio(p?.agent, p?.minimalNat)).filter(Number.isFinite),
    ).median,
    agentOverPlain: ratio(values.agent.median, values.plainForward.median),
    minimalOverPlain: ratio(values.minimalNat.median, values.plainForward.median),
  };
}

export async function rateSuite(ctx: BenchContext, options: RateOptions): Promise<RateResults> {
  const { topo } = ctx;
  const tools = await buildCTools(ctx.tmp);
  // The client opens tens of thousands of connections a second: the whole port range, in the
  // bench's own namespaces only (conngen closes with an RST, so no TIME_WAIT holds them either).
  for (const ns of ['client', 'dst2'])
    await topo.exec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535']);
  let server: ConnServer | undefined;
  let undoRoutes: (() => Promise<void>) | undefined;
  const scratch = join(ctx.tmp, 'rate-tables.nft');
  try {
    server = await startConnServer(topo, tools, 'dst1', options.serverWorkers);
    undoRoutes = await plainForwardRoutes(topo);
    const viaPod = (port: number): GenTarget => ({ from: 'client', host: PLAN.pod.v4, port });
    const direct: GenTarget = { from: 'client', host: PLAN.dst1.v4, port: CONNSERV_PORT };
    const points: RatePoint[] = [];
    let ceiling: CeilingEvidence | undefined;
    let current: Layout | 'none' = 'none';

    for (const size of options.sizes) {
      checkAbort(ctx);
      const rules = connservRules(size);
      const port = rules[rules.length - 1]?.port ?? 0;
      const configPath = join(ctx.tmp, `rate-${size}.json`);
      await writeFile(configPath, egressRouter(rules));
      const minimalFile = join(ctx.tmp, `minimal-${size}.nft`);
      const applies: number[] = [];
      const agentFile = join(ctx.tmp, `agent-${size}.nft`);
      let agentText: string | undefined;
      const minimalLoads: number[] = [];
      const targetOf = (layout: Layout) => (layout === 'plainForward' ? direct : viaPod(port));

      const use = async (layout: Layout) => {
        if (layout !== current || layout === 'agent') {
          const present = await podTables(topo);
          if (layout === 'agent') {
            if (agentText === undefined) {
              await deleteTables(topo, scratch, present);
              applies.push((await timedApply(topo, configPath)).ms);
              agentText = await agentTableText(topo);
            } else if (current !== 'agent' || !present.includes(AGENT_TABLE)) {
              await loadNft(topo, agentFile, replacing(present, agentText));
            }
          } else if (layout === 'minimalNat') {
            const text = minimalNatText(rules, {
              replace: present.includes(AGENT_TABLE) ? AGENT_TABLE : undefined,
            });
            if (present.includes(MINIMAL_TABLE)) await deleteTables(topo, scratch, [MINIMAL_TABLE]);
            minimalLoads.push(await loadNft(topo, minimalFile, text));
          } else {
            await deleteTables(topo, scratch, present);
          }
          current = layout;
        }
        // Same start for every measurement: no conntrack entries left from the previous one.
        await topo.exec('pod', ['conntrack', '-F'], { reject: false });
        if (!(await genProbe(topo, tools, targetOf(layout), 'dst1')))
          throw new Error(
            `${layout} with ${size} rules: no answer from dst1 through port ${targetOf(layout).port}`,
          );
      };

      if (!ceiling) {
        await use('agent');
        ceiling = await ceilingEvidence(ctx, tools, options, viaPod(port));
      }
      const samples = Object.fromEntries(
        LAYOUTS.map((l) => [
          l,
          { rate: [], bulk: [], serverCpu: [], generatorCpu: [], perCpuSecond: [], errors: 0 },
        ]),
      ) as unknown as Record<
        Layout,
        {
          rate: number[];
          bulk: number[];
          serverCpu: number[];
          generatorCpu: number[];
          perCpuSecond: number[];
          errors: number;
          firstError?: string;
        }
      >;
      const ratePairs: Partial<Record<Layout, number>>[] = [];
      const bulkPairs: Partial<Record<Layout, number>>[] = [];
      const cpuPairs: Partial<Record<Layout, number>>[] = [];
      for (let rep = 0; rep < options.reps; rep += 1) {
        const order: Layout[] = rep % 2 === 0 ? [...LAYOUTS] : [...LAYOUTS].reverse();
        const rateGot: Partial<Record<Layout, number>> = {};
        const bulkGot: Partial<Record<Layout, number>> = {};
        const cpuGot: Partial<Record<Layout, number>> = {};
        for (const layout of order) {
          checkAbort(ctx);
          await use(layout);
          const s = samples[layout];
          const cpuBefore = await server.cpuMs();
          const wallBefore = performance.now();
          const conns = await genRate(topo, tools, targetOf(layout), {
            durationMs: options.durationMs,
            warmupMs: options.warmupMs,
            workers: options.workers,
            concurrency: options.concurrency,
            expect: 'dst1',
          });
          const wallMs = performance.now() - wallBefore;
          const serverMs = (await server.cpuMs()) - cpuBefore;
          s.serverCpu.push(cpuShare(serverMs, wallMs));
          const perCpuSecond = round((conns.connectionsAll / (conns.cpuMs + serverMs)) * 1000, 1);
          s.perCpuSecond.push(perCpuSecond);
          cpuGot[layout] = perCpuSecond;
          s.generatorCpu.push(cpuShare(conns.cpuMs, wallMs));
          s.rate.push(conns.rate);
          s.errors += conns.errors;
          s.firstError ??= conns.firstError;
          rateGot[layout] = conns.rate;
          const bulk = await genBulk(topo, tools, targetOf(layout), {
            durationMs: options.bulkMs,
            warmupMs: options.warmupMs,
            streams: options.streams,
          });
          s.bulk.push(bulk.bytesPerSecond);
          s.errors += bulk.errors;
          s.firstError ??= bulk.firstError;
          bulkGot[layout] = bulk.bytesPerSecond;
          ctx.log(
            `rate ${size} rules ${layout}: ${Math.round(conns.rate)} conn/s (${conns.errors} errors${conns.firstError ? `: ${conns.firstError}` : ''}), bulk ${(bulk.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
          );
        }
        ratePairs.push(rateGot);
        bulkPairs.push(bulkGot);
        cpuPairs.push(cpuGot);
      }
      const figures = Object.fromEntries(
        LAYOUTS.map((l) => {
          const s = samples[l];
          const f: LayoutFigures = {
            rate: summarize(s.rate),
            bulk: summarize(s.bulk),
            errors: s.errors,
            ...(s.firstError ? { firstError: s.firstError } : {}),
            serverCpu: summarize(s.serverCpu),
            generatorCpu: summarize(s.generatorCpu),
            perCpuSecond: summarize(s.perCpuSecond),
          };
          return [l, f];
        }),
      ) as Record<Layout, LayoutFigures>;
      const tcpRules = rules.filter((r) => r.protocol === 'TCP').length;
      const pick = (key: 'rate' | 'bulk' | 'perCpuSecond') =>
        Object.fromEntries(LAYOUTS.map((l) => [l, figures[l][key]])) as Record<Layout, Summary>;
      points.push({
        rules: size,
        tcpRules,
        udpRules: rules.length - tcpRules,
        port,
        layouts: figures,
        rate: ratios(pick('rate'), ratePairs),
        bulk: ratios(pick('bulk'), bulkPairs),
        perCpuSecond: ratios(pick('perCpuSecond'), cpuPairs),
        agentApplyMs: round(summarize(applies).median, 1),
        minimalLoadMs: round(summarize(minimalLoads).median, 1),
      });
    }
    const ablation =
      options.ablationReps > 0 ? await ablationRuns(ctx, tools, options, scratch, server) : undefined;
    const at = (rules: number) => points.find((p) => p.rules === rules)?.layouts.agent.rate.median;
    const agent10kOver1 = ratio(at(10_000), at(1));
    // Paired: each round's agent ÷ minimal, measured seconds apart, then the median over rounds.
    const minimalRatios = points.flatMap((p) => [
      p.rate.agentOverMinimalPaired,
      p.bulk.agentOverMinimalPaired,
    ]);
    return {
      options,
      ceiling: ceiling ?? {
        lanDirect: { rate: summarize([]), bulk: summarize([]) },
        oneGenerator: summarize([]),
        twoGenerators: summarize([]),
        loadAverage: [],
      },
      ...(ablation ? { ablation } : {}),
      points,
      agent10kOver1,
      goal: {
        description: 'agent rate at 10,000 rules >= 90% of its rate at 1 rule',
        target: 0.9,
        met: Number.isFinite(agent10kOver1) ? agent10kOver1 >= 0.9 : null,
      },
      goalMinimal: {
        description:
          'agent / minimal NAT >= 0.95 (median of the paired ratios, connections/s and bulk, every size)',
        target: 0.95,
        met:
          minimalRatios.length > 0 && minimalRatios.every(Number.isFinite)
            ? minimalRatios.every((r) => r >= 0.95)
            : null,
      },
    };
  } finally {
    await undoRoutes?.();
    await server?.stop();
    // The next suite gets a clean pod, whichever layout the last measurement left.
    await freshPod(topo);
  }
}
