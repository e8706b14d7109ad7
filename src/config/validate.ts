/**
 * The semantic checks every input format shares, including those the CRD leaves out
 * (families, subnets, duplicates, the agent's own port). Collects every problem.
 */
import { type ClusterCidr, clusterCidrPath, parseClusterCidr } from './clusterCidrs.js';
import { type DraftConfig, type DraftRule, fieldPath, type Located } from './draft.js';
import {
  type IpLiteral,
  type IpPrefix,
  ipv4EdgeAddress,
  networkOf,
  parseIp,
  parsePrefix,
  prefixContains,
  specialKind,
} from './ip.js';
import { CONTROL_CHARACTERS, type ConfigIssue } from './issues.js';
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

function checkPort(issues: IssueList, value: number, path: () => string): boolean {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    issues.add(path(), `must be 1..65535, got ${value}`);
    return false;
  }
  return true;
}

/** Parses a target address (gateway, destination, fallback) and rejects special-purpose ones. */
function parseTarget(text: string, what: string): TargetCheck {
  const parsed = parseIp(text);
  if (!parsed.ok) return { message: parsed.error };
  const special = specialKind(parsed.value);
  if (special) return { message: `cannot be ${special} (${what}), got ${parsed.value.address}` };
  return { ip: parsed.value };
}

