/** Flags shared by the commands that read a config, and their parsing into AgentOptions. */
import type { ParseArgsOptionsConfig } from 'node:util';
import { type HealthAddr, parseHealthAddr } from '../config/healthAddr.js';
import { type AgentOptions, DEFAULT_HEALTH_PORT, DEFAULT_OPTIONS } from '../config/model.js';
import { interfaceNameProblem } from '../config/names.js';
import { CONFIG_FLAGS, flagHelp, parseFlags } from './flags.js';
import { UsageError } from './io.js';

export type OptionSpec = ParseArgsOptionsConfig;

/** The config flags (flags.ts holds the tables; these names stay for the commands that use them). */
export const CONFIG_OPTIONS = CONFIG_FLAGS;
export const CONFIG_OPTIONS_HELP = flagHelp(CONFIG_FLAGS);

/** parseArgs with positionals, strict, and "did you mean" for an unknown flag (see parseFlags). */
export const parseCommandArgs = parseFlags;

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
