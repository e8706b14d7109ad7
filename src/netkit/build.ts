/**
 * Applies a layout (or a part of one, see layoutSubset) to the system, in stages: namespaces
 * (with `lo` up and their sysctls), then bridges and veth pairs (created in their `a` namespace
 * with the peer placed directly in the `b` namespace: nothing ever exists in the caller's own
 * namespace), then addresses and routes. Each namespace's links, and then its addresses and
 * routes, go in one `ip -batch`, the namespaces side by side.
 */
import { existsSync } from 'node:fs';
import type { BridgeSpec, Layout, LayoutParts, VethSpec } from './layout.js';
import { pollUntil, run } from './process.js';

export type BuildStage = 'namespaces' | 'links' | 'addresses';

export interface BuildHooks {
  /** Called for every namespace that exists after its `ip netns add`, even one that failed half-way. */
  created(name: string): void;
  /** Self-test only: throw right after this stage, to exercise the cleanup of a partial build. */
  readonly failAfter?: BuildStage;
}

const COMMAND_TIMEOUT_MS = 20_000;

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

async function batch(ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await run(['ip', '-n', ns, '-batch', '-'], {
    input: `${lines.join('\n')}\n`,
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
}

function bridgeLine(bridge: BridgeSpec): string {
  return `link add ${bridge.name} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`;
}

function vethLine(veth: VethSpec, peerNs: string): string {
  const mtu = veth.mtu === undefined ? '' : ` mtu ${veth.mtu}`;
  return `link add ${veth.a.name} address ${veth.a.mac}${mtu} type veth peer name ${veth.b.name} address ${veth.b.mac}${mtu} netns ${peerNs}`;
}

/** Waits until every named link is up (both ends of a veth up means carrier). */
async function waitUp(layout: Layout, links: readonly { role: string; name: string }[]): Promise<void> {
  const byRole = groupBy(links, (l) => l.role);
  await pollUntil(
    async () => {
      for (const [role, wanted] of byRole) {
        const shown = await run(['ip', '-n', ns(layout, role), '-j', 'link', 'show'], {
          timeoutMs: COMMAND_TIMEOUT_MS,
        });
        const state = new Map(
          (JSON.parse(shown.stdout || '[]') as { ifname: string; operstate: string }[]).map((l) => [
            l.ifname,
            l.operstate,
          ]),
        );
        if (wanted.some((l) => state.get(l.name) !== 'UP')) return false;
      }
      return true;
    },
    10_000,
    `links up: ${links.map((l) => `${l.role}/${l.name}`).join(', ')}`,
  );
}

function ns(layout: Layout, role: string): string {
  const name = layout.names[role];
  if (name === undefined) throw new Error(`no namespace for role ${role}`);
  return name;
}

export async function buildParts(layout: Layout, parts: LayoutParts, hooks: BuildHooks): Promise<void> {
  // Namespaces one at a time: the first `ip netns add` also sets up /run/netns.
  for (const spec of parts.namespaces) {
    try {
      await run(['ip', 'netns', 'add', spec.name], { timeoutMs: COMMAND_TIMEOUT_MS });
    } finally {
      // The prefix was unused when claimed: a namespace with this name now is this run's.
      if (existsSync(`/run/netns/${spec.name}`)) hooks.created(spec.name);
    }
  }
  await Promise.all(
    parts.namespaces.map(async (spec) => {
      await batch(spec.name, ['link set lo up']);
      if (spec.sysctls.length > 0)
        await run(
          ['ip', 'netns', 'exec', spec.name, 'sysctl', '-q', ...spec.sysctls.flatMap((s) => ['-w', s])],
          {
            timeoutMs: COMMAND_TIMEOUT_MS,
          },
        );
    }),
  );
  if (hooks.failAfter === 'namespaces') throw new Error('failAfter: namespaces');

  const roles = new Set([...parts.bridges.map((b) => b.role), ...parts.veths.map((v) => v.a.role)]);
  await Promise.all(
    [...roles].map((role) => {
      const bridges = parts.bridges.filter((b) => b.role === role);
      const veths = parts.veths.filter((v) => v.a.role === role);
      return batch(ns(layout, role), [
        ...bridges.map(bridgeLine),
        ...veths.map((v) => vethLine(v, ns(layout, v.b.role))),
        ...veths.filter((v) => v.a.bridge).map((v) => `link set ${v.a.name} master ${v.a.bridge}`),
        ...veths.map((v) => `link set ${v.a.name} up`),
        ...bridges.map((b) => `link set ${b.name} up`),
      ]);
    }),
  );
  await Promise.all(
    [...groupBy(parts.veths, (v) => v.b.role)].map(([role, veths]) =>
      batch(
        ns(layout, role),
        veths.map((v) => `link set ${v.b.name} up`),
      ),
    ),
  );
  const links = [...parts.bridges, ...parts.veths.flatMap((v) => [v.a, v.b])];
  if (links.length > 0) await waitUp(layout, links);
  if (hooks.failAfter === 'links') throw new Error('failAfter: links');

  const addressRoles = new Set([...parts.addresses.map((a) => a.role), ...parts.routes.map((r) => r.role)]);
  await Promise.all(
    [...addressRoles].map((role) =>
      batch(ns(layout, role), [
        ...parts.addresses
          .filter((a) => a.role === role)
          .map((a) => `address add ${a.cidr} dev ${a.dev}${a.cidr.includes(':') ? ' nodad' : ''}`),
        ...parts.routes
          .filter((r) => r.role === role)
          .map((r) =>
            [
              'route add',
              ...(r.blackhole ? ['blackhole'] : []),
              r.dest,
              ...(r.via ? ['via', r.via] : []),
              ...(r.dev ? ['dev', r.dev] : []),
            ].join(' '),
          ),
      ]),
    ),
  );
  if (hooks.failAfter === 'addresses') throw new Error('failAfter: addresses');
}
