import { createDemo } from '../../demo/demo.js';
import { DEFAULT_PREFIX } from '../../demo/network.js';
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
  --prefix P   namespace name prefix (default erdemo-; tests use their own)
  -h, --help   this help

Example (as root):
  egress-router-agent demo
  egress-router-agent demo --keep
`;

export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    help: { type: 'boolean', short: 'h' },
    keep: { type: 'boolean' },
    teardown: { type: 'boolean' },
    prefix: { type: 'string', default: DEFAULT_PREFIX },
  });
  if (values.help) {
    io.out(DEMO_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.keep && values.teardown) throw new UsageError('--keep and --teardown do not go together');
  const out = { line: (text = '') => io.out(`${text}\n`) };
  const prefix = values.prefix;
  if (!/^[a-z][a-z0-9]{0,6}-$/.test(prefix)) {
    throw new UsageError(
      '--prefix must be a short lowercase name ending in "-" (at most 8 characters, e.g. erdemo-)',
    );
  }
  const demo = createDemo(out, prefix);
  if (process.getuid?.() !== 0)
    throw new RuntimeFailure('the demo needs root (network namespaces and nftables)');
  if (values.teardown) {
    await demo.teardown();
    return EXIT_OK;
  }
  const interrupted = () => {
    void demo.teardown().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    return (await demo.run(Boolean(values.keep))) ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    await demo.teardown();
    throw new RuntimeFailure((error as Error).message);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}
