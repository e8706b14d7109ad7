/**
 * The metric families the agent exports (its /metrics contract), which the alert rules and the
 * Grafana dashboard are written against. Tests hold the rules and the dashboard to this list.
 */
export const AGENT_METRICS = {
  condition: 'egress_router_condition',
  syncDuration: 'egress_router_sync_duration_seconds',
  lastSuccessfulSync: 'egress_router_last_successful_sync_timestamp_seconds',
  syncFailures: 'egress_router_sync_failures_total',
  configReloads: 'egress_router_config_reloads_total',
  driftRepairs: 'egress_router_drift_repairs_total',
  redirectRules: 'egress_router_redirect_rules',
  mapElements: 'egress_router_map_elements',
  gatewayUp: 'egress_router_gateway_up',
  conntrackFlushes: 'egress_router_conntrack_flushes_total',
  haRole: 'egress_router_ha_role',
  haTransitions: 'egress_router_ha_transitions_total',
  redirectConnections: 'egress_router_redirect_connections_total',
  buildInfo: 'egress_router_build_info',
} as const;

/** Standard process and Node.js families the dashboard also reads (prom-client's default names). */
export const STANDARD_METRICS = [
  'process_resident_memory_bytes',
  'process_cpu_seconds_total',
  'process_open_fds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
] as const;

/** The series a histogram family exposes. */
export const histogramSeries = (family: string): string[] => [
  `${family}_bucket`,
  `${family}_sum`,
  `${family}_count`,
];

/** The label the PodMonitor copies the router's name into, on every series it scrapes. */
export const ROUTER_LABEL = 'router';
