/**
 * Network-namespace topology for data-plane tests (see /work/shared/reference/test-network.md).
 *
 * Every namespace and every infrastructure-side link name starts with a unique per-run prefix
 * `ert<6 hex>-` (10 characters), so names stay <= 15 characters and teardown can delete exactly
 * what this run created. Nothing is created in the root namespace: veth pairs are created in one
 * namespace with their peer placed directly in the other.
 *
 * Namespaces (role -> name suffix): client `cli`, client2 `cli2` (option), pod `pod`, node `node`,
 * lan `lan`, dst1 `dst1`, dst2 `dst2`, gw `gw`, far `far`.
 *
 * ```
 *  client  eth0 198.18.1.2/24  2001:db8:0:1::2/64 ─── node <p>cli  198.18.1.1/24  2001:db8:0:1::1/64
 *  client2 eth0 198.18.2.2/24  2001:db8:0:2::2/64 ─── node <p>cli2 198.18.2.1/24  2001:db8:0:2::1/64
 *  pod     eth0 198.18.0.2/24  2001:db8::2/64     ─── node <p>pod  198.18.0.1/24  2001:db8::1/64
 *  node    eth1 192.0.2.5/24   2001:db8:100::5/64 ─── lan <p>node ┐
 *  dst1    eth0 192.0.2.10/24  2001:db8:100::10/64 ── lan <p>dst1 ├ lan br0 (bridge, no addresses,
 *  dst2    eth0 192.0.2.20/24  2001:db8:100::20/64 ── lan <p>dst2 │  no STP, no multicast snooping,
 *  gw      eth0 192.0.2.1/24   2001:db8:100::1/64 ─── lan <p>gw   ┘  IPv6 disabled in the lan ns)
 *  gw      <p>far 198.51.100.1/24 2001:db8:200::1/64 ─── far eth0 198.51.100.10/24 2001:db8:200::10/64
 * ```
 * The cluster range is 198.18.0.0/15 and 2001:db8::/48 (its /64s are 2001:db8:0:N::/64, N = 0 pod,
 * 1 client, 2 client2), mirroring 198.18.N.0/24.
 *
 * Routes:
 * - pod: 198.18.0.0/15 via 198.18.0.1 dev eth0, default via 198.18.0.1 dev eth0; IPv6 the same with
 *   2001:db8::/48 and default via 2001:db8::1 (as a pod before the agent moves the default to net1).
 * - client(s): default via the node. node: default via gw (192.0.2.1 / 2001:db8:100::1), forwards
 *   IPv4 and IPv6. gw: forwards; blackhole routes for 203.0.113.0/24 and 2001:db8:ffff::/48 (packets
 *   there vanish silently: a destination that times out). far, dst1, dst2: default via gw.
 * - The LAN (192.0.2.0/24, 2001:db8:100::/64) has no route to the cluster range, like a real LAN.
 * - 192.0.2.100-199 and 2001:db8:100::100-1ff are never configured by the harness: egress addresses.
 *
 * The pod has no macvlan: the agent creates `net1` on the node's `eth1`
 * (`--master-netns /run/netns/<node ns>`), or a test calls `createAdoptedMacvlan()`.
 *
 * Harness hosts' IPv6 addresses use `nodad`. ICMP rate limits are off in every namespace except
 * the pod (so many "port unreachable" probes are answered); the pod keeps kernel defaults.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import {
  listNetns,
  type RunOptions,
  type RunResult,
  rootLinkNames,
  runCommand,
} from '../../helpers/commands.js';

export type Role = 'client' | 'client2' | 'pod' | 'node' | 'lan' | 'dst1' | 'dst2' | 'gw' | 'far';

/** A role, or the full name of one of this topology's namespaces. */
export type NsRef = Role | string;

export interface HostAddress {
  readonly v4: string;
  readonly v6: string;
}

