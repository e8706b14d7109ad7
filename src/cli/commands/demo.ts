import { createDemo } from '../../demo/demo.js';
import { DEFAULT_PREFIX } from '../../demo/network.js';
import { DEMO_FLAGS, flagHelp } from '../flags.js';
import { EXIT_FAILURE, EXIT_OK, type Io, RuntimeFailure, UsageError } from '../io.js';
import { parseCommandArgs } from '../options.js';
import { outputFormat, render } from '../output.js';

export const DEMO_HELP = `Usage: egress-router-agent demo [--keep | --teardown] [options]

Builds a small virtual network in network namespaces (erdemo-*: a client, a node holding the
macvlan master, the router pod, a LAN with two destination hosts and a gateway, a host beyond
it), runs the agent in run mode with the bundled EgressRouter example, and shows a TCP request
and a UDP datagram going through the router, what the destinations saw (the egress source
address), a port that goes to the fallback, the status table and a few metrics. Everything is
torn down at the end or on Ctrl-C; leftovers of an interrupted run are removed first.
Needs root (namespaces, nft). Touches nothing outside the erdemo-* namespaces.
  -o text, wide   the running commentary on stdout
  -o json, yaml   the commentary on stderr, then {ok, kept, prefix, transcript} on stdout
Exit 0 when every request went where the rules say, from the egress address.

Options:
${flagHelp(DEMO_FLAGS)}

Example (as root):
  egress-router-agent demo
  egress-router-agent demo --keep
`;

export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, DEMO_FLAGS);
  if (values.help) {
    io.out(DEMO_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.keep && values.teardown) throw new UsageError('--keep and --teardown do not go together');
  const format = outputFormat(values.output);
  const structured = format === 'json' || format === 'yaml';
  // With -o json|yaml, stdout holds only the document; the commentary goes to stderr.
  const transcript: string[] = [];
  const out = {
    line: (text = '') => {
      transcript.push(text);
      (structured ? io.err : io.out)(`${text}\n`);
    },
  };
  const prefix = values.prefix ?? DEFAULT_PREFIX;
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
    const kept = Boolean(values.keep);
    const ok = await demo.run(kept);
    if (structured) {
      const document = { ok, kept, prefix, transcript };
      io.out(await render(format, { document: () => document, text: () => '' }));
    }
    return ok ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    await demo.teardown();
    throw new RuntimeFailure((error as Error).message);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}
