/**
 * The big configs (issue 12): `run` with a rule for every TCP port (65,534 rules: TCP 9099 is the
 * health port) and for every port of both protocols (131,069 rules), next to the same agent with
 * 10 rules. Per size, one agent on a clean pod:
 * - start to ready: process start to /readyz 200 (and to the "applied" log line);
 * - memory at rest: VmRSS once a second over a window, the peak (VmHWM) of the whole life;
 * - /status (the summary, and one 1,000-rule page), the `status` command (time and exit code),
 *   /metrics (time, size, per-rule series) — each timed by curl itself, from inside the pod;
 * - one-rule reloads: ..data swap to the changed port answering from its new destination, and to
 *   the "config applied" log line (the pass done, verification included);
 * - the memory after all that.
 * Then the one-shot commands at the largest size, each with its peak RSS (GNU time's %M):
 * `validate` of the config in YAML and in JSON, `apply` and `cleanup` (the init container's
 * work and what `--cleanup-on-exit` does).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  agentArgv,
  epochMs,
  egressRouter as kitEgressRouter,
  PLAN,
  pollUntil,
  run,
  sleep,
} from '../../../src/netkit/index.js';
import { cli, logTime, type RunAgent, startRunAgent, stopRunAgent } from '../lib/agent.js';
import { createConfigDir, egressRouter, HEALTH_PORT, type Rule } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import { freshPod } from '../lib/podState.js';
import { median, round, type Summary, summarize } from '../lib/stats.js';
import { SERVER_PORT } from '../lib/traffic.js';

/** The port the reloads move between dst1 and dst2. */
export const SCALE_CHANGED_PORT = 20_002;

export interface ScaleOptions {
  /** 'tcp': every TCP port but the health port; 'tcp+udp': every port of both protocols. */
  readonly sizes: readonly ('small' | 'tcp' | 'tcp+udp')[];
  readonly reloads: number;
  readonly memoryWindowMs: number;
  /** Requests per endpoint figure. */
  readonly requests: number;
  /** Run the one-shot commands (validate, apply, cleanup) at the largest size. */
  readonly oneShot: boolean;
}

export interface EndpointFigure {
  readonly ms: Summary;
  readonly bytes: number;
  readonly status: number;
}

export interface ScalePoint {
  readonly label: string;
  readonly rules: number;
  readonly readyMs: number;
  readonly appliedMs: number;
  readonly rssMiB: number;
  readonly windowMinMiB: number;
  readonly windowMaxMiB: number;
  /** VmHWM at the end of the rest window (start-up included). */
  readonly hwmMiB: number;
  readonly status: EndpointFigure;
  readonly statusPage: EndpointFigure;
  readonly metrics: EndpointFigure & { readonly ruleSeries: number };
  readonly statusCommand: { readonly ms: Summary; readonly exitCodes: readonly (number | null)[] };
  readonly reload: { readonly answerMs: Summary; readonly passMs: Summary };
  readonly rssAfterMiB: number;
  /** VmHWM at the end (reloads and requests included). */
  readonly hwmAfterMiB: number;
}

export interface OneShotFigure {
  readonly command: string;
  readonly format: 'yaml' | 'json';
  readonly rules: number;
  readonly ms: Summary;
  readonly peakMiB: Summary;
  readonly configBytes: number;
}

export interface ScaleResults {
  readonly points: readonly ScalePoint[];
  readonly oneShot: readonly OneShotFigure[];
}

