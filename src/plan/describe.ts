/** Human-readable lines describing a plan; `render` prints them as nft comments. */
import type { RouterConfig } from '../config/model.js';
import { sysctlName } from '../link/sysctl.js';
import type { PlannedRoute, RouterPlan } from './routerPlan.js';
import { sortRules } from './ruleset.js';

function routeText(route: PlannedRoute): string {
  const via =
    route.via === undefined
      ? ''
      : 'address' in route.via
        ? ` via ${route.via.address}`
        : ` via <current default gateway of ${route.via.previousDefaultOf}>`;
  const table = route.table ? ` table ${route.table} (IPv${route.family})` : '';
  return `route ${route.destination}${via} dev ${route.device}${table}  (${route.why})`;
}

function linkText(plan: RouterPlan): string {
  const { link } = plan;
  const master =
    link.masterSource === 'unknown'
      ? '<inferred: the interface whose subnet holds the egress address>'
      : `${link.master}${link.masterSource === 'inferred' ? ' (inferred)' : ''}`;
  const mtu =
    link.mtu === undefined
      ? 'of the master'
      : `${link.mtu}${link.mtuSource === 'master' ? " (the master's)" : ''}`;
  return `interface ${link.name}: macvlan mode ${link.mode} on ${master}, MTU ${mtu}`;
}

export function describePlan(config: RouterConfig, plan: RouterPlan): string[] {
  const title = config.name ? `${config.name} (${config.format})` : config.format;
  const lines = [
    `egress router ${title}`,
    linkText(plan),
    ...plan.addresses.map((a) => `address ${a.cidr} (IPv${a.family})`),
    ...plan.routes.map(routeText),
  ];
  if (plan.masterHostRoutes === 'unknown') {
    lines.push(
      `routes to the master namespace's own addresses via the cluster gateway on ${plan.clusterInterface} (create mode: a macvlan cannot reach its master)`,
    );
  }
  if (plan.replyPrefixes === 'unknown' && plan.replyRules.length > 0)
    lines.push(
      `routes to the connected prefixes of ${plan.clusterInterface} in table ${plan.replyRules[0]?.table} (replies to clients on the cluster subnet)`,
    );
  lines.push(...plan.replyRoutes.map(routeText));
  for (const rule of plan.replyRules)
    lines.push(
      `rule IPv${rule.family}: fwmark ${rule.fwmark} lookup table ${rule.table}, priority ${rule.priority}  (${rule.why})`,
    );
  for (const s of plan.sysctls)
    lines.push(`sysctl ${sysctlName(s.key)}=${s.value}${s.required ? '' : '  (if the pod may set it)'}`);
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
  const sources = [4, 6].filter((f) => plan.addresses.some((a) => a.family === f));
  for (const family of sources) {
    const first = plan.addresses.find((a) => a.family === family);
    const more = plan.addresses.filter((a) => a.family === family).length - 1;
    if (first && more > 0)
      lines.push(
        `SNAT source IPv${family}: ${first.address} (the first IPv${family} address; the other ${more} answer on the LAN but are not used as a source)`,
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
