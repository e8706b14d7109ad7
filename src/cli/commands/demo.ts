import { runDemo, teardown } from '../../demo/demo.js';
import { EXIT_FAILURE, EXIT_OK, type Io, RuntimeFailure, UsageError } from '../io.js';
import { parseCommandArgs } from '../options.js';

export const DEMO_HELP = `Usage: egress-router-agent demo [--keep | --teardown]

Builds a small virtual network in network namespaces (erdemo-*: a client, a node holding the
macvlan master, the router pod, a LAN with two destination hosts and a gateway, a host beyond
it), runs the agent in run mode with the bundled EgressRouter example, and shows a TCP request
and a UDP datagram going through the router, what the destinations saw (the egress source
address), a port that goes to the fallback, the status table and a few metrics. Everything is
torn down at the end or on Ctrl-C; leftovers of an interrupted run are removed first.
Needs root (namespaces, nft). Touches nothing outside the erdemo-* namespaces.

Options:
  --keep       leave it running and print commands to try (edit the config, watch the reload)
  --teardown   remove a demo left running by --keep
  -h, --help   this help

Example:
  sudo egress-router-agent demo
  sudo egress-router-agent demo --keep
`;

export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    help: { type: 'boolean', short: 'h' },
    keep: { type: 'boolean' },
    teardown: { type: 'boolean' },
  });
  if (values.help) {
    io.out(DEMO_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.keep && values.teardown) throw new UsageError('--keep and --teardown do not go together');
  const out = { line: (text = '') => io.out(`${text}\n`) };
  if (process.getuid?.() !== 0)
    throw new RuntimeFailure('the demo needs root (network namespaces and nftables)');
  if (values.teardown) {
    await teardown(out);
    return EXIT_OK;
  }
  const interrupted = () => {
    void teardown(out).finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    return (await runDemo(out, Boolean(values.keep))) ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    await teardown(out);
    throw new RuntimeFailure((error as Error).message);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}