/** The static address plan (the same for every run; namespaces isolate runs). */
export const PLAN = {
  cluster: { v4: '198.18.0.0/15', v6: '2001:db8::/48' },
  pod: { v4: '198.18.0.2', v6: '2001:db8::2' },
  nodePodSide: { v4: '198.18.0.1', v6: '2001:db8::1' },
  client: { v4: '198.18.1.2', v6: '2001:db8:0:1::2' },
  nodeClientSide: { v4: '198.18.1.1', v6: '2001:db8:0:1::1' },
  client2: { v4: '198.18.2.2', v6: '2001:db8:0:2::2' },
  nodeClient2Side: { v4: '198.18.2.1', v6: '2001:db8:0:2::1' },
  /** Cluster-side subnets are /24 and /64. */
  clusterPrefix: { v4: 24, v6: 64 },
  lan: { v4: '192.0.2.0/24', v6: '2001:db8:100::/64' },
  lanPrefix: { v4: 24, v6: 64 },
  /** The node's own address on the master (eth1). */
  nodeLan: { v4: '192.0.2.5', v6: '2001:db8:100::5' },
  gw: { v4: '192.0.2.1', v6: '2001:db8:100::1' },
  dst1: { v4: '192.0.2.10', v6: '2001:db8:100::10' },
  dst2: { v4: '192.0.2.20', v6: '2001:db8:100::20' },
  farNet: { v4: '198.51.100.0/24', v6: '2001:db8:200::/64' },
  gwFar: { v4: '198.51.100.1', v6: '2001:db8:200::1' },
  far: { v4: '198.51.100.10', v6: '2001:db8:200::10' },
  /** Routed to a blackhole by gw: connections there time out. */
  blackhole: { v4: '203.0.113.1', v6: '2001:db8:ffff::1' },
  /** Free LAN addresses for the router's egress addresses (never configured by the harness). */
  egress: {
    v4: ['192.0.2.100', '192.0.2.101', '192.0.2.102', '192.0.2.103'],
    v6: ['2001:db8:100::100', '2001:db8:100::101', '2001:db8:100::102', '2001:db8:100::103'],
  },
} as const;

export interface TopologyOptions {
  /** Configure IPv6 addresses and routes (default true). */
  readonly ipv6?: boolean;
  /** Add a second client namespace in 198.18.2.0/24 (default false). */
  readonly clientSubnet2?: boolean;
  /** Self-test only: fail right after this stage, to exercise cleanup of a partial topology. */
  readonly failAfter?: 'namespaces' | 'links' | 'addresses';
}

/** Options of `exec`: a timeout, whether a failure throws, standard input. */
export type ExecOptions = Omit<RunOptions, 'cwd'>;
export type ExecResult = RunResult;

export interface SpawnOptions {
  /** SIGKILL this long after a SIGTERM that was not obeyed (default 2000 ms). */
  readonly forceKillAfterMs?: number;
}

export type Spawned = ReturnType<typeof spawnIn>;

export interface AdoptedMacvlanOptions {
  readonly up?: boolean;
  /** Addresses (CIDR) to put on it after the move, as a CNI plugin would. */
  readonly addresses?: readonly string[];
}

