/**
 * Where the time goes (not a benchmark: strace and the profiler slow the agent a little):
 * - apply from a clean pod at each size: the process timeline (every ip/nft/arping the agent
 *   runs, with durations, and node's own time between them) and a V8 CPU profile;
 * - run mode with 10,000 rules: the timeline of a few reload passes (swap to "config applied")
 *   and of one table-drift repair.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLAN, pollUntil, sleep } from '../../../src/netkit/index.js';
import { clock, logTime, startRunAgent, stopRunAgent, timedApply } from '../lib/agent.js';
import { createConfigDir, egressRouter, tcpUdpRules } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import { AGENT_TABLE } from '../lib/perRule.js';
import { freshPod } from '../lib/podState.js';
import {
  type CpuSummary,
  type HeapSummary,
  parseStrace,
  straceWrap,
  summarizeCpuProfile,
  summarizeHeapSnapshot,
  type Timeline,
  timeline,
} from '../lib/profiling.js';
import { round } from '../lib/stats.js';
import { SERVER_PORT } from '../lib/traffic.js';

export interface ProfileOptions {
  /** Ports, each TCP+UDP, as in the apply suite. */
  readonly sizes: readonly number[];
  readonly reloads: number;
}

export interface ApplyProfile {
  readonly ports: number;
  readonly rules: number;
  /** Wall time of the traced run (strace adds a little). */
  readonly wallMs: number;
  readonly timeline: Timeline;
  readonly cpu?: CpuSummary;
  readonly cpuError?: string;
}

export interface ProfileResults {
  readonly apply: readonly ApplyProfile[];
  readonly reload?: { readonly rules: number; readonly passes: readonly Timeline[] };
  readonly driftTable?: Timeline;
  readonly runCpu?: CpuSummary;
  readonly heap: readonly HeapProfile[];
}

export interface HeapProfile {
  readonly rules: number;
  /** VmRSS of the agent 3 s after its first apply, just before the snapshot. */
  readonly rssMiB: number;
  /** V8's own view at that moment (prom-client default metrics): heap reserved and used (garbage included). */
  readonly heapTotalMiB?: number;
  readonly heapUsedMiB?: number;
  /** Live objects after the full GC the snapshot does. */
  readonly snapshot: HeapSummary;
}

const metric = (text: string, name: string): number | undefined => {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) / 2 ** 20 : undefined;
};

