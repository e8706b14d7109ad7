/**
 * A router's surroundings in network namespaces: `createTopology(options)` builds the layout
 * (layout.ts has the picture and the address plan) under a unique per-run prefix and returns a
 * `Topology` to run commands in it, start processes in it, break it (faults.ts) and tear it down.
 *
 * ```ts
 * const topo = await createTopology();                       // IPv4 + IPv6, one pod on one node
 * const ha = await createTopology({
 *   pods: [{ name: 'p1', node: 'node1' }, { name: 'p2', node: 'node2' }],  // HA: two nodes, one LAN
 *   lanHost: true,                                            // `host`, to claim addresses
 *   mtu: { podCluster: 1400 },                                // per-link MTUs
 * });
 * await topo.exec('pod', ['nft', 'list', 'ruleset']);       // roles, or this run's full names
 * await topo.killPod('p1'); await topo.restorePod('p1');
 * await topo.destroy();                                      // or withTopology(options, fn)
 * ```
 *
 * Names: namespaces are `<prefix><role>` (`client` → `cli`, `client2` → `cli2`); links the kit
 * names in node, bridge and gateway namespaces are `<prefix><…>`; inside hosts the links are
 * `eth0` (`eth1` for a node's master, `eth2` its interconnect). The prefix is `ert<6 hex>-`
 * (tests) or `erb<6 hex>-` (benchmarks), claimed with an owner record (ownership.ts) so that
 * `sweepLeftovers()`, run before every new topology, removes only what crashed runs left. A caller
 * may instead give a fixed `prefix` (the demo): it must not be in use, and is never swept.
 *
 * Teardown (`destroy()`): the processes this topology started (spawn), then every process still
 * inside its namespaces, then the namespaces, then any root-namespace link with the prefix (none
 * is ever created there); it throws if anything with the prefix is left. It is idempotent, and
 * runs synchronously on process exit for a topology not yet destroyed (unless `keepOnExit`).
 */
import { execFileSync } from 'node:child_process';
import { type BuildStage, buildParts } from './build.js';
import * as faults from './faults.js';
import {
  BRIDGE,
  DEFAULT_PODS,
  HOST_ETH,
  type Layout,
  type LayoutParts,
  MASTER,
  type MtuOptions,
  type NodeLayout,
  type PodLayout,
  type PodSpec,
  planLayout,
} from './layout.js';
import { isFixedPrefix, type PrefixKind, prefixed } from './names.js';
import { deleteNamespace, listNetns, rootLinkNames } from './netns.js';
import { claimPrefix, releasePrefix, sweepLeftovers } from './ownership.js';
import { PLAN } from './plan.js';
import {
  type Child,
  type RunOptions,
  type RunResult,
  run,
  type SpawnOptions,
  sleep,
  spawnChild,
} from './process.js';

export interface TopologyOptions {
  /** Configure IPv6 addresses and routes (default true). */
  readonly ipv6?: boolean;
  /** A second client namespace `client2` in 198.18.2.0/24 (default false). */
  readonly clientSubnet2?: boolean;
  /** The router pods and their nodes (default one pod `pod` on node `node`). */
  readonly pods?: readonly PodSpec[];
  /** A LAN host `host` (192.0.2.30) that can claim addresses (default false). */
  readonly lanHost?: boolean;
  readonly mtu?: MtuOptions;
  /** The kind of random prefix: `ert` tests (default), `erb` benchmarks. */
  readonly kind?: PrefixKind;
  /** A fixed prefix instead (the demo's `erdemo-`); nothing may use it yet. */
  readonly prefix?: string;
  /** Leave the namespaces when the process exits (the demo's --keep); default false. */
  readonly keepOnExit?: boolean;
  /** Self-test only: fail right after this stage, to exercise the cleanup of a partial topology. */
  readonly failAfter?: BuildStage;
}

export type ExecOptions = Omit<RunOptions, 'cwd'>;

export interface PodInfo extends PodLayout {
  /** `/run/netns/<its node's namespace>`, what the agent takes as `--master-netns`. */
  readonly masterNetnsPath: string;
}

export interface NodeInfo extends NodeLayout {
  readonly masterNetnsPath: string;
}

export interface AdoptedMacvlanOptions {
  readonly up?: boolean;
  /** Addresses (CIDR) to put on it after the move, as a CNI plugin would. */
  readonly addresses?: readonly string[];
  /** The pod to put it in (default the first); its node's master is the parent. */
  readonly pod?: string;
}

