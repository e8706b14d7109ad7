/**
 * `run` mode: 4. memory at rest, 3. reload latency (ConfigMap-style ..data swap) with
 * long-lived streams through 100 consecutive reloads, 5. drift repair (table deleted, default
 * route deleted). One agent per rule count (10 and 10,000), each started on a clean pod.
 *
 * Rules (all TCP, target port 7000): 20001 -> far (198.51.100.10, beyond the gateway: the
 * default-route drift breaks it), 20002 -> dst1/dst2 (the rule the reloads change), the rest
 * -> dst1.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NODE, PLAN, pollUntil, run, sleep, spawnChild } from '../../../src/netkit/index.js';
import { clock, logTime, type RunAgent, startRunAgent, stopRunAgent } from '../lib/agent.js';
import { createConfigDir, egressRouter, type Rule } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import { AGENT_TABLE } from '../lib/perRule.js';
import { freshPod } from '../lib/podState.js';
import { median, ratio, round, type Summary, summarize } from '../lib/stats.js';
import { SERVER_PORT, type StreamReport } from '../lib/traffic.js';

export const BASE_PORT = 20_000;
export const FAR_PORT = BASE_PORT + 1;
export const CHANGED_PORT = BASE_PORT + 2;

export interface RunModeOptions {
  readonly sizes: readonly number[];
  /** Agents started per size for the memory figure (the first one also does reload/drift). */
  readonly memoryReps: number;
  /** How long each agent's RSS is sampled (once a second) after it settled. */
  readonly memoryWindowMs: number;
  /** Reloads at the size that has them (10,000, or the largest size). */
  readonly reloads: number;
  /** Idle time after a reload's pass finished before the next swap. */
  readonly reloadGapMs: number;
  readonly driftReps: number;
  readonly reloadSize: number;
  /** Extra agents at reloadSize with node flags (e.g. V8 heap limits), for a side-by-side RSS figure. */
  readonly memoryVariants: readonly { readonly label: string; readonly nodeFlags: readonly string[] }[];
}

export interface MemoryVariant {
  readonly label: string;
  readonly nodeFlags: readonly string[];
  readonly rules: number;
  readonly rssMiB: number;
  readonly windowMinMiB: number;
  readonly windowMaxMiB: number;
  readonly hwmMiB: number;
  /** Start to "applied", ms (a heap limit may cost time). */
  readonly readyMs: number;
}

export interface MemoryPoint {
  readonly rules: number;
  /** Per agent: the median of its once-a-second samples; summarized over the agents. */
  readonly rssMiB: Summary;
  /** Lowest and highest single sample over all windows. */
  readonly windowMinMiB: number;
  readonly windowMaxMiB: number;
  readonly hwmMiB: Summary;
  /** RSS after the reloads and drift repairs (the first agent of this size only). */
  readonly rssAfterChurnMiB?: number;
}

export interface ReloadResults {
  readonly rules: number;
  readonly reloads: number;
  /** Swap to the changed port answering from its new destination. */
  readonly answerMs: Summary;
  /** Swap to the agent's "config applied" log line (its pass, read-back verification included). */
  readonly passMs: Summary;
  readonly streams: readonly StreamReport[];
  /** Streams on unchanged rules: resets/closures and stalls (> stallMs without a reply). */
  readonly streamBreaks: number;
  readonly streamStalls: number;
  readonly changedPortStream?: StreamReport;
  readonly goal: { readonly target: number; readonly met: boolean; readonly streamsClean: boolean };
}

export interface DriftPoint {
  readonly rules: number;
  readonly kind: 'table' | 'route';
  /** Deletion done to traffic through the repaired path answering. */
  readonly repairMs: Summary;
  /** Deletion done to the agent's "drift repaired" log line. */
  readonly logMs: Summary;
  readonly goal: { readonly target: number; readonly met: boolean };
}