export interface Topology {
  /** `ert<6 hex>-`: every namespace and infrastructure-side link of this run starts with it. */
  readonly prefix: string;
  readonly ipv6: boolean;
  readonly names: Readonly<Record<Exclude<Role, 'client2'>, string>> & { readonly client2?: string };
  readonly plan: typeof PLAN;
  readonly ifaces: {
    /** In the node namespace: the macvlan master, holding 192.0.2.5/24. */
    readonly master: string;
    /** In the pod, client, dst and far namespaces. */
    readonly hostEth: string;
    readonly nodeToPod: string;
    readonly nodeToClient: string;
    readonly nodeToClient2: string;
    /** In the lan namespace. */
    readonly lanBridge: string;
    readonly lanToNode: string;
    readonly lanToDst1: string;
    readonly lanToDst2: string;
    readonly lanToGw: string;
    /** In the gw namespace: its LAN side (eth0) and the far side. */
    readonly gwLan: string;
    readonly gwFar: string;
  };
  /** `/run/netns/<node ns>`, what the agent takes as `--master-netns`. */
  readonly masterNetnsPath: string;
  /** The namespace name for a role or one of this topology's names; throws for anything else. */
  resolve(ns: NsRef): string;
  /** `ip netns exec NS argv...` (bounded, default 20 s). */
  exec(ns: NsRef, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** `ip -n NS args...`. */
  ip(ns: NsRef, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** `ip -n NS -j args...`, parsed. */
  ipJson<T = unknown>(ns: NsRef, args: readonly string[]): Promise<T>;
  /**
   * Starts a long-running `ip netns exec NS argv...` (stdout/stderr are pipes the caller must
   * read); destroy() kills it. Tracked until it exits.
   */
  spawn(ns: NsRef, argv: readonly string[], options?: SpawnOptions): Spawned;
  /** Creates a macvlan on node eth1 and moves it into the pod as `name` (for adopt tests). */
  createAdoptedMacvlan(
    name?: string,
    mode?: string,
    options?: AdoptedMacvlanOptions,
  ): Promise<{ name: string; ifindex: number; mac: string }>;
  /** `ip addr`, `ip route` (both families) and `nft list ruleset` of each namespace, for failure reports. */
  diagnostics(): Promise<string>;
  /** Kills what it started, deletes exactly its namespaces; idempotent; throws if any is left. */
  destroy(): Promise<void>;
}

/** A failed createTopology(); its namespaces are already deleted. */
export class TopologyError extends Error {
  override name = 'TopologyError';
  constructor(
    message: string,
    readonly prefix: string,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

const COMMAND_TIMEOUT_MS = 20_000;
const SUFFIX: Record<Role, string> = {
  client: 'cli',
  client2: 'cli2',
  pod: 'pod',
  node: 'node',
  lan: 'lan',
  dst1: 'dst1',
  dst2: 'dst2',
  gw: 'gw',
  far: 'far',
};
const MAX_IFNAME = 15;

/** Topologies not yet destroyed, cleaned synchronously if the process exits first. */
const live = new Set<{ cleanupSync(): void }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const entry of live) entry.cleanupSync();
  });
}

function spawnIn(name: string, argv: readonly string[], options: SpawnOptions = {}) {
  return execa('ip', ['netns', 'exec', name, ...argv], {
    buffer: false,
    stdin: 'ignore',
    reject: false,
    forceKillAfterDelay: options.forceKillAfterMs ?? 2_000,
  });
}

const run = (argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> =>
  runCommand(argv, options.timeoutMs ?? COMMAND_TIMEOUT_MS, options);

/** Polls `check` until it returns true; bounded by timeoutMs. */
export async function pollUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function uniquePrefix(): Promise<string> {
  const taken = [...(await listNetns()), ...(await rootLinkNames())];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const prefix = `ert${randomBytes(3).toString('hex')}-`;
    if (!taken.some((name) => name.startsWith(prefix))) return prefix;
  }
  throw new Error('could not find an unused namespace prefix');
}