/** The first pod's and first node's links, by the names the single-node tests know them by. */
export interface SingleNodeInterfaces {
  /** In the node namespace: the macvlan master, holding 192.0.2.5/24. */
  readonly master: string;
  /** In the pod, client, dst, host and far namespaces. */
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
  /** In the gw namespace: its LAN side and the far side. */
  readonly gwLan: string;
  readonly gwFar: string;
}

export interface Topology {
  /** Every namespace, and every link the kit names outside hosts, starts with it. */
  readonly prefix: string;
  readonly ipv6: boolean;
  readonly plan: typeof PLAN;
  /** Role → namespace name, for the namespaces this run has. */
  readonly names: Readonly<Record<string, string>>;
  readonly pods: readonly PodInfo[];
  readonly nodes: readonly NodeInfo[];
  readonly ifaces: SingleNodeInterfaces;
  /** The first pod's `--master-netns`. */
  readonly masterNetnsPath: string;
  readonly layout: Layout;
  /** A router pod by role (default the first). */
  pod(role?: string): PodInfo;
  /** A node by role (default the first pod's node). */
  node(role?: string): NodeInfo;
  /** `<prefix><suffix>`, checked against the 15-character limit: for links a caller creates. */
  linkName(suffix: string): string;
  /** The namespace name for a role or one of this run's names; throws for anything else. */
  resolve(ns: string): string;
  /** `/run/netns/<name>`: for `--master-netns`, or `nsenter --net=PATH --` to run a program inside. */
  netnsPath(ns: string): string;
  /** `ip netns exec NS argv…` (bounded, default 20 s; throws on failure unless reject: false). */
  exec(ns: string, argv: readonly string[], options?: ExecOptions): Promise<RunResult>;
  /** `ip -n NS args…`. */
  ip(ns: string, args: readonly string[], options?: ExecOptions): Promise<RunResult>;
  /** `ip -n NS -j args…`, parsed. */
  ipJson<T = unknown>(ns: string, args: readonly string[]): Promise<T>;
  /** A long-running `ip netns exec NS argv…`; destroy() ends it. */
  spawn(ns: string, argv: readonly string[], options?: SpawnOptions): Child;
  /** A macvlan on the pod's node's master, moved into the pod as `name` (for adopt tests). */
  createAdoptedMacvlan(
    name?: string,
    mode?: string,
    options?: AdoptedMacvlanOptions,
  ): Promise<{ name: string; ifindex: number; mac: string }>;

  /** A pod's death: its processes SIGKILLed, its namespace (and so its links) gone. */
  killPod(pod?: string, options?: faults.KillPodOptions): Promise<void>;
  /** A killed pod back: a fresh namespace with eth0, addresses and routes as at the start. */
  restorePod(pod?: string): Promise<void>;
  /** killPod + restorePod: a clean pod. */
  resetPod(pod?: string, options?: faults.KillPodOptions): Promise<void>;
  /** Deletes a node's master (eth1), and every macvlan on it; restoreMaster() makes a new one. */
  removeMaster(node?: string): Promise<void>;
  restoreMaster(node?: string): Promise<void>;
  /** Cuts a node's port from the LAN bridge (its carrier stays up); heal() puts it back. */
  partition(node?: string): Promise<void>;
  heal(node?: string): Promise<void>;
  /** Takes the gateway off the LAN (see GatewayOff); gatewayOn() brings it back the same way. */
  gatewayOff(how?: faults.GatewayOff): Promise<void>;
  gatewayOn(): Promise<void>;
  /** A LAN host takes an address (IPv4 conflicts, IPv6 DAD failures); release() gives it up. */
  claimAddress(cidr: string, options?: faults.ClaimOptions): Promise<faults.Claim>;
  /** Drops ICMP fragmentation-needed / packet-too-big in a namespace (far end or gateway). */
  dropIcmpTooBig(ns: string): Promise<faults.IcmpDrop>;

  /** `ip addr`, `ip route` (both families) and `nft list ruleset` of each namespace, for failure reports. */
  diagnostics(): Promise<string>;
  /** Ends what it started, deletes exactly its namespaces; idempotent; throws if anything is left. */
  destroy(): Promise<void>;
}

/** A failed createTopology(); what it had created is already deleted. */
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

/** Topologies not yet destroyed, removed synchronously if the process exits first. */
const live = new Set<{ cleanupSync(): void }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const entry of live) entry.cleanupSync();
  });
}

