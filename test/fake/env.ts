/** What the fake kernel shares across namespaces: time, the LAN outside, and MAC addresses. */
import { formatIp, type Ip, parseIp } from './addr.js';
import type { Clock } from './clock.js';
import type { Netns } from './state.js';

export interface Timing {
  /** How long a new IPv6 address stays tentative (DAD, dad_transmits=1: about a second). */
  readonly dadMs: number;
  /** One second of a probing tool (`ping -W`, `arping -c`/`-w`): how long it waits for silence. */
  readonly toolSecondMs: number;
}

export const REAL_TIMING: Timing = { dadMs: 1000, toolSecondMs: 1000 };
/** Probes and DAD finish at once (still asynchronously): for tests that do not care about timing. */
export const INSTANT_TIMING: Timing = { dadMs: 0, toolSecondMs: 0 };

export interface LanHost {
  readonly mac: string;
  /** Answers ARP, neighbour solicitations and pings. */
  up: boolean;
}

/**
 * The LAN every non-loopback link of the fake is attached to: hosts by address. A host that is up
 * answers pings and ARP/ND, and makes DAD (and `arping -D`) for its address fail.
 */
export class Lan {
  private readonly hosts = new Map<string, LanHost>();

  constructor(private readonly macs: () => string) {}

  private key(address: string): string {
    const ip = parseIp(address);
    if (!ip) throw new Error(`fake LAN: not an IP address: ${address}`);
    return formatIp(ip);
  }

  /** A LAN host holds `address`: DAD for it fails, `arping -D` sees a reply. */
  claim(address: string): void {
    this.gateway(address, 'up');
  }

  /** No LAN host holds `address` any more. */
  release(address: string): void {
    this.hosts.delete(this.key(address));
  }

  /** A host (a gateway, typically) at `address` that answers (`up`) or has gone silent (`down`). */
  gateway(address: string, state: 'up' | 'down'): void {
    const key = this.key(address);
    const host = this.hosts.get(key);
    if (host) host.up = state === 'up';
    else this.hosts.set(key, { mac: this.macs(), up: state === 'up' });
  }

  /** The host answering for `ip`, if any. */
  answering(ip: Ip): LanHost | undefined {
    const host = this.hosts.get(formatIp(ip));
    return host?.up ? host : undefined;
  }
}

/** Deterministic, locally administered unicast MACs, so dumps and link-local addresses are stable. */
export function macSequence(seed = 1): () => string {
  let state = seed >>> 0 || 1;
  return () => {
    const octets: number[] = [];
    for (let i = 0; i < 6; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      octets.push((state >>> 16) & 0xff);
    }
    octets[0] = ((octets[0] ?? 0) & 0xfc) | 0x02;
    return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
  };
}

export interface KernelEnv {
  readonly clock: Clock;
  readonly timing: Timing;
  readonly lan: Lan;
  readonly nextMac: () => string;
  /** Every namespace of this fake (a macvlan's master may live in another one). */
  readonly namespaces: () => readonly Netns[];
}
