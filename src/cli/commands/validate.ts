import { formatIssue } from '../../config/issues.js';
import type { RouterConfig } from '../../config/model.js';
import { configSourceFrom, loadFromSource } from '../configSource.js';
import { flagHelp, VALIDATE_FLAGS } from '../flags.js';
import { EXIT_INVALID, EXIT_OK, type Io } from '../io.js';
import { agentOptionsFrom, parseCommandArgs } from '../options.js';
import { outputFormat, render, table } from '../output.js';

export const VALIDATE_HELP = `Usage: egress-router-agent validate CONFIG|- [options]

Checks a config completely without touching the system. CONFIG is an EgressRouter
(YAML or JSON), a NetworkAttachmentDefinition, or an egress-router CNI config; - reads stdin.
Every problem is reported as one line "path: reason". Exit 0 valid, 2 invalid, 1 unreadable.
  -o text   a one-line summary (problems on stderr)
  -o wide   the summary, then the addresses and the redirect rules as the agent will use them
  -o json   {valid, errors: [{path, message}], and when valid: format, config} on stdout
  -o yaml   the same document as YAML

Options:
${flagHelp(VALIDATE_FLAGS)}

Example:
  egress-router-agent validate examples/egressrouter.yaml
  egress-router-agent validate examples/egressrouter.yaml -o yaml
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

function textView(config: RouterConfig, origin: string): string {
  return [summary(config, origin), ...config.notes.map((note) => `note: ${note}`)].join('\n').concat('\n');
}

/** The text view, then the addresses and rules as the agent reads them (defaults applied: targetPort, families). */
function wideView(config: RouterConfig, origin: string): string {
  const addresses = table([
    ['ADDRESS', 'FAMILY', 'GATEWAY'],
    ...config.addresses.map((a) => [`${a.address}/${a.prefixLength}`, `IPv${a.family}`, a.gateway ?? '-']),
  ]);
  const rules = table([
    ['PROTOCOL', 'PORT', 'DESTINATION', 'TARGET PORT'],
    ...config.redirectRules.map((r) => [
      r.protocol.toUpperCase(),
      String(r.port),
      r.destinationIP,
      String(r.targetPort),
    ]),
    ...(config.fallback ? [['*', '*', config.fallback.address, '(same)']] : []),
  ]);
  return `${textView(config, origin)}\n${addresses}\n\n${rules}\n`;
}

export async function validateCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, VALIDATE_FLAGS);
  if (values.help) {
    io.out(VALIDATE_HELP);
    return EXIT_OK;
  }
  const format = outputFormat(values.output);
  const options = agentOptionsFrom(values);
  const result = await loadFromSource(
    configSourceFrom(positionals, values['from-env'] ?? false),
    options,
    io,
  );
  if (!result.ok && (format === 'text' || format === 'wide')) {
    io.err(
      `invalid config in ${result.origin}:\n${result.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
    );
    return EXIT_INVALID;
  }
  io.out(
    await render(format, {
      document: () =>
        result.ok
          ? { valid: true, format: result.config.format, errors: [], config: result.config }
          : { valid: false, errors: result.issues },
      text: () => (result.ok ? textView(result.config, result.origin) : ''),
      wide: () => (result.ok ? wideView(result.config, result.origin) : ''),
    }),
  );
  return result.ok ? EXIT_OK : EXIT_INVALID;
}
