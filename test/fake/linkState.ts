/** What a link reports about itself: carrier, flags, operstate, as the kernel derives them. */
import type { Link } from './state.js';

/** A veth has carrier while its peer is up; a macvlan while its master has carrier. */
export function hasCarrier(link: Link): boolean {
  switch (link.kind) {
    case 'veth':
      return Boolean(link.peer && !link.peer.gone && link.peer.up);
    case 'macvlan':
      return Boolean(link.master && !link.master.gone && link.master.up && hasCarrier(link.master));
    default:
      return true;
  }
}

/** Up and able to pass packets (LOWER_UP). */
export const isRunning = (link: Link): boolean => link.up && hasCarrier(link);

export function linkFlags(link: Link): string[] {
  if (link.kind === 'loopback') return link.up ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['LOOPBACK'];
  const flags = link.up && !hasCarrier(link) ? ['NO-CARRIER'] : [];
  flags.push('BROADCAST', 'MULTICAST');
  if (link.up) flags.push('UP');
  if (isRunning(link)) flags.push('LOWER_UP');
  return flags;
}

export function operstate(link: Link): string {
  if (link.kind === 'loopback' || (link.kind === 'bridge' && link.up)) return 'UNKNOWN';
  return isRunning(link) ? 'UP' : 'DOWN';
}

export const qdisc = (link: Link): string => (link.kind === 'loopback' || link.everUp ? 'noqueue' : 'noop');
