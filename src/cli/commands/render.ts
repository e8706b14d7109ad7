import { parseClusterCidrs } from '../../config/clusterCidrs.js';
import { formatIssue } from '../../config/issues.js';
import type { RouterConfig } from '../../config/model.js';
import { replaceTableBatch } from '../../nft/json.js';
import type { NftTable } from '../../nft/model.js';
import { tableText } from '../../nft/text.js';
import { describePlan } from '../../plan/describe.js';
import { type InterfacePlan, planInterface } from '../../plan/interfacePlan.js';
import { planRuleset } from '../../plan/ruleset.js';
import { configSourceFrom, loadFromSource } from '../configSource.js';
import { EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { agentOptionsFrom, CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, parseCommandArgs } from '../options.js';

export const RENDER_HELP = `Usage: egress-router-agent render CONFIG|- [options]

Prints what apply would do, without doing it: the interface plan (link, addresses, routes,
sysctls) and the nftables table.
  --format nft   readable nft syntax; the plan appears as comments, so the output is a valid nft file
  --format json  the exact batch the agent hands to "nft -j -f" (extra keys "plan" and "notes"
                 are ignored by nft)

Options:
  --format nft|json          (default nft)
  --cluster-cidr CIDR        a cluster/service range kept on the cluster interface (repeatable)
${CONFIG_OPTIONS_HELP}

Example:
  egress-router-agent render examples/egressrouter.yaml
  egress-router-agent render examples/egressrouter.yaml --format json > batch.json && nft -c -j -f batch.json
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

export async function renderCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...CONFIG_OPTIONS,
    format: { type: 'string', default: 'nft' },
    'cluster-cidr': { type: 'string', multiple: true, default: [] },
  });
  if (values.help) {
    io.out(RENDER_HELP);
    return EXIT_OK;
  }
  if (values.format !== 'nft' && values.format !== 'json')
    throw new UsageError('--format must be nft or json');
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
  const plan = planInterface(config, { ...options, clusterCidrs: cidrs });
  const table = planRuleset(config, options);
  if (values.format === 'json') {
    io.out(`${JSON.stringify({ ...replaceTableBatch(table), plan, notes: config.notes }, null, 2)}\n`);
    return EXIT_OK;
  }
  io.out(renderNft(config, plan, table));
  return EXIT_OK;
}

/** The plan as nft comments, then the table: a valid nft file. */
export function renderNft(config: RouterConfig, plan: InterfacePlan, table: NftTable): string {
  const comments = describePlan(config, plan).map((line) => `# ${line}`);
  return `${comments.join('\n')}\n\n${tableText(table)}`;
}