export async function createTopology(options: TopologyOptions = {}): Promise<Topology> {
  const ipv6 = options.ipv6 ?? true;
  const withClient2 = options.clientSubnet2 ?? false;
  const prefix = await uniquePrefix();
  const roles: Role[] = ['node', 'pod', 'client', 'lan', 'dst1', 'dst2', 'gw', 'far'];
  if (withClient2) roles.push('client2');
  const nameOf = (role: Role): string => `${prefix}${SUFFIX[role]}`;
  const names = Object.fromEntries(roles.map((role) => [role, nameOf(role)])) as Topology['names'];
  const link = (suffix: string): string => {
    const name = `${prefix}${suffix}`;
    if (name.length > MAX_IFNAME) throw new Error(`interface name too long: ${name}`);
    return name;
  };
  const ifaces: Topology['ifaces'] = {
    master: 'eth1',
    hostEth: 'eth0',
    nodeToPod: link('pod'),
    nodeToClient: link('cli'),
    nodeToClient2: link('cli2'),
    lanBridge: 'br0',
    lanToNode: link('node'),
    lanToDst1: link('dst1'),
    lanToDst2: link('dst2'),
    lanToGw: link('gw'),
    gwLan: 'eth0',
    gwFar: link('far'),
  };

  const created: string[] = [];
  const children = new Set<Spawned>();
  const ours = new Set<string>(Object.values(names));
  let destroying: Promise<void> | undefined;
  let macvlanCounter = 0;

  const resolve = (ns: NsRef): string => {
    const byRole = (names as Record<string, string | undefined>)[ns];
    if (byRole !== undefined) return byRole;
    if (ours.has(ns)) return ns;
    throw new Error(`not a namespace of this topology: ${ns}`);
  };

  const track = <T extends Spawned>(child: T): T => {
    children.add(child);
    void child.then(() => children.delete(child));
    return child;
  };

  const exec = (ns: NsRef, argv: readonly string[], opts?: ExecOptions) =>
    run(['ip', 'netns', 'exec', resolve(ns), ...argv], opts);
  const ip = (ns: NsRef, args: readonly string[], opts?: ExecOptions) =>
    run(['ip', '-n', resolve(ns), ...args], opts);
  const ipJson = async <T>(ns: NsRef, args: readonly string[]): Promise<T> =>
    JSON.parse((await ip(ns, ['-j', ...args])).stdout || 'null') as T;
  const sysctl = (ns: NsRef, settings: readonly string[]) =>
    exec(ns, ['sysctl', '-q', ...settings.flatMap((setting) => ['-w', setting])]);

  const killChildren = async (): Promise<void> => {
    const pending = [...children];
    for (const child of pending) child.kill('SIGTERM');
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolveTimer) => setTimeout(resolveTimer, 5_000).unref()),
    ]);
    for (const child of pending) if (child.exitCode === null) child.kill('SIGKILL');
  };

  /** Processes still inside our namespaces (started by what we started, e.g. a daemonized agent). */
  const killStragglers = async (): Promise<void> => {
    for (const name of created) {
      const result = await run(['ip', 'netns', 'pids', name], { reject: false });
      for (const pid of result.stdout.split(/\s+/).filter((word) => /^\d+$/.test(word))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };

  const entry = {
    cleanupSync(): void {
      for (const child of children) child.kill('SIGKILL');
      for (const name of created) {
        try {
          execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: 5_000 });
        } catch {
          // already gone
        }
      }
    },
  };

  const destroy = (): Promise<void> => {
    destroying ??= (async () => {
      await killChildren();
      await killStragglers();
      for (const name of [...created].reverse()) {
        const result = await run(['ip', 'netns', 'delete', name], { reject: false });
        if (result.failed && !/No such file|Invalid argument/.test(result.stderr)) {
          throw new Error(`ip netns delete ${name}: ${result.stderr.trim()}`);
        }
      }
      // Nothing is created in the root namespace; remove anything with our prefix regardless.
      for (const name of await rootLinkNames()) {
        if (name.startsWith(prefix)) await run(['ip', 'link', 'delete', name], { reject: false });
      }
      live.delete(entry);
      const left = [...(await listNetns()), ...(await rootLinkNames())].filter((name) =>
        name.startsWith(prefix),
      );
      if (left.length > 0) throw new Error(`teardown left ${left.join(', ')}`);
    })();
    return destroying;
  };

  const topology: Topology = {
    prefix,
    ipv6,
    names,
    plan: PLAN,
    ifaces,
    masterNetnsPath: `/run/netns/${names.node}`,
    resolve,
    exec,
    ip,
    ipJson,
    spawn: (ns, argv, opts) => track(spawnIn(resolve(ns), argv, opts)),
    createAdoptedMacvlan: async (name = 'net1', mode = 'bridge', opts = {}) => {
      macvlanCounter += 1;
      const temporary = link(`mv${macvlanCounter}`);
      await ip('node', ['link', 'add', temporary, 'link', ifaces.master, 'type', 'macvlan', 'mode', mode]);
      try {
        await ip('node', ['link', 'set', temporary, 'netns', names.pod, 'name', name]);
      } catch (error) {
        await ip('node', ['link', 'delete', temporary], { reject: false });
        throw error;
      }
      if (opts.up) await ip('pod', ['link', 'set', name, 'up']);
      for (const address of opts.addresses ?? []) await ip('pod', ['addr', 'add', address, 'dev', name]);
      const [shown] = await ipJson<{ ifindex: number; address: string }[]>('pod', ['link', 'show', name]);
      if (!shown) throw new Error(`macvlan ${name} not found in the pod after the move`);
      return { name, ifindex: shown.ifindex, mac: shown.address };
    },
    diagnostics: async () => {
      const parts: string[] = [];
      for (const name of created) {
        for (const argv of [
          ['ip', '-n', name, 'addr'],
          ['ip', '-n', name, '-4', 'route'],
          ['ip', '-n', name, '-6', 'route'],
          ['ip', 'netns', 'exec', name, 'nft', 'list', 'ruleset'],
        ]) {
          const result = await run(argv, { reject: false, timeoutMs: 5_000 });
          parts.push(`# ${argv.join(' ')}\n${result.stdout}${result.stderr}`);
        }
      }
      return parts.join('\n');
    },
    destroy,
  };

  installExitHook();
  live.add(entry);
  try {
    // Namespaces one at a time: the first `ip netns add` also sets up /run/netns.
    for (const role of roles) {
      const name = nameOf(role);
      try {
        await run(['ip', 'netns', 'add', name]);
      } finally {
        // Our prefix was unused when chosen: a namespace with this name now is ours, even if the add failed.
        if ((await listNetns()).includes(name)) created.push(name);
      }
    }
    await Promise.all(
      roles.map(async (role) => {
        await ip(role, ['link', 'set', 'lo', 'up']);
        if (role !== 'pod') {
          await sysctl(role, ['net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0']);
        }
      }),
    );
    await sysctl('node', ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    await sysctl('gw', ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    // The lan namespace only bridges: no link-local addresses, DAD or MLD noise in captures.
    await sysctl('lan', ['net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.all.disable_ipv6=1']);
    if (options.failAfter === 'namespaces') throw new Error('failAfter: namespaces');

    // veth pairs: [ns, name, peer ns, peer name].
    const pairs: [Role, string, Role, string][] = [
      ['node', ifaces.nodeToClient, 'client', 'eth0'],
      ['node', ifaces.nodeToPod, 'pod', 'eth0'],
      ['lan', ifaces.lanToNode, 'node', ifaces.master],
      ['lan', ifaces.lanToDst1, 'dst1', 'eth0'],
      ['lan', ifaces.lanToDst2, 'dst2', 'eth0'],
      ['lan', ifaces.lanToGw, 'gw', ifaces.gwLan],
      ['gw', ifaces.gwFar, 'far', 'eth0'],
    ];
    if (withClient2) pairs.push(['node', ifaces.nodeToClient2, 'client2', 'eth0']);
    await ip('lan', [
      'link',
      'add',
      ifaces.lanBridge,
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    ]);
    for (const [ns, name, peerNs, peerName] of pairs) {
      await ip(ns, ['link', 'add', name, 'type', 'veth', 'peer', 'name', peerName, 'netns', resolve(peerNs)]);
    }
    for (const port of [ifaces.lanToNode, ifaces.lanToDst1, ifaces.lanToDst2, ifaces.lanToGw]) {
      await ip('lan', ['link', 'set', port, 'master', ifaces.lanBridge]);
    }
    await ip('lan', ['link', 'set', ifaces.lanBridge, 'up']);
    for (const [ns, name, peerNs, peerName] of pairs) {
      await ip(ns, ['link', 'set', name, 'up']);
      await ip(peerNs, ['link', 'set', peerName, 'up']);
    }
    await pollUntil(
      async () => {
        for (const role of roles) {
          const links = await ipJson<{ ifname: string; operstate: string }[]>(role, ['link', 'show']);
          if (links.some((entry) => entry.ifname !== 'lo' && entry.operstate !== 'UP')) return false;
        }
        return true;
      },
      10_000,
      'all links to be up',
    );
    if (options.failAfter === 'links') throw new Error('failAfter: links');

    const addr = async (ns: Role, dev: string, host: HostAddress, v4Len: number, v6Len: number) => {
      await ip(ns, ['addr', 'add', `${host.v4}/${v4Len}`, 'dev', dev]);
      if (ipv6) await ip(ns, ['-6', 'addr', 'add', `${host.v6}/${v6Len}`, 'dev', dev, 'nodad']);
    };
    const route = async (ns: Role, dest: HostAddress | 'default', via: HostAddress, dev: string) => {
      await ip(ns, [
        '-4',
        'route',
        'add',
        dest === 'default' ? 'default' : dest.v4,
        'via',
        via.v4,
        'dev',
        dev,
      ]);
      if (ipv6) {
        await ip(ns, [
          '-6',
          'route',
          'add',
          dest === 'default' ? 'default' : dest.v6,
          'via',
          via.v6,
          'dev',
          dev,
        ]);
      }
    };
    const c = PLAN.clusterPrefix;
    const l = PLAN.lanPrefix;
    await Promise.all([
      (async () => {
        await addr('pod', 'eth0', PLAN.pod, c.v4, c.v6);
        await route('pod', PLAN.cluster, PLAN.nodePodSide, 'eth0');
        await route('pod', 'default', PLAN.nodePodSide, 'eth0');
      })(),
      (async () => {
        await addr('client', 'eth0', PLAN.client, c.v4, c.v6);
        await route('client', 'default', PLAN.nodeClientSide, 'eth0');
      })(),
      (async () => {
        if (!withClient2) return;
        await addr('client2', 'eth0', PLAN.client2, c.v4, c.v6);
        await route('client2', 'default', PLAN.nodeClient2Side, 'eth0');
      })(),
      (async () => {
        await addr('node', ifaces.nodeToPod, PLAN.nodePodSide, c.v4, c.v6);
        await addr('node', ifaces.nodeToClient, PLAN.nodeClientSide, c.v4, c.v6);
        if (withClient2) await addr('node', ifaces.nodeToClient2, PLAN.nodeClient2Side, c.v4, c.v6);
        await addr('node', ifaces.master, PLAN.nodeLan, l.v4, l.v6);
        await route('node', 'default', PLAN.gw, ifaces.master);
      })(),
      (async () => {
        await addr('gw', ifaces.gwLan, PLAN.gw, l.v4, l.v6);
        await addr('gw', ifaces.gwFar, PLAN.gwFar, 24, 64);
        await ip('gw', ['-4', 'route', 'add', 'blackhole', '203.0.113.0/24']);
        if (ipv6) await ip('gw', ['-6', 'route', 'add', 'blackhole', '2001:db8:ffff::/48']);
      })(),
      (async () => {
        await addr('far', 'eth0', PLAN.far, 24, 64);
        await route('far', 'default', PLAN.gwFar, 'eth0');
      })(),
      ...(['dst1', 'dst2'] as const).map(async (role) => {
        await addr(role, 'eth0', PLAN[role], l.v4, l.v6);
        await route(role, 'default', PLAN.gw, 'eth0');
      }),
    ]);
    if (options.failAfter === 'addresses') throw new Error('failAfter: addresses');
  } catch (error) {
    const cleanup = await destroy().then(
      () => '',
      (failure: unknown) => `; cleanup failed too: ${(failure as Error).message}`,
    );
    throw new TopologyError(`createTopology ${prefix}: ${(error as Error).message}${cleanup}`, prefix, error);
  }
  return topology;
}

/** Creates a topology, runs `fn`, and destroys the topology whether `fn` succeeds or throws. */
export async function withTopology<T>(
  options: TopologyOptions,
  fn: (topology: Topology) => Promise<T>,
): Promise<T> {
  const topology = await createTopology(options);
  try {
    return await fn(topology);
  } finally {
    await topology.destroy();
  }
}
