/**
 * The semantic checks every input format shares, including those the CRD leaves out
 * (families, subnets, duplicates, the agent's own port). Collects every problem.
 */
import type { DraftConfig, DraftRule, Located } from './draft.js';
import {
  type IpLiteral,
  type IpPrefix,
  ipv4EdgeAddress,
  parseIp,
  parsePrefix,
  prefixContains,
  specialKind,
} from './ip.js';
import type { ConfigIssue } from './issues.js';
import type {
  AgentOptions,
  EgressAddress,
  FallbackTarget,
  Family,
  RedirectRule,
  RouterConfig,
} from './model.js';
import { interfaceNameProblem } from './names.js';

export type ValidationResult = { ok: true; config: RouterConfig } | { ok: false; issues: ConfigIssue[] };

const familyName = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');

class IssueList {
  readonly items: ConfigIssue[] = [];
  add(path: string, message: string): void {
    this.items.push({ path, message });
  }
}

function checkPort(issues: IssueList, field: Located<number>): boolean {
  const { value } = field;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    issues.add(field.path, `must be 1..65535, got ${value}`);
    return false;
  }
  return true;
}

/** Parses a target address (gateway, destination, fallback) and rejects special-purpose ones. */
function checkTarget(issues: IssueList, field: Located<string>, what: string): IpLiteral | undefined {
  const parsed = parseIp(field.value);
  if (!parsed.ok) {
    issues.add(field.path, parsed.error);
    return undefined;
  }
  const special = specialKind(parsed.value);
  if (special) {
    issues.add(field.path, `cannot be ${special} (${what}), got ${parsed.value.address}`);
    return undefined;
  }
  return parsed.value;
}

interface CheckedAddress {
  readonly prefix: IpPrefix;
  readonly path: string;
  gateway?: { ip: IpLiteral; path: string };
}

function checkAddresses(issues: IssueList, draft: DraftConfig): CheckedAddress[] {
  if (draft.addresses.length === 0) {
    issues.add(draft.addressesPath, 'must list at least one address');
  }
  const checked: CheckedAddress[] = [];
  for (const entry of draft.addresses) {
    const parsed = parsePrefix(entry.ip.value);
    if (!parsed.ok) {
      issues.add(entry.ip.path, `must be an IP address in CIDR form (or bare), but ${parsed.error}`);
      continue;
    }
    const prefix = parsed.value;
    const special = specialKind(prefix);
    if (special) {
      issues.add(entry.ip.path, `cannot be ${special}, got ${prefix.address}`);
      continue;
    }
    const edge = ipv4EdgeAddress(prefix);
    if (edge) {
      issues.add(entry.ip.path, `${prefix.address} is the ${edge} address of /${prefix.prefixLength}`);
      continue;
    }
    const twin = checked.find((c) => c.prefix.address === prefix.address);
    if (twin) {
      issues.add(entry.ip.path, `duplicates ${twin.path} (${prefix.address})`);
      continue;
    }
    const address: CheckedAddress = { prefix, path: entry.ip.path };
    if (entry.gateway) address.gateway = checkGateway(issues, entry.gateway, prefix);
    checked.push(address);
  }
  // One default route per family: two different gateways in one family cannot both hold.
  for (const family of [4, 6] as const) {
    const withGateway = checked.filter((c) => c.prefix.family === family && c.gateway);
    const first = withGateway[0];
    for (const other of withGateway.slice(1)) {
      if (first?.gateway && other.gateway && other.gateway.ip.address !== first.gateway.ip.address) {
        issues.add(
          other.gateway.path,
          `conflicts with ${first.gateway.path} (${first.gateway.ip.address}): one ${familyName(family)} default gateway only`,
        );
      }
    }
  }
  return checked;
}

function checkGateway(
  issues: IssueList,
  field: Located<string>,
  prefix: IpPrefix,
): { ip: IpLiteral; path: string } | undefined {
  // An IPv6 router is usually reached at its link-local address; on a known interface it needs no zone.
  const linkLocal = parseIp(field.value);
  const ip =
    linkLocal.ok && linkLocal.value.family === 6 && /^fe[89ab]/.test(linkLocal.value.address)
      ? linkLocal.value
      : checkTarget(issues, field, 'gateway');
  if (!ip) return undefined;
  if (ip.family !== prefix.family) {
    issues.add(
      field.path,
      `${familyName(ip.family)} gateway ${ip.address} for the ${familyName(prefix.family)} address ${prefix.address}`,
    );
    return undefined;
  }
  if (ip.address === prefix.address) {
    issues.add(field.path, `gateway ${ip.address} is the address itself`);
    return undefined;
  }
  const hostPrefix = prefix.prefixLength === (prefix.family === 4 ? 32 : 128);
  // A host-prefix address reaches its gateway through an on-link host route, as the 3.x router did;
  // a link-local gateway is on-link by definition.
  if (!hostPrefix && !/^fe[89ab]/.test(ip.address) && !prefixContains(prefix, ip)) {
    issues.add(
      field.path,
      `gateway ${ip.address} is outside the subnet ${prefix.address}/${prefix.prefixLength}`,
    );
    return undefined;
  }
  return { ip, path: field.path };
}

