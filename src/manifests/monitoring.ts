/**
 * Prometheus Operator objects for one router: a PodMonitor scraping the health port's /metrics,
 * relabelled so every series carries router="<name>", and a PrometheusRule whose alerts look at
 * this router's series only (so `absent`-style checks work: a router with no pod left alerts too).
 */
import type { RouterInput } from './input.js';
import { AGENT_METRICS as M, ROUTER_LABEL } from './metrics.js';
import { INSTANCE_LABEL, objectLabels, selectorLabels } from './names.js';
import type { KubeObject, Manifest } from './types.js';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: 'critical' | 'warning' | 'info' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

/** Minutes each alert waits before firing; one place to tune them. */
export const ALERT_MINUTES = {
  notAvailable: 5,
  degraded: 10,
  syncStale: 10,
  gatewayDown: 5,
  noStandby: 15,
} as const;

/** Prometheus's own relabelled form of a pod label name (what __meta_kubernetes_pod_label_* uses). */
const metaLabel = (label: string): string =>
  `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;

export function podMonitor(input: RouterInput): Manifest {
  const object = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: {
      selector: { matchLabels: selectorLabels(input.name) },
      podMetricsEndpoints: [
        {
          port: 'health',
          path: '/metrics',
          interval: '30s',
          relabelings: [
            { sourceLabels: [metaLabel(INSTANCE_LABEL)], targetLabel: ROUTER_LABEL, action: 'replace' },
          ],
        },
      ],
    },
  } as KubeObject;
  return {
    object,
    comment:
      'Scrapes /metrics on the health port of this router\'s pods and labels every series router="' +
      `${input.name}".\nYour Prometheus must select it (e.g. kube-prometheus-stack's release label).`,
  };
}

/** The alert rules of one router; `ha` adds the two that only make sense for a pair. */
export function alertRules(namespace: string, router: string, ha: boolean): AlertRule[] {
  const sel = (extra = ''): string => `{namespace="${namespace}",${ROUTER_LABEL}="${router}"${extra}}`;
  const who = `EgressRouter ${namespace}/${router}`;
  const rules: AlertRule[] = [
    {
      alert: 'EgressRouterNotAvailable',
      expr: `(max(${M.condition}${sel(',type="Available",status="True"')}) or vector(0)) == 0`,
      for: `${ALERT_MINUTES.notAvailable}m`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `${who} is not available`,
        description:
          'No pod of this router reports Available=True (or none is scraped): pods using it cannot reach their ' +
          'destinations. See the Available reason in `kubectl get egressrouter -o yaml` or `egress-router-agent status`.',
      },
    },
    {
      alert: 'EgressRouterDegraded',
      expr: `max by (pod) (${M.condition}${sel(',type="Degraded",status="True"')}) == 1`,
      for: `${ALERT_MINUTES.degraded}m`,
      labels: { severity: 'warning' },
      annotations: {
        summary: `${who} pod {{ $labels.pod }} is degraded`,
        description:
          'Degraded=True: the router works but something is wrong (an invalid config kept out, an unreachable ' +
          'gateway, a refused reload). The condition message says what; docs/operations.md lists every reason.',
      },
    },
    {
      alert: 'EgressRouterSyncStale',
      expr: `time() - max by (pod) (${M.lastSuccessfulSync}${sel()}) > ${ALERT_MINUTES.syncStale * 60}`,
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `${who} pod {{ $labels.pod }} has not synced successfully for ${ALERT_MINUTES.syncStale} minutes`,
        description:
          'No pass has ended with everything in place for a while: drift may go unrepaired. ' +
          'See egress_router_sync_failures_total by reason and the agent log.',
      },
    },
    {
      alert: 'EgressRouterGatewayUnreachable',
      expr: `min by (pod, family, gateway) (${M.gatewayUp}${sel()}) == 0`,
      for: `${ALERT_MINUTES.gatewayDown}m`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `${who} pod {{ $labels.pod }} cannot reach its gateway {{ $labels.gateway }}`,
        description:
          'The gateway does not answer ARP/ND from the egress interface. Likely causes: a wrong gateway, ' +
          'hypervisor MAC filtering of the macvlan, a VLAN mismatch on the master (docs/operations.md, GatewayUnreachable).',
      },
    },
    {
      alert: 'EgressRouterFailover',
      expr: `sum(increase(${M.haTransitions}${sel(',to="active"')}[10m])) > 0`,
      labels: { severity: 'info' },
      annotations: {
        summary: `${who}: a replica became active`,
        description:
          'The egress addresses moved to another replica in the last 10 minutes (a pod or node died, was ' +
          'drained, or lost its gateway). Connections through the old active were cut.',
      },
    },
  ];
  if (ha) {
    rules.push(
      {
        alert: 'EgressRouterSplitBrain',
        expr: `sum(${M.haRole}${sel(',role="active"')}) > 1`,
        for: '1m',
        labels: { severity: 'critical' },
        annotations: {
          summary: `${who} has more than one active replica`,
          description:
            'Two replicas claim the egress addresses: the LAN sees two MACs for one address. VRRP ' +
            'advertisements are not getting through between the nodes (multicast 224.0.0.18 / ff02::12 filtered?).',
        },
      },
      {
        alert: 'EgressRouterNoStandby',
        expr: `(sum(${M.haRole}${sel(',role="standby"')}) or vector(0)) < 1`,
        for: `${ALERT_MINUTES.noStandby}m`,
        labels: { severity: 'warning' },
        annotations: {
          summary: `${who} has no standby`,
          description:
            'Only one replica is healthy: the next failure of its node stops egress until Kubernetes reschedules. ' +
            'Look for a pending pod (anti-affinity needs two nodes with the master interface) or one in fault.',
        },
      },
    );
  }
  return rules;
}

export function prometheusRule(input: RouterInput): Manifest {
  const object = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: {
      groups: [
        {
          name: `egress-router.${input.name}`,
          rules: alertRules(input.namespace, input.name, input.ha !== undefined),
        },
      ],
    },
  } as KubeObject;
  return {
    object,
    comment: `Alerts for this router's series only (router="${input.name}", set by the PodMonitor).`,
  };
}
