/**
 * The egress addresses. The egress interface belongs to the router: global addresses on it that
 * the plan does not list are removed (on an HA standby the plan's list is empty). Before anything
 * changes, new IPv4 addresses are ARP-probed (RFC 5227: IPv4 has no DAD of its own): another host
 * answering fails the pass with DuplicateAddress and nothing is taken over; under HA, VRRP has
 * decided who holds them and there is no probe. IPv4 addresses are announced once the routes are
 * in (same pass, no wait); IPv6 ones after DAD, which does not hold the IPv4 announcement back. When the link went down since the last
 * pass (set down behind the agent's back, or down and up again), its IPv4 addresses are announced
 * again: neighbours and switches may have forgotten them meanwhile.
 */
import type { Family } from '../../config/model.js';
import { AGENT_ROUTE_PROTO, type DeviceAddress, routeArgs, specOf } from '../../link/iproute.js';
import { type Action, ipOp } from '../actions.js';
import { CREATED_ALIAS } from '../context.js';
import { cidrContains } from '../facts.js';
import type { Step, StepInput } from './step.js';

const STEP = 'addresses';
const cidrOf = (a: { local: string; prefixlen: number }): string => `${a.local}/${a.prefixlen}`;
const familyOf = (a: DeviceAddress): Family => (a.family === 'inet' ? 4 : 6);
const sameSubnet = (a: DeviceAddress, b: DeviceAddress): boolean =>
  a.prefixlen === b.prefixlen && cidrContains(`${a.local}/${a.prefixlen}`, b.local);

function present(input: StepInput, device: string): DeviceAddress[] {
  if (input.freshDevices.has(device)) return [];
  return input.observed.pod.addresses.filter((a) => a.ifname === device && a.scope === 'global');
}

const addAction = (device: string, cidr: string, family: Family, nodad: boolean): Action => ({
  step: STEP,
  kind: 'address',
  object: cidr,
  message: `added address ${cidr} to ${device}`,
  op: ipOp(
    'pod',
    ['address', 'add', cidr, 'dev', device, ...(nodad && family === 6 ? ['nodad'] : [])],
    family,
  ),
  undo: [ipOp('pod', ['address', 'delete', cidr, 'dev', device], family)],
  reason: 'AddressFailed',
});

const deleteAction = (device: string, address: DeviceAddress, why: string): Action => ({
  step: STEP,
  kind: 'address',
  object: cidrOf(address),
  message: `removed address ${cidrOf(address)} from ${device} (${why})`,
  op: ipOp('pod', ['address', 'delete', cidrOf(address), 'dev', device], familyOf(address)),
  undo: [ipOp('pod', ['address', 'add', cidrOf(address), 'dev', device], familyOf(address))],
  reason: 'AddressFailed',
});

/** What the pass changes about the egress addresses (shared by the addresses and announce steps). */
export function addressChanges(input: StepInput) {
  const device = input.options.egressInterface;
  const have = present(input, device);
  const haveCidrs = new Set(have.map(cidrOf));
  const wanted = input.holdAddresses ? input.plan.addresses : [];
  const wantedCidrs = new Set(wanted.map((a) => a.cidr));
  // An IPv6 address whose DAD failed in an earlier attempt is taken away and added anew.
  const failed = have.filter((a) => a.dadfailed && wantedCidrs.has(cidrOf(a)));
  const stale = have.filter((a) => !wantedCidrs.has(cidrOf(a)));
  // Deleting a primary IPv4 address takes the secondaries of its subnet with it: they come back.
  const takenAlong = have.filter(
    (a) =>
      a.secondary &&
      !stale.includes(a) &&
      stale.some((s) => !s.secondary && familyOf(s) === 4 && sameSubnet(s, a)),
  );
  const added = wanted.filter(
    (a) =>
      !haveCidrs.has(a.cidr) ||
      failed.some((f) => cidrOf(f) === a.cidr) ||
      takenAlong.some((t) => cidrOf(t) === a.cidr),
  );
  const gone = [...stale, ...takenAlong];
  return { device, have, wanted, added, stale, failed, gone };
}

/** Re-adds the agent's IPv4 routes through the device (host routes first, then via gateways). */
function routesBack(input: StepInput, device: string) {
  return input.observed.pod.routes
    .filter((r) => r.family === 4 && r.dev === device && r.protocol === AGENT_ROUTE_PROTO)
    .sort((a, b) => Number(Boolean(a.gateway)) - Number(Boolean(b.gateway)))
    .map((r) => ipOp('pod', routeArgs('replace', specOf(r)), 4));
}

/**
 * The egress link went down since the last pass: it is down now (the link step brings it up), or
 * it went down and up again, which the kernel shows by having dropped every IPv4 route through it
 * while its IPv4 addresses stayed. Neighbours and switches may have forgotten the addresses.
 */
