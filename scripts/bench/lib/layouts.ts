/**
 * The rate suite's three layouts on the same topology (issue 12):
 * - `agent`: the agent's own table, as `apply` leaves it.
 * - `minimalNat`: the smallest NAT ruleset that does the same job. One map lookup, not one rule
 *   per port: a linear chain costs every new connection one rule per rule ahead of its match
 *   (docs/benchmarks.md, the per-rule figures), so at 10,000 rules it would be a strawman, not a
 *   floor. The map is keyed like the agent's (`meta l4proto . th dport`) and carries address and
 *   port in one value (a concatenated value is fine in nft text; the agent needs two maps only
 *   because it loads JSON). Plus one SNAT rule. No marks, MSS clamp, fallback, input or forward
 *   filter, counters or comments. The agent's routes (from `apply`) stay as they are.
 * - `plainForward`: no NAT at all: no table in the pod, so no conntrack there either; the client
 *   sends to the destination's own address, the node routes it to the pod, the pod forwards it
 *   out of net1, and dst1 routes its replies back through the pod (`plainForwardRoutes`).
 *
 * Switching loads one `nft -f` that deletes what was there and adds the new table in the same
 * transaction. The agent's table is put back from its own listing, taken once right after
 * `apply` (`agentTableText`): the same table to the kernel, loaded in a fraction of a second
 * instead of a new apply (15 s at 65,535 rules), so the layouts can alternate many times.
 */
import { writeFile } from 'node:fs/promises';
import { PLAN, type Topology } from '../../../src/netkit/index.js';
import type { Rule } from './config.js';
import { AGENT_TABLE } from './perRule.js';

export type Layout = 'agent' | 'minimalNat' | 'plainForward';
export const LAYOUTS: readonly Layout[] = ['agent', 'minimalNat', 'plainForward'];

export const MINIMAL_TABLE = 'egress_router_minimal';

/**
 * The agent's features a scratch variant of the minimal table can carry, to find what costs
 * (rate.ts's ablation: the agent-like table with every part, then without one part at a time).
 */
export interface MinimalParts {
  /** The per-packet mark chains: prerouting filter at -150 and the local-reply output chain. */
  readonly marks?: boolean;
  /** The forward filter: policy drop, established accept, DNAT'd flows from eth0 to net1 accept. */
  readonly forwardFilter?: boolean;
  /** The MSS clamp of forwarded SYNs (`tcp option maxseg size set rt mtu`). */
  readonly mssClamp?: boolean;
  /** A counter on the redirect map (the agent counts connections per rule). */
  readonly mapCounter?: boolean;
  /** The input filter (no-fallback rejects, LAN drop). */
  readonly inputFilter?: boolean;
  /** The agent's matches on the DNAT rule (`iifname`, `fib daddr type local`, the l4proto set). */
  readonly agentMatches?: boolean;
}

export const PART_NAMES: readonly (keyof MinimalParts)[] = [
  'marks',
  'forwardFilter',
  'mssClamp',
  'mapCounter',
  'inputFilter',
  'agentMatches',
];

