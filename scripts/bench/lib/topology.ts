/**
 * The benchmark's network: the test harness's topology (test/netns/harness/topology.ts, see
 * /work/shared/reference/test-network.md), IPv4 only, under the bench's own name prefix
 * `erb<6 hex>-` so it never collides with test runs (`ert…`) and teardown deletes exactly its own.
 *
 * ```
 *  client  eth0 198.18.1.2/24  ─── node <p>cli  198.18.1.1/24
 *  pod     eth0 198.18.0.2/24  ─── node <p>pod  198.18.0.1/24         (node forwards)
 *  node    eth1 192.0.2.5/24   ─── lan <p>node ┐
 *  dst1    eth0 192.0.2.10/24  ─── lan <p>dst1 ├ lan br0 (bridge)
 *  dst2    eth0 192.0.2.20/24  ─── lan <p>dst2 │
 *  gw      eth0 192.0.2.1/24   ─── lan <p>gw   ┘
 *  gw      <p>far 198.51.100.1/24 ─── far eth0 198.51.100.10/24
 * ```
 * The pod gets no macvlan: the agent creates `net1` on the node's `eth1` (or the floor script
 * does). resetPod() replaces the pod namespace with a fresh one (a "clean pod").
 *
 * Nothing is created in the root namespace: veth pairs are created in one namespace with the
 * peer placed directly in the other. Only the documentation/benchmark ranges are used.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { listNetns, rootLinkNames } from '../../../test/helpers/commands.js';
import { pollUntil, run, sleep } from './exec.js';

export type Role = 'client' | 'node' | 'pod' | 'lan' | 'dst1' | 'dst2' | 'gw' | 'far';

export const PLAN = {
  clusterCidr: '198.18.0.0/15',
  pod: '198.18.0.2',
  nodePodSide: '198.18.0.1',
  client: '198.18.1.2',
  nodeClientSide: '198.18.1.1',
  nodeLan: '192.0.2.5',
  gw: '192.0.2.1',
  dst1: '192.0.2.10',
  dst2: '192.0.2.20',
  gwFar: '198.51.100.1',
  far: '198.51.100.10',
  /** The router's egress address (never configured by the topology itself). */
  egress: '192.0.2.100',
  egressPrefix: 24,
} as const;

const SUFFIX: Record<Role, string> = {
  client: 'cli',
  node: 'node',
  pod: 'pod',
  lan: 'lan',
  dst1: 'dst1',
  dst2: 'dst2',
  gw: 'gw',
  far: 'far',
};
const ROLES: readonly Role[] = ['node', 'pod', 'client', 'lan', 'dst1', 'dst2', 'gw', 'far'];

export interface Topology {
  readonly prefix: string;
  readonly names: Readonly<Record<Role, string>>;
  /** What the agent takes as --master-netns. */
  readonly masterNetnsPath: string;
  /** `ip -n <ns> args…`. */
  ip(role: Role, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** `ip netns exec <ns> argv…`. */
  exec(role: Role, argv: readonly string[], timeoutMs?: number): Promise<string>;
  /** The node-side veth to the pod (a link name that starts with the prefix). */
  link(suffix: string): string;
  /** Deletes the pod namespace (its table first, so the kernel has nothing left to free) and builds a fresh one. */
  resetPod(): Promise<void>;
  /** Kills every process left in our namespaces and deletes exactly them; idempotent. */
  destroy(): Promise<void>;
  /** Synchronous best effort, for process exit. */
  destroySync(): void;
}

async function uniquePrefix(): Promise<string> {
  const taken = [...(await listNetns()), ...(await rootLinkNames())];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const prefix = `erb${randomBytes(3).toString('hex')}-`;
    if (!taken.some((name) => name.startsWith(prefix))) return prefix;
  }
  throw new Error('could not find an unused namespace prefix');
}

