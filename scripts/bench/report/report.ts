/** The results as aligned text tables (stdout) and as Markdown (DIR/results.md). */

import { LAYOUTS, type Layout } from '../lib/layouts.js';
import type { Timeline } from '../lib/profiling.js';
import { thousands } from '../lib/stats.js';
import type { BenchResults } from '../main.js';
import { isLegacyRate, type LegacyRateResults, type RatePoint } from '../suites/rate.js';

interface Table {
  readonly title: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly notes: readonly string[];
}

const ms = (value: number) => (value >= 100 ? thousands(value) : value.toFixed(1));
const x = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
const pct = (value: number) => (Number.isFinite(value) ? `${(value * 100).toFixed(0)}%` : 'n/a');
const verdict = (met: boolean | null | undefined) =>
  met === true ? 'met' : met === false ? 'MISSED' : 'n/a';
const commandText = (c: { label: string; count: number; totalMs: number; maxMs: number }) =>
  c.count > 1
    ? `${c.label} ${ms(c.totalMs)} (×${c.count}, longest ${ms(c.maxMs)})`
    : `${c.label} ${ms(c.totalMs)}`;
const range = (s: { min: number; max: number }, f: (v: number) => string) => `${f(s.min)}–${f(s.max)}`;

/** The rate table of a results.json from before issue 12 (per-rule layout, Node client). */
function legacyRateTable(rate: LegacyRateResults): Table {
  return {
    title: `1. Connection setup rate to the last-defined port (sequential TCP connections, median of ${rate.options.reps} × ${rate.options.durationMs / 1000} s)`,
    head: [
      'rules',
      'agent conn/s',
      'agent range',
      'per-rule conn/s',
      'per-rule range',
      'agent / per-rule',
      'agent vs 1 rule',
    ],
    rows: rate.points.map((p) => [
      thousands(p.rules) + (p.udpRules > 0 ? ` (${thousands(p.tcpRules)} TCP + ${p.udpRules} UDP)` : ''),
      thousands(p.agent.median),
      range(p.agent, thousands),
      thousands(p.perRule.median),
      range(p.perRule, thousands),
      x(p.agentOverPerRule),
      pct(p.agent.median / (rate.points[0]?.agent.median ?? Number.NaN)),
    ]),
    notes: [
      `agent(10,000) / agent(1) = ${rate.agent10kOver1.toFixed(3)}; goal >= 0.90: ${verdict(rate.goal.met)}`,
      'per-rule = one `iif "eth0" tcp dport N dnat ip to …` rule per port (the CNI plugin layout), same SNAT/filter chains; layouts alternate A B B A within each size.',
    ],
  };
}

