/** Picks the command and maps outcomes to exit codes. No logic of its own. */

import { version } from '../version.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type Io, RuntimeFailure, UsageError } from './io.js';

type Command = (argv: readonly string[], io: Io) => Promise<number>;

/**
 * Each command's module is loaded only when that command runs: `apply` in an init container
 * starts faster, and `run` keeps no render, demo or status code resident.
 */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  validate: {
    load: async () => (await import('./commands/validate.js')).validateCommand,
    summary: 'check a config completely; change nothing',
  },
  render: {
    load: async () => (await import('./commands/render.js')).renderCommand,
    summary: 'print the interface plan and the nftables ruleset',
  },
  apply: {
    load: async () => (await import('./commands/apply.js')).applyCommand,
    summary: 'make this namespace an egress router, verify it, exit',
  },
  cleanup: {
    load: async () => (await import('./commands/apply.js')).cleanupCommand,
    summary: 'remove what apply set up',
  },
  run: {
    load: async () => (await import('./commands/run.js')).runCommand,
    summary: 'apply, then keep it true: reload, repair drift, serve health and status',
  },
  demo: {
    load: async () => (await import('./commands/demo.js')).demoCommand,
    summary: 'see it work: a virtual network, the agent, traffic through it',
  },
  status: {
    load: async () => (await import('./commands/status.js')).statusCommand,
    summary: "show a running agent's conditions and per-rule connections",
  },
  manifests: {
    load: async () => (await import('./commands/manifests.js')).manifestsCommand,
    summary: 'print the Kubernetes objects that run a router (kubectl apply -f -)',
  },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: egress-router-agent COMMAND [options]

The in-pod data plane of an EgressRouter (network.operator.openshift.io/v1).

Commands:
${lines.join('\n')}

Run "egress-router-agent COMMAND --help" for a command's options and an example.
  --version   print the version
  --help      this help

Example:
  egress-router-agent render examples/egressrouter.yaml
`;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name === undefined ? EXIT_INVALID : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.out(`${version()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`egress-router-agent: unknown command ${JSON.stringify(name)}; see --help\n`);
    return EXIT_INVALID;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`egress-router-agent ${name}: ${error.message}; see "egress-router-agent ${name} --help"\n`);
      return EXIT_INVALID;
    }
    if (error instanceof RuntimeFailure) {
      io.err(`egress-router-agent ${name}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    io.err(`egress-router-agent ${name}: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