function checkRules(
  issues: IssueList,
  draft: DraftConfig,
  families: ReadonlySet<Family>,
  ownAddresses: ReadonlySet<string>,
  options: AgentOptions,
): RedirectRule[] {
  const rules: RedirectRule[] = [];
  const seen = new Map<string, DraftRule>();
  for (const rule of draft.rules) {
    const portOk = checkPort(issues, rule.port);
    const targetOk = rule.targetPort ? checkPort(issues, rule.targetPort) : true;
    const destination = checkTarget(issues, rule.destinationIP, 'destinationIP');
    if (!portOk || !targetOk || !destination) continue;
    if (!families.has(destination.family)) {
      issues.add(
        rule.destinationIP.path,
        `${familyName(destination.family)} destination ${destination.address}, but the router has no ${familyName(destination.family)} address`,
      );
      continue;
    }
    if (ownAddresses.has(destination.address)) {
      issues.add(rule.destinationIP.path, `${destination.address} is one of the router's own addresses`);
      continue;
    }
    const port = rule.port.value;
    if (rule.protocol === 'tcp' && port === options.healthPort) {
      issues.add(rule.port.path, `TCP ${port} is the agent's health port (change --health-addr or the rule)`);
      continue;
    }
    const key = `${destination.family}/${rule.protocol}/${port}`;
    const earlier = seen.get(key);
    if (earlier) {
      issues.add(
        rule.port.path,
        `${rule.protocol.toUpperCase()} ${port} is already redirected by ${earlier.path} for ${familyName(destination.family)}`,
      );
      continue;
    }
    seen.set(key, rule);
    rules.push({
      protocol: rule.protocol,
      port,
      destinationIP: destination.address,
      targetPort: rule.targetPort?.value ?? port,
      family: destination.family,
    });
  }
  return rules;
}

function checkFallback(
  issues: IssueList,
  field: Located<string>,
  families: ReadonlySet<Family>,
  ownAddresses: ReadonlySet<string>,
): FallbackTarget | undefined {
  const ip = checkTarget(issues, field, 'fallbackIP');
  if (!ip) return undefined;
  if (!families.has(ip.family)) {
    issues.add(
      field.path,
      `${familyName(ip.family)} fallback ${ip.address}, but the router has no ${familyName(ip.family)} address`,
    );
    return undefined;
  }
  if (ownAddresses.has(ip.address)) {
    issues.add(field.path, `${ip.address} is one of the router's own addresses`);
    return undefined;
  }
  return { address: ip.address, family: ip.family };
}

function checkInterface(issues: IssueList, draft: DraftConfig, families: ReadonlySet<Family>): void {
  if (draft.master) {
    const problem = interfaceNameProblem(draft.master.value);
    if (problem) issues.add(draft.master.path, `interface name ${problem}`);
  }
  if (draft.mtu) {
    const min = families.has(6) ? 1280 : 68;
    const { value } = draft.mtu;
    if (!Number.isInteger(value) || value < min || value > 65535) {
      const why = families.has(6) ? ' (IPv6 needs at least 1280)' : '';
      issues.add(draft.mtu.path, `must be ${min}..65535${why}, got ${value}`);
    }
  }
}

function describeNotes(draft: DraftConfig, config: Omit<RouterConfig, 'notes'>): string[] {
  const notes = [...draft.notes];
  if (config.redirectRules.length === 0 && !config.fallback) {
    notes.push('no redirect rules and no fallbackIP: nothing is redirected (egress address and SNAT only)');
    return notes;
  }
  for (const family of [4, 6] as const) {
    if (!config.addresses.some((a) => a.family === family)) continue;
    if (config.fallback?.family !== family) {
      notes.push(
        `no ${familyName(family)} fallbackIP: other ${familyName(family)} TCP connections to the router are reset, UDP/SCTP get ICMP port-unreachable`,
      );
    }
  }
  return notes;
}

export function validateDraft(draft: DraftConfig, options: AgentOptions): ValidationResult {
  const issues = new IssueList();
  const checked = checkAddresses(issues, draft);
  const families = new Set(checked.map((c) => c.prefix.family));
  const own = new Set(checked.map((c) => c.prefix.address));
  checkInterface(issues, draft, families);
  const redirectRules = checkRules(issues, draft, families, own, options);
  const fallback = draft.fallback ? checkFallback(issues, draft.fallback, families, own) : undefined;
  if (issues.items.length > 0) return { ok: false, issues: issues.items };

  const addresses: EgressAddress[] = checked.map((c) => ({
    address: c.prefix.address,
    prefixLength: c.prefix.prefixLength,
    family: c.prefix.family,
    ...(c.gateway ? { gateway: c.gateway.ip.address } : {}),
  }));
  const base = {
    format: draft.format,
    ...(draft.name !== undefined ? { name: draft.name } : {}),
    ...(draft.namespace !== undefined ? { namespace: draft.namespace } : {}),
    macvlan: {
      mode: draft.macvlanMode,
      ...(draft.master ? { master: draft.master.value } : {}),
      ...(draft.mtu ? { mtu: draft.mtu.value } : {}),
    },
    addresses,
    redirectRules,
    ...(fallback ? { fallback } : {}),
    ...(draft.legacyMode ? { legacyMode: draft.legacyMode } : {}),
  };
  return { ok: true, config: { ...base, notes: describeNotes(draft, base) } };
}
