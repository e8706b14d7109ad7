/**
 * A small, self-contained network for the HA tests: two "router pods" on two "nodes" sharing
 * one LAN, and a client on that LAN. (Kept apart from test/netns/harness on purpose: that kit
 * is being rewritten; the lead will port this onto it.)
 *
 * ```
 *  pod1 net1 (macvlan bridge on node1 eth1)      pod2 net1 (macvlan bridge on node2 eth1)
 *        node1 eth1 ── lan <p>n1 ┐                     node2 eth1 ── lan <p>n2 ┐
 *                                ├──── lan br0 (bridge, no STP, no multicast snooping) ────┤
 *  client eth1 192.0.2.50/24 2001:db8:100::50/64 ── lan <p>cli ┘
 * ```
 * The pods' net1 carry only their automatic IPv6 link-local address (VRRP needs nothing else);
 * the nodes have no addresses at all. Every namespace and every link the test creates in the
 * lan namespace starts with a unique per-run prefix `ha<6 hex>-`; destroy() deletes exactly those
 * namespaces (a pod namespace already deleted by a test is fine).
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { runProgram } from '../../../src/system/command.js';

export type Pod = 'p1' | 'p2';
export const PODS: readonly Pod[] = ['p1', 'p2'];
export const NODE_OF: Readonly<Record<Pod, string>> = { p1: 'n1', p2: 'n2' };
export const CLIENT = { v4: '192.0.2.50', v6: '2001:db8:100::50' } as const;

export interface HaTopology {
  readonly prefix: string;
  /** Full namespace name of a role: `p1`, `p2`, `n1`, `n2`, `lan`, `cli`. */
  ns(role: string): string;
  /** `nsenter --net=/run/netns/NS --`: what the engine's commandPrefix needs to run keepalived in a pod. */
  enter(role: string): string[];
  /** Runs a command in a namespace; throws on a non-zero exit unless `allowFailure`. */
  exec(role: string, argv: readonly string[], allowFailure?: boolean): Promise<string>;
  /** Loads an nft ruleset (text, on stdin) in a namespace. */
  nft(role: string, ruleset: string): Promise<void>;
  /** (Re)creates pod `pod`: its namespace and net1, a bridge-mode macvlan on its node's eth1. */
  createPod(pod: Pod, interfaceName?: string): Promise<void>;
  /** Gives an existing pod a new net1 (as after the agent re-created it). */
  addNet1(pod: Pod, interfaceName?: string): Promise<void>;
  /** Deletes a pod's namespace (its net1 goes with it). */
  deletePod(pod: Pod): Promise<void>;
  /** The pod's net1 IPv6 link-local address, once it is usable (DAD done). */
  linkLocal(pod: Pod): Promise<string>;
  /** Cuts a node's port off the LAN bridge (a partition), or puts it back. */
  setNodeConnected(node: 'n1' | 'n2', connected: boolean): Promise<void>;
  destroy(): Promise<void>;
}

const TIMEOUT_MS = 20_000;

async function run(argv: readonly string[], allowFailure = false, input?: string): Promise<string> {
  const result = await runProgram(argv, { timeoutMs: TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0 && !allowFailure) {
    throw new Error(`${argv.join(' ')}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
  }
  return result.stdout;
}

async function existingNamespaces(): Promise<string[]> {
  return readdir('/run/netns').catch(() => []);
}

export async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function createHaTopology(): Promise<HaTopology> {
  const taken = await existingNamespaces();
  let prefix = '';
  do prefix = `ha${randomBytes(3).toString('hex')}-`;
  while (taken.some((name) => name.startsWith(prefix)));
  const ns = (role: string) => `${prefix}${role}`;
  const created = new Set<string>();
  const ip = (role: string, args: readonly string[], allowFailure = false) =>
    run(['ip', '-n', ns(role), ...args], allowFailure);

  const addNamespace = async (role: string) => {
    await run(['ip', 'netns', 'add', ns(role)]);
    created.add(ns(role));
    await ip(role, ['link', 'set', 'lo', 'up']);
  };

  const topology: HaTopology = {
    prefix,
    ns,
    enter: (role) => ['nsenter', `--net=/run/netns/${ns(role)}`, '--'],
    exec: (role, argv, allowFailure) => run(['ip', 'netns', 'exec', ns(role), ...argv], allowFailure),

    async nft(role, ruleset) {
      await run(['ip', 'netns', 'exec', ns(role), 'nft', '-f', '-'], false, ruleset);
    },

    async createPod(pod, interfaceName = 'net1') {
      await addNamespace(pod);
      await topology.addNet1(pod, interfaceName);
    },

    async addNet1(pod, interfaceName = 'net1') {
      const node = NODE_OF[pod];
      const temp = `${pod}${randomBytes(2).toString('hex')}`;
      await ip(node, ['link', 'add', temp, 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']);
      await ip(node, ['link', 'set', temp, 'netns', ns(pod)]);
      await ip(pod, ['link', 'set', temp, 'name', interfaceName]);
      await ip(pod, ['link', 'set', interfaceName, 'up']);
    },

    async deletePod(pod) {
      await run(['ip', 'netns', 'del', ns(pod)], true);
      created.delete(ns(pod));
    },

    async linkLocal(pod) {
      let address = '';
      await pollUntil(
        async () => {
          const out = await ip(pod, ['-j', '-6', 'address', 'show', 'dev', 'net1', 'scope', 'link']);
          const info = JSON.parse(out) as { addr_info?: { local: string; tentative?: boolean }[] }[];
          const usable = info[0]?.addr_info?.find((a) => !a.tentative && !a.local.startsWith('fe80::5e:'));
          address = usable?.local ?? '';
          return address !== '';
        },
        10_000,
        `a link-local address on ${ns(pod)} net1`,
      );
      return address;
    },

    async setNodeConnected(node, connected) {
      await ip('lan', ['link', 'set', ns(node), ...(connected ? ['master', 'br0'] : ['nomaster'])]);
      if (connected) await ip('lan', ['link', 'set', ns(node), 'up']);
    },

    async destroy() {
      const left = [];
      for (const name of [...created].reverse()) {
        await run(['ip', 'netns', 'del', name], true);
      }
      created.clear();
      for (const name of await existingNamespaces()) if (name.startsWith(prefix)) left.push(name);
      if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(', ')}`);
    },
  };

  try {
    for (const role of ['lan', 'n1', 'n2', 'cli']) await addNamespace(role);
    await ip('lan', ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0']);
    await ip('lan', ['link', 'set', 'br0', 'up']);
    await run(['ip', 'netns', 'exec', ns('lan'), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    for (const host of ['n1', 'n2', 'cli']) {
      await ip('lan', ['link', 'add', ns(host), 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns(host)]);
      await ip('lan', ['link', 'set', ns(host), 'master', 'br0', 'up']);
      await ip(host, ['link', 'set', 'eth1', 'up']);
    }
    await ip('cli', ['address', 'add', `${CLIENT.v4}/24`, 'dev', 'eth1']);
    await ip('cli', ['address', 'add', `${CLIENT.v6}/64`, 'dev', 'eth1', 'nodad']);
    for (const pod of PODS) await topology.createPod(pod);
  } catch (error) {
    await topology.destroy().catch(() => undefined);
    throw error;
  }
  return topology;
}
