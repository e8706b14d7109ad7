/**
 * The demo's virtual network, in namespaces named erdemo-*. Fixed names, so a later run
 * can find and remove what an interrupted one left behind. Nothing is created in the
 * caller's own namespace: every veth is created with both ends inside demo namespaces.
 *
 *   client 198.18.1.2 ── node 198.18.1.1 | 198.18.0.1 ── pod eth0 198.18.0.2
 *   node eth1 192.0.2.5 (the macvlan master) ── lan bridge ── dst1 192.0.2.10, dst2 192.0.2.20,
 *   gw 192.0.2.1 ── far 198.51.100.10
 */
import { localRunner, runProgram } from '../system/command.js';

export const DEFAULT_PREFIX = 'erdemo-';
const ROLES = ['client', 'node', 'pod', 'lan', 'dst1', 'dst2', 'gw', 'far'] as const;
export type Namespaces = Readonly<Record<(typeof ROLES)[number], string>>;

/** The namespace of each role: PREFIX + role (`erdemo-pod`). */
export function namespacesFor(prefix: string): Namespaces {
  return Object.fromEntries(ROLES.map((role) => [role, `${prefix}${role}`])) as Namespaces;
}

export const ADDRESSES = {
  client: '198.18.1.2',
  podCluster: '198.18.0.2',
  nodeLan: '192.0.2.5',
  egress: '192.0.2.100',
  dst1: '192.0.2.10',
  dst2: '192.0.2.20',
  gateway: '192.0.2.1',
  far: '198.51.100.10',
} as const;

const ip = (args: string[]) => localRunner.run(['ip', ...args]);
const inNs = (ns: string, args: string[]) => localRunner.run(['ip', '-n', ns, ...args]);

async function veth(a: { ns: string; name: string }, b: { ns: string; name: string }): Promise<void> {
  await ip(['link', 'add', 'dmtmp0', 'netns', a.ns, 'type', 'veth', 'peer', 'name', 'dmtmp1', 'netns', b.ns]);
  await inNs(a.ns, ['link', 'set', 'dmtmp0', 'name', a.name, 'up']);
  await inNs(b.ns, ['link', 'set', 'dmtmp1', 'name', b.name, 'up']);
}

async function host(ns: string, dev: string, cidr: string, gateway?: string): Promise<void> {
  await inNs(ns, ['address', 'add', cidr, 'dev', dev]);
  if (gateway) await inNs(ns, ['route', 'add', 'default', 'via', gateway]);
}

const sysctl = (ns: string, key: string, value: string) =>
  localRunner.run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`]);

export async function existingDemoNamespaces(prefix: string): Promise<string[]> {
  const stdout = await localRunner.run(['ip', '-json', 'netns', 'list']);
  const list = (stdout.trim() ? JSON.parse(stdout) : []) as { name: string }[];
  return list.map((n) => n.name).filter((n) => n.startsWith(prefix));
}

/** Kills every process inside the demo namespaces and deletes them. Safe when none exist. */
export async function destroyNetwork(prefix: string): Promise<number> {
  const names = await existingDemoNamespaces(prefix);
  for (const ns of names) {
    const { stdout } = await runProgram(['ip', 'netns', 'pids', ns], { timeoutMs: 10_000 });
    for (const pid of stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  for (const ns of names) await ip(['netns', 'delete', ns]).catch(() => undefined);
  return names.length;
}

export async function buildNetwork(NS: Namespaces): Promise<void> {
  for (const ns of Object.values(NS)) {
    await ip(['netns', 'add', ns]);
    await inNs(ns, ['link', 'set', 'lo', 'up']);
  }
  await veth({ ns: NS.client, name: 'eth0' }, { ns: NS.node, name: 'client0' });
  await veth({ ns: NS.pod, name: 'eth0' }, { ns: NS.node, name: 'pod0' });
  await veth({ ns: NS.node, name: 'eth1' }, { ns: NS.lan, name: 'node0' });
  await host(NS.client, 'eth0', `${ADDRESSES.client}/24`, '198.18.1.1');
  await host(NS.pod, 'eth0', `${ADDRESSES.podCluster}/24`, '198.18.0.1');
  // Like a pod on OVN-Kubernetes: the cluster range stays on eth0.
  await inNs(NS.pod, ['route', 'add', '198.18.0.0/15', 'via', '198.18.0.1']);
  await host(NS.node, 'client0', '198.18.1.1/24');
  await host(NS.node, 'pod0', '198.18.0.1/24');
  await host(NS.node, 'eth1', `${ADDRESSES.nodeLan}/24`, ADDRESSES.gateway);
  await sysctl(NS.node, 'net.ipv4.ip_forward', '1');
  await inNs(NS.lan, ['link', 'add', 'br0', 'type', 'bridge']);
  await inNs(NS.lan, ['link', 'set', 'br0', 'up']);
  await inNs(NS.lan, ['link', 'set', 'node0', 'master', 'br0']);
  for (const [name, address] of [
    ['dst1', ADDRESSES.dst1],
    ['dst2', ADDRESSES.dst2],
    ['gw', ADDRESSES.gateway],
  ] as const) {
    await veth({ ns: NS[name], name: 'eth0' }, { ns: NS.lan, name: `${name}0` });
    await inNs(NS.lan, ['link', 'set', `${name}0`, 'master', 'br0']);
    await host(NS[name], 'eth0', `${address}/24`, name === 'gw' ? undefined : ADDRESSES.gateway);
  }
  await veth({ ns: NS.gw, name: 'far0' }, { ns: NS.far, name: 'eth0' });
  await host(NS.gw, 'far0', '198.51.100.1/24');
  await host(NS.far, 'eth0', `${ADDRESSES.far}/24`, '198.51.100.1');
  await sysctl(NS.gw, 'net.ipv4.ip_forward', '1');
}