function cleanupSync(prefix: string, namespaces: Iterable<string>): void {
  for (const name of namespaces) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 5_000 });
      for (const pid of pids.split(/\s+/).filter((word) => /^\d+$/.test(word)))
        process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      // gone already
    }
  }
  releasePrefix(prefix);
}

async function choosePrefix(options: TopologyOptions): Promise<string> {
  if (options.prefix === undefined) {
    await sweepLeftovers();
    return claimPrefix(options.kind ?? 'ert');
  }
  if (!isFixedPrefix(options.prefix))
    throw new Error(
      `prefix ${JSON.stringify(options.prefix)}: lowercase, ending in "-", at most 8 characters`,
    );
  const fixed = options.prefix;
  const inUse = [...(await listNetns()), ...(await rootLinkNames())].filter((name) => name.startsWith(fixed));
  if (inUse.length > 0) throw new Error(`prefix ${fixed} is in use: ${inUse.join(', ')}`);
  return fixed;
}

/** As long as any prefix: a layout under it checks the options before anything is claimed or made. */
const PLACEHOLDER_PREFIX = 'ert000000-';

export async function createTopology(options: TopologyOptions = {}): Promise<Topology> {
  const layoutOptions = normalize(options);
  planLayout(PLACEHOLDER_PREFIX, layoutOptions);
  const prefix = await choosePrefix(options);
  return buildTopology(planLayout(prefix, layoutOptions), options);
}

function normalize(options: TopologyOptions) {
  return {
    ipv6: options.ipv6 ?? true,
    clientSubnet2: options.clientSubnet2 ?? false,
    pods: options.pods ?? DEFAULT_PODS,
    lanHost: options.lanHost ?? false,
    mtu: options.mtu ?? {},
  };
}

