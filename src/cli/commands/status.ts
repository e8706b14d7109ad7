import type { Condition } from '../../agent/conditions.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { healthAddrFrom, parseCommandArgs } from '../options.js';

export const STATUS_HELP = `Usage: egress-router-agent status [--health-addr HOST:PORT] [--json]

Asks a running agent (run mode) for its status and prints the conditions as a table
(TYPE, STATUS, REASON, AGE, MESSAGE) and a per-rule summary. --json prints the raw document.
Exit 0 when Available is True, 1 otherwise, 2 when the agent cannot be reached.
Run it where the agent's health address is reachable (inside the pod: kubectl exec, or
ip netns exec).

Options:
  --health-addr HOST:PORT    where the agent listens (default :9099, asked on 127.0.0.1)
  --json                     print the status document as JSON
  -h, --help                 this help

Example:
  egress-router-agent status
  ip netns exec router-pod egress-router-agent status --health-addr 127.0.0.1:9099 --json
`;

interface StatusRule {
  protocol: string;
  port: number;
  destinationIP: string;
  targetPort: number;
  family: number;
  connections: number;
}

interface StatusDocument {
  conditions?: Condition[];
  rules?: StatusRule[];
  config?: { fallback?: { address: string } } | null;
  lastApplyTime?: string | null;
  lastRepair?: { time: string } | null;
  version?: string;
}

/** kubectl-style age: 45s, 3m, 2h, 5d. */
export function age(from: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   '))
    .join('\n');
}

export function formatStatus(doc: StatusDocument, now: Date): string {
  const conditions = doc.conditions ?? [];
  const lines = [
    table([
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      ...conditions.map((c) => [c.type, c.status, c.reason, age(c.lastTransitionTime, now), c.message]),
    ]),
  ];
  const rules = doc.rules ?? [];
  if (rules.length > 0) {
    lines.push(
      '',
      table([
        ['PROTOCOL', 'PORT', 'DESTINATION', 'CONNECTIONS'],
        ...rules.map((r) => [
          r.protocol.toUpperCase(),
          String(r.port),
          r.family === 6 ? `[${r.destinationIP}]:${r.targetPort}` : `${r.destinationIP}:${r.targetPort}`,
          String(r.connections),
        ]),
      ]),
    );
  }
  if (doc.config?.fallback) lines.push('', `fallback: everything else -> ${doc.config.fallback.address}`);
  return `${lines.join('\n')}\n`;
}

function urlFor(host: string | undefined, port: number): string {
  const target = host === undefined || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return target.includes(':') ? `http://[${target}]:${port}/status` : `http://${target}:${port}/status`;
}

export async function statusCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    help: { type: 'boolean', short: 'h' },
    'health-addr': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(STATUS_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const addr = healthAddrFrom(values['health-addr']);
  const url = urlFor(addr.host, addr.port);
  let doc: StatusDocument;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    doc = (await response.json()) as StatusDocument;
  } catch (error) {
    io.err(
      `cannot reach the agent at ${url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}\n`,
    );
    return EXIT_INVALID;
  }
  io.out(values.json ? `${JSON.stringify(doc, null, 2)}\n` : formatStatus(doc, new Date()));
  const available = doc.conditions?.find((c) => c.type === 'Available');
  return available?.status === 'True' ? EXIT_OK : EXIT_FAILURE;
}