function linkWentDown(input: StepInput, device: string): boolean {
  if (input.freshDevices.has(device)) return false;
  const link = input.observed.pod.links.find((l) => l.ifname === device);
  if (!link) return false;
  if (!link.flags.includes('UP')) return true;
  const routed = input.plan.routes.some((r) => r.family === 4 && r.device === device);
  const routes = input.observed.pod.routes.filter(
    (r) => r.family === 4 && r.dev === device && r.protocol === AGENT_ROUTE_PROTO,
  );
  return routed && routes.length === 0;
}

export const addressesStep: Step = {
  name: STEP,
  reason: 'AddressFailed',
  converge(input) {
    const { device, have, added, stale, failed, gone } = addressChanges(input);
    const actions: Action[] = [];
    const held = new Set(have.map(cidrOf));
    const probed = added
      .filter((a) => a.family === 4 && !held.has(a.cidr) && !input.heldBefore?.has(a.address))
      .map((a) => a.address);
    if (probed.length > 0 && !input.ha)
      actions.push({
        step: STEP,
        kind: 'address',
        object: probed.join(', '),
        message: `no other host answers ARP probes for ${probed.join(', ')}`,
        op: { type: 'arp-probe', device, addresses: probed },
        reason: 'AddressFailed',
        quiet: true,
      });
    // Stale ones go first: deleting a primary IPv4 address also deletes the secondaries of its
    // subnet (unless promote_secondaries is set), so a new address added first could vanish.
    const why = input.holdAddresses ? 'not in the config' : 'this replica is the HA standby';
    // Removing the last IPv4 address makes the kernel drop the routes through the device: the
    // undo of the first removal (undone last, when the addresses are back) puts the agent's back.
    const v4 = have.filter((a) => familyOf(a) === 4);
    const flushing = v4.length > 0 && v4.every((a) => gone.includes(a));
    const firstV4 = stale.find((a) => familyOf(a) === 4);
    for (const a of stale) {
      const removal = deleteAction(device, a, why);
      actions.push(
        flushing && a === firstV4
          ? { ...removal, undo: [...(removal.undo ?? []), ...routesBack(input, device)] }
          : removal,
      );
    }
    for (const a of failed)
      actions.push(deleteAction(device, a, 'its duplicate address detection had failed'));
    for (const a of added) actions.push(addAction(device, a.cidr, a.family, input.ha));
    const flushedFamilies = flushing ? [4 as const] : [];
    return { actions, flushedFamilies };
  },
  remove({ config, options, observed }) {
    const device = options.egressInterface;
    const link = observed.pod.links.find((l) => l.ifname === device);
    // A link the agent created goes whole (the interface step); an adopted one loses only the config's addresses.
    if (!link || link.ifalias === CREATED_ALIAS) return [];
    const wanted = new Set(config.addresses.map((a) => `${a.address}/${a.prefixLength}`));
    return observed.pod.addresses
      .filter((a) => a.ifname === device && wanted.has(cidrOf(a)))
      .map((a) => deleteAction(device, a, 'adopted interface stays'));
  },
};

/**
 * IPv4 addresses added (or held while the link went down), announced with gratuitous ARP. In the
 * announce step rather than right after the address: the address, the routes and the reply
 * routing then share one `ip -batch`, and the announcements start a few ms later, in the
 * background.
 */
function ipv4Announcements(input: StepInput): Action[] {
  const { device, have, wanted, added } = addressChanges(input);
  const held = new Set(have.map(cidrOf));
  const wentDown = linkWentDown(input, device);
  return wanted
    .filter((a) => a.family === 4 && (added.includes(a) || (wentDown && held.has(a.cidr))))
    .map((a) => ({
      step: STEP,
      kind: 'announce',
      object: a.address,
      message: `announced ${a.address} with gratuitous ARP${added.includes(a) ? '' : ` again (${device} went down)`}`,
      op: { type: 'announce', device, address: a.address, family: 4 },
      reason: 'AddressFailed',
    }));
}

/**
 * After the routes: announce new IPv4 addresses (first: IPv6 DAD does not hold them back), then
 * wait for IPv6 DAD on new addresses and announce those.
 */
export const announceStep: Step = {
  name: 'announce',
  reason: 'DuplicateAddress',
  converge(input) {
    const { device, added } = addressChanges(input);
    const actions: Action[] = ipv4Announcements(input);
    for (const a of added.filter((x) => x.family === 6)) {
      if (!input.ha)
        actions.push({
          step: 'addresses',
          kind: 'announce',
          object: a.cidr,
          message: `duplicate address detection passed for ${a.cidr}`,
          op: { type: 'wait-dad', device, address: a.address, cidr: a.cidr },
          quiet: true,
        });
      actions.push({
        step: 'addresses',
        kind: 'announce',
        object: a.address,
        message: `announced ${a.address} with an unsolicited neighbour advertisement`,
        op: { type: 'announce', device, address: a.address, family: 6 },
      });
    }
    return { actions };
  },
  remove: () => [],
};
