// The alert rules and the Grafana dashboard: checked by promtool (Debian's prometheus package;
// `promtool check rules` for syntax, `promtool test rules` for what fires when), and held to the
// metric families the agent exports (src/manifests/metrics.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { DASHBOARD_PANELS, grafanaDashboard } from '../../../src/manifests/dashboard.js';
import { AGENT_METRICS, histogramSeries, STANDARD_METRICS } from '../../../src/manifests/metrics.js';
import { type AlertRule, alertRules } from '../../../src/manifests/monitoring.js';
import { type KubeDoc, parseStream } from './generate.js';

const promtool = (process.env.PATH ?? '')
  .split(delimiter)
  .map((dir) => join(dir, 'promtool'))
  .find((path) => spawnSync(path, ['--version']).status === 0);
if (!promtool)
  console.warn(
    '\n*** promtool not found: the alert-rule and dashboard checks are SKIPPED. Install it: apt-get install prometheus ***\n',
  );

const dir = mkdtempSync(join(tmpdir(), 'kn-promtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(promtool!, args, { encoding: 'utf8', cwd: dir });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function writeRules(name: string, groups: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, YAML.stringify(groups));
  return path;
}

const KNOWN = new Set<string>([
  ...Object.values(AGENT_METRICS),
  ...histogramSeries(AGENT_METRICS.syncDuration),
  ...STANDARD_METRICS,
]);
const metricNames = (expr: string): string[] =>
  expr.match(/\b(egress_router_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g) ?? [];

describe.skipIf(!promtool)('alert rules (promtool)', () => {
  it('deploy/monitoring: every PrometheusRule passes promtool check rules', () => {
    for (const file of ['deploy/monitoring/router.yaml', 'deploy/monitoring/ha-router.yaml']) {
      const rules = parseStream(readFileSync(file, 'utf8')).filter((d) => d.kind === 'PrometheusRule');
      expect(rules).toHaveLength(1);
      const path = writeRules('check.yaml', (rules[0] as KubeDoc & { spec: unknown }).spec);
      const result = run(['check', 'rules', path]);
      expect(result.output, file).toMatch(/SUCCESS/);
      expect(result.status, result.output).toBe(0);
    }
  });

  it('promtool check rules catches a broken expression (the check can fail)', () => {
    const path = writeRules('broken.yaml', {
      groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'max(' }] }],
    });
    expect(run(['check', 'rules', path]).status).not.toBe(0);
  });

  it('fire when they should and not before (promtool test rules)', () => {
    const rules: AlertRule[] = alertRules('ns', 'r', true);
    writeRules('rules.yaml', { groups: [{ name: 'egress-router.r', rules }] });
    const annotations = (alert: string, labels: Record<string, string> = {}) => {
      const rule = rules.find((r) => r.alert === alert)!;
      const fill = (text: string) =>
        text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, key: string) => labels[key] ?? '');
      return { summary: fill(rule.annotations.summary), description: fill(rule.annotations.description) };
    };
    const s = (metric: string, labels: string) => `${metric}{namespace="ns",router="r",${labels}}`;
    const test = (name: string, series: { series: string; values: string }[], checks: unknown[]) => ({
      name,
      interval: '1m',
      input_series: series,
      alert_rule_test: checks,
    });
    const fires = (at: string, alertname: string, labels: Record<string, string>, severity: string) => ({
      eval_time: at,
      alertname,
      exp_alerts: [{ exp_labels: { severity, ...labels }, exp_annotations: annotations(alertname, labels) }],
    });
    const quiet = (at: string, alertname: string) => ({ eval_time: at, alertname, exp_alerts: [] });
    const tests = [
      test(
        'not available: 5 minutes after the last pod stops being Available',
        [
          {
            series: s(AGENT_METRICS.condition, 'pod="p1",type="Available",status="True"'),
            values: '1x4 0x20',
          },
        ],
        [quiet('8m', 'EgressRouterNotAvailable'), fires('11m', 'EgressRouterNotAvailable', {}, 'critical')],
      ),
      test(
        'not available: also when no pod is scraped at all',
        [{ series: 'up{job="other"}', values: '1x20' }],
        [quiet('4m', 'EgressRouterNotAvailable'), fires('6m', 'EgressRouterNotAvailable', {}, 'critical')],
      ),
      test(
        'HA: a standby that is not Available while the active is raises nothing',
        [
          { series: s(AGENT_METRICS.condition, 'pod="p1",type="Available",status="True"'), values: '1x20' },
          { series: s(AGENT_METRICS.condition, 'pod="p2",type="Available",status="True"'), values: '0x20' },
          { series: s(AGENT_METRICS.haRole, 'pod="p1",role="active"'), values: '1x20' },
          { series: s(AGENT_METRICS.haRole, 'pod="p2",role="standby"'), values: '1x20' },
        ],
        [
          quiet('20m', 'EgressRouterNotAvailable'),
          quiet('20m', 'EgressRouterNoStandby'),
          quiet('20m', 'EgressRouterSplitBrain'),
        ],
      ),
      test(
        'degraded for 10 minutes',
        [{ series: s(AGENT_METRICS.condition, 'pod="p1",type="Degraded",status="True"'), values: '0 1x20' }],
        [quiet('9m', 'EgressRouterDegraded'), fires('12m', 'EgressRouterDegraded', { pod: 'p1' }, 'warning')],
      ),
      test(
        'no successful sync for 10 minutes',
        [{ series: s(AGENT_METRICS.lastSuccessfulSync, 'pod="p1"'), values: '0x30' }],
        [
          quiet('10m', 'EgressRouterSyncStale'),
          fires('13m', 'EgressRouterSyncStale', { pod: 'p1' }, 'warning'),
        ],
      ),
      test(
        'gateway unreachable for 5 minutes',
        [{ series: s(AGENT_METRICS.gatewayUp, 'pod="p1",family="4",gateway="192.0.2.1"'), values: '1 0x10' }],
        [
          quiet('4m', 'EgressRouterGatewayUnreachable'),
          fires(
            '7m',
            'EgressRouterGatewayUnreachable',
            { pod: 'p1', family: '4', gateway: '192.0.2.1' },
            'critical',
          ),
        ],
      ),
      test(
        'a failover is reported at once, and forgotten after 10 minutes',
        [{ series: s(AGENT_METRICS.haTransitions, 'pod="p2",to="active"'), values: '0 0 1x20' }],
        [
          quiet('1m', 'EgressRouterFailover'),
          fires('3m', 'EgressRouterFailover', {}, 'info'),
          quiet('15m', 'EgressRouterFailover'),
        ],
      ),
      test(
        'split brain: two actives for a minute',
        [
          { series: s(AGENT_METRICS.haRole, 'pod="p1",role="active"'), values: '1x10' },
          { series: s(AGENT_METRICS.haRole, 'pod="p2",role="active"'), values: '0 1x10' },
        ],
        [quiet('1m', 'EgressRouterSplitBrain'), fires('3m', 'EgressRouterSplitBrain', {}, 'critical')],
      ),
      test(
        'no standby for 15 minutes',
        [
          { series: s(AGENT_METRICS.haRole, 'pod="p1",role="active"'), values: '1x30' },
          { series: s(AGENT_METRICS.haRole, 'pod="p2",role="standby"'), values: '1 0x30' },
        ],
        [quiet('14m', 'EgressRouterNoStandby'), fires('17m', 'EgressRouterNoStandby', {}, 'warning')],
      ),
    ];
    const testFile = join(dir, 'tests.yaml');
    writeFileSync(testFile, YAML.stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const result = run(['test', 'rules', testFile]);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.status, result.output).toBe(0);
  });

  it('promtool test rules fails a wrong expectation (the test can fail)', () => {
    writeRules('rules.yaml', { groups: [{ name: 'g', rules: alertRules('ns', 'r', false) }] });
    const testFile = join(dir, 'wrong.yaml');
    writeFileSync(
      testFile,
      YAML.stringify({
        rule_files: ['rules.yaml'],
        tests: [
          {
            interval: '1m',
            input_series: [{ series: 'up{job="x"}', values: '1x10' }],
            alert_rule_test: [
              {
                eval_time: '2m',
                alertname: 'EgressRouterNotAvailable',
                exp_alerts: [{ exp_labels: { severity: 'critical' } }],
              },
            ],
          },
        ],
      }),
    );
    expect(run(['test', 'rules', testFile]).status).not.toBe(0);
  });
});

