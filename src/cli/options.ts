/** Flags shared by the commands that read a config, and their parsing into AgentOptions. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type HealthAddr, parseHealthAddr } from '../config/healthAddr.js';
import { type AgentOptions, DEFAULT_HEALTH_PORT, DEFAULT_OPTIONS } from '../config/model.js';
import { interfaceNameProblem } from '../config/names.js';
import { UsageError } from './io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const CONFIG_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'from-env': { type: 'boolean' },
  interface: { type: 'string' },
  'cluster-interface': { type: 'string' },
  'health-addr': { type: 'string' },
} as const satisfies OptionSpec;

export const CONFIG_OPTIONS_HELP = `  --from-env                 read EGRESS_SOURCE / EGRESS_GATEWAY / EGRESS_DESTINATION instead of CONFIG
  --interface NAME           the egress (macvlan) interface in the pod (default net1)
  --cluster-interface NAME   the pod's cluster interface (default eth0)
  --health-addr HOST:PORT    the agent's health server; its TCP port is never redirected (default :${DEFAULT_HEALTH_PORT})
  -h, --help                 this help`;

export function parseCommandArgs<T extends OptionSpec>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
}

function interfaceName(value: string | undefined, flag: string, fallback: string): string {
  if (value === undefined) return fallback;
  const problem = interfaceNameProblem(value);
  if (problem) throw new UsageError(`--${flag}: interface name ${problem}`);
  return value;
}

export function healthAddrFrom(value: string | undefined): HealthAddr {
  if (value === undefined) return { port: DEFAULT_HEALTH_PORT };
  const parsed = parseHealthAddr(value);
  if (!parsed.ok) throw new UsageError(`--health-addr: ${parsed.error}`);
  return parsed.value;
}

export function agentOptionsFrom(values: {
  interface?: string | undefined;
  'cluster-interface'?: string | undefined;
  'health-addr'?: string | undefined;
}): AgentOptions {
  const egressInterface = interfaceName(values.interface, 'interface', DEFAULT_OPTIONS.egressInterface);
  const clusterInterface = interfaceName(
    values['cluster-interface'],
    'cluster-interface',
    DEFAULT_OPTIONS.clusterInterface,
  );
  if (egressInterface === clusterInterface) {
    throw new UsageError(`--interface and --cluster-interface are both ${JSON.stringify(egressInterface)}`);
  }
  return { egressInterface, clusterInterface, healthPort: healthAddrFrom(values['health-addr']).port };
}
