/**
 * A Grafana dashboard for every router Prometheus scrapes (variables: data source, namespace,
 * router), written against the agent's metric families (metrics.ts). deploy/monitoring holds it
 * as JSON; the tests check every query with promtool and every metric name against metrics.ts.
 */
import { AGENT_METRICS as M } from './metrics.js';

const SEL = 'namespace=~"$namespace",router=~"$router"';
const sel = (extra = ''): string => `{${SEL}${extra}}`;
const RATE = '[$__rate_interval]';

interface Target {
  readonly expr: string;
  readonly legendFormat?: string;
}

interface PanelSpec {
  readonly type: 'stat' | 'timeseries' | 'state-timeline';
  readonly title: string;
  readonly description: string;
  readonly width: number;
  readonly height: number;
  readonly targets: readonly Target[];
  readonly unit?: string;
}

const stat = (title: string, description: string, expr: string, unit?: string): PanelSpec => ({
  type: 'stat',
  title,
  description,
  width: 4,
  height: 4,
  targets: [{ expr }],
  ...(unit ? { unit } : {}),
});

const series = (
  title: string,
  description: string,
  targets: Target[],
  unit?: string,
  width = 12,
): PanelSpec => ({
  type: 'timeseries',
  title,
  description,
  width,
  height: 8,
  targets,
  ...(unit ? { unit } : {}),
});

export const DASHBOARD_PANELS: readonly PanelSpec[] = [
  stat(
    'Available',
    '1 when at least one pod of the router reports Available=True.',
    `max(${M.condition}${sel(',type="Available",status="True"')})`,
  ),
  stat(
    'Degraded pods',
    'Pods reporting Degraded=True.',
    `sum(${M.condition}${sel(',type="Degraded",status="True"')})`,
  ),
  stat(
    'Active replicas',
    'Replicas holding the egress addresses (HA: exactly 1).',
    `sum(${M.haRole}${sel(',role="active"')})`,
  ),
  stat('Redirect rules', 'Rules programmed in the table.', `max(${M.redirectRules}${sel()})`),
  stat(
    'Since last good sync',
    'Time since a pass last ended with everything in place (the oldest pod).',
    `time() - min(${M.lastSuccessfulSync}${sel()})`,
    's',
  ),
  stat(
    'Gateways down',
    'Gateways that do not answer, over all pods.',
    `count(${M.gatewayUp}${sel()} == 0) or vector(0)`,
  ),
  {
    type: 'state-timeline',
    title: 'Conditions',
    description: "Each pod's conditions that are True.",
    width: 12,
    height: 8,
    targets: [{ expr: `${M.condition}${sel(',status="True"')} == 1`, legendFormat: '{{pod}} {{type}}' }],
  },
  {
    type: 'state-timeline',
    title: 'HA role',
    description: "Each replica's VRRP role.",
    width: 12,
    height: 8,
    targets: [{ expr: `${M.haRole}${sel()} == 1`, legendFormat: '{{pod}} {{role}}' }],
  },
  series(
    'Sync duration',
    'Wall time of a pass (p50, p99), from the histogram.',
    [
      {
        expr: `histogram_quantile(0.5, sum by (le) (rate(${M.syncDuration}_bucket${sel()}${RATE})))`,
        legendFormat: 'p50',
      },
      {
        expr: `histogram_quantile(0.99, sum by (le) (rate(${M.syncDuration}_bucket${sel()}${RATE})))`,
        legendFormat: 'p99',
      },
    ],
    's',
  ),
  series('Sync failures', 'Failed passes per second, by reason.', [
    { expr: `sum by (reason) (rate(${M.syncFailures}${sel()}${RATE}))`, legendFormat: '{{reason}}' },
  ]),
  series('Config reloads', 'Reloads by result (applied, invalid, failed).', [
    { expr: `sum by (result) (increase(${M.configReloads}${sel()}${RATE}))`, legendFormat: '{{result}}' },
  ]),
  series('Drift repairs', "Repairs of changes made behind the agent's back, by kind.", [
    { expr: `sum by (kind) (increase(${M.driftRepairs}${sel()}${RATE}))`, legendFormat: '{{kind}}' },
  ]),
  series('Gateway reachable', '1 while the gateway answers ARP/ND, per pod and gateway.', [
    { expr: `${M.gatewayUp}${sel()}`, legendFormat: '{{pod}} {{gateway}}' },
  ]),
  series('Conntrack flushes', 'Connection-tracking entries flushed after changes, by protocol.', [
    {
      expr: `sum by (protocol) (increase(${M.conntrackFlushes}${sel()}${RATE}))`,
      legendFormat: '{{protocol}}',
    },
  ]),
  series('Map elements', 'Elements in each nftables map.', [
    { expr: `max by (map) (${M.mapElements}${sel()})`, legendFormat: '{{map}}' },
  ]),
  series('Redirected connections (top 10 rules)', 'New connections per second through each rule.', [
    {
      expr: `topk(10, sum by (protocol, port, destination, target_port) (rate(${M.redirectConnections}${sel()}${RATE})))`,
      legendFormat: '{{protocol}} {{port}} → {{destination}}:{{target_port}}',
    },
  ]),
  series('HA transitions', 'Role changes, by the role entered.', [
    { expr: `sum by (to) (increase(${M.haTransitions}${sel()}${RATE}))`, legendFormat: '{{to}}' },
  ]),
  series(
    'Memory (RSS)',
    "Resident memory of each pod's agent.",
    [{ expr: `process_resident_memory_bytes${sel()}`, legendFormat: '{{pod}}' }],
    'bytes',
    8,
  ),
  series(
    'CPU',
    "CPU seconds per second of each pod's agent.",
    [{ expr: `rate(process_cpu_seconds_total${sel()}${RATE})`, legendFormat: '{{pod}}' }],
    'percentunit',
    8,
  ),
  series(
    'Event loop lag (p99)',
    "How late the agent's event loop runs: probes time out when this grows.",
    [{ expr: `nodejs_eventloop_lag_p99_seconds${sel()}`, legendFormat: '{{pod}}' }],
    's',
    8,
  ),
  series(
    'Versions',
    'Agent and Node.js versions running.',
    [
      {
        expr: `count by (version, node_version) (${M.buildInfo}${sel()})`,
        legendFormat: '{{version}} (Node {{node_version}})',
      },
    ],
    undefined,
    24,
  ),
];

