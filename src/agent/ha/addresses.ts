/**
 * The egress addresses taken or given up at the moment the role changes (pure): one `ip -batch`
 * per family, so a new active holds its addresses one process start after keepalived's MASTER,
 * without waiting for a whole pass (observe, plan, execute, verify). The pass that follows is
 * still the authority: it finds them in place (or repairs what this did not do).
 *
 * Taking uses `replace` (no error when an address is already there) and `nodad` for IPv6: VRRP
 * is the arbiter, and DAD would fail against an old active that still holds the address for a
 * moment (hand-over, healed partition).
 */
import type { EgressAddress, Family } from '../../config/model.js';

export interface AddressBatch {
  readonly family: Family;
  readonly lines: readonly (readonly string[])[];
}

const cidr = (a: EgressAddress): string => `${a.address}/${a.prefixLength}`;

function byFamily(
  addresses: readonly EgressAddress[],
  line: (a: EgressAddress) => readonly string[],
): AddressBatch[] {
  return ([4, 6] as const)
    .map((family) => ({ family, lines: addresses.filter((a) => a.family === family).map(line) }))
    .filter((batch) => batch.lines.length > 0);
}

/** The batches that put every egress address on `device`. */
export function takeBatches(addresses: readonly EgressAddress[], device: string): AddressBatch[] {
  return byFamily(addresses, (a) => [
    'address',
    'replace',
    cidr(a),
    'dev',
    device,
    ...(a.family === 6 ? ['nodad'] : []),
  ]);
}

/** The batches that take every egress address off `device` (run with -force: absent is fine). */
export function releaseBatches(addresses: readonly EgressAddress[], device: string): AddressBatch[] {
  return byFamily(addresses, (a) => ['address', 'delete', cidr(a), 'dev', device]);
}
