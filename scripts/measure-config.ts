/**
 * Time and peak memory of `validate` on large and hostile configs, run as shipped (dist/, the
 * executable's V8 flags). Reports medians; never fails because a figure is high.
 *
 *   npx tsx scripts/measure-config.ts                 # every case, 3 runs each
 *   npx tsx scripts/measure-config.ts --runs 5 --only yaml-65534,json-65534
 *   npx tsx scripts/measure-config.ts --heap-mib 128  # also cap V8's old space (a container-like limit)
 *   npx tsx scripts/measure-config.ts --baseline /tmp/base/dist/cli.js   # interleaved A/B against another build
 *
 * Needs `npm run build` first. Each case is a fresh process, so the figures include start-up.
 * With --baseline, the two builds run alternately (A B B A …) and the table gives their ratio:
 * on a busy shared machine only figures from the same run compare.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { shebangFlagsOf } from './bench/lib/shebang.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const PRELOAD = join(ROOT, 'scripts/measure-config/rss-at-exit.cjs');
const HEALTH_PORT = 9099;

interface Case {
  readonly name: string;
  readonly what: string;
  readonly file: string;
  readonly text: () => string;
}

type Rule = { destinationIP: string; port: number; protocol: 'TCP' | 'UDP' };

/** Every port of the given protocols from 1 up, TCP 9099 (the health port) left out. */
function rules(count: number, protocols: readonly ('TCP' | 'UDP')[]): Rule[] {
  const out: Rule[] = [];
  for (let port = 1; port <= 65_535 && out.length < count; port += 1) {
    for (const protocol of protocols) {
      if (protocol === 'TCP' && port === HEALTH_PORT) continue;
      if (out.length < count) out.push({ destinationIP: '192.0.2.10', port, protocol });
    }
  }
  return out;
}

const HEADER = {
  apiVersion: 'network.operator.openshift.io/v1',
  kind: 'EgressRouter',
  metadata: { name: 'measure', namespace: 'measure' },
};

function routerJson(list: readonly Rule[]): string {
  return JSON.stringify({
    ...HEADER,
    spec: { addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }], redirect: { redirectRules: list } },
  });
}

/** The block style kubectl and most generators write. */
function routerYaml(list: readonly Rule[], labels: readonly string[] = []): string {
  const lines = [
    `apiVersion: ${HEADER.apiVersion}`,
    'kind: EgressRouter',
    'metadata:',
    '  name: measure',
    '  namespace: measure',
  ];
  if (labels.length > 0) lines.push('  labels:', ...labels.map((l) => `    ${l}: "x"`));
  lines.push('spec:', '  addresses:', '  - ip: 192.0.2.100/24', '    gateway: 192.0.2.1', '  redirect:');
  lines.push('    redirectRules:');
  for (const r of list) {
    lines.push(
      `    - destinationIP: ${r.destinationIP}`,
      `      port: ${r.port}`,
      `      protocol: ${r.protocol}`,
    );
  }
  if (list.length === 0) lines[lines.length - 1] = '    redirectRules: []';
  return `${lines.join('\n')}\n`;
}

const CASES: readonly Case[] = [
  {
    name: 'yaml-65534',
    what: 'YAML, 65,534 TCP rules (every port but the health port)',
    file: 'tcp.yaml',
    text: () => routerYaml(rules(65_534, ['TCP'])),
  },
  {
    name: 'yaml-131069',
    what: 'YAML, 131,069 rules (every port of TCP and UDP but TCP 9099)',
    file: 'tcp-udp.yaml',
    text: () => routerYaml(rules(131_069, ['TCP', 'UDP'])),
  },
  {
    name: 'json-65534',
    what: 'JSON, 65,534 TCP rules',
    file: 'tcp.json',
    text: () => routerJson(rules(65_534, ['TCP'])),
  },
  {
    name: 'json-131069',
    what: 'JSON, 131,069 rules (TCP and UDP)',
    file: 'tcp-udp.json',
    text: () => routerJson(rules(131_069, ['TCP', 'UDP'])),
  },
  {
    name: 'yaml-keys-40000',
    what: 'hostile YAML: 40,000 keys in one mapping (metadata.labels)',
    file: 'keys.yaml',
    text: () =>
      routerYaml(
        [],
        Array.from({ length: 40_000 }, (_, i) => `k${i}`),
      ),
  },
];

interface Run {
  readonly seconds: number;
  readonly maxRssMiB: number;
  readonly exit: number | null;
}

function runOnce(cli: string, file: string, heapMiB: number | undefined): Promise<Run> {
  // Each build with its own shebang's flags, as the image runs it.
  const flags = [...shebangFlagsOf(cli), ...(heapMiB ? [`--max-old-space-size=${heapMiB}`] : [])];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...flags, '--require', PRELOAD, cli, 'validate', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const match = /measure-config maxrss-kib (\d+)/.exec(stderr);
      resolve({ seconds, maxRssMiB: match ? Number(match[1]) / 1024 : Number.NaN, exit: code });
    });
  });
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const summary = (runs: readonly Run[]) => ({
  exits: [...new Set(runs.map((r) => r.exit))].join('/'),
  seconds: median(runs.map((r) => r.seconds)),
  rss: median(runs.map((r) => r.maxRssMiB)),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      'heap-mib': { type: 'string' },
      baseline: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const heapMiB = values['heap-mib'] ? Number(values['heap-mib']) : undefined;
  const only = values.only?.split(',');
  const baseline = values.baseline;
  const dir = await mkdtemp(join(tmpdir(), 'measure-config-'));
  try {
    console.log(
      `node ${process.version}, ${runs} run(s) per case${heapMiB ? `, --max-old-space-size=${heapMiB}` : ''}${baseline ? `, baseline ${baseline}` : ''}`,
    );
    if (baseline) {
      console.log(
        '| case | input | exit (base/this) | time base → this | ratio | peak RSS base → this | ratio |',
      );
      console.log('|---|---|---|---|---|---|---|');
    } else {
      console.log('| case | input | exit | time (median) | peak RSS (median) |');
      console.log('|---|---|---|---|---|');
    }
    for (const c of CASES) {
      if (only && !only.includes(c.name)) continue;
      const file = join(dir, c.file);
      const text = c.text();
      await writeFile(file, text);
      const input = `${c.what}, ${(text.length / 1e6).toFixed(1)} MB`;
      if (!baseline) {
        const results: Run[] = [];
        for (let i = 0; i < runs; i += 1) results.push(await runOnce(CLI, file, heapMiB));
        const s = summary(results);
        console.log(
          `| ${c.name} | ${input} | ${s.exits} | ${s.seconds.toFixed(2)} s | ${s.rss.toFixed(0)} MiB |`,
        );
        continue;
      }
      const base: Run[] = [];
      const current: Run[] = [];
      for (let i = 0; i < runs; i += 1) {
        // A B B A: neither build always runs first after a quiet spell.
        const order = i % 2 === 0 ? [baseline, CLI] : [CLI, baseline];
        for (const cli of order) (cli === CLI ? current : base).push(await runOnce(cli, file, heapMiB));
      }
      const b = summary(base);
      const t = summary(current);
      console.log(
        `| ${c.name} | ${input} | ${b.exits}/${t.exits} | ${b.seconds.toFixed(2)} → ${t.seconds.toFixed(2)} s | ${(t.seconds / b.seconds).toFixed(2)} | ${b.rss.toFixed(0)} → ${t.rss.toFixed(0)} MiB | ${(t.rss / b.rss).toFixed(2)} |`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