/** Every TCP port but the health port (and every UDP port too with 'tcp+udp'), all to dst1:7000. */
export function scaleRules(kind: 'small' | 'tcp' | 'tcp+udp', changedTo: string = PLAN.dst1.v4): Rule[] {
  const rules: Rule[] = [];
  const to = (port: number) => (port === SCALE_CHANGED_PORT ? changedTo : PLAN.dst1.v4);
  if (kind === 'small') {
    for (let port = SCALE_CHANGED_PORT - 1; port < SCALE_CHANGED_PORT + 9; port += 1)
      rules.push({ protocol: 'TCP', port, destinationIP: to(port), targetPort: SERVER_PORT });
    return rules;
  }
  for (let port = 1; port <= 65_535; port += 1) {
    if (port !== HEALTH_PORT)
      rules.push({ protocol: 'TCP', port, destinationIP: to(port), targetPort: SERVER_PORT });
  }
  if (kind === 'tcp+udp') {
    for (let port = 1; port <= 65_535; port += 1)
      rules.push({ protocol: 'UDP', port, destinationIP: PLAN.dst1.v4, targetPort: SERVER_PORT });
  }
  return rules;
}

/** curl from inside the pod, timed by curl itself (no `ip netns exec` start in the figure). */
async function timedGet(
  ctx: BenchContext,
  path: string,
  maxSeconds = 60,
): Promise<{ ms: number; bytes: number; status: number; body: string }> {
  const result = await ctx.topo.exec(
    'pod',
    [
      'curl',
      '-s',
      '-m',
      String(maxSeconds),
      '-w',
      '\n%{http_code} %{time_total} %{size_download}',
      `http://127.0.0.1:${HEALTH_PORT}${path}`,
    ],
    { reject: false, timeoutMs: (maxSeconds + 10) * 1000 },
  );
  const cut = result.stdout.lastIndexOf('\n');
  const [code, seconds, size] = result.stdout
    .slice(cut + 1)
    .trim()
    .split(' ');
  return {
    ms: Number(seconds) * 1000,
    bytes: Number(size),
    status: Number(code) || 0,
    body: result.stdout.slice(0, cut),
  };
}

async function endpoint(
  ctx: BenchContext,
  path: string,
  requests: number,
): Promise<EndpointFigure & { body: string }> {
  const times: number[] = [];
  let last = { ms: 0, bytes: 0, status: 0, body: '' };
  for (let i = 0; i < requests; i += 1) {
    last = await timedGet(ctx, path);
    times.push(last.ms);
    await sleep(200);
  }
  return { ms: summarize(times), bytes: last.bytes, status: last.status, body: last.body };
}

async function statusCommand(ctx: BenchContext, requests: number): Promise<ScalePoint['statusCommand']> {
  const times: number[] = [];
  const exitCodes: (number | null)[] = [];
  for (let i = 0; i < requests; i += 1) {
    const argv = agentArgv(ctx.topo, 'status', undefined, {
      cli: cli(),
      masterNetns: false,
      clusterCidrs: [],
    });
    const started = performance.now();
    const result = await ctx.topo.exec('pod', argv, { reject: false, timeoutMs: 60_000 });
    times.push(performance.now() - started);
    exitCodes.push(result.exitCode ?? null);
    await sleep(200);
  }
  return { ms: summarize(times), exitCodes };
}

async function oneReload(
  ctx: BenchContext,
  agent: RunAgent,
  swap: (text: string) => Promise<number>,
  kind: 'small' | 'tcp' | 'tcp+udp',
  k: number,
): Promise<{ answer: number; pass: number }> {
  const to = k % 2 === 1 ? 'dst2' : 'dst1';
  const text = egressRouter(scaleRules(kind, to === 'dst2' ? PLAN.dst2.v4 : PLAN.dst1.v4));
  const from = agent.logs.length;
  const t0 = await swap(text);
  const probe = await ctx.driver.probe(SCALE_CHANGED_PORT, to, { timeoutMs: 30_000, intervalMs: 5 });
  if (!probe.ok || probe.at === undefined)
    throw new Error(`reload ${k}: port ${SCALE_CHANGED_PORT} never answered from ${to}`);
  const applied = await agent.waitForLog((line) => line.msg === 'config applied', 60_000, from);
  return { answer: probe.at - t0, pass: logTime(applied) - t0 };
}