export async function createTopology(): Promise<Topology> {
  const prefix = await uniquePrefix();
  const names = Object.fromEntries(ROLES.map((role) => [role, `${prefix}${SUFFIX[role]}`])) as Record<
    Role,
    string
  >;
  const link = (suffix: string): string => {
    const name = `${prefix}${suffix}`;
    if (name.length > 15) throw new Error(`interface name too long: ${name}`);
    return name;
  };
  const created = new Set<string>();

  const ip = async (role: Role, args: readonly string[], timeoutMs = 30_000) =>
    (await run(['ip', '-n', names[role], ...args], { timeoutMs })).stdout;
  const exec = async (role: Role, argv: readonly string[], timeoutMs = 30_000) =>
    (await run(['ip', 'netns', 'exec', names[role], ...argv], { timeoutMs })).stdout;
  const sysctl = (role: Role, settings: readonly string[]) =>
    exec(role, ['sysctl', '-q', ...settings.flatMap((setting) => ['-w', setting])]);

  const addNamespace = async (role: Role) => {
    const name = names[role];
    try {
      await run(['ip', 'netns', 'add', name]);
    } finally {
      // Our prefix was unused when chosen: a namespace with this name now is ours.
      if ((await listNetns()).includes(name)) created.add(name);
    }
    await ip(role, ['link', 'set', 'lo', 'up']);
    // The pod keeps kernel defaults (as a real pod); the others answer every probe.
    if (role !== 'pod') await sysctl(role, ['net.ipv4.icmp_ratelimit=0']);
  };

  const killIn = async (name: string) => {
    const result = await run(['ip', 'netns', 'pids', name], { reject: false });
    for (const pid of result.stdout.split(/\s+/).filter((word) => /^\d+$/.test(word))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  const waitUp = (roles: readonly Role[]) =>
    pollUntil(
      async () => {
        for (const role of roles) {
          const links = JSON.parse(await ip(role, ['-j', 'link', 'show'])) as {
            ifname: string;
            operstate: string;
          }[];
          if (links.some((entry) => entry.ifname !== 'lo' && entry.operstate !== 'UP')) return false;
        }
        return true;
      },
      10_000,
      'links to come up',
    );

  const buildPod = async () => {
    await addNamespace('pod');
    await ip('node', [
      'link',
      'add',
      link('pod'),
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      names.pod,
    ]);
    await ip('node', ['link', 'set', link('pod'), 'up']);
    await ip('pod', ['link', 'set', 'eth0', 'up']);
    await ip('node', ['addr', 'add', `${PLAN.nodePodSide}/24`, 'dev', link('pod')]);
    await ip('pod', ['addr', 'add', `${PLAN.pod}/24`, 'dev', 'eth0']);
    // As OVN-Kubernetes leaves a pod: the cluster range and the default via the node.
    await ip('pod', ['route', 'add', PLAN.clusterCidr, 'via', PLAN.nodePodSide, 'dev', 'eth0']);
    await ip('pod', ['route', 'add', 'default', 'via', PLAN.nodePodSide, 'dev', 'eth0']);
    await waitUp(['pod', 'node']);
  };

  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    for (const name of created) await killIn(name);
    for (const name of [...created].reverse()) {
      // A big table is freed by the kernel in the background when its namespace goes; delete it first.
      await run(['ip', 'netns', 'exec', name, 'nft', 'flush', 'ruleset'], {
        reject: false,
        timeoutMs: 30_000,
      });
      const result = await run(['ip', 'netns', 'delete', name], { reject: false });
      if (result.failed && !/No such file|Invalid argument/.test(result.stderr)) {
        throw new Error(`ip netns delete ${name}: ${result.stderr.trim()}`);
      }
      created.delete(name);
    }
    for (const name of await rootLinkNames()) {
      if (name.startsWith(prefix)) await run(['ip', 'link', 'delete', name], { reject: false });
    }
    const left = [...(await listNetns()), ...(await rootLinkNames())].filter((name) =>
      name.startsWith(prefix),
    );
    if (left.length > 0) throw new Error(`teardown left ${left.join(', ')}`);
  };

  const topology: Topology = {
    prefix,
    names,
    masterNetnsPath: `/run/netns/${names.node}`,
    ip,
    exec,
    link,
    resetPod: async () => {
      const pod = names.pod;
      await killIn(pod);
      await run(['ip', 'netns', 'exec', pod, 'nft', 'flush', 'ruleset'], {
        reject: false,
        timeoutMs: 30_000,
      });
      await run(['ip', 'netns', 'delete', pod], { reject: false });
      created.delete(pod);
      await pollUntil(async () => !(await listNetns()).includes(pod), 10_000, 'the old pod namespace to go');
      // The node-side veth dies with its peer; wait for it so the name is free again.
      await pollUntil(
        async () => !(await ip('node', ['-o', 'link', 'show'])).includes(`${link('pod')}@`),
        10_000,
        'the old pod veth to go',
      );
      await buildPod();
      // Let the kernel finish freeing the old namespace before anything is timed.
      await sleep(200);
    },
    destroy,
    destroySync: () => {
      for (const name of created) {
        try {
          execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: 5_000 });
        } catch {
          // already gone
        }
      }
      created.clear();
    },
  };

  try {
    for (const role of ROLES.filter((r) => r !== 'pod')) await addNamespace(role);
    await sysctl('node', ['net.ipv4.ip_forward=1']);
    await sysctl('gw', ['net.ipv4.ip_forward=1']);
    await sysctl('lan', ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await ip('lan', [
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    ]);
    const pairs: [Role, string, Role, string][] = [
      ['node', link('cli'), 'client', 'eth0'],
      ['lan', link('node'), 'node', 'eth1'],
      ['lan', link('dst1'), 'dst1', 'eth0'],
      ['lan', link('dst2'), 'dst2', 'eth0'],
      ['lan', link('gw'), 'gw', 'eth0'],
      ['gw', link('far'), 'far', 'eth0'],
    ];
    for (const [ns, name, peerNs, peerName] of pairs) {
      await ip(ns, ['link', 'add', name, 'type', 'veth', 'peer', 'name', peerName, 'netns', names[peerNs]]);
      await ip(ns, ['link', 'set', name, 'up']);
      await ip(peerNs, ['link', 'set', peerName, 'up']);
    }
    for (const port of [link('node'), link('dst1'), link('dst2'), link('gw')]) {
      await ip('lan', ['link', 'set', port, 'master', 'br0']);
    }
    await ip('lan', ['link', 'set', 'br0', 'up']);
    await ip('client', ['addr', 'add', `${PLAN.client}/24`, 'dev', 'eth0']);
    await ip('client', ['route', 'add', 'default', 'via', PLAN.nodeClientSide]);
    await ip('node', ['addr', 'add', `${PLAN.nodeClientSide}/24`, 'dev', link('cli')]);
    await ip('node', ['addr', 'add', `${PLAN.nodeLan}/24`, 'dev', 'eth1']);
    await ip('node', ['route', 'add', 'default', 'via', PLAN.gw, 'dev', 'eth1']);
    await ip('gw', ['addr', 'add', `${PLAN.gw}/24`, 'dev', 'eth0']);
    await ip('gw', ['addr', 'add', `${PLAN.gwFar}/24`, 'dev', link('far')]);
    await ip('far', ['addr', 'add', `${PLAN.far}/24`, 'dev', 'eth0']);
    await ip('far', ['route', 'add', 'default', 'via', PLAN.gwFar]);
    for (const role of ['dst1', 'dst2'] as const) {
      await ip(role, ['addr', 'add', `${PLAN[role]}/24`, 'dev', 'eth0']);
      await ip(role, ['route', 'add', 'default', 'via', PLAN.gw]);
    }
    await buildPod();
    await waitUp(ROLES);
  } catch (error) {
    await destroy().catch(() => {});
    throw new Error(`createTopology ${prefix}: ${(error as Error).message}`, { cause: error });
  }
  return topology;
}
