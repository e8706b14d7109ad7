import { formatIssue } from '../../config/issues.js';
import type { RouterConfig } from '../../config/model.js';
import { configSourceFrom, loadFromSource } from '../configSource.js';
import { EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { agentOptionsFrom, CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, parseCommandArgs } from '../options.js';

export const VALIDATE_HELP = `Usage: egress-router-agent validate CONFIG|- [options]

Checks a config completely without touching the system. CONFIG is an EgressRouter
(YAML or JSON), a NetworkAttachmentDefinition, or an egress-router CNI config; - reads stdin.
Every problem is reported as one line "path: reason". Exit 0 valid, 2 invalid, 1 unreadable.

Options:
  --output text|json         json prints {valid, errors, and when valid: format, config}
${CONFIG_OPTIONS_HELP}

Example:
  egress-router-agent validate examples/egressrouter.yaml
  EGRESS_SOURCE=192.0.2.99/24 EGRESS_DESTINATION='80 tcp 203.0.113.25' egress-router-agent validate --from-env
`;

function summary(config: RouterConfig, origin: string): string {
  const name = config.name ? ` ${JSON.stringify(config.name)}` : '';
  const parts = [
    `${config.addresses.length} address${config.addresses.length === 1 ? '' : 'es'}`,
    `${config.redirectRules.length} redirect rule${config.redirectRules.length === 1 ? '' : 's'}`,
    config.fallback ? `fallback ${config.fallback.address}` : 'no fallback',
  ];
  return `valid: ${config.format}${name} from ${origin}: ${parts.join(', ')}`;
}

export async function validateCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...CONFIG_OPTIONS,
    output: { type: 'string', default: 'text' },
  });
  if (values.help) {
    io.out(VALIDATE_HELP);
    return EXIT_OK;
  }
  if (values.output !== 'text' && values.output !== 'json')
    throw new UsageError('--output must be text or json');
  const options = agentOptionsFrom(values);
  const result = await loadFromSource(
    configSourceFrom(positionals, values['from-env'] ?? false),
    options,
    io,
  );
  if (values.output === 'json') {
    const document = result.ok
      ? { valid: true, format: result.config.format, errors: [], config: result.config }
      : { valid: false, errors: result.issues };
    io.out(`${JSON.stringify(document, null, 2)}\n`);
    return result.ok ? EXIT_OK : EXIT_INVALID;
  }
  if (!result.ok) {
    io.err(
      `invalid config in ${result.origin}:\n${result.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
    );
    return EXIT_INVALID;
  }
  io.out(`${summary(result.config, result.origin)}\n`);
  for (const note of result.config.notes) io.out(`note: ${note}\n`);
  return EXIT_OK;
}
