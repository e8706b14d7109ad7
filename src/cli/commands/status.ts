import type { Condition } from '../../agent/conditions.js';
import type { RuleSummary } from '../../agent/status/document.js';
import type { ConfigSummary, GatewayStatus } from '../../agent/status/snapshot.js';
import { deprecationWarnings, flagHelp, STATUS_FLAGS } from '../flags.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { healthAddrFrom, parseCommandArgs } from '../options.js';
import { age, outputFormat, render, table } from '../output.js';
import { fetchStatus } from '../statusFetch.js';

export const STATUS_HELP = `Usage: egress-router-agent status [options]

Asks a running agent (run mode) for its status (GET /status).
  -o text   the conditions as a table (TYPE, STATUS, REASON, AGE, MESSAGE) and the per-rule connections
  -o wide   the same with the transition times, the rules' families, then the interface, the
            gateways, the last apply and repair, and the agent's version
  -o json   the status document as the agent serves it; -o yaml the same as YAML
Exit 0 when Available is True, 1 otherwise (also when the agent answers with an error, or
not within 30 s once connected: slow is not unreachable), 2 when it cannot be reached
(no connection within 3 s).
Run it where the agent's health address is reachable (inside the pod: kubectl exec, or
ip netns exec).

Options:
${flagHelp(STATUS_FLAGS)}

Example:
  egress-router-agent status
  ip netns exec router-pod egress-router-agent status --health-addr 127.0.0.1:9099 -o json
`;

interface StatusRule {
  protocol: string;
  port: number;
  destinationIP: string;
  targetPort: number;
  family: number;
  connections: number;
}

/** The parts of GET /status this command prints (the agent's own types where they exist, so a change there fails the build here). */
interface StatusDocument {
  conditions?: Condition[];
  rules?: StatusRule[];
  ruleSummary?: RuleSummary;
  config?: Pick<ConfigSummary, 'fallback'> | null;
  interface?: {
    name: string;
    createdByAgent: boolean | null;
    master: string | null;
    addresses: string[];
  } | null;
  gateways?: readonly GatewayStatus[];
  lastApplyTime?: string | null;
  lastRepair?: { time: string; changes?: { message: string }[] } | null;
  configIssues?: string[];
  version?: string;
}

function destination(rule: StatusRule): string {
  return rule.family === 6
    ? `[${rule.destinationIP}]:${rule.targetPort}`
    : `${rule.destinationIP}:${rule.targetPort}`;
}

function conditionsTable(doc: StatusDocument, now: Date, wide: boolean): string {
  const conditions = doc.conditions ?? [];
  const header = ['TYPE', 'STATUS', 'REASON', 'AGE', ...(wide ? ['LAST TRANSITION'] : []), 'MESSAGE'];
  return table([
    header,
    ...conditions.map((c) => [
      c.type,
      c.status,
      c.reason,
      age(c.lastTransitionTime, now),
      ...(wide ? [c.lastTransitionTime] : []),
      c.message,
    ]),
  ]);
}

function rulesTable(rules: readonly StatusRule[], wide: boolean): string {
  return table([
    ['PROTOCOL', 'PORT', ...(wide ? ['FAMILY'] : []), 'DESTINATION', 'CONNECTIONS'],
    ...rules.map((r) => [
      r.protocol.toUpperCase(),
      String(r.port),
      ...(wide ? [`IPv${r.family}`] : []),
      destination(r),
      String(r.connections),
    ]),
  ]);
}

/** What only -o wide shows: where the router stands beyond its conditions. */
function details(doc: StatusDocument): string[] {
  const lines: string[] = [];
  const link = doc.interface;
  if (link) {
    const origin =
      link.createdByAgent === null ? '' : link.createdByAgent ? ', created by the agent' : ', adopted';
    const master = link.master ? ` on ${link.master}` : '';
    lines.push(`interface: ${link.name}${master}${origin}: ${link.addresses.join(' ') || 'no addresses'}`);
  }
  for (const g of doc.gateways ?? []) {
    lines.push(
      `gateway: ${g.gateway} (IPv${g.family}) ${g.reachable ? 'reachable' : 'unreachable'}: ${g.state}`,
    );
  }
  lines.push(`last apply: ${doc.lastApplyTime ?? 'never'}`);
  if (doc.lastRepair) {
    const what = doc.lastRepair.changes?.length
      ? `: ${doc.lastRepair.changes.map((c) => c.message).join('; ')}`
      : '';
    lines.push(`last drift repair: ${doc.lastRepair.time}${what}`);
  }
  for (const issue of doc.configIssues ?? []) lines.push(`config issue: ${issue}`);
  if (doc.version) lines.push(`agent version: ${doc.version}`);
  return lines;
}