async function restWindow(
  agent: RunAgent,
  windowMs: number,
): Promise<{ rss: number; min: number; max: number }> {
  await sleep(2_000);
  const rss: number[] = [];
  const end = Date.now() + windowMs;
  while (Date.now() < end) {
    rss.push(agent.memory().rssMiB);
    await sleep(1_000);
  }
  return { rss: median(rss), min: Math.min(...rss), max: Math.max(...rss) };
}

async function scalePoint(
  ctx: BenchContext,
  kind: 'small' | 'tcp' | 'tcp+udp',
  options: ScaleOptions,
): Promise<ScalePoint> {
  const rules = scaleRules(kind);
  const label =
    kind === 'small'
      ? `${rules.length} rules`
      : kind === 'tcp'
        ? 'every TCP port'
        : 'every port, TCP and UDP';
  await freshPod(ctx.topo);
  const dir = join(ctx.tmp, `scale-${kind}`);
  await run(['rm', '-rf', dir]);
  await mkdir(dir, { recursive: true });
  const config = await createConfigDir(dir, egressRouter(rules));
  const t0 = epochMs();
  const agent = await startRunAgent(ctx.topo, config.path);
  try {
    await agent.waitReady(600_000);
    const readyMs = epochMs() - t0;
    const applied = await agent.waitForLog((line) => line.msg === 'applied', 10_000);
    const appliedMs = logTime(applied) - t0;
    ctx.log(`scale ${label} (${rules.length} rules): ready after ${Math.round(readyMs)} ms`);
    const rest = await restWindow(agent, options.memoryWindowMs);
    const hwmMiB = agent.memory().hwmMiB;
    ctx.log(
      `scale ${label}: VmRSS ${rest.rss.toFixed(1)} MiB at rest (${rest.min.toFixed(1)}–${rest.max.toFixed(1)}), VmHWM ${hwmMiB.toFixed(1)} MiB`,
    );
    await pollUntil(
      async () => (await ctx.driver.probe(SCALE_CHANGED_PORT, 'dst1', { timeoutMs: 5_000 })).ok,
      30_000,
      'changed port',
    );
    const status = await endpoint(ctx, '/status', options.requests);
    const statusPage = await endpoint(ctx, '/status?rules=all&offset=30000&limit=1000', options.requests);
    const metrics = await endpoint(ctx, '/metrics', options.requests);
    const ruleSeries = metrics.body
      .split('\n')
      .filter((line) => line.startsWith('egress_router_redirect_connections_total{')).length;
    const command = await statusCommand(ctx, options.requests);
    ctx.log(
      `scale ${label}: /status ${Math.round(status.ms.median)} ms (${status.bytes} B), page ${Math.round(statusPage.ms.median)} ms, /metrics ${Math.round(metrics.ms.median)} ms (${metrics.bytes} B, ${ruleSeries} rule series), status command ${Math.round(command.ms.median)} ms exit ${command.exitCodes.join(',')}`,
    );
    const answers: number[] = [];
    const passes: number[] = [];
    for (let k = 1; k <= options.reloads; k += 1) {
      checkAbort(ctx);
      const r = await oneReload(ctx, agent, (text) => config.swap(text), kind, k);
      answers.push(r.answer);
      passes.push(r.pass);
      ctx.log(
        `scale ${label}: reload ${k}: answering after ${Math.round(r.answer)} ms, pass done after ${Math.round(r.pass)} ms`,
      );
      await sleep(500);
    }
    await sleep(2_000);
    const after = agent.memory();
    const strip = ({ body: _body, ...figure }: EndpointFigure & { body: string }) => figure;
    return {
      label,
      rules: rules.length,
      readyMs: round(readyMs, 0),
      appliedMs: round(appliedMs, 0),
      rssMiB: round(rest.rss, 1),
      windowMinMiB: round(rest.min, 1),
      windowMaxMiB: round(rest.max, 1),
      hwmMiB: round(hwmMiB, 1),
      status: strip(status),
      statusPage: strip(statusPage),
      metrics: { ...strip(metrics), ruleSeries },
      statusCommand: command,
      reload: { answerMs: summarize(answers), passMs: summarize(passes) },
      rssAfterMiB: round(after.rssMiB, 1),
      hwmAfterMiB: round(after.hwmMiB, 1),
    };
  } finally {
    await stopRunAgent(agent, ctx.log);
  }
}