/** The agent at rest with `size` rules: RSS vs V8 heap vs live objects (a heap snapshot). */
async function heapProfile(ctx: BenchContext, size: number): Promise<HeapProfile> {
  const { topo } = ctx;
  const rules = Array.from({ length: size }, (_, i) => ({
    protocol: 'TCP' as const,
    port: 20_001 + i,
    destinationIP: PLAN.dst1.v4,
    targetPort: SERVER_PORT,
  }));
  await freshPod(topo);
  const dir = join(ctx.tmp, `profile-heap-${size}`);
  await mkdir(join(dir, 'snap'), { recursive: true });
  const config = await createConfigDir(join(dir, 'config'), egressRouter(rules));
  const agent = await startRunAgent(topo, config.path, {
    nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${join(dir, 'snap')}`],
  });
  try {
    await agent.waitForLog((l) => l.msg === 'applied', 180_000);
    await sleep(3_000);
    const rssMiB = round(agent.memory().rssMiB, 1);
    const metrics = (
      await topo.exec('pod', ['curl', '-s', '-m', '10', 'http://127.0.0.1:9099/metrics'], {
        reject: false,
      })
    ).stdout;
    process.kill(agent.pid, 'SIGUSR2');
    let file = '';
    let lastSize = -1;
    await pollUntil(
      async () => {
        const name = (await readdir(join(dir, 'snap'))).find((f) => f.endsWith('.heapsnapshot'));
        if (!name) return false;
        file = join(dir, 'snap', name);
        const size = (await stat(file)).size;
        const stable = size > 0 && size === lastSize;
        lastSize = size;
        return stable;
      },
      60_000,
      'the heap snapshot',
      500,
    );
    const heapTotalMiB = metric(metrics, 'nodejs_heap_size_total_bytes');
    const heapUsedMiB = metric(metrics, 'nodejs_heap_size_used_bytes');
    return {
      rules: size,
      rssMiB,
      ...(heapTotalMiB === undefined ? {} : { heapTotalMiB: round(heapTotalMiB, 1) }),
      ...(heapUsedMiB === undefined ? {} : { heapUsedMiB: round(heapUsedMiB, 1) }),
      snapshot: await summarizeHeapSnapshot(file),
    };
  } finally {
    await stopRunAgent(agent, ctx.log);
  }
}

export async function profileSuite(ctx: BenchContext, options: ProfileOptions): Promise<ProfileResults> {
  const { topo } = ctx;
  const apply: ApplyProfile[] = [];
  for (const ports of options.sizes) {
    checkAbort(ctx);
    const rules = tcpUdpRules(ports);
    const configPath = join(ctx.tmp, `profile-${ports}.json`);
    await writeFile(configPath, egressRouter(rules));
    await freshPod(topo);
    const traceFile = join(ctx.tmp, `apply-${ports}.strace`);
    const traced = await timedApply(topo, configPath, { wrap: straceWrap(traceFile) });
    const line = timeline(parseStrace(await readFile(traceFile, 'utf8')));
    ctx.log(
      `profile apply ${rules.length} rules: ${Math.round(traced.ms)} ms; ${line.commands
        .slice(0, 4)
        .map((c) => `${c.label} ${Math.round(c.totalMs)} ms`)
        .join(', ')}`,
    );
    let cpu: CpuSummary | undefined;
    let cpuError: string | undefined;
    try {
      await freshPod(topo);
      const dir = join(ctx.tmp, `cpuprof-${ports}`);
      await mkdir(dir, { recursive: true });
      await timedApply(topo, configPath, { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
      cpu = await summarizeCpuProfile(dir);
    } catch (error) {
      cpuError = (error as Error).message;
    }
    apply.push({
      ports,
      rules: rules.length,
      wallMs: round(traced.ms, 1),
      timeline: line,
      ...(cpu ? { cpu } : {}),
      ...(cpuError ? { cpuError } : {}),
    });
  }

  // Run mode: a few reloads and one table-drift repair at 10,000 rules, under strace and the profiler.
  checkAbort(ctx);
  const size = 10_000;
  const rulesFor = (to: string) =>
    Array.from({ length: size }, (_, i) => ({
      protocol: 'TCP' as const,
      port: 20_001 + i,
      destinationIP: i === 1 ? to : PLAN.dst1.v4,
      targetPort: SERVER_PORT,
    }));
  await freshPod(topo);
  const dir = join(ctx.tmp, 'profile-run');
  await mkdir(join(dir, 'cpu'), { recursive: true });
  const config = await createConfigDir(join(dir, 'config'), egressRouter(rulesFor(PLAN.dst1.v4)));
  const traceFile = join(dir, 'run.strace');
  const agent = await startRunAgent(topo, config.path, {
    wrap: straceWrap(traceFile),
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', join(dir, 'cpu')],
  });
  const windows: { from: number; to: number }[] = [];
  let driftWindow: { from: number; to: number } | undefined;
  try {
    await agent.waitForLog((l) => l.msg === 'applied', 180_000);
    await sleep(1_500);
    for (let k = 1; k <= options.reloads; k += 1) {
      checkAbort(ctx);
      const from = agent.logs.length;
      const t0 = await config.swap(egressRouter(rulesFor(k % 2 === 1 ? PLAN.dst2.v4 : PLAN.dst1.v4)));
      const done = await agent.waitForLog((l) => l.msg === 'config applied', 30_000, from);
      windows.push({ from: t0, to: logTime(done) + 1 });
      await sleep(1_500);
    }
    const from = agent.logs.length;
    await topo.exec('pod', ['nft', 'delete', 'table', 'inet', AGENT_TABLE]);
    const t0 = clock();
    const repaired = await agent.waitForLog((l) => l.msg.startsWith('drift repaired'), 30_000, from);
    driftWindow = { from: t0, to: logTime(repaired) + 1 };
    await sleep(1_000);
  } finally {
    await stopRunAgent(agent, ctx.log);
  }
  const spans = parseStrace(await readFile(traceFile, 'utf8'));
  const passes = windows.map((w) => timeline(spans, w.from / 1000, w.to / 1000));
  for (const [i, pass] of passes.entries()) {
    ctx.log(
      `profile reload ${i + 1}: ${Math.round(pass.totalMs)} ms to "config applied"; ${pass.commands
        .slice(0, 4)
        .map((c) => `${c.label} ${Math.round(c.totalMs)} ms`)
        .join(', ')}`,
    );
  }
  const runCpu = await summarizeCpuProfile(join(dir, 'cpu')).catch(() => undefined);
  checkAbort(ctx);
  const heap: HeapProfile[] = [];
  for (const rules of [10, size]) {
    checkAbort(ctx);
    const found = await heapProfile(ctx, rules).catch((error: unknown) => {
      ctx.log(`profile heap: ${(error as Error).message}`);
      return undefined;
    });
    if (!found) continue;
    heap.push(found);
    ctx.log(
      `profile heap ${rules} rules: RSS ${found.rssMiB} MiB, V8 heap ${found.heapTotalMiB} MiB (used ${found.heapUsedMiB}), live after GC ${found.snapshot.liveMiB} MiB`,
    );
  }
  return {
    apply,
    reload: { rules: size, passes },
    ...(driftWindow ? { driftTable: timeline(spans, driftWindow.from / 1000, driftWindow.to / 1000) } : {}),
    ...(runCpu ? { runCpu } : {}),
    heap,
  };
}