function checkTarget(issues: IssueList, field: Located<string>, what: string): IpLiteral | undefined {
  const parsed = parseTarget(field.value, what);
  if ('message' in parsed) {
    issues.add(field.path, parsed.message);
    return undefined;
  }
  return parsed.ip;
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
    if (prefix.prefixLength === 0) {
      issues.add(
        entry.ip.path,
        `${prefix.address}/0 makes every address on-link: nothing would go through the gateway; give the subnet's real prefix`,
      );
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

/** What every destination and the fallback are checked against, besides their own syntax. */
interface TargetContext {
  readonly families: ReadonlySet<Family>;
  readonly own: ReadonlySet<string>;
  readonly subnets: readonly CheckedAddress[];
  readonly clusterCidrs: readonly ClusterCidr[];
}

/** Why `ip` cannot be a redirect destination or the fallback, or undefined when it can. */
function targetProblem(ip: IpLiteral, what: string, context: TargetContext): string | undefined {
  if (!context.families.has(ip.family)) {
    return `${familyName(ip.family)} ${what} ${ip.address}, but the router has no ${familyName(ip.family)} address`;
  }
  if (context.own.has(ip.address)) return `${ip.address} is one of the router's own addresses`;
  for (const subnet of context.subnets) {
    if (!prefixContains(subnet.prefix, ip)) continue;
    const edge = ipv4EdgeAddress({ ...subnet.prefix, address: ip.address });
    if (edge) {
      return `${ip.address} is the ${edge} address of the egress subnet ${networkOf(subnet.prefix)} (${subnet.path}), not a host`;
    }
  }
  const cluster = context.clusterCidrs.find((c) => prefixContains(c.prefix, ip));
  if (cluster) {
    return `${ip.address} is inside ${clusterCidrPath(cluster.text)}: it is reached through the cluster interface, and the router only forwards redirected traffic from the cluster to the egress side`;
  }
  return undefined;
}

type TargetCheck = { ip: IpLiteral } | { message: string };

/**
 * A config validated before with the same options: its rules may stand for identical ones now.
 * A reload that changes one rule of 65,534 then checks one rule, not all of them.
 */
export interface PreviousConfig {
  readonly config: RouterConfig;
  readonly options: AgentOptions;
}

/** Families × protocols × ports: one slot per key a rule can take. */
const RULE_KEY_SPACE = 2 * 3 * 65_536;
const PROTOCOL_CODE = { tcp: 0, udp: 1, sctp: 2 } as const;
const ruleKey = (family: Family, protocol: DraftRule['protocol'], port: number): number =>
  ((family === 4 ? 0 : 3) + PROTOCOL_CODE[protocol]) * 65_536 + port;

/** The earlier rule, already validated, that `rule` repeats exactly (same place, same values). */
function sameAsBefore(rule: DraftRule, before: RedirectRule | undefined): boolean {
  return (
    before !== undefined &&
    before.source === rule.path &&
    before.port === rule.port &&
    before.protocol === rule.protocol &&
    before.destinationIP === rule.destinationIP &&
    before.targetPort === (rule.targetPort ?? rule.port)
  );
}

type DestinationCheck = (text: string) => TargetCheck;

/** Checks a destination's text against the context, each distinct text once (many rules, few destinations). */
function destinationChecker(context: TargetContext): DestinationCheck {
  const targets = new Map<string, TargetCheck>();
  return (text) => {
    let known = targets.get(text);
    if (!known) {
      const parsed = parseTarget(text, 'destinationIP');
      const problem = 'ip' in parsed ? targetProblem(parsed.ip, 'destination', context) : undefined;
      known = problem ? { message: problem } : parsed;
      targets.set(text, known);
    }
    return known;
  };
}

/** One rule on its own (ports, destination, the health port); duplicates are the caller's. */
function checkRule(
  issues: IssueList,
  rule: DraftRule,
  checkDestination: DestinationCheck,
  options: AgentOptions,
): RedirectRule | undefined {
  const portOk = checkPort(issues, rule.port, () => fieldPath(rule, 'port'));
  const targetOk =
    rule.targetPort === undefined || checkPort(issues, rule.targetPort, () => fieldPath(rule, 'targetPort'));
  const destination = checkDestination(rule.destinationIP);
  if ('message' in destination) issues.add(fieldPath(rule, 'destinationIP'), destination.message);
  if (!portOk || !targetOk || 'message' in destination) return undefined;
  const { ip } = destination;
  const port = rule.port;
  if (rule.protocol === 'tcp' && port === options.healthPort) {
    issues.add(
      fieldPath(rule, 'port'),
      `TCP ${port} is the agent's health port (change --health-addr or the rule)`,
    );
    return undefined;
  }
  return {
    protocol: rule.protocol,
    port,
    destinationIP: ip.address,
    targetPort: rule.targetPort ?? port,
    family: ip.family,
    source: rule.path,
  };
}

function checkRules(
  issues: IssueList,
  draft: DraftConfig,
  context: TargetContext,
  options: AgentOptions,
  reusable: readonly RedirectRule[],
): RedirectRule[] {
  const rules: RedirectRule[] = [];
  // Index + 1 of the draft rule that took each key first; numbers, not strings, at 131,070 rules.
  const taken = new Int32Array(RULE_KEY_SPACE);
  const checkDestination = destinationChecker(context);
  for (let i = 0; i < draft.rules.length; i++) {
    const rule = draft.rules[i] as DraftRule;
    const before = reusable[i];
    // Same text in the same place, same context: the same rule (its destination is canonical).
    const valid = sameAsBefore(rule, before) ? before : checkRule(issues, rule, checkDestination, options);
    if (!valid) continue;
    const key = ruleKey(valid.family, valid.protocol, valid.port);
    const earlier = taken[key] ? draft.rules[(taken[key] as number) - 1] : undefined;
    if (earlier) {
      issues.add(
        fieldPath(rule, 'port'),
        `${rule.protocol.toUpperCase()} ${valid.port} is already redirected by ${earlier.path} for ${familyName(valid.family)}`,
      );
      continue;
    }
    taken[key] = i + 1;
    rules.push(valid);
  }
  return rules;
}

/** What a config's rules are checked against: its addresses and the cluster CIDRs. */
function rulesContext(
  issues: IssueList,
  draft: DraftConfig,
  options: AgentOptions,
): { checked: CheckedAddress[]; context: TargetContext } {
  const checked = checkAddresses(issues, draft);
  const clusterCidrs = checkClusterCidrs(issues, options.clusterCidrs ?? [], checked);
  const context: TargetContext = {
    families: new Set(checked.map((c) => c.prefix.family)),
    own: new Set(checked.map((c) => c.prefix.address)),
    subnets: checked,
    clusterCidrs,
  };
  return { checked, context };
}

/** A change of some rules of a valid config, everything else as it was (see validateRuleChange). */
export interface RuleChange {
  /** The rules [from, to) of the previous config are replaced by `added`. */
  readonly from: number;
  readonly to: number;
  readonly added: readonly DraftRule[];
  /** The path of the rule at an index, for the rules after the change when their index moved. */
  readonly pathAt: (index: number) => string;
}

/**
 * The config a change of some rules makes of `previous` (validated with these same options, and
 * `base` its draft without rules: the rest of the document unchanged): the new rules are
 * checked, the others taken as they are, and every key checked once for a duplicate. Undefined
 * on any problem: the caller then reads the whole text again, which words every message.
 */
export function validateRuleChange(
  base: DraftConfig,
  options: AgentOptions,
  previous: RouterConfig,
  change: RuleChange,
): RouterConfig | undefined {
  const issues = new IssueList();
  const { context } = rulesContext(issues, base, options);
  const checkDestination = destinationChecker(context);
  const added: RedirectRule[] = [];
  for (const rule of change.added) {
    const valid = checkRule(issues, rule, checkDestination, options);
    if (valid) added.push(valid);
  }
  if (issues.items.length > 0) return undefined;
  const old = previous.redirectRules;
  const shift = added.length - (change.to - change.from);
  const after = old.slice(change.to);
  const rules = old
    .slice(0, change.from)
    .concat(
      added,
      shift === 0 ? after : after.map((r, i) => ({ ...r, source: change.pathAt(change.to + i + shift) })),
    );
  // The new rules against every other: the old ones had no duplicate among themselves.
  const keys = new Set(added.map((r) => ruleKey(r.family, r.protocol, r.port)));
  if (keys.size < added.length) return undefined;
  for (let i = 0; i < old.length; i++) {
    if (i === change.from) i = change.to;
    const rule = old[i];
    if (rule && keys.has(ruleKey(rule.family, rule.protocol, rule.port))) return undefined;
  }
  const { notes: _notes, ...rest } = previous;
  const config = { ...rest, redirectRules: rules };
  return { ...config, notes: describeNotes(base, config) };
}

/** The previous config's rules, when nothing they were checked against has changed. */
function reusableRules(
  previous: PreviousConfig | undefined,
  options: AgentOptions,
  addresses: readonly CheckedAddress[],
): readonly RedirectRule[] {
  if (!previous || previous.options !== options) return [];
  const before = previous.config.addresses;
  const same =
    before.length === addresses.length &&
    addresses.every((a, i) => {
      const b = before[i];
      return (
        b !== undefined &&
        b.address === a.prefix.address &&
        b.prefixLength === a.prefix.prefixLength &&
        b.family === a.prefix.family &&
        b.gateway === a.gateway?.ip.address
      );
    });
  return same ? previous.config.redirectRules : [];
}

function checkFallback(
  issues: IssueList,
  field: Located<string>,
  context: TargetContext,
): FallbackTarget | undefined {
  const ip = checkTarget(issues, field, 'fallbackIP');
  if (!ip) return undefined;
  const problem = targetProblem(ip, 'fallback', context);
  if (problem) {
    issues.add(field.path, problem);
    return undefined;
  }
  return { address: ip.address, family: ip.family, source: field.path };
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

/** Whether two prefixes share any address: the shorter one holds the longer one's address. */
function overlaps(a: IpPrefix, b: IpPrefix): boolean {
  return a.prefixLength <= b.prefixLength ? prefixContains(a, b) : prefixContains(b, a);
}

/** `--cluster-cidr` values against the config: none may take traffic that must leave through the egress side. */
function checkClusterCidrs(
  issues: IssueList,
  texts: readonly string[],
  addresses: readonly CheckedAddress[],
): ClusterCidr[] {
  const cidrs: ClusterCidr[] = [];
  for (const text of texts) {
    const path = clusterCidrPath(text);
    const parsed = parseClusterCidr(text);
    if (!parsed.ok) {
      issues.add(path, parsed.error);
      continue;
    }
    const cidr = parsed.value;
    const subnet = addresses.find((a) => overlaps(cidr.prefix, a.prefix));
    if (subnet) {
      issues.add(
        path,
        `overlaps the egress subnet ${networkOf(subnet.prefix)} (${subnet.path}): that traffic must leave through the egress interface`,
      );
      continue;
    }
    const withGateway = addresses.find((a) => a.gateway && prefixContains(cidr.prefix, a.gateway.ip));
    if (withGateway?.gateway) {
      issues.add(
        path,
        `holds the egress gateway ${withGateway.gateway.ip.address} (${withGateway.gateway.path}): the default route would lead into the cluster`,
      );
      continue;
    }
    cidrs.push(cidr);
  }
  return cidrs;
}

/** Names that reach logs, status, `render` comments and messages: nothing there may need escaping. */
function checkNames(issues: IssueList, draft: DraftConfig): void {
  for (const field of [draft.name, draft.namespace]) {
    if (field && CONTROL_CHARACTERS.test(field.value)) {
      issues.add(
        field.path,
        'must not contain control characters (newline, tab, escape, U+2028 and the like): the name reaches logs, status and nft comments',
      );
    }
  }
}

export function validateDraft(
  draft: DraftConfig,
  options: AgentOptions,
  previous?: PreviousConfig,
): ValidationResult {
  const issues = new IssueList();
  checkNames(issues, draft);
  const { checked, context } = rulesContext(issues, draft, options);
  checkInterface(issues, draft, context.families);
  const reusable = issues.items.length === 0 ? reusableRules(previous, options, checked) : [];
  const redirectRules = checkRules(issues, draft, context, options, reusable);
  const fallback = draft.fallback ? checkFallback(issues, draft.fallback, context) : undefined;
  if (issues.items.length > 0) return { ok: false, issues: issues.items };

  const addresses: EgressAddress[] = checked.map((c) => ({
    address: c.prefix.address,
    prefixLength: c.prefix.prefixLength,
    family: c.prefix.family,
    ...(c.gateway ? { gateway: c.gateway.ip.address } : {}),
  }));
  const base = {
    format: draft.format,
    ...(draft.name !== undefined ? { name: draft.name.value } : {}),
    ...(draft.namespace !== undefined ? { namespace: draft.namespace.value } : {}),
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
