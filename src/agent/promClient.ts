/**
 * prom-client, loaded part by part. Its index also loads the Pushgateway (node:https, so tls,
 * crypto and zlib) and the cluster aggregator, and its default CPU collector loads
 * @opentelemetry/api for exemplars: code a pod serving /metrics never uses, about 14 MiB
 * resident in a process that loads nothing else (Node 24; in the agent, with nodeHttp.ts, the
 * two took 5 to 8 MiB off `run` at rest). The parts are required from prom-client's own files
 * (a unit test compares the families with collectDefaultMetrics', so a prom-client that moves
 * or adds one fails it); the process_* and nodejs_* families keep their names, help and meaning.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const requirePart = createRequire(import.meta.url);

export const Registry = requirePart('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = requirePart('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = requirePart('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const Histogram = requirePart('prom-client/lib/histogram') as typeof PromClient.Histogram;
export type Registry = PromClient.Registry;
export type Counter = PromClient.Counter;
export type Gauge = PromClient.Gauge;
export type Histogram = PromClient.Histogram;

type Collector = (registry: Registry, config: { readonly eventLoopMonitoringPrecision: number }) => void;

/** prom-client's default collectors (lib/defaultMetrics.js) but its CPU one, in its order. */
export const STANDARD_COLLECTORS = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

/** The three process_cpu_* counters prom-client's CPU collector exports, without its exemplars. */
function registerCpuCounters(registry: Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // One collect sets all three, as prom-client's does: one cpuUsage() reading per scrape.
    collect() {
      const now = process.cpuUsage();
      const userSeconds = (now.user - last.user) / 1e6;
      const systemSeconds = (now.system - last.system) / 1e6;
      last = now;
      user.inc(userSeconds);
      system.inc(systemSeconds);
      total.inc(userSeconds + systemSeconds);
    },
  });
  const system = new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers,
  });
  const total = new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
  });
}

/** The standard process_* and nodejs_* families, as prom-client's collectDefaultMetrics registers them. */
export function registerStandardMetrics(registry: Registry): void {
  registerCpuCounters(registry);
  const config = { eventLoopMonitoringPrecision: 10 };
  for (const name of STANDARD_COLLECTORS)
    (requirePart(`prom-client/lib/metrics/${name}`) as Collector)(registry, config);
}
