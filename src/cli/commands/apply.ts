import { describeAction } from '../../agent/actions.js';
import { ApplyFailure, apply, cleanup } from '../../agent/apply.js';
import type { ApplyOptions } from '../../agent/context.js';
import { formatIssue } from '../../config/issues.js';
import type { RouterConfig } from '../../config/model.js';
import { planRouter } from '../../plan/routerPlan.js';
import { type ConfigSource, configSourceFrom, loadFromSource } from '../configSource.js';
import { APPLY_FLAGS, CLEANUP_FLAGS, type FlagTable, flagHelp, parseFlags } from '../flags.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { agentOptionsFrom } from '../options.js';
import { clusterCidrs, renderNft } from './render.js';

export const APPLY_HELP = `Usage: egress-router-agent apply CONFIG|- [options]

Makes this network namespace (the router pod's) an egress router, verifies it, and exits:
the egress interface (adopted if present, else a macvlan created on the master, moved in and
renamed), its addresses (IPv6 after DAD; announced on the LAN), forwarding sysctls, routes
(default via the gateway on the egress interface), and the nftables table in one transaction.
Running it again with the same config changes nothing; with a changed config it converges.
Exit 0 when everything is in place and verified; 1 on failure (what this run changed is undone);
2 for an invalid config (nothing is touched).

Options:
${flagHelp(APPLY_FLAGS)}

Example:
  ip netns exec router-pod egress-router-agent apply examples/egressrouter.yaml \\
      --master-netns /run/netns/node --cluster-cidr 198.18.0.0/15
`;

export const CLEANUP_HELP = `Usage: egress-router-agent cleanup CONFIG|- [options]

Removes what apply set up: the nftables table, the routes it added (the previous default
route is restored), the config's addresses, and the egress interface if the agent created it
(an adopted interface stays). Safe to run twice.

Options:
${flagHelp(CLEANUP_FLAGS)}

Example:
  ip netns exec router-pod egress-router-agent cleanup examples/egressrouter.yaml
`;

export interface SystemCommandInput {
  readonly config: RouterConfig;
  readonly options: ApplyOptions;
}

/** The flags shared by apply, cleanup and run, as options and a config source. */
export function systemOptionsFrom(
  values: Record<string, unknown>,
  positionals: readonly string[],
): { options: ApplyOptions; source: ConfigSource } {
  const agentOptions = agentOptionsFrom(values as Parameters<typeof agentOptionsFrom>[0]);
  const options: ApplyOptions = {
    ...agentOptions,
    clusterCidrs: clusterCidrs(values['cluster-cidr'] as string[]),
    ...(values['master-netns'] ? { masterNetns: values['master-netns'] as string } : {}),
    ...(values['flush-tcp-on-change'] ? { flushTcpOnChange: true } : {}),
  };
  return { options, source: configSourceFrom(positionals, Boolean(values['from-env'])) };
}

/** Parses the flags shared by apply, cleanup and run, and loads the config. Undefined: already answered. */
export async function prepareSystemCommand(
  argv: readonly string[],
  io: Io,
  help: string,
  table: FlagTable,
): Promise<{ input?: SystemCommandInput; exit?: number; values: Record<string, unknown> }> {
  const { values, positionals } = parseFlags(argv, table) as {
    values: Record<string, unknown>;
    positionals: string[];
  };
  if (values.help) {
    io.out(help);
    return { exit: EXIT_OK, values };
  }
  const { options, source } = systemOptionsFrom(values, positionals);
  const result = await loadFromSource(source, options, io);
  if (!result.ok) {
    io.err(
      `invalid config in ${result.origin}; nothing was changed:\n${result.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
    );
    return { exit: EXIT_INVALID, values };
  }
  return { input: { config: result.config, options }, values };
}

/** Prints what apply would do without doing it (the 3.x unit-test mode, and --dry-run's plan). */
export function printPlan(io: Io, config: RouterConfig, options: ApplyOptions, heading: string): void {
  io.out(heading);
  io.out(renderNft(config, planRouter(config, options)));
}

export async function applyCommand(argv: readonly string[], io: Io): Promise<number> {
  const prepared = await prepareSystemCommand(argv, io, APPLY_HELP, APPLY_FLAGS);
  if (!prepared.input) return prepared.exit ?? EXIT_FAILURE;
  const { config, options } = prepared.input;
  const ha = prepared.values.ha as string | undefined;
  if (ha !== undefined && ha !== 'vrrp')
    throw new UsageError(`--ha: the only mode is vrrp, got ${JSON.stringify(ha)}`);
  if (config.legacyMode === 'unit-test') {
    printPlan(io, config, options, '# EGRESS_ROUTER_MODE=unit-test: the plan only; nothing is changed\n');
    return EXIT_OK;
  }
  const dryRun = Boolean(prepared.values['dry-run']);
  // Under HA the addresses follow the VRRP role, which only `run` holds: apply sets up the rest.
  const state = ha ? { holdAddresses: false, ha: true } : {};
  try {
    const result = await apply(
      config,
      options,
      { log: (change) => io.out(`changed: ${change.message}\n`), dryRun },
      state,
    );
    if (dryRun) {
      io.out(
        result.actions.length === 0
          ? 'dry run: already in place, nothing to do\n'
          : `${result.actions.map((a) => `would ${describeAction(a)}`).join('\n')}\ndry run: ${result.changes.length} change(s) to make; nothing was changed\n`,
      );
      return EXIT_OK;
    }
    for (const note of result.notes) io.out(`${note}\n`);
    for (const warning of result.warnings) io.err(`warning: ${warning}\n`);
    for (const finding of result.findings) io.err(`degraded (${finding.reason}): ${finding.message}\n`);
    const blocked = result.findings.find((f) => f.blocksTraffic);
    if (blocked) {
      io.out(`applied, but no traffic can pass: ${blocked.reason}\n`);
      return EXIT_FAILURE;
    }
    const verdict = result.findings.length > 0 ? 'applied, but not as configured' : 'applied';
    io.out(
      result.changes.length === 0
        ? `${verdict}: already in place, nothing changed\n`
        : `${verdict}: ${result.changes.length} change(s), verified\n`,
    );
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof ApplyFailure)) throw error;
    const { failure } = error;
    io.err(
      `apply failed at step ${failure.step} (${failure.reason}) on ${failure.object}: ${failure.detail}\n`,
    );
    io.err(
      error.undone.length > 0
        ? `rolled back ${error.undone.length} change(s) made by this run\n`
        : 'nothing had been changed\n',
    );
    for (const problem of error.undoFailures) io.err(`rollback problem: ${problem}\n`);
    return EXIT_FAILURE;
  }
}

export async function cleanupCommand(argv: readonly string[], io: Io): Promise<number> {
  const prepared = await prepareSystemCommand(argv, io, CLEANUP_HELP, CLEANUP_FLAGS);
  if (!prepared.input) return prepared.exit ?? EXIT_FAILURE;
  const { config, options } = prepared.input;
  try {
    const result = await cleanup(config, options, {
      log: (change) => io.out(`changed: ${change.message}\n`),
    });
    for (const failure of result.failures) io.err(`cleanup problem: ${failure}\n`);
    io.out(
      result.changes.length === 0
        ? 'cleanup: nothing to remove\n'
        : `cleanup: ${result.changes.length} change(s)\n`,
    );
    return result.failures.length > 0 ? EXIT_FAILURE : EXIT_OK;
  } catch (error) {
    io.err(`cleanup failed: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
}
