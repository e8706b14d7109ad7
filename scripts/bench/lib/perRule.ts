/**
 * The comparison layout: one DNAT rule per port in a nat prerouting chain, as the existing CNI
 * plugin generates (`iif eth0 tcp dport N dnat to X`), loaded by the bench with one `nft -f`.
 * Everything else (SNAT, the input and forward filters) is copied verbatim from the agent's own
 * table as the kernel lists it, so only the dispatch differs.
 */
import { writeFile } from 'node:fs/promises';
import { AGENT_TABLE as AGENT_TABLE_ID, type Topology } from '../../../src/netkit/index.js';
import type { Rule } from './config.js';

export const AGENT_TABLE = AGENT_TABLE_ID[1];
export const PER_RULE_TABLE = 'egress_router_cni';

/** `chain NAME { … }` out of `nft list chain` output (the lines inside the table block). */
function chainBlock(listing: string, name: string): string {
  const lines = listing.split('\n');
  const start = lines.findIndex((line) => line.trim() === `chain ${name} {`);
  if (start < 0) throw new Error(`chain ${name} not found in: ${listing}`);
  const indent = (lines[start] ?? '').length - (lines[start] ?? '').trimStart().length;
  const block: string[] = [];
  for (let i = start; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    block.push(`\t${line.slice(indent)}`);
    if (i > start && line.trim() === '}' && line.length - line.trimStart().length === indent) break;
  }
  return block.join('\n');
}

/** The agent's SNAT and filter chains as the kernel has them, ready to paste into another table. */
export async function agentSideChains(topo: Topology): Promise<string[]> {
  const chains: string[] = [];
  for (const name of ['postrouting', 'input', 'forward']) {
    const listing = (await topo.exec('pod', ['nft', 'list', 'chain', 'inet', AGENT_TABLE, name])).stdout;
    chains.push(chainBlock(listing, name));
  }
  return chains;
}

/** nft text for the per-rule table; the batch first removes the agent's table (one transaction). */
export function perRuleText(
  rules: readonly Rule[],
  sideChains: readonly string[],
  clusterIf = 'eth0',
): string {
  const out: string[] = [];
  out.push(`delete table inet ${AGENT_TABLE}`);
  out.push(`table inet ${PER_RULE_TABLE} {`);
  out.push('\tchain prerouting {');
  out.push('\t\ttype nat hook prerouting priority dstnat; policy accept;');
  for (const rule of rules) {
    const target = `${rule.destinationIP}:${rule.targetPort ?? rule.port}`;
    out.push(`\t\tiif "${clusterIf}" ${rule.protocol.toLowerCase()} dport ${rule.port} dnat ip to ${target}`);
  }
  out.push('\t}');
  out.push(...sideChains);
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Replaces the agent's table with the per-rule one (one `nft -f`); returns the load time. */
export async function loadPerRule(topo: Topology, file: string, text: string): Promise<number> {
  await writeFile(file, text);
  const started = performance.now();
  await topo.exec('pod', ['nft', '-f', file], { timeoutMs: 300_000 });
  return performance.now() - started;
}

export async function deletePerRule(topo: Topology): Promise<void> {
  await topo.exec('pod', ['nft', 'delete', 'table', 'inet', PER_RULE_TABLE], { timeoutMs: 120_000 });
}
