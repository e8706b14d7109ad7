/**
 * 2. Apply latency: wall time of `apply` (process start to exit 0; the agent reads its table back
 * before it says "applied") from a clean pod, next to the floor (floor.sh: the same kernel work
 * with `ip` and one `nft -j -f` of the agent's own rendered batch) and the floor with the agent's
 * RFC 5227 ARP probe (FLOOR_PROBE=1: a ~2 s wait for silence before the address is added, with
 * the table loaded meanwhile). The goal is against the plain floor; the probed floor says
 * how much of the distance is that wait. The three alternate (A B C C B A …), each from a freshly
 * built pod namespace.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE, PLAN, run, type Topology } from '../../../src/netkit/index.js';
import { cli, renderJson, timedApply } from '../lib/agent.js';
import { egressRouter, tcpUdpRules } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import { endState, freshPod, type RoutingState, routingBatch, routingState } from '../lib/podState.js';
import { ratio, type Summary, summarize } from '../lib/stats.js';

const FLOOR = fileURLToPath(new URL('../floor.sh', import.meta.url));

export interface ApplyOptions {
  /** Ports; each is a TCP and a UDP rule (TCP 9099, the health port, excepted). */
  readonly sizes: readonly number[];
  readonly reps: (ports: number) => number;
}

export interface ApplyPoint {
  readonly ports: number;
  readonly rules: number;
  readonly agentMs: Summary;
  readonly floorMs: Summary;
  /** The floor with the ARP probe the agent makes before adding an IPv4 address. */
  readonly floorProbeMs: Summary;
  readonly agentOverFloor: number;
  readonly agentOverFloorProbe: number;
  readonly agentOverFloorPaired: number;
  readonly goal?: { readonly target: number; readonly met: boolean };
}

export interface ApplyResults {
  readonly points: readonly ApplyPoint[];
  /** Process start alone, side by side: `node -e 0` and `node dist/cli.js --version` in the pod. */
  readonly startup: { readonly bareNodeMs: Summary; readonly cliVersionMs: Summary };
  /** The routes and rules the floor replays (derived from the agent's own first result). */
  readonly floorRoutes: string;
  /** Routes (all tables), rules, addresses, link, sysctls and ruleset after agent and floor are the same. */
  readonly floorMatchesAgent: boolean | null;
  readonly floorMismatch?: { readonly agent: string; readonly floor: string };
}

/** Issue 12: apply within 3× the floor at 10 rules, 1.5× at 10,000. */
const GOALS: Record<number, number> = { 10: 3, 10000: 1.5 };

export interface FloorInputs {
  /** `render --format json` output (the nft batch). */
  readonly nftBatch: string;
  /** `ip -4 -batch` lines for the routes and rules (routingBatch). */
  readonly routesBatch: string;
  /** key=value, from the rendered plan. */
  readonly sysctls: readonly string[];
}

export async function runFloor(topo: Topology, inputs: FloorInputs, probe = false): Promise<number> {
  const started = performance.now();
  await run(
    [
      'bash',
      FLOOR,
      topo.node().ns,
      topo.pod().ns,
      topo.linkName('mv'),
      `${PLAN.egress.v4[0]}/${PLAN.lanPrefix.v4}`,
      inputs.nftBatch,
      inputs.routesBatch,
      ...inputs.sysctls,
    ],
    { timeoutMs: 300_000, ...(probe ? { env: { FLOOR_PROBE: '1' } } : {}) },
  );
  return performance.now() - started;
}

/** key=value for every sysctl in the rendered plan. */
export function planSysctls(rendered: string): string[] {
  const plan = (JSON.parse(rendered) as { plan?: { sysctls?: { key: string; value: string }[] } }).plan;
  return (plan?.sysctls ?? []).map((s) => `${s.key}=${s.value}`);
}

