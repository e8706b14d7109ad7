/**
 * The pod's routing state before and after `apply`, for the floor: the routes and policy rules
 * the agent added or removed, as `ip -4 -batch` lines, and a normalized end state to check that
 * the floor and the agent leave the same pod behind.
 */
import { sleep, type Topology } from '../../../src/netkit/index.js';

interface RouteJson {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
}

interface RuleJson {
  priority: number;
  src?: string;
  fwmark?: string;
  table?: string;
  protocol?: string;
  /** Present (null) on a `nop` rule: the agent's records (forwarding, ICMP rate limit). */
  nop?: null;
}

export interface RoutingState {
  readonly routes: readonly RouteJson[];
  readonly rules: readonly RuleJson[];
}

/** Routes the kernel makes by itself (connected, local table) are not anyone's work. */
const managed = (r: RouteJson) => r.protocol !== 'kernel' && r.table !== 'local';
const routeKey = (r: RouteJson) =>
  JSON.stringify([
    r.type ?? 'unicast',
    r.dst,
    r.gateway,
    r.dev,
    r.table ?? 'main',
    r.protocol,
    r.scope,
    r.metric ?? 0,
  ]);
/** What `ip route replace` would consider the same route (and so replace). */
const slotKey = (r: RouteJson) => JSON.stringify([r.dst, r.table ?? 'main', r.metric ?? 0]);
const ruleKey = (r: RuleJson) => JSON.stringify([r.priority, r.src, r.fwmark, r.table, r.protocol]);

export async function routingState(topo: Topology): Promise<RoutingState> {
  const routes = JSON.parse(
    (await topo.ip('pod', ['-4', '-j', 'route', 'show', 'table', 'all'])).stdout,
  ) as RouteJson[];
  const rules = JSON.parse((await topo.ip('pod', ['-4', '-j', 'rule', 'show'])).stdout) as RuleJson[];
  return { routes: routes.filter(managed), rules };
}

function routeWords(r: RouteJson): string[] {
  const words: string[] = [];
  if (r.type && r.type !== 'unicast') words.push(r.type);
  words.push(r.dst);
  if (r.gateway) words.push('via', r.gateway);
  if (r.dev) words.push('dev', r.dev);
  if (r.table && r.table !== 'main') words.push('table', r.table);
  return words;
}

/**
 * `ip -4 -batch` lines that take `before` to `after`: new routes that take no one's place first
 * (those without a gateway before those with one), then the deletions, then the routes that
 * replace a deleted one (the new default), then the new policy rules.
 */
export function routingBatch(before: RoutingState, after: RoutingState): string {
  const beforeKeys = new Set(before.routes.map(routeKey));
  const afterKeys = new Set(after.routes.map(routeKey));
  const added = after.routes.filter((r) => !beforeKeys.has(routeKey(r)));
  const removed = before.routes.filter((r) => !afterKeys.has(routeKey(r)));
  const freed = new Set(removed.map(slotKey));
  const byGateway = (a: RouteJson, b: RouteJson) => Number(Boolean(a.gateway)) - Number(Boolean(b.gateway));
  const add = (r: RouteJson) => {
    const words = ['route', 'replace', ...routeWords(r)];
    if (r.protocol) words.push('proto', r.protocol);
    if (r.scope && r.scope !== 'global') words.push('scope', r.scope);
    if (r.metric) words.push('metric', String(r.metric));
    return words.join(' ');
  };
  const lines = [
    ...added
      .filter((r) => !freed.has(slotKey(r)))
      .sort(byGateway)
      .map(add),
    ...removed.map((r) => ['route', 'delete', ...routeWords(r), 'metric', String(r.metric ?? 0)].join(' ')),
    ...added
      .filter((r) => freed.has(slotKey(r)))
      .sort(byGateway)
      .map(add),
  ];
  const oldRules = new Set(before.rules.map(ruleKey));
  for (const rule of after.rules.filter((r) => !oldRules.has(ruleKey(r)))) {
    const words = ['rule', 'add', 'priority', String(rule.priority)];
    if (rule.src && rule.src !== 'all') words.push('from', rule.src);
    if (rule.fwmark) words.push('fwmark', rule.fwmark);
    if (rule.table) words.push('lookup', rule.table);
    if (rule.protocol) words.push('protocol', rule.protocol);
    // Without it, a rule with no table would be `lookup main`, not the agent's record.
    if ('nop' in rule) words.push('nop');
    lines.push(words.join(' '));
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** What apply leaves behind, normalized: link, addresses, routes (all tables), rules, sysctls, ruleset. */
export async function endState(topo: Topology, sysctls: readonly string[]): Promise<string> {
  const links = JSON.parse((await topo.ip('pod', ['-j', '-d', 'link', 'show', 'net1'])).stdout) as Record<
    string,
    unknown
  >[];
  const link = links[0] ?? {};
  const info = (link.linkinfo ?? {}) as { info_kind?: string; info_data?: { mode?: string } };
  const addresses = (await topo.ip('pod', ['-4', '-o', 'addr', 'show'])).stdout
    .trim()
    .split('\n')
    .map((line) =>
      line
        .replace(/\\.*$/, '')
        .replace(/^\d+:\s+/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    );
  const routes = (await topo.ip('pod', ['-4', 'route', 'show', 'table', 'all'])).stdout.trim().split('\n');
  const rules = (await topo.ip('pod', ['-4', 'rule', 'show'])).stdout.trim().split('\n');
  const values: Record<string, string> = {};
  for (const key of sysctls) values[key] = (await topo.exec('pod', ['sysctl', '-n', key])).stdout.trim();
  const ruleset = (await topo.exec('pod', ['nft', 'list', 'ruleset'])).stdout.trim().split('\n');
  return JSON.stringify(
    {
      link: { kind: info.info_kind, mode: info.info_data?.mode, alias: link.ifalias, state: link.operstate },
      addresses,
      routes: routes.sort(),
      rules,
      sysctls: values,
      ruleset,
    },
    null,
    1,
  );
}

/**
 * A clean pod: the pod namespace replaced by a fresh one (its table flushed first, so the kernel
 * has nothing left to free in the background), then a moment for the kernel to finish freeing
 * the old namespace before anything is timed.
 */
export async function freshPod(topo: Topology): Promise<void> {
  await topo.resetPod(undefined, { flushNft: true });
  await sleep(200);
}
