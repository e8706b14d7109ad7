import { COMMANDS, PROGRAM } from '../commandTable.js';
import { bashCompletion, zshCompletion } from '../completion.js';
import { COMPLETION_FLAGS, flagHelp, oneOf, SHELLS } from '../flags.js';
import { EXIT_OK, type Io, UsageError } from '../io.js';
import { parseCommandArgs } from '../options.js';

export const COMPLETION_HELP = `Usage: egress-router-agent completion bash|zsh

Prints a completion script for the shell: commands, flags, the values of flags such as -o,
and file names where a command takes a CONFIG.

Options:
${flagHelp(COMPLETION_FLAGS)}

Example:
  source <(egress-router-agent completion bash)          # this bash session
  egress-router-agent completion bash > /etc/bash_completion.d/egress-router-agent
  source <(egress-router-agent completion zsh)           # zsh, after compinit
`;

export async function completionCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, COMPLETION_FLAGS);
  if (values.help) {
    io.out(COMPLETION_HELP);
    return EXIT_OK;
  }
  const [shell, extra] = positionals;
  if (shell === undefined) throw new UsageError(`missing the shell: ${SHELLS.join(' or ')}`);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const chosen = oneOf('the shell', shell, SHELLS);
  io.out(chosen === 'bash' ? bashCompletion(PROGRAM, COMMANDS) : zshCompletion(PROGRAM, COMMANDS));
  return EXIT_OK;
}
