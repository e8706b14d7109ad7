import { parsePrefix } from '../../config/ip.js';
import { formatIssue } from '../../config/issues.js';
import type { RouterConfig } from '../../config/model.js';
import { sysctlName } from '../../link/sysctl.js';
import { replaceTableBatch } from '../../nft/json.js';
import { tableText } from '../../nft/text.js';
import { describePlan } from '../../plan/describe.js';
import { planRouter, type RouterPlan } from '../../plan/routerPlan.js';
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

export function clusterCidrs(values: readonly string[]): string[] {
  return values.map((text) => {
    const parsed = parsePrefix(text);
    if (!parsed.ok || parsed.value.bare) {
      throw new UsageError(
        `--cluster-cidr: must be a CIDR such as 198.18.0.0/15, got ${JSON.stringify(text)}`,
      );
    }
    return `${parsed.value.address}/${parsed.value.prefixLength}`;
  });
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
  const result = await loadFromSource(
    configSourceFrom(positionals, values['from-env'] ?? false),
    options,
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
  if (values.format === 'json') {
    const readable = { ...plan, sysctls: plan.sysctls.map((s) => ({ ...s, key: sysctlName(s.key) })) };
    io.out(
      `${JSON.stringify({ ...replaceTableBatch(table), plan: readable, notes: config.notes }, null, 2)}\n`,
    );
    return EXIT_OK;
  }
  io.out(renderNft(config, { ...plan, table }));
  return EXIT_OK;
}

/** The plan as nft comments, then the table: a valid nft file. */
export function renderNft(config: RouterConfig, plan: RouterPlan): string {
  const comments = describePlan(config, plan).map((line) => `# ${line}`);
  return `${comments.join('\n')}\n\n${tableText(plan.table)}`;
}