/** `/usr/bin/time -f %M` around the agent in the pod: wall ms and peak RSS (MiB). */
async function timedOneShot(
  ctx: BenchContext,
  command: string,
  configPath: string,
  system: boolean,
): Promise<{ ms: number; peakMiB: number }> {
  const argv = agentArgv(ctx.topo, command, configPath, {
    cli: cli(),
    wrap: ['/usr/bin/time', '-f', 'peak-kib %M'],
    ...(system ? {} : { masterNetns: false, clusterCidrs: [] }),
  });
  const started = performance.now();
  const result = await ctx.topo.exec('pod', argv, { reject: false, timeoutMs: 600_000 });
  const ms = performance.now() - started;
  const match = /peak-kib (\d+)/.exec(result.stderr);
  if (result.exitCode !== 0 || !match)
    throw new Error(
      `${command} failed (exit ${result.exitCode}): ${result.stderr.slice(-1_000)} ${result.stdout.slice(-500)}`,
    );
  return { ms, peakMiB: Number(match[1]) / 1024 };
}

async function oneShots(ctx: BenchContext, reps: number): Promise<OneShotFigure[]> {
  const rules = scaleRules('tcp+udp');
  const spec = {
    name: 'bench',
    namespace: 'bench',
    master: 'eth1',
    addresses: [{ ip: `${PLAN.egress.v4[0]}/${PLAN.lanPrefix.v4}`, gateway: PLAN.gw.v4 }],
    rules,
  };
  const files = {
    yaml: { path: join(ctx.tmp, 'scale.yaml'), text: kitEgressRouter(spec, 'yaml') },
    json: { path: join(ctx.tmp, 'scale.json'), text: kitEgressRouter(spec, 'compact-json') },
  };
  for (const file of Object.values(files)) await writeFile(file.path, file.text);
  const figures: OneShotFigure[] = [];
  const measure = async (command: string, format: 'yaml' | 'json', before?: () => Promise<void>) => {
    const ms: number[] = [];
    const peak: number[] = [];
    for (let rep = 0; rep < reps; rep += 1) {
      checkAbort(ctx);
      await before?.();
      const r = await timedOneShot(ctx, command, files[format].path, command !== 'validate');
      ms.push(r.ms);
      peak.push(r.peakMiB);
      ctx.log(
        `scale one-shot ${command} (${format}, ${rules.length} rules): ${Math.round(r.ms)} ms, peak ${r.peakMiB.toFixed(0)} MiB`,
      );
    }
    figures.push({
      command,
      format,
      rules: rules.length,
      ms: summarize(ms),
      peakMiB: summarize(peak),
      configBytes: Buffer.byteLength(files[format].text),
    });
  };
  await measure('validate', 'yaml');
  await measure('validate', 'json');
  await measure('apply', 'yaml', () => freshPod(ctx.topo));
  // cleanup of what the apply before it set up
  await measure('cleanup', 'yaml', async () => {
    await freshPod(ctx.topo);
    await timedOneShot(ctx, 'apply', files.json.path, true);
  });
  await freshPod(ctx.topo);
  return figures;
}

export async function scaleSuite(ctx: BenchContext, options: ScaleOptions): Promise<ScaleResults> {
  const points: ScalePoint[] = [];
  for (const kind of options.sizes) {
    checkAbort(ctx);
    points.push(await scalePoint(ctx, kind, options));
  }
  const oneShot = options.oneShot ? await oneShots(ctx, ctx.quick ? 1 : 2) : [];
  await freshPod(ctx.topo);
  return { points, oneShot };
}
