/**
 * Is the gateway answering? Asked on the wire, not read from the neighbour table: a STALE entry
 * stays STALE for as long as nothing is sent, so a gateway that vanished while the router was
 * idle would look fine indefinitely. IPv4: RFC 5227 ARP probes (`arping -D`, sender 0.0.0.0, so
 * they work on an HA standby that holds no address and teach no cache anything); IPv6: neighbour
 * solicitations (`ndisc6`, from the link-local address). Either stops at the first answer, so a
 * live gateway costs milliseconds; a silent one costs the probe's deadline (two seconds).
 * Probes run when the caller says a fresh answer is due (resyncs, a new config), and never more
 * than once per MIN_PROBE_INTERVAL_MS per gateway; other passes reuse the last answer.
 */
import type { Family } from '../config/model.js';
import { CommandError, type Runner } from '../system/command.js';
import { arpProbe } from './effects.js';

export interface GatewayHealth {
  readonly family: Family;
  readonly gateway: string;
  readonly reachable: boolean;
  /** What the probe saw, for humans: "answers (aa:bb:cc:dd:ee:ff)", "no answer to 2 ARP probes". */
  readonly state: string;
}

/** Two probes one second apart: a single lost frame is not an outage. */
export const GATEWAY_PROBES = { count: 2, deadlineSeconds: 2 } as const;
export const MIN_PROBE_INTERVAL_MS = 1_000;

/** ndisc6's argv: stop at the first answer, print only the MAC. */
export function ndiscArgv(gateway: string, device: string): [string, ...string[]] {
  const waitMs = Math.round((GATEWAY_PROBES.deadlineSeconds * 1_000) / GATEWAY_PROBES.count);
  return [
    'ndisc6',
    '-1',
    '-n',
    '-q',
    '-r',
    String(GATEWAY_PROBES.count),
    '-w',
    String(waitMs),
    gateway,
    device,
  ];
}

async function solicit(runner: Runner, gateway: string, device: string): Promise<string[]> {
  try {
    const out = await runner.run(ndiscArgv(gateway, device), {
      timeoutMs: (GATEWAY_PROBES.deadlineSeconds + 3) * 1_000,
    });
    return out
      .split('\n')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(l));
  } catch (error) {
    // ndisc6 exits 2 when nobody answered (and says so on stderr); anything else is a failure to ask.
    if (error instanceof CommandError && error.exitCode === 2 && !/[Uu]sage|[Pp]ermission/.test(error.stderr))
      return [];
    throw error;
  }
}

/** One active probe of the gateway on `device`. */
export async function probeGateway(
  runner: Runner,
  family: Family,
  gateway: string,
  device: string,
): Promise<GatewayHealth> {
  const macs =
    family === 4
      ? await arpProbe(runner, device, gateway, GATEWAY_PROBES)
      : await solicit(runner, gateway, device);
  const what = family === 4 ? 'ARP probes' : 'neighbour solicitations';
  return macs.length > 0
    ? { family, gateway, reachable: true, state: `answers (${macs.join(', ')})` }
    : { family, gateway, reachable: false, state: `no answer to ${GATEWAY_PROBES.count} ${what}` };
}

/** The last answer per gateway, and probes bounded in rate. */
export class GatewayProber {
  private readonly last = new Map<string, { at: number; health: GatewayHealth }>();

  constructor(
    private readonly runner: Runner,
    private readonly now: () => number = () => performance.now(),
    private readonly minIntervalMs = MIN_PROBE_INTERVAL_MS,
  ) {}

  /** A fresh probe when `due` (and the last one is old enough) or when none was made yet. */
  async check(family: Family, gateway: string, device: string, due: boolean): Promise<GatewayHealth> {
    const key = `${device} ${gateway}`;
    const previous = this.last.get(key);
    if (previous && (!due || this.now() - previous.at < this.minIntervalMs)) return previous.health;
    const health = await probeGateway(this.runner, family, gateway, device);
    this.last.set(key, { at: this.now(), health });
    return health;
  }
}
