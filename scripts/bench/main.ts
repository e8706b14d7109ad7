/**
 * The benchmark suite (issue 6). Run as root through scripts/bench.sh:
 *   scripts/bench.sh [--quick] [--only rate,apply,run,scale,profile,failover] [--out DIR]
 *
 * Builds an IPv4 router topology in network namespaces named `erb<6 hex>-…`, runs the suites,
 * prints a table, and writes DIR/results.json, DIR/results.md and DIR/connection-rate.svg
 * (default DIR: docs/bench). Everything it creates is removed at the end, on failure and on
 * Ctrl-C. It reports; it never fails because a goal was missed (exit 1 only if a suite broke).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTopology, killChildren, PLAN, run, type Topology } from '../../src/netkit/index.js';
import { REPO, snapshotAgent } from './lib/agent.js';
import { Aborted, type BenchContext } from './lib/context.js';
import { freshPod } from './lib/podState.js';
import { type Driver, startDriver, startServers } from './lib/traffic.js';
import { markdownReport, textReport } from './report/report.js';
import { rateChartSvg } from './report/svg.js';
import { type ApplyResults, applySuite } from './suites/apply.js';
import { type FailoverResults, failoverMarkdown, failoverSuite, failoverText } from './suites/failover.js';
import { type ProfileResults, profileSuite } from './suites/profile.js';
import { type RateResults, rateOptions, rateSuite } from './suites/rate.js';
import { type RunModeResults, runModeSuite } from './suites/runMode.js';
import { type ScaleResults, scaleSuite } from './suites/scale.js';

const SUITES = ['rate', 'apply', 'run', 'scale', 'profile', 'failover'] as const;
type SuiteName = (typeof SUITES)[number];

const HELP = `Usage: scripts/bench.sh [options]

Benchmarks of the egress router agent in network namespaces (root; see docs/benchmarks.md).
  --quick          a ~2 minute smoke run: fewer sizes and repetitions
  --only LIST      comma-separated subset of: ${SUITES.join(', ')}
  --out DIR        where results.json, results.md and connection-rate.svg go (default docs/bench)
  --from-json FILE no measuring: rewrite the tables, results.md and the chart from a results.json
  -h, --help       this help
`;

export interface BenchResults {
  readonly meta: Record<string, unknown>;
  rate?: RateResults;
  apply?: ApplyResults;
  run?: RunModeResults;
  scale?: ScaleResults;
  profile?: ProfileResults;
  failover?: FailoverResults;
  readonly errors: Record<string, string>;
}

async function machine(): Promise<Record<string, unknown>> {
  const text = async (argv: string[]) => (await run(argv, { reject: false })).stdout.trim();
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    nft: await text(['nft', '--version']),
    iproute2: await text(['ip', '-V']),
    commit: await text(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD']),
    dirty: (await text(['git', '-C', REPO, 'status', '--porcelain', '--', 'src'])) !== '',
    otherNamespaces: (await text(['ip', 'netns', 'list']))
      .split('\n')
      .filter((l) => l && !l.startsWith('erb')).length,
  };
}

/**
 * results.json (formatted as the project's biome formats JSON, so `npm run lint` stays clean),
 * results.md and, with rate results, connection-rate.svg.
 */