/** nft text: delete `replace` (if any) and add the minimal table, in one transaction. */
export function minimalNatText(
  rules: readonly Rule[],
  options: { replace?: string; parts?: MinimalParts } = {},
): string {
  const parts = options.parts ?? {};
  const out: string[] = [];
  if (options.replace) out.push(`delete table inet ${options.replace}`);
  out.push(`table inet ${MINIMAL_TABLE} {`);
  out.push('\tmap redirect4 {');
  out.push('\t\ttype inet_proto . inet_service : ipv4_addr . inet_service');
  if (parts.mapCounter) out.push('\t\tcounter');
  const elements = rules.map(
    (rule) =>
      `${rule.protocol.toLowerCase()} . ${rule.port} : ${rule.destinationIP} . ${rule.targetPort ?? rule.port}`,
  );
  out.push(`\t\telements = { ${elements.join(',\n\t\t\t')} }`);
  out.push('\t}');
  if (parts.marks) {
    out.push('\tchain mark_from_cluster {');
    out.push('\t\ttype filter hook prerouting priority -150; policy accept;');
    out.push('\t\tiifname "eth0" ct state new ct mark set 17746');
    out.push('\t\tct direction reply ct mark 17746 meta mark set 17746');
    out.push('\t}');
    out.push('\tchain mark_local_replies {');
    out.push('\t\ttype route hook output priority -150; policy accept;');
    out.push('\t\tct direction reply ct mark 17746 meta mark set 17746');
    out.push('\t}');
  }
  out.push('\tchain prerouting {');
  out.push('\t\ttype nat hook prerouting priority -100; policy accept;');
  const matches = parts.agentMatches
    ? 'iifname "eth0" fib daddr type local meta nfproto ipv4 meta l4proto { tcp, udp, sctp }'
    : 'iif "eth0"';
  out.push(`\t\t${matches} dnat ip to meta l4proto . th dport map @redirect4`);
  out.push('\t}');
  out.push('\tchain postrouting {');
  out.push('\t\ttype nat hook postrouting priority 100; policy accept;');
  out.push(`\t\toif "net1" snat ip to ${PLAN.egress.v4[0]}`);
  out.push('\t}');
  if (parts.inputFilter) {
    out.push('\tchain input {');
    out.push('\t\ttype filter hook input priority 0; policy accept;');
    out.push('\t\tct state established,related accept');
    out.push('\t\tiifname "net1" meta l4proto { tcp, udp, sctp } drop');
    out.push('\t\tiifname "eth0" ip version 4 tcp dport != 9099 reject with tcp reset');
    out.push(
      '\t\tiifname "eth0" meta nfproto ipv4 meta l4proto { udp, sctp } reject with icmpx port-unreachable',
    );
    out.push('\t}');
  }
  if (parts.forwardFilter || parts.mssClamp) {
    out.push('\tchain forward {');
    out.push(`\t\ttype filter hook forward priority 0; policy ${parts.forwardFilter ? 'drop' : 'accept'};`);
    if (parts.mssClamp) out.push('\t\ttcp flags syn tcp option maxseg size set rt mtu');
    if (parts.forwardFilter) {
      out.push('\t\tct state established,related accept');
      out.push('\t\tiifname "eth0" oifname "net1" ct status dnat accept');
    }
    out.push('\t}');
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Loads an nft text file in the pod; returns the wall time of the load. */
export async function loadNft(topo: Topology, file: string, text: string): Promise<number> {
  await writeFile(file, text);
  const started = performance.now();
  await topo.exec('pod', ['nft', '-f', file], { timeoutMs: 300_000 });
  return performance.now() - started;
}

/** Which of the agent's and the minimal table the pod has now. */
export async function podTables(topo: Topology): Promise<string[]> {
  const listing = (await topo.exec('pod', ['nft', 'list', 'tables'])).stdout;
  return listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[2] ?? '')
    .filter((name) => name === AGENT_TABLE || name === MINIMAL_TABLE);
}

/** The agent's table as the kernel lists it: nft text that loads the same table again. */
export async function agentTableText(topo: Topology): Promise<string> {
  return (await topo.exec('pod', ['nft', 'list', 'table', 'inet', AGENT_TABLE], { timeoutMs: 120_000 }))
    .stdout;
}

/** `text` loaded in place of every table in `present`, in one transaction. */
export function replacing(present: readonly string[], text: string): string {
  return present.map((t) => `delete table inet ${t}\n`).join('') + text;
}

/** Deletes the named tables in one transaction (nothing when none). */
export async function deleteTables(topo: Topology, file: string, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  await loadNft(topo, file, tables.map((t) => `delete table inet ${t}\n`).join(''));
}

/**
 * The routes plain forwarding needs and the NAT layouts do not use: the node sends dst1's
 * address to the pod (a /32 over its connected LAN route), dst1 sends the client subnet back
 * through the pod's egress address. Returns the undo.
 */
export async function plainForwardRoutes(topo: Topology): Promise<() => Promise<void>> {
  const toDst = [`${PLAN.dst1.v4}/32`, 'via', PLAN.pod.v4];
  const back = [PLAN.cluster.v4, 'via', PLAN.egress.v4[0] ?? ''];
  await topo.exec('node', ['ip', 'route', 'replace', ...toDst]);
  await topo.exec('dst1', ['ip', 'route', 'replace', ...back]);
  return async () => {
    await topo.exec('node', ['ip', 'route', 'del', ...toDst], { reject: false });
    await topo.exec('dst1', ['ip', 'route', 'del', ...back], { reject: false });
  };
}