/** Process start costs, side by side: bare node, and the agent's CLI doing nothing (--version). */
async function startupCosts(topo: Topology, reps: number): Promise<ApplyResults['startup']> {
  const bare: number[] = [];
  const cliTimes: number[] = [];
  const time = async (argv: readonly string[]) => {
    const started = performance.now();
    await topo.exec('pod', argv);
    return performance.now() - started;
  };
  for (let i = 0; i < reps; i += 1) {
    bare.push(await time([NODE, '-e', '0']));
    cliTimes.push(await time([NODE, cli(), '--version']));
  }
  return { bareNodeMs: summarize(bare), cliVersionMs: summarize(cliTimes) };
}

export async function applySuite(ctx: BenchContext, options: ApplyOptions): Promise<ApplyResults> {
  const { topo } = ctx;
  const points: ApplyPoint[] = [];
  const startup = await startupCosts(topo, 5);
  const routesBatch = join(ctx.tmp, 'floor-routes.batch');
  let clean: RoutingState | undefined;
  let floorRoutes = '';
  let agentState: string | undefined;
  let floorState: string | undefined;
  for (const ports of options.sizes) {
    checkAbort(ctx);
    const rules = tcpUdpRules(ports);
    const configPath = join(ctx.tmp, `apply-${ports}.json`);
    await writeFile(configPath, egressRouter(rules));
    const nftBatch = join(ctx.tmp, `apply-${ports}.batch.json`);
    const rendered = await renderJson(configPath);
    await writeFile(nftBatch, rendered);
    const sysctls = planSysctls(rendered);
    const keys = sysctls.map((s) => s.split('=')[0] ?? s);

    const samples = { agent: [] as number[], floor: [] as number[], floorProbe: [] as number[] };
    const pairs: number[] = [];
    const reps = options.reps(ports);
    for (let rep = 0; rep < reps; rep += 1) {
      const order =
        rep % 2 === 0
          ? (['agent', 'floor', 'floorProbe'] as const)
          : (['floorProbe', 'floor', 'agent'] as const);
      const got: { agent?: number; floor?: number } = {};
      for (const who of order) {
        checkAbort(ctx);
        await freshPod(topo);
        let ms: number;
        if (who === 'agent') {
          clean ??= await routingState(topo);
          ms = (await timedApply(topo, configPath)).ms;
          if (floorRoutes === '') {
            // The floor replays what the agent did to routes and rules on this very topology.
            floorRoutes = routingBatch(clean, await routingState(topo));
            await writeFile(routesBatch, floorRoutes);
          }
          if (agentState === undefined && points.length === 0) agentState = await endState(topo, keys);
        } else if (who === 'floor') {
          ms = await runFloor(topo, { nftBatch, routesBatch, sysctls });
          if (floorState === undefined && points.length === 0) floorState = await endState(topo, keys);
        } else {
          ms = await runFloor(topo, { nftBatch, routesBatch, sysctls }, true);
        }
        samples[who].push(ms);
        if (who !== 'floorProbe') got[who] = ms;
        ctx.log(`apply ${ports}×(TCP+UDP) = ${rules.length} rules, ${who}: ${Math.round(ms)} ms`);
      }
      pairs.push(ratio(got.agent, got.floor));
    }
    const agentMs = summarize(samples.agent);
    const floorMs = summarize(samples.floor);
    const floorProbeMs = summarize(samples.floorProbe);
    const agentOverFloor = ratio(agentMs.median, floorMs.median);
    const target = GOALS[ports];
    points.push({
      ports,
      rules: rules.length,
      agentMs,
      floorMs,
      floorProbeMs,
      agentOverFloor,
      agentOverFloorProbe: ratio(agentMs.median, floorProbeMs.median),
      agentOverFloorPaired: summarize(pairs).median,
      ...(target === undefined ? {} : { goal: { target, met: agentOverFloor <= target } }),
    });
  }
  await freshPod(topo);
  const compared = agentState !== undefined && floorState !== undefined;
  const same = compared && agentState === floorState;
  if (compared && !same)
    ctx.log('apply: the floor does NOT leave the same pod state as the agent (see results.json)');
  return {
    points,
    startup,
    floorRoutes,
    floorMatchesAgent: compared ? same : null,
    ...(compared && !same ? { floorMismatch: { agent: agentState ?? '', floor: floorState ?? '' } } : {}),
  };
}
