/**
 * Network devices of the fake kernel: loopback, veth pairs, macvlans on a master (possibly in
 * another namespace), bridges. Creating, moving between namespaces, renaming, MTU, alias,
 * up/down and macvlan mode changes, with the kernel's refusals.
 */
import { rtnetlink } from '../errors.js';
import { linkLine } from '../ip/render.js';
import type { Link, LinkKind, MacvlanMode, Netns } from '../state.js';
import { addDeviceSysctls, removeDeviceSysctls, renameDeviceSysctls } from '../sysctl.js';
import { linkCameUp, linkRemoved, linkWentDown } from './addresses.js';

let nextLinkId = 1;

export interface NewLink {
  readonly name: string;
  readonly kind: LinkKind;
  readonly mac?: string;
  readonly mtu?: number;
  readonly master?: Link;
  readonly mode?: MacvlanMode;
}

const macvlansOn = (master: Link): Link[] =>
  master.ns.env
    .namespaces()
    .flatMap((ns) => ns.links)
    .filter((l) => l.kind === 'macvlan' && l.master === master && !l.gone);

/** Links whose carrier follows this one: macvlans on it, its veth peer. */
function dependents(link: Link): Link[] {
  const peer = link.kind === 'veth' && link.peer && !link.peer.gone ? [link.peer] : [];
  return [...macvlansOn(link), ...peer];
}

function announce(link: Link): void {
  link.ns.emit('link', linkLine(link.ns, link));
}

export function createLink(ns: Netns, spec: NewLink): Link {
  const link = makeLink(ns, spec);
  announce(link);
  if (link.master) announce(link.master);
  return link;
}

/** A veth pair, each end announced with its peer already known (`eth0@if3`). */
export function createVethPair(
  ns: Netns,
  spec: Omit<NewLink, 'kind'>,
  peerNs: Netns,
  peerSpec: Omit<NewLink, 'kind'>,
): [Link, Link] {
  if (ns.link(spec.name) || peerNs.link(peerSpec.name) || (ns === peerNs && spec.name === peerSpec.name))
    throw rtnetlink('File exists');
  const link = makeLink(ns, { ...spec, kind: 'veth' });
  const peer = makeLink(peerNs, { ...peerSpec, kind: 'veth' });
  link.peer = peer;
  peer.peer = link;
  announce(link);
  announce(peer);
  return [link, peer];
}

function makeLink(ns: Netns, spec: NewLink): Link {
  if (ns.link(spec.name)) throw rtnetlink('File exists');
  const master = spec.master;
  if (spec.kind === 'macvlan' && master) {
    const siblings = macvlansOn(master);
    if (siblings.some((l) => l.mode === 'passthru') || (spec.mode === 'passthru' && siblings.length > 0))
      throw rtnetlink('Invalid argument');
  }
  const link: Link = {
    id: nextLinkId++,
    ns,
    ifindex: ns.allocateIfindex(),
    name: spec.name,
    kind: spec.kind,
    mac:
      spec.kind === 'loopback'
        ? '00:00:00:00:00:00'
        : spec.mode === 'passthru' && master
          ? master.mac
          : (spec.mac ?? ns.env.nextMac()),
    mtu: spec.mtu ?? (spec.kind === 'loopback' ? 65536 : (master?.mtu ?? 1500)),
    up: false,
    everUp: false,
    ...(spec.mode ? { mode: spec.mode } : {}),
    ...(master ? { master } : {}),
    gone: false,
  };
  ns.links.push(link);
  addDeviceSysctls(ns, link.name);
  return link;
}

export function setUp(link: Link, up: boolean): void {
  if (link.up === up) return;
  link.up = up;
  if (up) link.everUp = true;
  announce(link);
  if (up) linkCameUp(link);
  else linkWentDown(link);
  for (const other of dependents(link)) announce(other);
}

export function setMtu(link: Link, mtu: number): void {
  // Loopback reports min_mtu/max_mtu 0: no bounds. A macvlan cannot exceed its master.
  const loopback = link.kind === 'loopback';
  const max = loopback
    ? Number.POSITIVE_INFINITY
    : link.kind === 'macvlan' && link.master
      ? link.master.mtu
      : 65535;
  if (mtu < (loopback ? 0 : 68) || mtu > max) throw rtnetlink('Invalid argument');
  if (link.mtu === mtu) return;
  link.mtu = mtu;
  announce(link);
  for (const upper of macvlansOn(link)) {
    if (upper.mtu > mtu) {
      upper.mtu = mtu;
      announce(upper);
    }
  }
}

export function setAlias(link: Link, alias: string): void {
  if (alias === '') delete link.alias;
  else link.alias = alias;
  announce(link);
}

export function setMac(link: Link, mac: string): void {
  link.mac = mac;
  announce(link);
}

export function rename(link: Link, name: string): void {
  if (link.name === name) return;
  if (link.ns.link(name)) throw rtnetlink('File exists');
  renameDeviceSysctls(link.ns, link.name, name);
  link.name = name;
  announce(link);
}

export function setMacvlanMode(link: Link, mode: MacvlanMode): void {
  if (link.kind !== 'macvlan') throw rtnetlink('Operation not supported');
  if ((link.mode === 'passthru') !== (mode === 'passthru')) throw rtnetlink('Invalid argument');
  link.mode = mode;
  announce(link);
}

function detach(link: Link, suffix = ''): void {
  const ns = link.ns;
  linkRemoved(link);
  removeDeviceSysctls(ns, link.name);
  ns.links.splice(ns.links.indexOf(link), 1);
  link.up = false;
  ns.emit('link', linkLine(ns, link, true, suffix));
}

/** Deleting a master deletes its macvlans; deleting one end of a veth deletes the other. */
export function deleteLink(link: Link): void {
  if (link.gone) return;
  for (const upper of macvlansOn(link)) deleteLink(upper);
  link.gone = true;
  detach(link);
  const peer = link.kind === 'veth' ? link.peer : undefined;
  if (peer && !peer.gone) deleteLink(peer);
  for (const other of dependents(link)) announce(other);
}

/** `ip link set dev X netns Y`: the device goes down, loses its addresses and routes, keeps its index when free. */
export function moveLink(link: Link, target: Netns): void {
  if (target === link.ns) return;
  if (target.link(link.name)) throw rtnetlink('File exists');
  if (link.up) setUp(link, false);
  const ifindex = target.allocateIfindex(link.ifindex);
  const label = [...target.paths].find((p) => p.startsWith('/run/netns/'));
  detach(
    link,
    ` new-netns ${label ? label.slice('/run/netns/'.length) : target.name} new-ifindex ${ifindex}`,
  );
  link.ns = target;
  link.ifindex = ifindex;
  target.links.push(link);
  addDeviceSysctls(target, link.name);
  announce(link);
}
