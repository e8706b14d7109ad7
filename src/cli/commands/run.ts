import { Agent, fingerprintOf, type HaSettings } from '../../agent/agent.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../../agent/logger.js';
import type { ConfigLoad } from '../../agent/reconciler.js';
import { parseIp } from '../../config/ip.js';
import { formatIssue } from '../../config/issues.js';
import { loadLegacyEnv } from '../../config/load.js';
import { ConfigReader } from '../../config/reader.js';
import { version } from '../../version.js';
import { flagHelp, parseFlags, RUN_FLAGS } from '../flags.js';
import { EXIT_INVALID, EXIT_OK, type Io, RuntimeFailure, UsageError } from '../io.js';
import { healthAddrFrom } from '../options.js';
import { printPlan, systemOptionsFrom } from './apply.js';

export const RUN_HELP = `Usage: egress-router-agent run CONFIG [options]

The egress-router pod's main container: applies as "apply" does, then keeps it true.
It reloads the config when the file changes (a ConfigMap's ..data swap included) or on
SIGHUP, repairs changes made behind its back (table, addresses, routes, link, sysctls), checks
the gateway, and serves health and status on --health-addr:
  GET /healthz   200 while the control loop is alive
  GET /readyz    200 only while Available is True
  GET /status    conditions, effective config, interface, per-rule connections (JSON)
  GET /metrics   Prometheus text
SIGTERM/SIGINT stop it within a few seconds (exit 0); with --cleanup-on-exit it first removes
its addresses, table and created interface so another pod can claim the egress IP.

Options:
${flagHelp(RUN_FLAGS)}

Example:
  ip netns exec router-pod egress-router-agent run /etc/egress-router/egressrouter.yaml \\
      --master-netns /run/netns/node --health-addr :9099 --cleanup-on-exit
`;

function integerIn(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** The --ha flags, checked; undefined without --ha. */
export function haSettingsFrom(values: Record<string, unknown>): HaSettings | undefined {
  const mode = values.ha as string | undefined;
  const haFlags = ['ha-group', 'ha-priority', 'ha-advert-interval'].filter((f) => values[f] !== undefined);
  if (mode === undefined) {
    if (haFlags.length > 0 || (values['ha-peer'] as string[] | undefined)?.length)
      throw new UsageError(`--${haFlags[0] ?? 'ha-peer'} needs --ha vrrp`);
    return undefined;
  }
  if (mode !== 'vrrp') throw new UsageError(`--ha: the only mode is vrrp, got ${JSON.stringify(mode)}`);
  const group = integerIn(values['ha-group'] as string | undefined, '--ha-group', 1, 255);
  if (group === undefined) throw new UsageError('--ha vrrp needs --ha-group N (the VRRP router id, 1..255)');
  const interval = values['ha-advert-interval'] as string | undefined;
  const advert = interval === undefined ? 0.1 : Number(interval);
  if (interval !== undefined && (!/^\d+(\.\d{1,2})?$/.test(interval) || advert < 0.01 || advert > 40.95))
    throw new UsageError(
      `--ha-advert-interval must be seconds in 0.01..40.95 with at most 2 decimals, got ${JSON.stringify(interval)}`,
    );
  const peers = (values['ha-peer'] as string[] | undefined) ?? [];
  for (const peer of peers) {
    const parsed = parseIp(peer);
    if (!parsed.ok || parsed.value.family !== 6)
      throw new UsageError(
        `--ha-peer ${JSON.stringify(peer)}: must be an IPv6 address (VRRP runs over IPv6)`,
      );
  }
  return {
    group,
    priority: integerIn(values['ha-priority'] as string | undefined, '--ha-priority', 1, 254) ?? 100,
    advertIntervalSeconds: advert,
    unicastPeers: peers,
  };
}

/**
 * `--report-status`: the Kubernetes client loads in the background (about a second) beside the
 * first pass, and joins as a sink once ready; without a cluster it says why and the data plane
 * goes on. Loaded only here, so an agent without the flag pays nothing for it.
 */
async function reportStatus(agent: Agent, readConfig: () => Promise<ConfigLoad>, log: Logger): Promise<void> {
  try {
    const loaded = await readConfig();
    const name = loaded.ok ? loaded.config.name : undefined;
    if (!name) {
      log.error('--report-status: the config names no EgressRouter (metadata.name); status is not written');
      return;
    }
    const { createKubernetesSinks } = await import('../../kube/index.js');
    const namespace = loaded.ok ? loaded.config.namespace : undefined;
    const sinks = await createKubernetesSinks({ name, ...(namespace ? { namespace } : {}), log });
    for (const sink of sinks) agent.addSink(sink);
    log.info({ name, namespace }, 'writing status to the EgressRouter');
  } catch (error) {
    log.error(`--report-status: ${(error as Error).message}; the router runs on without writing status`);
  }
}

function onOff(text: string | undefined, flag: string): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === 'on' || text === 'off') return text === 'on';
  throw new UsageError(`${flag} must be on or off, got ${JSON.stringify(text)}`);
}

function positiveSeconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 86_400) {
    throw new UsageError(
      `--resync-interval must be a number of seconds in (0, 86400], got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

export async function runCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseFlags(argv, RUN_FLAGS);
  const values = parsed.values as Record<string, unknown>;
  const positionals = parsed.positionals;
  if (values.help) {
    io.out(RUN_HELP);
    return EXIT_OK;
  }
  const level = values['log-level'] as string;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const format = values['log-format'] as string | undefined;
  if (format !== undefined && format !== 'json' && format !== 'pretty')
    throw new UsageError('--log-format must be json or pretty');
  const { options, source } = systemOptionsFrom(values, positionals);
  const healthAddr = healthAddrFrom(values['health-addr'] as string | undefined);
  const resyncMs = positiveSeconds(values['resync-interval'] as string | undefined, 10) * 1000;
  const ha = haSettingsFrom(values);
  const readyRequiresGateway = onOff(
    values['ready-requires-gateway'] as string | undefined,
    '--ready-requires-gateway',
  );
  const log = await createLogger(
    level as LogLevel,
    format ? format === 'pretty' : Boolean(process.stdout.isTTY),
  );

  const reader = new ConfigReader(options);
  const readConfig = async (): Promise<ConfigLoad> => {
    if (source.fromEnv) {
      const keys = ['EGRESS_SOURCE', 'EGRESS_GATEWAY', 'EGRESS_DESTINATION', 'EGRESS_ROUTER_MODE'];
      return {
        ...loadLegacyEnv(io.env, options),
        fingerprint: fingerprintOf(JSON.stringify(keys.map((k) => io.env[k] ?? null))),
      };
    }
    // Read only when the file is another version (see ConfigReader.readFile).
    return reader.readFile(source.path!);
  };

  if (source.fromEnv && io.env.EGRESS_ROUTER_MODE === 'unit-test') {
    // The 3.x script's dry run, as apply does it: print what would be done, touch nothing.
    const loaded = await readConfig();
    if (!loaded.ok) {
      io.err(
        `invalid config in the EGRESS_* environment; nothing was changed:\n${loaded.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
      );
      return EXIT_INVALID;
    }
    printPlan(
      io,
      loaded.config,
      options,
      '# EGRESS_ROUTER_MODE=unit-test: the plan only; nothing is changed\n',
    );
    return EXIT_OK;
  }

  const agent = new Agent({
    options,
    healthAddr,
    resyncMs,
    cleanupOnExit: Boolean(values['cleanup-on-exit']),
    ...(source.path && source.path !== '-' ? { configPath: source.path } : {}),
    readConfig,
    version: version(),
    log,
    ...(ha ? { ha } : {}),
    ...(readyRequiresGateway !== undefined ? { readyRequiresGateway } : {}),
  });
  // `on`, not `once`: a library using signal-exit (execa does) re-raises a signal it believes
  // nobody else handles, and a `once` listener has already removed itself when it looks.
  let onStop: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    onStop = resolve;
  });
  const onTerm = () => onStop('SIGTERM');
  const onInt = () => onStop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const onHup = () => {
    log.info('SIGHUP: reloading');
    void agent.request('signal');
  };
  process.on('SIGHUP', onHup);
  if (values['report-status']) void reportStatus(agent, readConfig, log);
  try {
    await agent.start();
  } catch (error) {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    await agent.stop();
    throw new RuntimeFailure((error as Error).message);
  }
  const signal = await stopped;
  log.info({ signal }, 'stopping');
  process.off('SIGHUP', onHup);
  await agent.stop();
  log.info('stopped');
  // The signal handlers stay: a second SIGTERM while the process winds down must not kill it
  // with a signal status instead of exit 0.
  // A child still finishing (a counter read) must not hold the exit: stop is bounded.
  setTimeout(() => process.exit(EXIT_OK), 300).unref();
  return EXIT_OK;
}
