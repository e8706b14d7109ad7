/**
 * One "router pod" replica for the HA tests: the real engine (dist/ is not needed: the engine
 * runs in the test process) with keepalived running inside the pod's namespace, and every
 * event recorded with the moment the test process received it (what the agent would see).
 */
import { performance } from 'node:perf_hooks';
import type { HaRole } from '../../../src/agent/ha/role.js';
import {
  createKeepalivedEngine,
  type HaEngine,
  type HaEngineOptions,
  type HaEvent,
} from '../../../src/agent/ha/supervisor.js';
import { pollUntil, type Topology } from '../../../src/netkit/index.js';
import { enter, type Pod } from './engineNet.js';

export type Recorded = HaEvent & { readonly receivedAt: number };

export interface Replica {
  readonly pod: Pod;
  readonly engine: HaEngine;
  readonly events: Recorded[];
  readonly logs: string[];
  role(): HaRole;
  /** The first role event to `role` at index `from` or later. */
  waitRole(role: HaRole, timeoutMs: number, from?: number): Promise<Recorded>;
  waitEvent(type: HaEvent['type'], timeoutMs: number, from?: number): Promise<Recorded>;
  waitLog(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** Role events so far. */
  transitions(): number;
  /** SIGKILL keepalived's VRRP process, then its parent: nothing is sent on the way out. */
  killKeepalived(): Promise<void>;
}

export const GROUP = 77;
export const INTERVAL_S = 0.1;

export async function startReplica(
  topology: Topology,
  pod: Pod,
  options: Partial<Omit<HaEngineOptions, 'onEvent' | 'onLog'>> = {},
  /** Also told every event (e.g. a stand-in for the agent's address step). */
  listener?: (event: HaEvent) => void,
): Promise<Replica> {
  const events: Recorded[] = [];
  const logs: string[] = [];
  const engine = createKeepalivedEngine({
    interface: 'net1',
    group: GROUP,
    priority: 100,
    advertIntervalSeconds: INTERVAL_S,
    commandPrefix: enter(topology, pod),
    ...options,
    onEvent: (event) => {
      events.push({ ...event, receivedAt: performance.now() });
      listener?.(event);
    },
    onLog: (line) => logs.push(line),
  });
  const find = <T extends Recorded>(match: (event: Recorded) => event is T, from: number): T | undefined =>
    events.slice(from).find(match);
  const replica: Replica = {
    pod,
    engine,
    events,
    logs,
    role: () => engine.status().role,
    async waitRole(role, timeoutMs, from = 0) {
      const match = (event: Recorded): event is Recorded => event.type === 'role' && event.role === role;
      await pollUntil(() => find(match, from) !== undefined, timeoutMs, `${pod} to become ${role}`).catch(
        (error: Error) => {
          throw new Error(
            `${error.message}\nevents: ${JSON.stringify(events)}\nlog:\n${logs.slice(-30).join('\n')}`,
          );
        },
      );
      return find(match, from)!;
    },
    async waitEvent(type, timeoutMs, from = 0) {
      const match = (event: Recorded): event is Recorded => event.type === type;
      await pollUntil(() => find(match, from) !== undefined, timeoutMs, `${pod}: a ${type} event`);
      return find(match, from)!;
    },
    async waitLog(pattern, timeoutMs) {
      await pollUntil(() => logs.some((line) => pattern.test(line)), timeoutMs, `${pod} log ${pattern}`);
    },
    transitions: () => events.filter((event) => event.type === 'role').length,
    async killKeepalived() {
      const pids = await engine.pids();
      if (pids.vrrp) process.kill(pids.vrrp, 'SIGKILL');
      if (pids.keepalived) process.kill(pids.keepalived, 'SIGKILL');
    },
  };
  await engine.start();
  return replica;
}