/** "rules 1-1000 of 65534 (protocol, port order); more: --offset 1000" */
function summaryLine(summary: RuleSummary): string {
  const { shown, matched, total, offset } = summary;
  const which = matched === total ? `${total}` : `${matched} matching (${total} in all)`;
  const range = shown === 0 ? 'no rules' : `rules ${offset + 1}-${offset + shown}`;
  const top = summary.order === 'connections, most first';
  const more = summary.more ? (top ? '; all of them: --all' : `; next page: --offset ${offset + shown}`) : '';
  return `${range} of ${which}, ${top ? 'most connections first' : 'in protocol, port order'}${more}`;
}

export function formatStatus(doc: StatusDocument, now: Date, wide = false): string {
  const lines = [conditionsTable(doc, now, wide)];
  const rules = doc.rules ?? [];
  if (rules.length > 0) lines.push('', rulesTable(rules, wide));
  if (doc.ruleSummary && doc.ruleSummary.total > 0) lines.push(summaryLine(doc.ruleSummary));
  if (doc.config?.fallback) lines.push('', `fallback: everything else -> ${doc.config.fallback}`);
  if (wide) lines.push('', ...details(doc));
  return `${lines.join('\n')}\n`;
}

function urlFor(host: string | undefined, port: number, query: URLSearchParams): string {
  const target = host === undefined || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const search = query.size > 0 ? `?${query}` : '';
  return target.includes(':')
    ? `http://[${target}]:${port}/status${search}`
    : `http://${target}:${port}/status${search}`;
}

function wholeNumber(text: string | undefined, flag: string, max: number): string | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > max)
    throw new UsageError(`${flag} must be a whole number up to ${max}, got ${JSON.stringify(text)}`);
  return String(Number(text));
}

/** The /status query the paging and filter flags ask for. */
export function statusQuery(values: {
  all?: boolean;
  offset?: string;
  limit?: string;
  protocol?: string;
  port?: string;
}): URLSearchParams {
  const query = new URLSearchParams();
  const offset = wholeNumber(values.offset, '--offset', Number.MAX_SAFE_INTEGER);
  const limit = wholeNumber(values.limit, '--limit', 1_000);
  if ((offset !== undefined || limit !== undefined) && !values.all)
    throw new UsageError('--offset and --limit page through --all');
  if (values.all) query.set('rules', 'all');
  if (offset !== undefined) query.set('offset', offset);
  if (limit !== undefined) query.set('limit', limit);
  if (values.protocol !== undefined) {
    const protocol = values.protocol.toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(protocol))
      throw new UsageError(`--protocol must be tcp, udp or sctp, got ${JSON.stringify(values.protocol)}`);
    query.set('protocol', protocol);
  }
  const port = wholeNumber(values.port, '--port', 65_535);
  if (port !== undefined) query.set('port', port);
  return query;
}

/** -o, or the deprecated --json; both at once is a mistake. */
function statusFormat(output: string | undefined, json: boolean | undefined) {
  if (!json) return outputFormat(output);
  if (output !== undefined) throw new UsageError('give -o/--output or the deprecated --json, not both');
  return 'json';
}

export async function statusCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, STATUS_FLAGS);
  if (values.help) {
    io.out(STATUS_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const format = statusFormat(values.output, values.json);
  for (const warning of deprecationWarnings(STATUS_FLAGS, values)) io.err(`warning: ${warning}\n`);
  const addr = healthAddrFrom(values['health-addr']);
  const url = urlFor(addr.host, addr.port, statusQuery(values));
  const answer = await fetchStatus(url);
  if (answer.kind === 'unreachable') {
    io.err(`cannot reach the agent at ${url}: ${answer.message}\n`);
    return EXIT_INVALID;
  }
  if (answer.kind !== 'ok') {
    io.err(`the agent at ${url} did not give its status: ${answer.message}\n`);
    return EXIT_FAILURE;
  }
  let doc: StatusDocument;
  try {
    doc = JSON.parse(answer.body) as StatusDocument;
  } catch {
    io.err(`the agent at ${url} answered something that is not a status document\n`);
    return EXIT_FAILURE;
  }
  const now = new Date();
  io.out(
    await render(format, {
      document: () => doc,
      text: () => formatStatus(doc, now),
      wide: () => formatStatus(doc, now, true),
    }),
  );
  const available = doc.conditions?.find((c) => c.type === 'Available');
  return available?.status === 'True' ? EXIT_OK : EXIT_FAILURE;
}
