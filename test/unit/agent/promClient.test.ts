import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as PromClient from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Registry, registerStandardMetrics } from '../../../src/agent/promClient.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
}

async function families(registry: PromClient.Registry): Promise<Family[]> {
  const json = await registry.getMetricsAsJSON();
  return json
    .map(({ name, type, help }) => ({ name, type: String(type), help }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The CPU counters' values now (prom-client hands out its live value objects, so copy them). */
async function cpuSeconds(
  registry: PromClient.Registry,
): Promise<{ user: number; system: number; total: number }> {
  const metrics = await registry.getMetricsAsJSON();
  const sum = (name: string): number => {
    const family = metrics.find((m) => m.name === name);
    if (family === undefined) throw new Error(`no family ${name}`);
    return family.values.reduce((acc, v) => acc + v.value, 0);
  };
  return {
    user: sum('process_cpu_user_seconds_total'),
    system: sum('process_cpu_system_seconds_total'),
    total: sum('process_cpu_seconds_total'),
  };
}

describe('registerStandardMetrics', () => {
  it("registers the same families, types and help as prom-client's own collectDefaultMetrics", async () => {
    // The full prom-client, index and all, is loaded here only to compare against.
    const full = createRequire(import.meta.url)('prom-client') as typeof PromClient;
    const reference = new full.Registry();
    full.collectDefaultMetrics({ register: reference });
    const ours = new Registry();
    registerStandardMetrics(ours);
    const expected = await families(reference);
    expect(expected.length).toBeGreaterThan(20);
    expect(await families(ours)).toEqual(expected);
  });

  it('counts CPU time as it is spent, total = user + system', async () => {
    const registry = new Registry();
    registerStandardMetrics(registry);
    const before = await cpuSeconds(registry);
    // Spin until this process has spent 60 ms of CPU, however busy the machine is.
    const startCpu = process.cpuUsage();
    let spins = 0;
    while (process.cpuUsage(startCpu).user + process.cpuUsage(startCpu).system < 60_000) spins += 1;
    expect(spins).toBeGreaterThan(0);
    const after = await cpuSeconds(registry);
    expect(after.total - before.total).toBeGreaterThanOrEqual(0.06);
    expect(after.user).toBeGreaterThan(before.user);
    expect(after.total).toBeCloseTo(after.user + after.system, 6);
  });
});

describe('what serving /metrics loads', () => {
  it('leaves out TLS, HTTP/2, undici, zlib, the Pushgateway, cluster and OpenTelemetry', () => {
    // A fresh process, so nothing this test runner loaded counts. tsx itself loads none of them.
    const probe = [
      "const { MetricsSink } = await import('./src/agent/metrics.ts');",
      "const sink = new MetricsSink({ version: '0.0.0-test', ruleConnections: () => [] });",
      'const text = await sink.exposition();',
      "if (!text.includes('process_cpu_seconds_total') || !text.includes('nodejs_heap_size_used_bytes')) throw new Error(text);",
      "await import('./src/agent/http.ts');",
      "await import('./src/cli/statusFetch.ts');",
      "const { createRequire } = await import('node:module');",
      'const cache = Object.keys(createRequire(import.meta.url).cache);',
      'console.log(JSON.stringify({ builtins: process.moduleLoadList, cache }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], {
      cwd: repo,
      encoding: 'utf8',
    });
    const { builtins, cache } = JSON.parse(out) as { builtins: string[]; cache: string[] };
    expect(builtins.some((m) => m.includes('internal/http'))).toBe(true);
    expect(builtins.filter((m) => /\b(https|tls|_tls_wrap|http2|undici|zlib|cluster)\b/.test(m))).toEqual([]);
    expect(cache.filter((path) => /pushgateway|cluster|@opentelemetry/.test(path))).toEqual([]);
  });
});