export interface RunModeResults {
  readonly memory: readonly MemoryPoint[];
  /** A bare `node -e` process idling: the runtime's own floor. */
  readonly bareNodeRssMiB: number;
  readonly memoryWindowS: number;
  readonly memoryGoal: { readonly target: number; readonly met: boolean | null };
  /** The same agent at reloadSize rules started with other node flags, measured right after. */
  readonly memoryVariants: readonly MemoryVariant[];
  readonly reload?: ReloadResults;
  readonly drift: readonly DriftPoint[];
}

function runRules(count: number, changedTo: string = PLAN.dst1.v4): Rule[] {
  const rules: Rule[] = [];
  for (let i = 1; i <= count; i += 1) {
    const port = BASE_PORT + i;
    const destinationIP = port === FAR_PORT ? PLAN.far.v4 : port === CHANGED_PORT ? changedTo : PLAN.dst1.v4;
    rules.push({ protocol: 'TCP', port, destinationIP, targetPort: SERVER_PORT });
  }
  return rules;
}

async function bareNodeRss(): Promise<number> {
  const child = spawnChild([NODE, '-e', 'setInterval(() => {}, 1000)']);
  try {
    await sleep(1_500);
    const text = await run(['cat', `/proc/${child.pid}/status`]);
    const match = /^VmRSS:\s+(\d+) kB/m.exec(text.stdout);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * VmRSS once a second over a window after the first apply: V8 gives memory back only when its
 * memory reducer runs (seconds later) and the 10 s resync passes allocate again, so one sample
 * would be luck. Returns the window's median, minimum and maximum, and the peak (VmHWM).
 */
async function restingMemory(
  agent: RunAgent,
  windowMs: number,
): Promise<{ rss: number; min: number; max: number; hwm: number }> {
  await sleep(2_000);
  const rss: number[] = [];
  let hwm = 0;
  const end = Date.now() + windowMs;
  while (Date.now() < end) {
    const m = agent.memory();
    rss.push(m.rssMiB);
    hwm = Math.max(hwm, m.hwmMiB);
    await sleep(1_000);
  }
  return { rss: median(rss), min: Math.min(...rss), max: Math.max(...rss), hwm };
}

async function startOnCleanPod(
  ctx: BenchContext,
  size: number,
  dir: string,
  /** Undefined: the executable's own shebang flags, as the agent is launched for real. */
  nodeFlags?: readonly string[],
) {
  await freshPod(ctx.topo);
  await run(['rm', '-rf', dir]);
  await mkdir(dir, { recursive: true });
  const config = await createConfigDir(dir, egressRouter(runRules(size)));
  const started = performance.now();
  const agent = await startRunAgent(ctx.topo, config.path, nodeFlags ? { nodeFlags } : {});
  await agent.waitForLog((line) => line.msg === 'applied', 180_000);
  return { agent, config, readyMs: performance.now() - started };
}

async function reloads(
  ctx: BenchContext,
  agent: RunAgent,
  swap: (text: string) => Promise<number>,
  size: number,
  options: RunModeOptions,
): Promise<ReloadResults> {
  const { driver } = ctx;
  const streamPorts = [BASE_PORT + 3, BASE_PORT + Math.floor(size / 2), BASE_PORT + size, CHANGED_PORT];
  const connected = await driver.streamsStart(streamPorts, 50, 1_000);
  if (connected !== streamPorts.length)
    ctx.log(`reload: only ${connected} of ${streamPorts.length} streams connected`);
  const answer: number[] = [];
  const pass: number[] = [];
  for (let k = 1; k <= options.reloads; k += 1) {
    checkAbort(ctx);
    const to = k % 2 === 1 ? 'dst2' : 'dst1';
    const from = agent.logs.length;
    const t0 = await swap(egressRouter(runRules(size, to === 'dst2' ? PLAN.dst2.v4 : PLAN.dst1.v4)));
    const probe = await driver.probe(CHANGED_PORT, to, { timeoutMs: 15_000, intervalMs: 5 });
    if (!probe.ok || probe.at === undefined)
      throw new Error(`reload ${k}: port ${CHANGED_PORT} never answered from ${to}`);
    const applied = await agent.waitForLog((line) => line.msg === 'config applied', 30_000, from);
    answer.push(probe.at - t0);
    pass.push(logTime(applied) - t0);
    if (k <= 3 || k % 20 === 0) {
      ctx.log(
        `reload ${k}/${options.reloads}: answering after ${Math.round(probe.at - t0)} ms, pass done after ${Math.round(logTime(applied) - t0)} ms`,
      );
    }
    await sleep(options.reloadGapMs);
  }
  const streams = await driver.streamsStop();
  const unchanged = streams.filter((s) => s.port !== CHANGED_PORT);
  const changedPortStream = streams.find((s) => s.port === CHANGED_PORT);
  const streamBreaks = unchanged.filter((s) => s.error !== null || !s.connected).length;
  const streamStalls = unchanged.reduce((sum, s) => sum + s.stalls, 0);
  const answerMs = summarize(answer);
  return {
    rules: size,
    reloads: options.reloads,
    answerMs,
    passMs: summarize(pass),
    streams,
    streamBreaks,
    streamStalls,
    ...(changedPortStream ? { changedPortStream } : {}),
    goal: { target: 200, met: answerMs.median < 200, streamsClean: streamBreaks === 0 && streamStalls === 0 },
  };
}

async function drift(ctx: BenchContext, agent: RunAgent, size: number, reps: number): Promise<DriftPoint[]> {
  const { topo, driver } = ctx;
  const points: DriftPoint[] = [];
  const kinds = [
    {
      kind: 'table' as const,
      break: () => topo.exec('pod', ['nft', 'delete', 'table', 'inet', AGENT_TABLE]),
      port: BASE_PORT + 3,
      expect: 'dst1',
    },
    {
      kind: 'route' as const,
      break: () => topo.ip('pod', ['route', 'delete', 'default', 'via', PLAN.gw.v4, 'dev', 'net1']),
      port: FAR_PORT,
      expect: 'far',
    },
  ];
  for (const kind of kinds) {
    const repair: number[] = [];
    const logged: number[] = [];
    for (let rep = 0; rep < reps; rep += 1) {
      checkAbort(ctx);
      // Working before the break.
      const before = await driver.probe(kind.port, kind.expect, { timeoutMs: 10_000, intervalMs: 20 });
      if (!before.ok) throw new Error(`drift ${kind.kind}: port ${kind.port} not answering before the break`);
      const from = agent.logs.length;
      await kind.break();
      const t0 = clock();
      const probe = await driver.probe(kind.port, kind.expect, {
        timeoutMs: 20_000,
        intervalMs: 10,
        attemptTimeoutMs: 1_000,
      });
      if (!probe.ok || probe.at === undefined)
        throw new Error(`drift ${kind.kind} with ${size} rules: not repaired in 20 s`);
      const line = await agent.waitForLog((l) => l.msg.startsWith('drift repaired'), 20_000, from);
      repair.push(probe.at - t0);
      logged.push(logTime(line) - t0);
      ctx.log(`drift ${kind.kind} (${size} rules): answering again after ${Math.round(probe.at - t0)} ms`);
      // Let the agent's follow-up pass (its own changes are events too) finish.
      await sleep(1_000);
    }
    const repairMs = summarize(repair);
    points.push({
      rules: size,
      kind: kind.kind,
      repairMs,
      logMs: summarize(logged),
      goal: { target: 1_000, met: repairMs.median < 1_000 },
    });
  }
  return points;
}

export async function runModeSuite(ctx: BenchContext, options: RunModeOptions): Promise<RunModeResults> {
  const memory: MemoryPoint[] = [];
  const driftPoints: DriftPoint[] = [];
  let reload: ReloadResults | undefined;
  const bareNodeRssMiB = round(await bareNodeRss(), 1);
  for (const size of options.sizes) {
    const rss: number[] = [];
    const hwm: number[] = [];
    const windowMin: number[] = [];
    const windowMax: number[] = [];
    let rssAfterChurnMiB: number | undefined;
    for (let rep = 0; rep < options.memoryReps; rep += 1) {
      checkAbort(ctx);
      const dir = join(ctx.tmp, `run-${size}-${rep}`);
      const { agent, config } = await startOnCleanPod(ctx, size, dir);
      try {
        const m = await restingMemory(agent, options.memoryWindowMs);
        rss.push(m.rss);
        hwm.push(m.hwm);
        windowMin.push(m.min);
        windowMax.push(m.max);
        ctx.log(
          `memory ${size} rules: VmRSS median ${m.rss.toFixed(1)} MiB over ${options.memoryWindowMs / 1000} s at rest (${m.min.toFixed(1)}–${m.max.toFixed(1)}; VmHWM ${m.hwm.toFixed(1)} MiB)`,
        );
        if (rep === 0) {
          // Both paths must work before anything is timed.
          await pollUntil(
            async () => (await ctx.driver.probe(FAR_PORT, 'far', { timeoutMs: 5_000 })).ok,
            20_000,
            'far',
          );
          if (size === options.reloadSize && options.reloads > 0) {
            reload = await reloads(ctx, agent, (text) => config.swap(text), size, options);
          }
          driftPoints.push(...(await drift(ctx, agent, size, options.driftReps)));
          await sleep(1_000);
          rssAfterChurnMiB = round(agent.memory().rssMiB, 1);
        }
      } finally {
        await stopRunAgent(agent, ctx.log);
      }
    }
    memory.push({
      rules: size,
      rssMiB: summarize(rss),
      windowMinMiB: round(Math.min(...windowMin), 1),
      windowMaxMiB: round(Math.max(...windowMax), 1),
      hwmMiB: summarize(hwm),
      ...(rssAfterChurnMiB === undefined ? {} : { rssAfterChurnMiB }),
    });
  }
  const memoryVariants: MemoryVariant[] = [];
  for (const variant of options.memoryVariants) {
    checkAbort(ctx);
    const size = options.reloadSize;
    const dir = join(ctx.tmp, `run-variant-${memoryVariants.length}`);
    const { agent, readyMs } = await startOnCleanPod(ctx, size, dir, variant.nodeFlags);
    try {
      const m = await restingMemory(agent, options.memoryWindowMs);
      ctx.log(
        `memory ${size} rules, ${variant.label}: VmRSS median ${m.rss.toFixed(1)} MiB (${m.min.toFixed(1)}–${m.max.toFixed(1)})`,
      );
      memoryVariants.push({
        label: variant.label,
        nodeFlags: variant.nodeFlags,
        rules: size,
        rssMiB: round(m.rss, 1),
        windowMinMiB: round(m.min, 1),
        windowMaxMiB: round(m.max, 1),
        hwmMiB: round(m.hwm, 1),
        readyMs: round(readyMs, 0),
      });
    } finally {
      await stopRunAgent(agent, ctx.log);
    }
  }
  await freshPod(ctx.topo);
  const at10k = memory.find((m) => m.rules === 10_000)?.rssMiB.median;
  return {
    memory,
    bareNodeRssMiB,
    memoryWindowS: options.memoryWindowMs / 1000,
    // issue 12: < 70 MiB at rest with 10,000 rules
    memoryGoal: { target: 70, met: at10k === undefined ? null : at10k < 70 },
    memoryVariants,
    ...(reload ? { reload } : {}),
    drift: driftPoints,
  };
}

/** Memory ratio helper for reports: RSS at 10,000 rules over RSS at 10. */
export function memoryGrowth(results: RunModeResults): number {
  const get = (rules: number) => results.memory.find((m) => m.rules === rules)?.rssMiB.median;
  return ratio(get(10_000), get(10));
}