/** Lays the panels out left to right, wrapping at Grafana's 24 columns. */
function layout(panels: readonly PanelSpec[]) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((panel, index) => {
    if (x + panel.width > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w: panel.width, h: panel.height };
    x += panel.width;
    rowHeight = Math.max(rowHeight, panel.height);
    return {
      id: index + 1,
      type: panel.type,
      title: panel.title,
      description: panel.description,
      datasource: { type: 'prometheus', uid: '$datasource' },
      gridPos,
      fieldConfig: { defaults: { ...(panel.unit ? { unit: panel.unit } : {}) }, overrides: [] },
      options: {},
      targets: panel.targets.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        expr: t.expr,
        ...(t.legendFormat ? { legendFormat: t.legendFormat } : {}),
        datasource: { type: 'prometheus', uid: '$datasource' },
      })),
    };
  });
}

export function grafanaDashboard(): Record<string, unknown> {
  const variable = (name: string, label: string, query: string) => ({
    name,
    label,
    type: 'query',
    datasource: { type: 'prometheus', uid: '$datasource' },
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    definition: query,
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: {},
    sort: 1,
  });
  return {
    uid: 'egress-router-agent',
    title: 'Egress routers',
    description: 'egress-router-agent: availability, HA role, syncs, drift, gateways and traffic per router.',
    tags: ['egress-router'],
    editable: true,
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {} },
        variable('namespace', 'Namespace', `label_values(${M.buildInfo}, namespace)`),
        variable('router', 'Router', `label_values(${M.buildInfo}{namespace=~"$namespace"}, router)`),
      ],
    },
    annotations: {
      list: [
        {
          name: 'Failovers',
          enable: true,
          iconColor: 'orange',
          datasource: { type: 'prometheus', uid: '$datasource' },
          expr: `changes(${M.haTransitions}${sel(',to="active"')}[2m]) > 0`,
          titleFormat: '{{pod}} became active',
        },
      ],
    },
    panels: layout(DASHBOARD_PANELS),
  };
}