function tables(results: BenchResults): Table[] {
  const out: Table[] = [];
  const { rate, apply, run, scale, profile } = results;
  if (rate && isLegacyRate(rate)) out.push(legacyRateTable(rate));
  else if (rate) {
    const lay = (p: RatePoint, l: Layout) => p.layouts[l];
    const rules = (p: RatePoint) =>
      thousands(p.rules) + (p.udpRules > 0 ? ` (${thousands(p.tcpRules)} TCP + ${p.udpRules} UDP)` : '');
    const mbps = (bytesPerSecond: number) => thousands(bytesPerSecond / 1e6);
    const o = rate.options;
    const c = rate.ceiling;
    out.push({
      title: `1. New connections/s through the router pod to the last-defined port (C generator, ${o.workers} processes × ${o.concurrency} in flight; median of ${o.reps} × ${o.durationMs / 1000} s)`,
      head: [
        'rules',
        'agent conn/s',
        'minimal NAT conn/s',
        'plain forwarding conn/s',
        'agent / minimal (paired)',
        'agent / plain',
        'minimal / plain',
        'server CPU (agent)',
        'errors',
      ],
      rows: rate.points.map((p) => [
        rules(p),
        `${thousands(lay(p, 'agent').rate.median)} (${range(lay(p, 'agent').rate, thousands)})`,
        `${thousands(lay(p, 'minimalNat').rate.median)} (${range(lay(p, 'minimalNat').rate, thousands)})`,
        `${thousands(lay(p, 'plainForward').rate.median)} (${range(lay(p, 'plainForward').rate, thousands)})`,
        `${x(p.rate.agentOverMinimal)} (${x(p.rate.agentOverMinimalPaired)})`,
        x(p.rate.agentOverPlain),
        x(p.rate.minimalOverPlain),
        pct(lay(p, 'agent').serverCpu.median),
        LAYOUTS.map((l) => lay(p, l).errors).join(' / '),
      ]),
      notes: [
        `${rate.goalMinimal.description}: ${verdict(rate.goalMinimal.met)}; agent(10,000) / agent(1) = ${rate.agent10kOver1.toFixed(3)}, goal >= 0.90: ${verdict(rate.goal.met)}`,
        `not the ceiling: the same generator and server on one LAN segment, no router: ${thousands(c.lanDirect.rate.median)} conn/s (${range(c.lanDirect.rate, thousands)}), ${mbps(c.lanDirect.bulk.median)} MB/s; through the agent (1 rule) one generator ${thousands(c.oneGenerator.median)}, two at once ${thousands(c.twoGenerators.median)} in sum (median of ${c.oneGenerator.n}; load average ${c.loadAverage.join('/')})`,
        'minimal NAT = one map lookup `iif "eth0" dnat ip to meta l4proto . th dport map @redirect4` (address . port values) plus `oif "net1" snat ip to 192.0.2.100`, nothing else; plain forwarding = no table in the pod, the client sends to dst1 itself; layouts alternate A B C C B A, conntrack flushed before each; errors are agent / minimal / plain',
      ],
    });
    out.push({
      title:
        "1a. The same connections per CPU second of the generator and the server (the routers' softirq work lands in their system time): the path's cost, less sensitive to the machine's load",
      head: [
        'rules',
        'agent',
        'minimal NAT',
        'plain forwarding',
        'agent / minimal (paired)',
        'agent / plain',
        'minimal / plain',
      ],
      rows: rate.points.map((p) => [
        rules(p),
        `${thousands(lay(p, 'agent').perCpuSecond.median)} (${range(lay(p, 'agent').perCpuSecond, thousands)})`,
        `${thousands(lay(p, 'minimalNat').perCpuSecond.median)} (${range(lay(p, 'minimalNat').perCpuSecond, thousands)})`,
        `${thousands(lay(p, 'plainForward').perCpuSecond.median)} (${range(lay(p, 'plainForward').perCpuSecond, thousands)})`,
        `${x(p.perCpuSecond.agentOverMinimal)} (${x(p.perCpuSecond.agentOverMinimalPaired)})`,
        x(p.perCpuSecond.agentOverPlain),
        x(p.perCpuSecond.minimalOverPlain),
      ]),
      notes: [
        'CPU = utime + stime of conngen (warm-up included, so are its connections) and of connserv over the same call; ksoftirqd and the agent are not in it',
      ],
    });
    out.push({
      title: `1b. Bulk throughput through the router pod (${o.streams} download stream${o.streams > 1 ? 's' : ''} from dst1, bytes received by the client; median of ${o.reps} × ${o.bulkMs / 1000} s)`,
      head: [
        'rules',
        'agent MB/s',
        'minimal NAT MB/s',
        'plain forwarding MB/s',
        'agent / minimal (paired)',
        'agent / plain',
        'minimal / plain',
      ],
      rows: rate.points.map((p) => [
        rules(p),
        `${mbps(lay(p, 'agent').bulk.median)} (${range(lay(p, 'agent').bulk, mbps)})`,
        `${mbps(lay(p, 'minimalNat').bulk.median)} (${range(lay(p, 'minimalNat').bulk, mbps)})`,
        `${mbps(lay(p, 'plainForward').bulk.median)} (${range(lay(p, 'plainForward').bulk, mbps)})`,
        `${x(p.bulk.agentOverMinimal)} (${x(p.bulk.agentOverMinimalPaired)})`,
        x(p.bulk.agentOverPlain),
        x(p.bulk.minimalOverPlain),
      ]),
      notes: [
        "MB = 10^6 bytes; DNAT and SNAT touch only a connection's first packet, so bulk shows the per-packet chains (marks, forward filter)",
      ],
    });
    const ab = rate.ablation;
    if (ab) {
      const base = ab.variants.find((v) => v.label === 'minimal NAT');
      out.push({
        title: `1c. What costs: scratch rulesets at ${thousands(ab.rules)} rule (median of ${ab.variants[0]?.rate.n ?? 0} rounds, order rotated each round)`,
        head: [
          'ruleset',
          'conn/s',
          '÷ minimal NAT',
          'conn per CPU s',
          '÷ minimal NAT',
          'bulk MB/s',
          '÷ minimal NAT',
          'errors',
        ],
        rows: ab.variants.map((v) => [
          v.label,
          `${thousands(v.rate.median)} (${range(v.rate, thousands)})`,
          x(v.rate.median / (base?.rate.median ?? Number.NaN)),
          `${thousands(v.perCpuSecond.median)} (${range(v.perCpuSecond, thousands)})`,
          x(v.perCpuSecond.median / (base?.perCpuSecond.median ?? Number.NaN)),
          `${mbps(v.bulk.median)} (${range(v.bulk, mbps)})`,
          x(v.bulk.median / (base?.bulk.median ?? Number.NaN)),
          String(v.errors),
        ]),
        notes: [
          'agent-like = the minimal table plus the agent\'s marks chains, forward filter, MSS clamp, map counter, input filter and DNAT-rule matches (lib/layouts.ts); "without X" drops one of them',
        ],
      });
    }
  }
  if (apply) {
    out.push({
      title:
        ' 2. Apply latency from a clean pod: process start to exit 0 (verified), vs the floor (ip + one nft -j -f)',
      head: [
        'ports',
        'rules (TCP+UDP)',
        'agent ms',
        'agent range',
        'floor ms',
        'floor range',
        'agent / floor',
        'goal',
        'floor + ARP probe ms',
        'agent / (floor + probe)',
      ],
      rows: apply.points.map((p) => [
        thousands(p.ports),
        thousands(p.rules),
        ms(p.agentMs.median),
        range(p.agentMs, ms),
        ms(p.floorMs.median),
        range(p.floorMs, ms),
        x(p.agentOverFloor),
        p.goal ? `<= ${p.goal.target}×: ${verdict(p.goal.met)}` : '',
        // Results written before the probed floor existed have neither.
        p.floorProbeMs ? ms(p.floorProbeMs.median) : '',
        p.agentOverFloorProbe ? x(p.agentOverFloorProbe) : '',
      ]),
      notes: [
        `process start alone, in the pod: \`node -e 0\` ${ms(apply.startup.bareNodeMs.median)} ms, \`node dist/cli.js --version\` ${ms(apply.startup.cliVersionMs.median)} ms (median of ${apply.startup.bareNodeMs.n})`,
        'floor + ARP probe: the floor with the RFC 5227 probe the agent sends before adding an IPv4 address (`arping -D -c 2 -w 2`, the table loaded meanwhile): the part of the distance that is that wait',
        `repetitions: ${apply.points.map((p) => `${thousands(p.ports)}: ${p.agentMs.n}`).join(', ')}; the floor leaves the same pod state as the agent: ${apply.floorMatchesAgent === null ? 'not checked' : apply.floorMatchesAgent ? 'yes' : 'NO (see results.json)'}`,
      ],
    });
  }
  if (run?.reload) {
    const r = run.reload;
    const streams = r.streams.filter((s) => s.port !== r.changedPortStream?.port);
    out.push({
      title: `3. Reload with ${thousands(r.rules)} rules: ..data swap to the changed port answering from its new destination (${r.reloads} reloads)`,
      head: ['measure', 'median ms', 'p90 ms', 'min ms', 'max ms', 'goal'],
      rows: [
        [
          'swap -> new mapping answers',
          ms(r.answerMs.median),
          ms(r.answerMs.p90),
          ms(r.answerMs.min),
          ms(r.answerMs.max),
          `< 200 ms: ${verdict(r.goal.met)}`,
        ],
        [
          'swap -> "config applied" (pass done)',
          ms(r.passMs.median),
          ms(r.passMs.p90),
          ms(r.passMs.min),
          ms(r.passMs.max),
          '',
        ],
      ],
      notes: [
        `${streams.length} long-lived streams on unchanged rules (a line every 50 ms): ${r.streamBreaks} broken, ${r.streamStalls} stalls > 1 s, ${streams.reduce((n, s) => n + s.exchanges, 0)} exchanges, worst reply gap ${ms(Math.max(...streams.map((s) => s.maxGapMs)))} ms: ${r.goal.streamsClean ? 'clean' : 'NOT clean'}`,
        ...(r.changedPortStream
          ? [
              `stream on the changed port (kept by conntrack): ${r.changedPortStream.error ?? 'unbroken'}, ${r.changedPortStream.stalls} stalls, worst gap ${ms(r.changedPortStream.maxGapMs)} ms`,
            ]
          : []),
      ],
    });
  }
  if (run) {
    out.push({
      title: '4. Memory of `run` at rest (VmRSS of the agent node process)',
      head: [
        'rules',
        'RSS MiB (median)',
        'agents range',
        'single samples',
        'peak (VmHWM) MiB',
        'after reloads+repairs',
        'goal',
      ],
      rows: [
        ...run.memory.map((m) => [
          thousands(m.rules),
          m.rssMiB.median.toFixed(1),
          range(m.rssMiB, (v) => v.toFixed(1)),
          `${m.windowMinMiB.toFixed(1)}–${m.windowMaxMiB.toFixed(1)}`,
          m.hwmMiB.median.toFixed(1),
          m.rssAfterChurnMiB === undefined ? '' : m.rssAfterChurnMiB.toFixed(1),
          m.rules === 10_000 ? `< ${run.memoryGoal.target} MiB: ${verdict(run.memoryGoal.met)}` : '',
        ]),
        ...run.memoryVariants.map((v) => [
          `${thousands(v.rules)}, ${v.label}`,
          v.rssMiB.toFixed(1),
          '',
          `${v.windowMinMiB.toFixed(1)}–${v.windowMaxMiB.toFixed(1)}`,
          v.hwmMiB.toFixed(1),
          '',
          `(ready after ${ms(v.readyMs)} ms)`,
        ]),
        ['bare node (idle)', run.bareNodeRssMiB.toFixed(1), '', '', '', '', ''],
      ],
      notes: [
        `each agent sampled once a second for ${run.memoryWindowS} s after it settled (resync passes every 10 s included); median of ${run.memory[0]?.rssMiB.n ?? 0} agent(s) per size`,
      ],
    });
    out.push({
      title: '5. Drift repair: deletion done to traffic through the repaired path answering',
      head: ['broken', 'rules', 'median ms', 'range ms', 'to "drift repaired" log ms', 'goal'],
      rows: run.drift.map((d) => [
        d.kind === 'table' ? 'table deleted' : 'default route deleted',
        thousands(d.rules),
        ms(d.repairMs.median),
        range(d.repairMs, ms),
        ms(d.logMs.median),
        `< 1 s: ${verdict(d.goal.met)}`,
      ]),
      notes: [`repetitions: ${run.drift[0]?.repairMs.n ?? 0} each`],
    });
  }
  if (scale) {
    const goal = (met: boolean) => (met ? 'met' : 'MISSED');
    const big = (p: { rules: number }) => p.rules >= 65_534;
    out.push({
      title:
        '6. Big configs in `run` (issue 12): one agent per size on a clean pod; HTTP timed by curl in the pod',
      head: [
        'config',
        'rules',
        'start -> ready ms',
        'RSS at rest MiB',
        'peak MiB (start / end)',
        '/status ms (B)',
        '1,000-rule page ms',
        '`status` ms (exit)',
        '/metrics ms (B, rule series)',
        'reload: swap -> traffic ms',
        'reload: swap -> pass done ms',
        'RSS after MiB',
      ],
      rows: scale.points.map((p) => [
        p.label,
        thousands(p.rules),
        ms(p.readyMs),
        `${p.rssMiB.toFixed(1)} (${p.windowMinMiB.toFixed(1)}–${p.windowMaxMiB.toFixed(1)})`,
        `${p.hwmMiB.toFixed(1)} / ${p.hwmAfterMiB.toFixed(1)}`,
        `${ms(p.status.ms.median)} (${thousands(p.status.bytes)})`,
        ms(p.statusPage.ms.median),
        `${ms(p.statusCommand.ms.median)} (${[...new Set(p.statusCommand.exitCodes)].join(',')})`,
        `${ms(p.metrics.ms.median)} (${thousands(p.metrics.bytes)}, ${thousands(p.metrics.ruleSeries)})`,
        `${ms(p.reload.answerMs.median)} (${ms(p.reload.answerMs.min)}–${ms(p.reload.answerMs.max)})`,
        ms(p.reload.passMs.median),
        p.rssAfterMiB.toFixed(1),
      ]),
      notes: [
        ...scale.points
          .filter(big)
          .map(
            (p) =>
              `${p.label}: RSS at rest < 120 MiB ${goal(p.rssMiB < 120)}, peak < 256 MiB ${goal(p.hwmAfterMiB < 256)}, ready < 8 s ${goal(p.readyMs < 8_000)}, reload to traffic < 300 ms ${goal(p.reload.answerMs.median < 300)}, /status < 1 s ${goal(p.status.ms.median < 1_000)}, \`status\` < 1 s exit 0 ${goal(p.statusCommand.ms.median < 1_000 && p.statusCommand.exitCodes.every((c) => c === 0))}, /metrics < 1 s ${goal(p.metrics.ms.median < 1_000)}`,
          ),
        "the `status` command is timed from outside (node start included); the HTTP figures are curl's own time_total; medians, reloads alternate one port between two destinations",
      ],
    });
    if (scale.oneShot.length > 0)
      out.push({
        title: '7. One-shot commands at the largest config (peak RSS by GNU time %M)',
        head: [
          'command',
          'format',
          'rules',
          'config bytes',
          'ms (median)',
          'peak MiB (median)',
          'peak MiB max',
        ],
        rows: scale.oneShot.map((f) => [
          f.command,
          f.format,
          thousands(f.rules),
          thousands(f.configBytes),
          ms(f.ms.median),
          f.peakMiB.median.toFixed(0),
          f.peakMiB.max.toFixed(0),
        ]),
        notes: ['apply and cleanup are what the init container and `--cleanup-on-exit` do'],
      });
  }
  if (profile) {
    out.push({
      title: 'Profile: apply from a clean pod, process timeline (strace) — the biggest items',
      head: ['rules', 'wall ms', 'node start -> first command', 'node alone', 'top commands (total ms)'],
      rows: profile.apply.map((p) => [
        thousands(p.rules),
        ms(p.wallMs),
        ms(p.timeline.startupMs),
        ms(p.timeline.nodeOnlyMs),
        p.timeline.commands.slice(0, 5).map(commandText).join('; '),
      ]),
      notes: profile.apply
        .filter((p) => p.cpu)
        .map(
          (p) =>
            `CPU profile, ${thousands(p.rules)} rules: ${p.cpu?.topProjectInclusive
              .slice(0, 6)
              .map((f) => `${f.fn} ${ms(f.ms)}`)
              .join('; ')}`,
        ),
    });
    const passRows = (label: string, t: Timeline) => [
      label,
      ms(t.totalMs),
      ms(t.startupMs),
      t.commands.slice(0, 5).map(commandText).join('; '),
    ];
    out.push({
      title: 'Profile: run mode, 10,000 rules — reload passes and a table repair',
      head: ['event', 'to log line ms', 'before first command ms', 'top commands (total ms)'],
      rows: [
        ...(profile.reload?.passes ?? []).map((t, i) => passRows(`reload ${i + 1}`, t)),
        ...(profile.driftTable ? [passRows('table deleted', profile.driftTable)] : []),
      ],
      notes: profile.heap.map(
        (h) =>
          `heap at rest, ${thousands(h.rules)} rules: VmRSS ${h.rssMiB} MiB; V8 heap reserved ${h.heapTotalMiB ?? '?'} MiB, used ${h.heapUsedMiB ?? '?'} MiB (garbage included); live objects after a full GC ${h.snapshot.liveMiB} MiB (${h.snapshot.top
            .slice(0, 5)
            .map((k) => `${k.kind} ${k.mib}`)
            .join(', ')})`,
      ),
    });
  }
  return out;
}

