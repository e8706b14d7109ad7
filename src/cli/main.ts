/** Picks the command and maps outcomes to exit codes. No logic of its own. */

import { version } from '../version.js';
import { COMMANDS, PROGRAM } from './commandTable.js';
import { didYouMean } from './didYouMean.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type Io, RuntimeFailure, UsageError } from './io.js';

const GLOBAL_FLAGS = ['--help', '-h', '--version', '-V'];

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: ${PROGRAM} COMMAND [options]

The in-pod data plane of an EgressRouter (network.operator.openshift.io/v1).

Commands:
${lines.join('\n')}

Run "${PROGRAM} COMMAND --help" (or "${PROGRAM} help COMMAND") for a command's options and an example.
Commands that print a result take -o/--output text|json|yaml|wide.
  --version   print the version
  --help      this help

Example:
  ${PROGRAM} render examples/egressrouter.yaml
  source <(${PROGRAM} completion bash)
`;
}

function unknownCommand(name: string, io: Io): number {
  const candidates = name.startsWith('-') ? GLOBAL_FLAGS : Object.keys(COMMANDS);
  const what = name.startsWith('-') ? 'option' : 'command';
  io.err(`${PROGRAM}: unknown ${what} ${JSON.stringify(name)}${didYouMean(name, candidates)}; see --help\n`);
  return EXIT_INVALID;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    io.out(mainHelp());
    return first === undefined ? EXIT_INVALID : EXIT_OK;
  }
  if (first === 'help') {
    // `help COMMAND` is `COMMAND --help`.
    if (rest[0] !== undefined) return main([rest[0], '--help'], io);
    io.out(mainHelp());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    io.out(`${version()}\n`);
    return EXIT_OK;
  }
  const name = first;
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return unknownCommand(name, io);
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${PROGRAM} ${name}: ${error.message}; see "${PROGRAM} ${name} --help"\n`);
      return EXIT_INVALID;
    }
    if (error instanceof RuntimeFailure) {
      io.err(`${PROGRAM} ${name}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    io.err(`${PROGRAM} ${name}: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
