/**
 * The connection-rate chart as plain SVG text (no dependencies): connections/s against the rule
 * count (log scale), one line per layout (agent, minimal NAT, plain forwarding), the min–max
 * range of the repetitions as a bar.
 */
import type { Summary } from '../lib/stats.js';
import {
  isLegacyRate,
  type LegacyRatePoint,
  type LegacyRateResults,
  type RatePoint,
  type RateResults,
} from '../suites/rate.js';

const W = 760;
const H = 440;
const M = { left: 78, right: 190, top: 56, bottom: 64 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(value: number): number {
  const exp = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exp >= value) return step * exp;
  return 10 * exp;
}

interface Series {
  readonly label: string;
  readonly color: string;
  readonly at: (point: number) => Summary;
}

/** The series and headline notes of a results.json, current or from before issue 12. */
function chartData(rate: RateResults | LegacyRateResults): { series: Series[]; notes: string[] } {
  const rules = (r: number) => r.toLocaleString('en-US');
  if (isLegacyRate(rate)) {
    const p = rate.points;
    return {
      series: [
        { label: 'agent (map dispatch)', color: '#1f77b4', at: (i) => (p[i] as LegacyRatePoint).agent },
        { label: 'one rule per port', color: '#d62728', at: (i) => (p[i] as LegacyRatePoint).perRule },
      ],
      notes: ['agent / per-rule:', ...p.map((q) => `  ${rules(q.rules)}: ${q.agentOverPerRule.toFixed(2)}×`)],
    };
  }
  const p = rate.points;
  const layout = (key: 'agent' | 'minimalNat' | 'plainForward') => (i: number) =>
    (p[i] as RatePoint).layouts[key].rate;
  return {
    series: [
      { label: 'agent', color: '#1f77b4', at: layout('agent') },
      { label: 'minimal NAT (one map)', color: '#d62728', at: layout('minimalNat') },
      { label: 'plain forwarding', color: '#7f7f7f', at: layout('plainForward') },
    ],
    notes: [
      'agent / minimal NAT:',
      ...p.map((q) => `  ${rules(q.rules)}: ${q.rate.agentOverMinimalPaired.toFixed(2)}× (paired)`),
      'agent / plain forwarding:',
      ...p.map((q) => `  ${rules(q.rules)}: ${q.rate.agentOverPlain.toFixed(2)}×`),
    ],
  };
}

export function rateChartSvg(rate: RateResults | LegacyRateResults, meta: Record<string, unknown>): string {
  const points: readonly { rules: number }[] = rate.points;
  const { series, notes: ratioNotes } = chartData(rate);
  const legacy = isLegacyRate(rate);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const maxRules = Math.max(...points.map((p) => p.rules), 10);
  const xOf = (rules: number) => M.left + (Math.log10(rules) / Math.log10(maxRules)) * plotW;
  const yMax = niceMax(Math.max(...points.flatMap((_, i) => series.map((s) => s.at(i).max))) * 1.05);
  const yOf = (value: number) => M.top + plotH - (value / yMax) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(
    `<title>New TCP connections per second to the last-defined port, against the number of redirect rules: ${legacy ? 'the agent (map dispatch) and one rule per port' : 'the agent, the minimal NAT ruleset and plain forwarding'}</title>`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${W / 2 - 90}" y="24" text-anchor="middle" font-size="15" font-weight="bold">New TCP connections per second to the last-defined port</text>`,
  );
  const machine = (meta.machine ?? {}) as { cpus?: number };
  out.push(
    `<text x="${W / 2 - 90}" y="42" text-anchor="middle" fill="#555">${legacy ? '' : 'C generator; '}median of ${rate.options.reps} × ${rate.options.durationMs / 1000} s per point, bars = min–max; ${String(machine.cpus)} CPUs, ${esc(String(meta.mode))} run ${esc(String(meta.date).slice(0, 10))}</text>`,
  );
  // Grid and axes.
  for (let i = 0; i <= 5; i += 1) {
    const value = (yMax / 5) * i;
    const y = yOf(value);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + plotW}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(
      `<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${Math.round(value).toLocaleString('en-US')}</text>`,
    );
  }
  for (const p of points) {
    const xx = xOf(p.rules);
    out.push(`<line x1="${xx}" y1="${M.top}" x2="${xx}" y2="${M.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(
      `<text x="${xx}" y="${M.top + plotH + 18}" text-anchor="middle">${p.rules.toLocaleString('en-US')}</text>`,
    );
  }
  out.push(
    `<line x1="${M.left}" y1="${M.top + plotH}" x2="${M.left + plotW}" y2="${M.top + plotH}" stroke="#333"/>`,
  );
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}" stroke="#333"/>`);
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 22}" text-anchor="middle">redirect rules (log scale)</text>`,
  );
  out.push(
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">connections / s</text>`,
  );
  for (const s of series) {
    const path = points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${xOf(p.rules).toFixed(1)},${yOf(s.at(i).median).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    for (const [i, p] of points.entries()) {
      const xx = xOf(p.rules);
      const summary = s.at(i);
      out.push(
        `<line x1="${xx}" y1="${yOf(summary.min)}" x2="${xx}" y2="${yOf(summary.max)}" stroke="${s.color}" stroke-width="6" stroke-opacity="0.25"/>`,
      );
      out.push(`<circle cx="${xx}" cy="${yOf(summary.median)}" r="4" fill="${s.color}"/>`);
    }
  }
  // Legend and the headline ratios.
  const lx = M.left + plotW + 18;
  series.forEach((s, i) => {
    const y = M.top + 10 + i * 22;
    out.push(`<line x1="${lx}" y1="${y}" x2="${lx + 22}" y2="${y}" stroke="${s.color}" stroke-width="2.5"/>`);
    out.push(`<text x="${lx + 28}" y="${y + 4}">${esc(s.label)}</text>`);
  });
  const notes = [
    `agent(10k)/agent(1): ${Number.isFinite(rate.agent10kOver1) ? rate.agent10kOver1.toFixed(2) : 'n/a'}`,
    ...ratioNotes,
  ];
  notes.forEach((note, i) => {
    out.push(`<text x="${lx}" y="${M.top + 70 + i * 17}" xml:space="preserve">${esc(note)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