async function writeOutputs(results: BenchResults, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, 'results.json');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await run([join(REPO, 'node_modules', '.bin', 'biome'), 'format', '--write', json], {
    reject: false,
    cwd: REPO,
    timeoutMs: 60_000,
  });
  await writeFile(
    join(outDir, 'results.md'),
    markdownReport(results) + (results.failover ? `\n${failoverMarkdown(results.failover)}` : ''),
  );
  if (results.rate)
    await writeFile(join(outDir, 'connection-rate.svg'), rateChartSvg(results.rate, results.meta));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: join(REPO, 'docs', 'bench') },
      'from-json': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values['from-json']) {
    const results = JSON.parse(await readFile(values['from-json'], 'utf8')) as BenchResults;
    await writeOutputs(results, resolve(values.out));
    process.stdout.write(textReport(results));
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (ip netns, nft)\n');
    return 2;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...SUITES];
  const unknown = only.filter((s) => !(SUITES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown suite(s) ${unknown.join(', ')}\n${HELP}`);
    return 2;
  }
  const wanted = (name: SuiteName) => only.includes(name);
  const quick = values.quick;
  const outDir = resolve(values.out);
  const started = Date.now();
  const log = (message: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

  let interrupted = false;
  let topo: Topology | undefined;
  let tmp: string | undefined;
  let driver: Driver | undefined;
  const cleanup = async () => {
    await driver?.stop().catch(() => {});
    await killChildren();
    if (topo) await topo.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
  let cleaning: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping after the current step, then tearing down`);
    // Whatever step is running gets a bounded chance to notice; teardown follows in finally.
    setTimeout(() => {
      cleaning ??= cleanup();
      void cleaning.finally(() => process.exit(130));
    }, 20_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // On process exit the network kit ends the children it tracks and deletes a topology not yet destroyed.

  const meta: Record<string, unknown> = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    suites: only,
    machine: await machine(),
    loadAverageStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
  const results: BenchResults = { meta, errors: {} };
  try {
    tmp = await mkdtemp(join(os.tmpdir(), 'erb-bench-'));
    meta.cli = await snapshotAgent(join(tmp, 'agent'));
    if (process.env.BENCH_NODE_FLAGS !== undefined) meta.nodeFlags = process.env.BENCH_NODE_FLAGS;
    log('building the topology');
    topo = await createTopology({ ipv6: false, kind: 'erb' });
    log(`namespaces ${topo.prefix}*`);
    await startServers(topo, ['dst1', 'dst2', 'far']);
    driver = await startDriver(topo, PLAN.pod.v4);
    const ctx: BenchContext = {
      topo,
      driver,
      tmp,
      quick,
      log,
      aborted: () => interrupted,
    };
    const attempt = async <T>(name: SuiteName, fn: () => Promise<T>): Promise<T | undefined> => {
      if (!wanted(name) || interrupted) return undefined;
      const suiteStart = Date.now();
      log(`suite ${name}`);
      try {
        return await fn();
      } catch (error) {
        if (error instanceof Aborted || interrupted) throw new Aborted('interrupted');
        results.errors[name] = (error as Error).stack ?? String(error);
        log(`suite ${name} failed: ${(error as Error).message}`);
        if (topo) await freshPod(topo).catch(() => {});
        return undefined;
      } finally {
        log(`suite ${name}: ${((Date.now() - suiteStart) / 1000).toFixed(0)} s`);
      }
    };
    results.rate = await attempt('rate', () => rateSuite(ctx, rateOptions(quick)));
    results.apply = await attempt('apply', () =>
      applySuite(ctx, {
        sizes: quick ? [10, 10_000] : [10, 1_000, 10_000, 65_535],
        reps: (ports) => (quick ? 2 : ports >= 65_535 ? 3 : 5),
      }),
    );
    results.run = await attempt('run', () =>
      runModeSuite(ctx, {
        sizes: [10, 10_000],
        memoryReps: quick ? 1 : 3,
        memoryWindowMs: quick ? 6_000 : 15_000,
        reloads: quick ? 10 : 100,
        reloadGapMs: 500,
        driftReps: quick ? 3 : 7,
        reloadSize: 10_000,
        // Side by side: the same agent with the optimising compilers `run` leaves out
        // (src/cli/leanTiers.ts; an explicit --max-opt is kept): all of them, then Maglev only.
        memoryVariants: [
          {
            label: 'node --max-semi-space-size=1 --max-opt=3 (TurboFan and Maglev on)',
            nodeFlags: ['--max-semi-space-size=1', '--max-opt=3'],
          },
          {
            label: 'node --max-semi-space-size=1 --max-opt=2 (Maglev on)',
            nodeFlags: ['--max-semi-space-size=1', '--max-opt=2'],
          },
        ],
      }),
    );
    results.scale = await attempt('scale', () =>
      scaleSuite(ctx, {
        sizes: quick ? ['small', 'tcp'] : ['small', 'tcp', 'tcp+udp'],
        reloads: quick ? 3 : 10,
        memoryWindowMs: quick ? 6_000 : 15_000,
        requests: quick ? 2 : 5,
        oneShot: !quick,
      }),
    );
    results.profile = await attempt('profile', () =>
      profileSuite(ctx, { sizes: quick ? [10, 10_000] : [10, 10_000, 65_535], reloads: 3 }),
    );
    // Two agents under HA in a topology of their own (two pods on two nodes).
    results.failover = await attempt('failover', () =>
      failoverSuite(ctx, { failovers: quick ? 5 : 20, advertIntervalS: 0.1 }),
    );
  } catch (error) {
    if (!(error instanceof Aborted)) {
      results.errors.setup = (error as Error).stack ?? String(error);
      log(`failed: ${(error as Error).message}`);
    }
  } finally {
    log('tearing down');
    cleaning ??= cleanup();
    await cleaning.catch((error: unknown) => {
      results.errors.teardown = String(error);
      log(`teardown: ${(error as Error).message}`);
    });
  }
  meta.loadAverageEnd = os.loadavg().map((v) => Math.round(v * 100) / 100);
  meta.durationS = Math.round((Date.now() - started) / 1000);
  if (interrupted) {
    log('interrupted: nothing written');
    return 130;
  }

  await writeOutputs(results, outDir);
  process.stdout.write(textReport(results));
  if (results.failover) process.stdout.write(failoverText(results.failover));
  log(`wrote ${outDir}/results.json, results.md${results.rate ? ', connection-rate.svg' : ''}`);
  return Object.keys(results.errors).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