function textTable(table: Table): string {
  const widths = table.head.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [
    table.title.trim(),
    line(table.head),
    line(widths.map((w) => '-'.repeat(w))),
    ...table.rows.map(line),
    ...table.notes.map((n) => `  ${n}`),
    '',
  ].join('\n');
}

function markdownTable(table: Table): string {
  const cellText = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `### ${table.title.trim()}`,
    '',
    `| ${table.head.map(cellText).join(' | ')} |`,
    `|${table.head.map(() => ' --- ').join('|')}|`,
    ...table.rows.map((r) => `| ${r.map(cellText).join(' | ')} |`),
    '',
    ...table.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

function errors(results: BenchResults): string[] {
  return Object.entries(results.errors).map(
    ([suite, error]) => `suite ${suite} failed: ${error.split('\n')[0]}`,
  );
}

export function textReport(results: BenchResults): string {
  const meta = results.meta as { mode?: string; machine?: { cpus?: number }; date?: string };
  return [
    '',
    `egress-router-agent benchmarks (${meta.mode}, ${meta.machine?.cpus} CPUs, ${meta.date}): medians; read ratios, not absolutes`,
    '',
    ...tables(results).map(textTable),
    ...errors(results),
    '',
  ].join('\n');
}

export function markdownReport(results: BenchResults): string {
  const meta = results.meta as {
    mode?: string;
    date?: string;
    durationS?: number;
    loadAverageStart?: number[];
    loadAverageEnd?: number[];
    machine?: Record<string, unknown>;
    nodeFlags?: string;
  };
  const m = meta.machine ?? {};
  return [
    '<!-- Generated by scripts/bench.sh; do not edit. -->',
    `## Results (${meta.mode} run, ${meta.date})`,
    '',
    `Machine: ${String(m.cpus)} × ${String(m.cpuModel)}, ${String(m.memoryGiB)} GiB, kernel ${String(m.kernel)}, node ${String(m.node)}, ${String(m.nft)}; commit ${String(m.commit)}${m.dirty ? ' (src modified)' : ''}.`,
    `Load average ${meta.loadAverageStart?.join('/')} at the start, ${meta.loadAverageEnd?.join('/')} at the end; ${String(m.otherNamespaces)} other network namespaces on the machine; ${String(meta.durationS)} s in all.`,
    ...(meta.nodeFlags === undefined
      ? []
      : [`The agent ran with BENCH_NODE_FLAGS="${meta.nodeFlags}" instead of its shebang's flags.`]),
    '',
    ...tables(results).map(markdownTable),
    ...errors(results).map((e) => `**${e}**\n`),
  ].join('\n');
}
