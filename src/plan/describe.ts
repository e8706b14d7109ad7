/** Human-readable lines describing a plan; `render` prints them as nft comments. */
import type { RouterConfig } from '../config/model.js';
import type { InterfacePlan, PlannedRoute } from './interfacePlan.js';
import { sortRules } from './ruleset.js';

function routeText(route: PlannedRoute): string {
  const via =
    route.via === undefined
      ? ''
      : 'address' in route.via
        ? ` via ${route.via.address}`
        : ` via <current default gateway of ${route.via.previousDefaultOf}>`;
  return `route ${route.destination}${via} dev ${route.device}  (${route.why})`;
}

export function describePlan(config: RouterConfig, plan: InterfacePlan): string[] {
  const { link } = plan;
  const title = config.name ? `${config.name} (${config.format})` : config.format;
  const lines = [
    `egress router ${title}`,
    `interface ${link.name}: macvlan mode ${link.mode} on ${link.master ?? '<inferred: the interface whose subnet holds the egress address>'}, MTU ${link.mtu ?? 'of the master'}`,
    ...plan.addresses.map((a) => `address ${a.cidr} (IPv${a.family})`),
    ...plan.routes.map(routeText),
    ...plan.sysctls.map((s) => `sysctl ${s.key}=${s.value}`),
  ];
  const gatewayless = ([4, 6] as const).filter(
    (f) =>
      plan.addresses.some((a) => a.family === f) &&
      !plan.routes.some((r) => r.family === f && r.destination === 'default'),
  );
  for (const family of gatewayless) {
    lines.push(
      `IPv${family} gateway: none configured; apply takes the node's default gateway when it is on the egress subnet`,
    );
  }
  for (const rule of sortRules(config.redirectRules)) {
    const target =
      rule.family === 6
        ? `[${rule.destinationIP}]:${rule.targetPort}`
        : `${rule.destinationIP}:${rule.targetPort}`;
    lines.push(`redirect ${rule.protocol.toUpperCase()} ${rule.port} -> ${target}`);
  }
  if (config.fallback)
    lines.push(
      `fallback: everything else from ${plan.clusterInterface} -> ${config.fallback.address} (same port)`,
    );
  for (const note of config.notes) lines.push(`note: ${note}`);
  return lines;
}