async function buildTopology(layout: Layout, options: TopologyOptions): Promise<Topology> {
  const { prefix } = layout;
  /** This run's namespaces that exist now, in creation order. */
  const created = new Set<string>();
  const ours = new Set(Object.values(layout.names));
  const children = new Set<Child>();
  let destroying: Promise<void> | undefined;
  let macvlanCounter = 0;
  let gatewayDown: faults.GatewayOff | undefined;

  const resolve = (ns: string): string => {
    const byRole = layout.names[ns];
    if (byRole !== undefined) return byRole;
    if (ours.has(ns)) return ns;
    throw new Error(`not a namespace of this topology: ${ns}`);
  };
  const exec = (ns: string, argv: readonly string[], opts: ExecOptions = {}) =>
    run(['ip', 'netns', 'exec', resolve(ns), ...argv], { timeoutMs: COMMAND_TIMEOUT_MS, ...opts });
  const ip = (ns: string, args: readonly string[], opts: ExecOptions = {}) =>
    run(['ip', '-n', resolve(ns), ...args], { timeoutMs: COMMAND_TIMEOUT_MS, ...opts });
  const ipJson = async <T>(ns: string, args: readonly string[]): Promise<T> =>
    JSON.parse((await ip(ns, ['-j', ...args])).stdout || 'null') as T;

  const masterPath = (nodeRole: string) => `/run/netns/${resolve(nodeRole)}`;
  const nodes: NodeInfo[] = layout.nodes.map((n) => ({ ...n, masterNetnsPath: masterPath(n.role) }));
  const pods: PodInfo[] = layout.pods.map((p) => ({ ...p, masterNetnsPath: masterPath(p.node) }));
  const pod = (role?: string): PodInfo => {
    const found = role === undefined ? pods[0] : pods.find((p) => p.role === role);
    if (!found) throw new Error(`no router pod ${role} in this topology`);
    return found;
  };
  const node = (role?: string): NodeInfo => {
    const wanted = role ?? pod().node;
    const found = nodes.find((n) => n.role === wanted);
    if (!found) throw new Error(`no node ${role} in this topology`);
    return found;
  };
  const link = (suffix: string) => prefixed(prefix, suffix);

  const core: faults.TopologyCore = {
    layout,
    resolve,
    ip,
    exec,
    pod,
    node,
    build: (parts: LayoutParts) => buildParts(layout, parts, { created: (name) => created.add(name) }),
    forget: (name) => created.delete(name),
  };

  const killChildren = async (): Promise<void> => {
    const pending = [...children];
    for (const child of pending) child.kill('SIGTERM');
    await Promise.race([Promise.all(pending.map((c) => c.exited)), sleep(5_000)]);
    for (const child of pending) if (child.running()) child.kill('SIGKILL');
  };

  const entry = { cleanupSync: () => cleanupSync(prefix, [...created]) };
  const destroy = (): Promise<void> => {
    destroying ??= (async () => {
      await killChildren();
      for (const name of [...created].reverse()) {
        await deleteNamespace(name);
        created.delete(name);
      }
      // Nothing is created in the root namespace; remove anything with our prefix regardless.
      for (const name of await rootLinkNames())
        if (name.startsWith(prefix)) await run(['ip', 'link', 'delete', name], { reject: false });
      live.delete(entry);
      releasePrefix(prefix);
      const left = [...(await listNetns()), ...(await rootLinkNames())].filter((name) =>
        name.startsWith(prefix),
      );
      if (left.length > 0) throw new Error(`teardown left ${left.join(', ')}`);
    })();
    return destroying;
  };

  const firstPod = layout.pods[0] as PodLayout;
  const vethA = (id: string): string => {
    const veth = layout.veths.find((v) => v.id === id);
    if (!veth) throw new Error(`no link ${id} in this topology`);
    return veth.a.name;
  };
  const topology: Topology = {
    prefix,
    ipv6: layout.ipv6,
    plan: PLAN,
    names: layout.names,
    pods,
    nodes,
    ifaces: {
      master: MASTER,
      hostEth: HOST_ETH,
      nodeToPod: firstPod.nodeLink,
      nodeToClient: link('cli'),
      nodeToClient2: link('cli2'),
      lanBridge: BRIDGE,
      lanToNode: node().lanPort,
      lanToDst1: vethA('lan-dst1'),
      lanToDst2: vethA('lan-dst2'),
      lanToGw: vethA('lan-gw'),
      gwLan: HOST_ETH,
      gwFar: vethA('gw-far'),
    },
    masterNetnsPath: pod().masterNetnsPath,
    layout,
    pod,
    node,
    linkName: link,
    resolve,
    netnsPath: (ns) => `/run/netns/${resolve(ns)}`,
    exec,
    ip,
    ipJson,
    spawn: (ns, argv, opts) => {
      const child = spawnChild(['ip', 'netns', 'exec', resolve(ns), ...argv], opts);
      children.add(child);
      void child.exited.then(() => children.delete(child));
      return child;
    },
    createAdoptedMacvlan: async (name = 'net1', mode = 'bridge', opts = {}) => {
      const target = pod(opts.pod);
      const parent = node(target.node);
      macvlanCounter += 1;
      const temporary = link(`mv${macvlanCounter}`);
      await ip(parent.role, [
        'link',
        'add',
        temporary,
        'link',
        parent.master,
        'type',
        'macvlan',
        'mode',
        mode,
      ]);
      try {
        await ip(parent.role, ['link', 'set', temporary, 'netns', target.ns, 'name', name]);
      } catch (error) {
        await ip(parent.role, ['link', 'delete', temporary], { reject: false });
        throw error;
      }
      if (opts.up) await ip(target.role, ['link', 'set', name, 'up']);
      for (const address of opts.addresses ?? [])
        await ip(target.role, ['addr', 'add', address, 'dev', name]);
      const [shown] = await ipJson<{ ifindex: number; address: string }[]>(target.role, [
        'link',
        'show',
        name,
      ]);
      if (!shown) throw new Error(`macvlan ${name} not found in ${target.role} after the move`);
      return { name, ifindex: shown.ifindex, mac: shown.address };
    },
    killPod: (role, opts) => faults.killPod(core, role, opts),
    restorePod: (role) => faults.restorePod(core, role),
    resetPod: async (role, opts) => {
      await faults.killPod(core, role, opts);
      await faults.restorePod(core, role);
    },
    removeMaster: (role) => faults.removeMaster(core, role),
    restoreMaster: (role) => faults.restoreMaster(core, role),
    partition: (role) => faults.partition(core, role),
    heal: (role) => faults.heal(core, role),
    gatewayOff: async (how = 'link-down') => {
      if (gatewayDown) throw new Error(`the gateway is already off (${gatewayDown})`);
      await faults.gatewayOff(core, how);
      gatewayDown = how;
    },
    gatewayOn: async () => {
      if (!gatewayDown) return;
      await faults.gatewayOn(core, gatewayDown);
      gatewayDown = undefined;
    },
    claimAddress: (cidr, opts) => faults.claimAddress(core, cidr, opts),
    dropIcmpTooBig: (ns) => faults.dropIcmpTooBig(core, ns),
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

  if (!options.keepOnExit) {
    installExitHook();
    live.add(entry);
  }
  try {
    await buildParts(layout, layout, { created: (name) => created.add(name), failAfter: options.failAfter });
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
