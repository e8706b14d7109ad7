/**
 * The egress addresses taken or given up at the moment the role changes (pure): the lines of one
 * `ip -batch` for both families (ip infers each line's family from its address), so a new active
 * holds its addresses one process start after keepalived's MASTER, without waiting for a whole
 * pass (observe, plan, execute, verify). The pass that follows is still the authority: it finds
 * them in place (or repairs what this did not do).
 *
 * Taking uses `replace` (no error when an address is already there) and `nodad` for IPv6: VRRP
 * is the arbiter, and DAD would fail against an old active that still holds the address for a
 * moment (hand-over, healed partition).
 */
import type { EgressAddress } from '../../config/model.js';

export type BatchLines = readonly (readonly string[])[];

const cidr = (a: EgressAddress): string => `${a.address}/${a.prefixLength}`;

/** The batch lines that put every egress address on `device`. */
export function takeLines(addresses: readonly EgressAddress[], device: string): BatchLines {
  return addresses.map((a) => [
    'address',
    'replace',
    cidr(a),
    'dev',
    device,
    ...(a.family === 6 ? ['nodad'] : []),
  ]);
}

/** The batch lines that take every egress address off `device` (run with -force: absent is fine). */
export function releaseLines(addresses: readonly EgressAddress[], device: string): BatchLines {
  return addresses.map((a) => ['address', 'delete', cidr(a), 'dev', device]);
}
