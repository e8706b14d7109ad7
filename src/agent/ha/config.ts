/**
 * keepalived.conf for one VRRPv3 instance over IPv6, rendered from plain settings (pure).
 *
 * Layout (see docs/ha.md): the instance signals from the egress interface's automatic IPv6
 * link-local address to ff02::12 (or to unicast peers), so no replica needs an IPv4 address of
 * its own (an IPv4 instance on an interface without one goes to FAULT). keepalived insists on
 * one virtual address of the instance's family, so it holds a link-local VIP and nothing else:
 * the egress addresses are added and removed by the agent when the role changes.
 *
 * Every string that reaches the file is checked first (interface name, peer addresses, paths):
 * keepalived's parser has no quoting for most keywords, so a space or a newline would be
 * read as more configuration.
 */
import ipaddr from 'ipaddr.js';
import { parseIp } from '../../config/ip.js';
import { ConfigError, type ConfigIssue, show } from '../../config/issues.js';
import { interfaceNameProblem } from '../../config/names.js';

export interface KeepalivedSettings {
  /** The egress interface (net1): VRRP runs over its IPv6 link-local address. */
  readonly interface: string;
  /** VRRP virtual router id, 1..255: the same on every replica of one router, unique on the LAN. */
  readonly group: number;
  /** Base priority 1..254 (255 would mean "address owner": master at once, no adjustments). */
  readonly priority: number;
  /** Seconds between advertisements; VRRPv3 carries centiseconds, so 0.01..40.95. Default 0.1. */
  readonly advertIntervalSeconds?: number;
  /** IPv6 addresses of the peers, for LANs that drop multicast (link-local, or global). */
  readonly unicastPeers?: readonly string[];
  /**
   * Never take the role from a live master, even one of lower priority. Default false: with
   * equal priorities VRRP does not pre-empt anyway, and keeping pre-emption on is what lets a
   * lowered priority (gateway lost) hand the role to a healthier peer. See docs/ha.md.
   */
  readonly nopreempt?: boolean;
  /** Absolute path of the FIFO keepalived writes state changes to. */
  readonly notifyFifo: string;
  /** Absolute path of the track file whose number is added to `priority` (setPriority). */
  readonly priorityFile: string;
}

export const DEFAULT_ADVERT_INTERVAL_SECONDS = 0.1;
export const INSTANCE_NAME = 'egress_router';
const TRACK_FILE_NAME = 'egress_router_priority';

/** The link-local address keepalived holds as the instance's VIP (it requires one). */
export function linkLocalVip(group: number): string {
  return `fe80::5e:${group.toString(16)}`;
}

export const VIP_PREFIX_LENGTH = 64;

/** Advertisement interval in centiseconds, or undefined when it is not a whole number of them. */
export function advertCentiseconds(seconds: number): number | undefined {
  const centi = Math.round(seconds * 100);
  return Number.isFinite(seconds) && Math.abs(centi - seconds * 100) < 1e-6 ? centi : undefined;
}

const PATH = /^\/[A-Za-z0-9_./-]+$/;

function pathProblem(path: string): string | undefined {
  if (!PATH.test(path)) {
    return `must be an absolute path of letters, digits, '_', '.', '/' and '-', got ${show(path)}`;
  }
  if (path.split('/').includes('..')) return `must not contain "..", got ${show(path)}`;
  return undefined;
}

function integerProblem(value: number, min: number, max: number, why = ''): string | undefined {
  if (!Number.isInteger(value) || value < min || value > max) {
    return `must be an integer ${min}..${max}${why}, got ${show(value)}`;
  }
  return undefined;
}

function peerProblems(peers: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  peers.forEach((text, index) => {
    const path = `unicastPeers[${index}]`;
    const parsed = typeof text === 'string' ? parseIp(text) : undefined;
    if (!parsed?.ok) {
      issues.push({ path, message: parsed ? parsed.error : `must be a string, got ${show(text)}` });
      return;
    }
    const ip = parsed.value;
    if (ip.family !== 6) {
      issues.push({ path, message: `must be an IPv6 address (VRRP runs over IPv6 here), got ${show(text)}` });
      return;
    }
    const range = ipaddr.IPv6.parse(ip.address).range();
    if (range === 'unspecified' || range === 'loopback' || range === 'multicast') {
      issues.push({ path, message: `must be a unicast address, got the ${range} address ${ip.address}` });
      return;
    }
    const first = seen.get(ip.address);
    if (first !== undefined) {
      issues.push({ path, message: `repeats unicastPeers[${first}] (${ip.address})` });
      return;
    }
    seen.set(ip.address, index);
  });
  return issues;
}