describe('alerts and dashboard use only the metrics the agent exports', () => {
  it('alert rules', () => {
    for (const rule of alertRules('ns', 'r', true))
      for (const name of metricNames(rule.expr)) expect(KNOWN.has(name), `${rule.alert}: ${name}`).toBe(true);
  });

  it('dashboard panels and annotations', () => {
    const dashboard = grafanaDashboard() as {
      panels: { targets: { expr: string }[] }[];
      annotations: { list: { expr: string }[] };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.annotations.list.map((a) => a.expr),
    ];
    expect(exprs.length).toBeGreaterThan(DASHBOARD_PANELS.length);
    for (const expr of exprs)
      for (const name of metricNames(expr)) expect(KNOWN.has(name), `${expr}: ${name}`).toBe(true);
    const used = new Set(exprs.flatMap(metricNames));
    for (const family of Object.values(AGENT_METRICS))
      expect(
        [...used].some((m) => m === family || m.startsWith(`${family}_`)),
        `${family} has a panel`,
      ).toBe(true);
    const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.skipIf(!promtool)(
    'every dashboard query is valid PromQL (checked by promtool as recording rules)',
    () => {
      const dashboard = grafanaDashboard() as {
        panels: { targets: { expr: string }[] }[];
        annotations: { list: { expr: string }[] };
      };
      const exprs = [
        ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
        ...dashboard.annotations.list.map((a) => a.expr),
      ];
      const grafanaVariables = (expr: string) =>
        expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*').replaceAll('$router', '.*');
      const rules = exprs.map((expr, i) => ({
        record: `dashboard:query_${i}`,
        expr: grafanaVariables(expr),
      }));
      const path = writeRules('dashboard.yaml', { groups: [{ name: 'dashboard', rules }] });
      const result = run(['check', 'rules', path]);
      expect(result.status, result.output).toBe(0);
      expect(readFileSync(path, 'utf8')).toContain('histogram_quantile');
    },
  );
});
