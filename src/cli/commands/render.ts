import { parseClusterCidrs } from '../../config/clusterCidrs.js';
import { formatIssue } from '../../config/issues.js';
import type { RouterConfig } from '../../config/model.js';
import { sysctlName } from '../../link/sysctl.js';
import { replaceTableBatch } from '../../nft/json.js';
import { tableText } from '../../nft/text.js';
import { describePlan } from '../../plan/describe.js';
import { planRouter, type RouterPlan } from '../../plan/routerPlan.js';
import { configSourceFrom, loadFromSource } from '../configSource.js';
import { deprecationWarnings, flagHelp, oneOf, RENDER_FLAGS } from '../flags.js';
import { EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { agentOptionsFrom, parseCommandArgs } from '../options.js';
import { outputFormat, render } from '../output.js';

export const RENDER_HELP = `Usage: egress-router-agent render CONFIG|- [options]

Prints what apply would do, without doing it: the interface plan (link, addresses, routes,
sysctls) and the nftables table.
  -o text   readable nft syntax; the plan appears as comments, so the output is a valid nft file
            (wide prints the same: the file already holds everything)
  -o json   the exact batch the agent hands to "nft -j -f" (extra keys "plan" and "notes"
            are ignored by nft)
  -o yaml   the same document as YAML, for reading
(--format nft|json, the old spelling of -o text|json, still works and warns.)

Options:
${flagHelp(RENDER_FLAGS)}

Example:
  egress-router-agent render examples/egressrouter.yaml
  egress-router-agent render examples/egressrouter.yaml -o json > batch.json && nft -c -j -f batch.json
`;

/**
 * The `--cluster-cidr` values, each a CIDR with no host bits that leaves the default route alone
 * (src/config/clusterCidrs.ts). Checks against the config come with validation, which gets them
 * through the options.
 */
export function clusterCidrs(values: readonly string[]): string[] {
  const parsed = parseClusterCidrs(values);
  if (!parsed.ok) throw new UsageError(parsed.error);
  return parsed.cidrs;
}

/** -o, or the deprecated --format (nft is text); both at once is a mistake. */
function renderFormat(output: string | undefined, legacy: string | undefined) {
  if (legacy === undefined) return outputFormat(output);
  if (output !== undefined) throw new UsageError('give -o/--output or the deprecated --format, not both');
  return oneOf('--format', legacy, ['nft', 'json']) === 'nft' ? 'text' : 'json';
}

export async function renderCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, RENDER_FLAGS);
  if (values.help) {
    io.out(RENDER_HELP);
    return EXIT_OK;
  }
  const format = renderFormat(values.output, values.format);
  for (const warning of deprecationWarnings(RENDER_FLAGS, values)) io.err(`warning: ${warning}\n`);
  const options = agentOptionsFrom(values);
  const cidrs = clusterCidrs(values['cluster-cidr']);
  // Validation checks the cluster CIDRs against the config (overlaps, destinations inside them).
  const result = await loadFromSource(
    configSourceFrom(positionals, values['from-env'] ?? false),
    { ...options, clusterCidrs: cidrs },
    io,
  );
  if (!result.ok) {
    io.err(
      `invalid config in ${result.origin}:\n${result.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
    );
    return EXIT_INVALID;
  }
  const config = result.config;
  const { table, ...plan } = planRouter(config, { ...options, clusterCidrs: cidrs });
  const readable = { ...plan, sysctls: plan.sysctls.map((s) => ({ ...s, key: sysctlName(s.key) })) };
  io.out(
    await render(format, {
      document: () => ({ ...replaceTableBatch(table), plan: readable, notes: config.notes }),
      text: () => renderNft(config, { ...plan, table }),
    }),
  );
  return EXIT_OK;
}

/** The plan as nft comments, then the table: a valid nft file. */
export function renderNft(config: RouterConfig, plan: RouterPlan): string {
  const comments = describePlan(config, plan).map((line) => `# ${line}`);
  return `${comments.join('\n')}\n\n${tableText(plan.table)}`;
}