/** Every problem with the settings, each with the field it concerns; empty when they can be rendered. */
export function keepalivedSettingsIssues(settings: KeepalivedSettings): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string | undefined): void => {
    if (message !== undefined) issues.push({ path, message });
  };
  add(
    'interface',
    typeof settings.interface === 'string'
      ? interfaceNameProblem(settings.interface)
      : `must be a string, got ${show(settings.interface)}`,
  );
  add('group', integerProblem(settings.group, 1, 255));
  add('priority', integerProblem(settings.priority, 1, 254, ' (255 is reserved for an address owner)'));
  const interval = settings.advertIntervalSeconds ?? DEFAULT_ADVERT_INTERVAL_SECONDS;
  const centi = typeof interval === 'number' ? advertCentiseconds(interval) : undefined;
  if (centi === undefined || centi < 1 || centi > 4095) {
    add(
      'advertIntervalSeconds',
      `must be 0.01..40.95 in steps of 0.01 (VRRPv3 counts centiseconds), got ${show(interval)}`,
    );
  }
  if (settings.unicastPeers !== undefined) {
    if (!Array.isArray(settings.unicastPeers)) add('unicastPeers', 'must be a list of IPv6 addresses');
    else if (settings.unicastPeers.length === 0)
      add('unicastPeers', 'must name at least one peer when given (omit it for multicast)');
    else issues.push(...peerProblems(settings.unicastPeers));
  }
  add('notifyFifo', pathProblem(String(settings.notifyFifo)));
  add('priorityFile', pathProblem(String(settings.priorityFile)));
  if (settings.notifyFifo === settings.priorityFile) add('priorityFile', 'must differ from notifyFifo');
  return issues;
}

/** The keepalived.conf text; throws ConfigError naming every bad field, before anything is written. */
export function renderKeepalivedConfig(settings: KeepalivedSettings): string {
  const issues = keepalivedSettingsIssues(settings);
  if (issues.length > 0) throw new ConfigError(issues);
  const centi = advertCentiseconds(settings.advertIntervalSeconds ?? DEFAULT_ADVERT_INTERVAL_SECONDS) ?? 10;
  const peers = (settings.unicastPeers ?? []).map((text) => {
    const parsed = parseIp(text);
    return parsed.ok ? parsed.value.address : text;
  });
  const lines = [
    `# Written by egress-router-agent at every start of keepalived; edits are lost.`,
    `# VRRP group ${settings.group} on ${settings.interface}: keepalived elects the active replica, the agent`,
    `# adds and removes the egress addresses itself (they are not listed here).`,
    'global_defs {',
    '    vrrp_version 3',
    // No scripts run. Naming the user (before notify_fifo, which looks it up for the FIFO's
    // owner) stops a warning about the missing keepalived_script user at every start.
    '    script_user root',
    // Priority changes and role changes both arrive through the FIFO, in order.
    `    notify_fifo ${settings.notifyFifo}`,
    '    vrrp_notify_priority_changes true',
    // Only the link-local VIP is announced by keepalived; one NA is enough for it.
    '    vrrp_min_garp true',
    // Real-time scheduling needs CAP_SYS_NICE, which the pod does not have.
    '    max_auto_priority -1',
    '}',
    '',
    `track_file ${TRACK_FILE_NAME} {`,
    `    file "${settings.priorityFile}"`,
    '    weight 1',
    '}',
    '',
    `vrrp_instance ${INSTANCE_NAME} {`,
    // Every replica starts as a backup: one that comes back never takes over on arrival.
    '    state BACKUP',
    `    interface ${settings.interface}`,
    `    virtual_router_id ${settings.group}`,
    `    priority ${settings.priority}`,
    `    advert_int ${centi / 100}`,
    '    native_ipv6',
    ...(settings.nopreempt ? ['    nopreempt'] : []),
    // Two masters (a healed partition): the one that hears a lower-priority master answers at
    // once rather than at its next interval, and the one that yields first sends one more
    // advert, so the survivor always hears it (MASTER_RX_LOWER_PRI: re-announce the addresses).
    '    lower_prio_no_advert false',
    '    higher_prio_send_advert true',
    '    track_file {',
    `        ${TRACK_FILE_NAME}`,
    '    }',
    ...(peers.length > 0 ? ['    unicast_peer {', ...peers.map((peer) => `        ${peer}`), '    }'] : []),
    '    virtual_ipaddress {',
    `        ${linkLocalVip(settings.group)}/${VIP_PREFIX_LENGTH}`,
    '    }',
    '}',
    '',
  ];
  return lines.join('\n');
}

/**
 * The peers other than this replica. Every replica gets the same list; keepalived would send
 * to its own address too and warn at every advertisement ("equal priority advert received
 * from remote host with our IP address"). When nothing would be left, the list stays as given:
 * an empty list would silently mean multicast.
 */
export function peersOtherThan(peers: readonly string[], ownAddresses: readonly string[]): readonly string[] {
  const canonical = (text: string): string => {
    const parsed = parseIp(text);
    return parsed.ok ? parsed.value.address : text;
  };
  const own = new Set(ownAddresses.map(canonical));
  const others = peers.filter((peer) => !own.has(canonical(peer)));
  return others.length > 0 ? others : peers;
}
