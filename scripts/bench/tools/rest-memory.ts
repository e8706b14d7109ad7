/**
 * Where the memory of `run` at rest goes, for one config size (root; a diagnosis aid beside the
 * run suite's figure, not a benchmark):
 *   npx tsx scripts/bench/tools/rest-memory.ts [RULES] [-- NODE_FLAGS…]
 * Starts the agent (dist/cli.js, with its shebang's flags unless NODE_FLAGS are given) on a
 * fresh topology with RULES TCP rules (default 10,000), waits for the first apply and a quiet
 * spell, then prints VmRSS split into anonymous and file-backed pages, V8's heap by space and
 * the external memory (from the agent's own /metrics), and the resident MiB per mapping.
 * REST_MEMORY_HOLD_S=N keeps the agent running N s more, for a closer look at its pid.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import {
  createConfigDir,
  createTopology,
  killChildren,
  sleep,
  startAgent,
} from '../../../src/netkit/index.js';
import { cli, shebangFlags } from '../lib/agent.js';
import { egressRouter, rateRules } from '../lib/config.js';

const QUIET_MS = 12_000;

function statusFields(pid: number): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const match = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):\s+(\d+) kB/.exec(line);
    if (match?.[1] !== undefined) fields[match[1]] = Number(match[2]) / 1024;
  }
  return fields;
}

/** Resident MiB per mapped file (and per kind of anonymous mapping), largest first. */
function residentByMapping(pid: number): [string, number][] {
  const byName = new Map<string, number>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      name = header[1] || '[anonymous]';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...byName].filter(([, mib]) => mib >= 0.1).sort((a, b) => b[1] - a[1]);
}

/** The heap and external-memory lines of an exposition, in MiB. */
function heapLines(exposition: string): string[] {
  const out: string[] = [];
  for (const line of exposition.split('\n')) {
    const match =
      /^(nodejs_heap_size_(?:total|used)_bytes|nodejs_external_memory_bytes|nodejs_heap_space_size_used_bytes\{space="[^"]+"\}) (\S+)/.exec(
        line,
      );
    if (match?.[1] !== undefined)
      out.push(`${match[1].padEnd(70)} ${(Number(match[2]) / 2 ** 20).toFixed(1)} MiB`);
  }
  return out;
}

async function main(): Promise<void> {
  const dash = process.argv.indexOf('--');
  const args = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
  const nodeFlags = dash < 0 ? shebangFlags() : process.argv.slice(dash + 1);
  const count = Number(args[0] ?? 10_000);
  const tmp = await mkdtemp(join(os.tmpdir(), 'erb-restmem-'));
  const topo = await createTopology({ ipv6: false, kind: 'erb' });
  try {
    const config = await createConfigDir(join(tmp, 'config'), egressRouter(rateRules(count)));
    const agent = await startAgent(topo, config.path, { cli: cli(), nodeFlags });
    const started = performance.now();
    await agent.waitForLog((line) => line.msg === 'applied', 180_000);
    const readyMs = performance.now() - started;
    await sleep(QUIET_MS);
    const memory = statusFields(agent.pid);
    const mappings = residentByMapping(agent.pid);
    const metrics = await agent.http('/metrics');
    const cmdline = readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.stdout.write(
      `rules ${count}, ready after ${readyMs.toFixed(0)} ms, running as: ${cmdline.join(' ')}\n`,
    );
    for (const [field, mib] of Object.entries(memory))
      process.stdout.write(`${field.padEnd(10)} ${mib.toFixed(1)} MiB\n`);
    for (const [mapping, mib] of mappings)
      process.stdout.write(`  ${mib.toFixed(1).padStart(6)} MiB  ${mapping}\n`);
    for (const line of heapLines(metrics.body)) process.stdout.write(`${line}\n`);
    const holdS = Number(process.env.REST_MEMORY_HOLD_S ?? 0);
    if (holdS > 0) {
      process.stdout.write(`holding pid ${agent.pid} for ${holdS} s (REST_MEMORY_HOLD_S)\n`);
      await sleep(holdS * 1000);
    }
    await agent.stop(15_000);
  } finally {
    await killChildren();
    await topo.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
