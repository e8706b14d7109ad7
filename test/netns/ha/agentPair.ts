/**
 * Two real agents under HA (`run --ha vrrp`) in the kit's two router pods on two nodes sharing
 * one LAN: starting them (up to their VRRP instance running), reading their role from /status, waiting for exactly one active,
 * finding keepalived among a pod's processes, and a pod's death (keepalived first, so that it
 * cannot send a priority-0 goodbye: a node that dies sends nothing either).
 */
import {
  type AgentProcess,
  type ConfigDir,
  globalAddresses,
  namespacePids,
  podHasLink,
  pollUntil,
  processArgv,
  type RunLaunch,
  startAgent,
  type Topology,
} from '../../../src/netkit/index.js';
import { type StatusDoc, status } from '../kit/status.js';

export type Pod = 'p1' | 'p2';
export const PODS: readonly Pod[] = ['p1', 'p2'];
export const TWO_PODS = [
  { name: 'p1', node: 'node1' },
  { name: 'p2', node: 'node2' },
] as const;
export const GROUP = 42;
/** VRRP at 100 ms, and a 2 s resync so the gateway check runs often. */
export const HA_ARGS = ['--ha', 'vrrp', '--ha-group', String(GROUP), '--resync-interval', '2'] as const;
/** Master-down time is 0.36 s at 100 ms; an election plus a pass fits well inside this. */
export const ROLE_MS = 15_000;
/**
 * An agent's start up to its VRRP instance running: the first apply, then keepalived. Bounded
 * apart from ROLE_MS, which must time the election alone: on a loaded machine the first apply
 * alone took 9 s, and an election clock started with the process ran out before it began.
 */
export const VRRP_START_MS = 60_000;

export interface HaDoc {
  readonly mode: string;
  readonly role: 'active' | 'standby' | 'fault';
  readonly group: number;
  readonly priority: number;
  readonly since: string;
  readonly transitions: number;
}

export const other = (pod: Pod): Pod => (pod === 'p1' ? 'p2' : 'p1');

export class AgentPair {
  readonly agents: Partial<Record<Pod, AgentProcess>> = {};

  constructor(
    readonly topo: Topology,
    readonly config: ConfigDir,
  ) {}

  agent(pod: Pod): AgentProcess {
    const agent = this.agents[pod];
    if (!agent) throw new Error(`no agent in ${pod}`);
    return agent;
  }

  async start(pod: Pod, launch: RunLaunch = {}): Promise<AgentProcess> {
    // Multus attaches net1 before the pod's containers start (deploy/ha adopts it).
    if (!(await podHasLink(this.topo, 'net1', pod)))
      await this.topo.createAdoptedMacvlan('net1', 'bridge', { pod, up: true });
    // The kernel keeps a confirmed neighbour REACHABLE for 15-45 s without probing it, and the
    // agent's gateway check reads that entry; here net1 forgets within about a second, so a lost
    // gateway shows within seconds.
    await this.topo.exec(pod, [
      'sysctl',
      '-q',
      '-w',
      ...(['ipv4', 'ipv6'] as const).flatMap((family) => [
        `net.${family}.neigh.net1.base_reachable_time_ms=1000`,
        `net.${family}.neigh.net1.delay_first_probe_time=1`,
      ]),
    ]);
    const agent = await startAgent(this.topo, this.config.path, {
      ...launch,
      pod,
      args: [...HA_ARGS, ...(launch.args ?? [])],
    });
    this.agents[pod] = agent;
    // keepalived starts every instance in BACKUP (its log line comes through the agent's log).
    await agent
      .waitForLog((line) => /Entering (BACKUP|MASTER|FAULT) STATE/.test(line.msg), VRRP_START_MS)
      .catch((error: Error) => {
        throw new Error(`${pod}: the agent's keepalived did not start: ${error.message}`);
      });
    return agent;
  }

  /** /status of the agent in `pod` (undefined while it does not answer). */
  async status(pod: Pod): Promise<StatusDoc | undefined> {
    return status(this.topo, { ns: pod, maxSeconds: 2 }).catch(() => undefined);
  }

  async ha(pod: Pod): Promise<HaDoc | undefined> {
    return (await this.status(pod))?.ha as HaDoc | undefined;
  }

  /**
   * Waits until `pod` reports `role` after a pass: active with Available True, standby with
   * Available False reason Standby (the first pass done: it holds nothing).
   */
  async waitRole(pod: Pod, role: HaDoc['role'], timeoutMs = ROLE_MS): Promise<void> {
    let last: unknown;
    await pollUntil(
      async () => {
        const doc = await this.status(pod);
        const available = doc?.conditions.find((c) => c.type === 'Available');
        last = { ha: doc?.ha, available };
        if ((doc?.ha as HaDoc | undefined)?.role !== role) return false;
        if (role === 'active') return available?.status === 'True';
        return (
          available?.status === 'False' && available.reason === (role === 'standby' ? 'Standby' : 'HaFault')
        );
      },
      timeoutMs,
      `${pod} to be ${role}`,
      50,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${JSON.stringify(last)}`);
    });
  }

  /** Waits for exactly one active and one standby among the running agents; returns them. */
  async waitOneActive(timeoutMs = ROLE_MS): Promise<{ active: Pod; standby: Pod }> {
    let roles: Partial<Record<Pod, string>> = {};
    await pollUntil(
      async () => {
        roles = {};
        for (const pod of PODS) roles[pod] = (await this.ha(pod))?.role;
        return (
          Object.values(roles).filter((r) => r === 'active').length === 1 &&
          Object.values(roles).filter((r) => r === 'standby').length === 1
        );
      },
      timeoutMs,
      'one active and one standby',
      50,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; roles: ${JSON.stringify(roles)}`);
    });
    const active: Pod = roles.p1 === 'active' ? 'p1' : 'p2';
    await this.waitRole(active, 'active', timeoutMs);
    await this.waitRole(other(active), 'standby', timeoutMs);
    return { active, standby: other(active) };
  }

  /** The egress addresses (global addresses of net1) a pod holds. */
  egressAddresses(pod: Pod): Promise<string[]> {
    return globalAddresses(this.topo, pod, 'net1');
  }

  /** keepalived's processes in a pod (its parent and its VRRP process). */
  async keepalivedPids(pod: Pod): Promise<number[]> {
    const pids = await namespacePids(this.topo.pod(pod).ns);
    return pids.filter((pid) => (processArgv(pid)[0] ?? '').endsWith('keepalived'));
  }

  /**
   * A pod's death as a node crash looks to its peer: keepalived SIGKILLed first (children
   * before the parent, so no priority-0 goodbye goes out), then every process and the namespace.
   * Resolves with the epoch ms of the first kill.
   */
  async killPod(pod: Pod): Promise<number> {
    const pids = (await this.keepalivedPids(pod)).sort((a, b) => b - a);
    const killedAt = Date.now();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await this.topo.killPod(pod);
    delete this.agents[pod];
    return killedAt;
  }

  /** Stops every agent still running (SIGTERM, bounded). */
  async stopAll(): Promise<void> {
    for (const pod of PODS) {
      const agent = this.agents[pod];
      delete this.agents[pod];
      if (agent) await agent.stop(10_000).catch(() => agent.child.kill('SIGKILL'));
    }
  }
}

/** Whether a process is still there. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
