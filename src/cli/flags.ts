/**
 * Every command's flags as data: parsed with node:util's parseArgs, listed in `--help`,
 * offered by `completion`, and searched for "did you mean". One table per command; the
 * shared groups (config, system, output) are spread into them.
 */
import { type ParseArgsOptionDescriptor, parseArgs } from 'node:util';
import { DEFAULT_HEALTH_PORT } from '../config/model.js';
import { didYouMean } from './didYouMean.js';
import { UsageError } from './io.js';

export interface FlagSpec extends ParseArgsOptionDescriptor {
  /** One line for `--help`. */
  readonly help: string;
  /** The value's placeholder in `--help` (NAME, CIDR, HOST:PORT); string flags only. */
  readonly value?: string;
  /** What completion offers for the value: fixed words, or paths. Nothing when absent. */
  readonly complete?: readonly string[] | 'file';
  /** A deprecated alias: accepted, left out of help and completion; the text says what to use. */
  readonly deprecated?: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** What parseFlags accepts: a FlagTable, or bare parseArgs descriptors (commands not yet on tables). */
type ParseTable = Readonly<Record<string, ParseArgsOptionDescriptor & Partial<FlagSpec>>>;

export const HELP_FLAG = {
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies FlagTable;

export const OUTPUT_FORMATS = ['text', 'json', 'yaml', 'wide'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The one output flag of every command that prints a result (kubectl's spelling). */
export const OUTPUT_FLAG = {
  output: {
    type: 'string',
    short: 'o',
    value: 'FORMAT',
    complete: OUTPUT_FORMATS,
    help: 'text (default), json, yaml, or wide (text with every detail)',
  },
} as const satisfies FlagTable;

/** The flags of every command that reads a config. */
export const CONFIG_FLAGS = {
  'from-env': {
    type: 'boolean',
    help: 'read EGRESS_SOURCE / EGRESS_GATEWAY / EGRESS_DESTINATION instead of CONFIG',
  },
  interface: {
    type: 'string',
    value: 'NAME',
    help: 'the egress (macvlan) interface in the pod (default net1)',
  },
  'cluster-interface': {
    type: 'string',
    value: 'NAME',
    help: "the pod's cluster interface (default eth0)",
  },
  'health-addr': {
    type: 'string',
    value: 'HOST:PORT',
    help: `the agent's health server; its TCP port is never redirected (default :${DEFAULT_HEALTH_PORT})`,
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

export const CLUSTER_CIDR_FLAG = {
  'cluster-cidr': {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: 'CIDR',
    help: 'a cluster/service range kept on the cluster interface (repeatable)',
  },
} as const satisfies FlagTable;

/** The flags of the commands that change the system: apply, cleanup, run. */
export const SYSTEM_FLAGS = {
  'master-netns': {
    type: 'string',
    value: 'PATH',
    complete: 'file',
    help: "network namespace holding the macvlan master (default: the agent's own)",
  },
  ...CLUSTER_CIDR_FLAG,
  ...CONFIG_FLAGS,
} as const satisfies FlagTable;

export const VALIDATE_FLAGS = { ...OUTPUT_FLAG, ...CONFIG_FLAGS } as const satisfies FlagTable;

export const RENDER_FLAGS = {
  ...OUTPUT_FLAG,
  format: {
    type: 'string',
    value: 'nft|json',
    complete: ['nft', 'json'],
    help: 'nft or json',
    deprecated: 'use -o text (nft) or -o json',
  },
  ...CLUSTER_CIDR_FLAG,
  ...CONFIG_FLAGS,
} as const satisfies FlagTable;

/** The conntrack option of the commands that load a table over a previous one: apply and run. */
export const FLUSH_TCP_FLAG = {
  'flush-tcp-on-change': {
    type: 'boolean',
    help: 'a changed or removed mapping also ends its established TCP connections (UDP and SCTP flows always move)',
  },
} as const satisfies FlagTable;

export const APPLY_FLAGS = {
  'dry-run': { type: 'boolean', help: 'print the actions apply would take, take none' },
  ...FLUSH_TCP_FLAG,
  ha: {
    type: 'string',
    value: 'vrrp',
    complete: ['vrrp'],
    help: 'the router runs under HA (run --ha): set up everything but the egress addresses',
  },
  ...SYSTEM_FLAGS,
} as const satisfies FlagTable;
export const CLEANUP_FLAGS = SYSTEM_FLAGS;

export const LOG_LEVEL_NAMES = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const RUN_FLAGS = {
  'resync-interval': {
    type: 'string',
    value: 'SECONDS',
    help: 'full check period, the safety net under event-driven repair (default 10)',
  },
  'cleanup-on-exit': { type: 'boolean', help: 'remove what was applied on SIGTERM/SIGINT' },
  'log-level': {
    type: 'string',
    default: 'info',
    value: 'LEVEL',
    complete: LOG_LEVEL_NAMES,
    help: 'fatal, error, warn, info, debug, trace (default info)',
  },
  'log-format': {
    type: 'string',
    value: 'json|pretty',
    complete: ['json', 'pretty'],
    help: 'log lines as JSON (default off a terminal) or for humans',
  },
  ha: {
    type: 'string',
    value: 'vrrp',
    complete: ['vrrp'],
    help: 'active/standby with the other replicas (keepalived, VRRPv3 over IPv6 link-local): only the active holds the egress addresses and is ready',
  },
  'ha-group': {
    type: 'string',
    value: 'N',
    help: 'VRRP router id 1..255, the same on every replica of this router',
  },
  'ha-priority': {
    type: 'string',
    value: 'P',
    help: '1..254 (default 100); equal priorities never pre-empt',
  },
  'ha-advert-interval': {
    type: 'string',
    value: 'SECONDS',
    help: 'between VRRP advertisements (default 0.1; a failover takes about three)',
  },
  'ha-peer': {
    type: 'string',
    multiple: true,
    value: 'ADDR',
    help: 'an IPv6 address of a peer, for LANs that drop multicast (repeatable)',
  },
  'report-status': {
    type: 'boolean',
    help: "write the conditions to the EgressRouter's status and send Events (in-cluster service account)",
  },
  'ready-requires-gateway': {
    type: 'string',
    value: 'on|off',
    complete: ['on', 'off'],
    help: 'Available and /readyz follow the gateway (default on under --ha, off for one router: it would remove the only endpoint)',
  },
  ...FLUSH_TCP_FLAG,
  ...SYSTEM_FLAGS,
} as const satisfies FlagTable;

export const MANIFESTS_FLAGS = {
  output: {
    type: 'string',
    short: 'o',
    default: 'yaml',
    value: 'yaml|json',
    complete: ['yaml', 'json'],
    help: 'yaml (default, for kubectl apply -f -) or json (a v1 List)',
  },
  namespace: { type: 'string', value: 'NS', help: "the namespace (default: CONFIG's metadata.namespace)" },
  'cluster-cidr': {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: 'CIDR',
    help: "the cluster and service networks (repeatable; at least one): the pod's own traffic to them must not take the egress route",
  },
  image: {
    type: 'string',
    value: 'IMAGE',
    help: "the agent's image (default quay.io/example/egress-router-agent:VERSION)",
  },
  ha: {
    type: 'boolean',
    help: 'two replicas on two nodes sharing the address with VRRP, and a PodDisruptionBudget',
  },
  'ha-group': {
    type: 'string',
    value: 'N',
    help: 'VRRP router id 1-255 (default: derived from namespace/name)',
  },
  'ha-priority': { type: 'string', value: 'P', help: "VRRP priority 1-254 (default: the agent's, 100)" },
  'ha-advert-interval': {
    type: 'string',
    value: 'SECONDS',
    help: "VRRP advertisement interval, 0.01-40.95 (default: the agent's, 0.1)",
  },
  'ha-peer': {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: 'ADDR',
    help: 'a unicast VRRP peer (repeatable), for LANs that drop multicast',
  },
  'network-policy': {
    type: 'boolean',
    help: 'a NetworkPolicy: only the clients named below reach the router',
  },
  'allow-namespace': {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: 'NAME',
    help: 'every pod of namespace NAME may connect (repeatable)',
  },
  'allow-pods': {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: '[NS/]K=V[,K=V]',
    help: "pods with these labels, in NS or the router's namespace (repeatable)",
  },
  'allow-metrics-namespace': {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: 'NAME',
    help: 'pods of NAME may reach the health port, e.g. Prometheus (repeatable)',
  },
  monitoring: { type: 'boolean', help: 'a PodMonitor and a PrometheusRule (Prometheus Operator)' },
  crd: { type: 'boolean', help: 'the EgressRouter CustomResourceDefinition first; alone, only the CRD' },
  kind: {
    type: 'string',
    multiple: true,
    default: [] as string[],
    value: 'KIND',
    help: 'print only objects of this kind (repeatable)',
  },
  ...CONFIG_FLAGS,
} as const satisfies FlagTable;

export const STATUS_FLAGS = {
  ...OUTPUT_FLAG,
  'health-addr': {
    type: 'string',
    value: 'HOST:PORT',
    help: `where the agent listens (default :${DEFAULT_HEALTH_PORT}, asked on 127.0.0.1)`,
  },
  json: { type: 'boolean', help: 'the status document as JSON', deprecated: 'use -o json' },
  all: {
    type: 'boolean',
    help: 'every rule in protocol, port order, a page at a time (default: the 20 with the most connections)',
  },
  offset: { type: 'string', value: 'N', help: 'with --all: the first rule of the page (default 0)' },
  limit: { type: 'string', value: 'N', help: 'with --all: rules per page, at most 1000 (default 1000)' },
  protocol: { type: 'string', value: 'tcp|udp|sctp', help: 'only rules of this protocol' },
  port: { type: 'string', value: 'N', help: 'only rules for this port' },
  ...HELP_FLAG,
} as const satisfies FlagTable;

export const DEMO_FLAGS = {
  ...OUTPUT_FLAG,
  keep: { type: 'boolean', help: 'leave it running and print commands to try' },
  teardown: { type: 'boolean', help: 'remove a demo left running by --keep' },
  prefix: {
    type: 'string',
    value: 'P',
    help: 'namespace name prefix (default erdemo-; tests use their own)',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

export const SHELLS = ['bash', 'zsh'] as const;

export const COMPLETION_FLAGS = HELP_FLAG;

/** The flags help and completion show: deprecated aliases left out. */
export function visibleFlags(table: FlagTable): [string, FlagSpec][] {
  return Object.entries(table).filter(([, spec]) => spec.deprecated === undefined);
}

/** `-o, --output FORMAT` / `--from-env`: how a flag is written in help. */
export function flagSynopsis(name: string, spec: FlagSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
  return spec.short ? `-${spec.short}, ${long}` : long;
}

/** The options section of a command's help, one aligned line per visible flag. */
export function flagHelp(table: FlagTable): string {
  const rows = visibleFlags(table).map(([name, spec]) => [flagSynopsis(name, spec), spec.help] as const);
  const width = Math.max(25, ...rows.map(([synopsis]) => synopsis.length)) + 2;
  return rows.map(([synopsis, help]) => `  ${synopsis.padEnd(width)}${help}`).join('\n');
}

/** Every spelling a user may type for the table's flags, for "did you mean". */
function spellings(table: ParseTable): string[] {
  return Object.entries(table)
    .filter(([, spec]) => spec.deprecated === undefined)
    .flatMap(([name, spec]) => [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])]);
}

/** parseArgs' descriptor fields only: help and completion data stay out of its way. */
function parseArgsOptions<T extends ParseTable>(table: T): T {
  return Object.fromEntries(
    Object.entries(table).map(([name, { type, short, multiple, default: fallback }]) => [
      name,
      {
        type,
        ...(short === undefined ? {} : { short }),
        ...(multiple === undefined ? {} : { multiple }),
        ...(fallback === undefined ? {} : { default: fallback }),
      },
    ]),
  ) as T;
}

/**
 * Parses a command's arguments against its table, positionals allowed. An unknown flag is a
 * UsageError naming it, with the closest known flag when one is close.
 */
export function parseFlags<T extends ParseTable>(argv: readonly string[], table: T) {
  try {
    return parseArgs({
      args: [...argv],
      options: parseArgsOptions(table),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== undefined) {
      const typed = unknown.split('=')[0] ?? unknown;
      throw new UsageError(`unknown option ${typed}${didYouMean(typed, spellings(table))}`);
    }
    throw new UsageError(message.split('\n')[0] ?? 'invalid arguments');
  }
}

/** A string flag's value checked against its allowed words, with a suggestion for a typo. */
export function oneOf<const W extends string>(flag: string, value: string, allowed: readonly W[]): W {
  if ((allowed as readonly string[]).includes(value)) return value as W;
  throw new UsageError(
    `${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}${didYouMean(value, allowed)}`,
  );
}

/** Deprecated flags the user actually gave, as "--json is deprecated: use -o json" warnings. */
export function deprecationWarnings(table: FlagTable, values: Record<string, unknown>): string[] {
  return Object.entries(table)
    .filter(([name, spec]) => spec.deprecated !== undefined && values[name] !== undefined)
    .map(([name, spec]) => `--${name} is deprecated: ${spec.deprecated}`);
}
