/**
 * HA failover (issue 11): two agents under `run --ha vrrp` (advertisement interval 100 ms) in two
 * router pods on two nodes sharing one LAN, with their own topology (the suite's, not the
 * single-pod one the other suites share). Each failover:
 *
 * 1. the pair is settled: one active (Available True), one standby (Available False, Standby);
 * 2. a probe starts in the client namespace: a new TCP connection every 5 ms to the standby's
 *    cluster address, redirected to dst1 (port 7000), until one is answered by dst1;
 * 3. the active pod dies as a node crash looks to its peer: keepalived SIGKILLed first (its
 *    VRRP process before its parent, so no priority-0 goodbye goes out), then every process in
 *    the pod and its namespace;
 * 4. measured from the first kill: the first connection answered through the new active (the
 *    figure), the survivor's "HA role: active" and "HA: took and announced" log lines, and its
 *    /readyz turning 200 (polled every 20 ms, each poll a process started in the pod: late by one
 *    poll, a few hundred ms on a loaded machine);
 * 5. the dead pod comes back (a fresh namespace, net1 attached as Multus would, a new agent) and
 *    must join as standby; the next failover kills the other one.
 *
 * The destination's ARP cache holds the dead pod's MAC for the egress address until the new
 * active's gratuitous ARP (or its own ARP request for dst1) arrives: that is part of the figure.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import {
  type AgentProcess,
  createTopology,
  http,
  logTime,
  namespacePids,
  PLAN,
  pollUntil,
  processArgv,
  startAgent,
  type Topology,
} from '../../../src/netkit/index.js';
import { cli, shebangFlags } from '../lib/agent.js';
import { createConfigDir, egressRouter } from '../lib/config.js';
import { type BenchContext, checkAbort } from '../lib/context.js';
import { round, type Summary, summarize } from '../lib/stats.js';
import { type Driver, SERVER_PORT, startDriver, startServers } from '../lib/traffic.js';

export interface FailoverOptions {
  readonly failovers: number;
  /** VRRP advertisement interval, seconds (the agent's default: 0.1). */
  readonly advertIntervalS: number;
}

export interface FailoverRun {
  /** Kill to the first connection through the new active answered by dst1. */
  readonly answerMs: number;
  readonly roleMs: number;
  readonly takenMs: number;
  /** The take itself, as the agent timed it: one `ip -batch` and starting the announcements. */
  readonly takeWorkMs: number;
  readonly readyMs: number;
  /** Connections the probe opened before one was answered. */
  readonly attempts: number;
  readonly loadAverage: number;
}

export interface FailoverResults {
  readonly failovers: number;
  readonly advertIntervalS: number;
  readonly answerMs: Summary;
  readonly roleMs: Summary;
  readonly takenMs: Summary;
  readonly takeWorkMs: Summary;
  readonly readyMs: Summary;
  readonly runs: readonly FailoverRun[];
  /** Returning pods that joined as standby, without taking the role (no pre-emption). */
  readonly rejoinedAsStandby: number;
  readonly goal: { readonly targetMs: number; readonly medianMet: boolean; readonly maxMet: boolean };
  /** Published figures to compare with (seconds). */
  readonly anchors: readonly { readonly what: string; readonly seconds: string }[];
}

export const FAILOVER_GOAL_MS = 1_000;
export const ANCHORS = [
  { what: 'OVN-Kubernetes EgressIP', seconds: '5–11' },
  { what: 'kube-vip', seconds: '≈ 3' },
] as const;

type Pod = 'p1' | 'p2';
const PODS = [
  { name: 'p1', node: 'node1' },
  { name: 'p2', node: 'node2' },
] as const;
const GROUP = 42;
const PORT = 7000;
const SETTLE_MS = 30_000;

const other = (pod: Pod): Pod => (pod === 'p1' ? 'p2' : 'p1');

interface Role {
  readonly role?: string;
  readonly available?: string;
  readonly reason?: string;
}

async function roleOf(topo: Topology, pod: Pod): Promise<Role> {
  const reply = await http(topo, '/status', { ns: pod, maxSeconds: 2 });
  if (reply.status !== 200) return {};
  try {
    const doc = JSON.parse(reply.body) as {
      ha?: { role?: string };
      conditions?: { type: string; status: string; reason: string }[];
    };
    const available = doc.conditions?.find((c) => c.type === 'Available');
    return {
      ...(doc.ha?.role ? { role: doc.ha.role } : {}),
      ...(available ? { available: available.status, reason: available.reason } : {}),
    };
  } catch {
    return {};
  }
}

/** One active with Available True and one standby with Available False, reason Standby. */
async function settled(topo: Topology): Promise<{ active: Pod; standby: Pod }> {
  let seen: Record<string, Role> = {};
  await pollUntil(
    async () => {
      seen = { p1: await roleOf(topo, 'p1'), p2: await roleOf(topo, 'p2') };
      const active = Object.values(seen).filter((r) => r.role === 'active' && r.available === 'True');
      const standby = Object.values(seen).filter((r) => r.role === 'standby' && r.reason === 'Standby');
      return active.length === 1 && standby.length === 1;
    },
    SETTLE_MS,
    'one active and one standby',
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(seen)}`);
  });
  const active: Pod = seen.p1?.role === 'active' ? 'p1' : 'p2';
  return { active, standby: other(active) };
}

export async function failoverSuite(ctx: BenchContext, options: FailoverOptions): Promise<FailoverResults> {
  const topo = await createTopology({ kind: 'erb', ipv6: false, pods: PODS });
  const drivers: Driver[] = [];
  const agents: Partial<Record<Pod, AgentProcess>> = {};
  try {
    ctx.log(`failover: namespaces ${topo.prefix}*`);
    await startServers(topo, ['dst1']);
    const dir = join(ctx.tmp, 'failover');
    await mkdir(dir, { recursive: true });
    const config = await createConfigDir(
      join(dir, 'config'),
      egressRouter([{ protocol: 'TCP', port: PORT, destinationIP: PLAN.dst1.v4, targetPort: SERVER_PORT }]),
    );
    const args = [
      '--ha',
      'vrrp',
      '--ha-group',
      String(GROUP),
      '--ha-advert-interval',
      String(options.advertIntervalS),
    ];
    const start = async (pod: Pod): Promise<void> => {
      // Multus attaches net1 before the containers start (deploy/ha adopts it).
      if ((await topo.ip(pod, ['link', 'show', 'net1'], { reject: false })).failed)
        await topo.createAdoptedMacvlan('net1', 'bridge', { pod, up: true });
      agents[pod] = await startAgent(topo, config.path, { pod, cli: cli(), nodeFlags: shebangFlags(), args });
    };
    await start('p1');
    await start('p2');
    const driverOf: Record<Pod, Driver> = {
      p1: await startDriver(topo, topo.pod('p1').address.v4),
      p2: await startDriver(topo, topo.pod('p2').address.v4),
    };
    drivers.push(driverOf.p1, driverOf.p2);

    const runs: FailoverRun[] = [];
    let rejoined = 0;
    for (let i = 0; i < options.failovers; i++) {
      checkAbort(ctx);
      const { active: dead, standby: survivor } = await settled(topo);
      // /status says standby from the start, before keepalived runs (it starts after the first
      // pass): a pair is settled once the standby's keepalived has entered BACKUP.
      await pollUntil(
        async () => (agents[survivor]?.logs ?? []).some((l) => /Entering BACKUP STATE/.test(l.msg)),
        SETTLE_MS,
        `keepalived in ${survivor} to enter BACKUP`,
        50,
      );
      const warm = await driverOf[dead].probe(PORT, 'dst1', { timeoutMs: 5_000 });
      if (!warm.ok) throw new Error(`failover ${i}: nothing answered through the active ${dead}`);
      const survivorAgent = agents[survivor];
      if (!survivorAgent) throw new Error(`no agent in ${survivor}`);
      const from = survivorAgent.logs.length;

      const probe = driverOf[survivor].probe(PORT, 'dst1', { timeoutMs: 15_000, intervalMs: 5 });
      const keepalived = (await namespacePids(topo.pod(dead).ns))
        .filter((pid) => (processArgv(pid)[0] ?? '').endsWith('keepalived'))
        .sort((a, b) => b - a);
      const killedAt = Date.now();
      for (const pid of keepalived) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      let readyAt = 0;
      const ready = pollUntil(
        async () => {
          const reply = await http(topo, '/readyz', { ns: survivor, maxSeconds: 1 });
          readyAt = Date.now();
          return reply.status === 200;
        },
        15_000,
        `${survivor} to be ready`,
        20,
      );
      await topo.killPod(dead);
      delete agents[dead];
      const answered = await probe;
      await ready;
      if (!answered.ok || answered.at === undefined)
        throw new Error(`failover ${i}: no connection answered through ${survivor}`);
      const lineOf = (pattern: RegExp) => survivorAgent.logs.slice(from).find((l) => pattern.test(l.msg));
      const at = (pattern: RegExp): number => {
        const line = lineOf(pattern);
        return line ? logTime(line) - killedAt : Number.NaN;
      };
      const took = lineOf(/^HA: took and announced/);
      const run: FailoverRun = {
        answerMs: round(answered.at - killedAt, 1),
        roleMs: at(/^HA role: active$/),
        takenMs: at(/^HA: took and announced/),
        takeWorkMs: typeof took?.ms === 'number' ? took.ms : Number.NaN,
        readyMs: readyAt - killedAt,
        attempts: answered.attempts,
        loadAverage: round(os.loadavg()[0] ?? Number.NaN, 2),
      };
      runs.push(run);
      ctx.log(
        `failover ${i + 1}/${options.failovers}: ${dead} killed; answered through ${survivor} after ${run.answerMs} ms (role ${run.roleMs}, addresses ${run.takenMs} of which the take ${run.takeWorkMs}, ready ${run.readyMs})`,
      );

      // The dead pod comes back and must join as standby.
      await topo.restorePod(dead);
      await start(dead);
      const after = await settled(topo);
      if (after.active === survivor) rejoined++;
      else ctx.log(`failover ${i + 1}: the returning ${dead} took the role (pre-emption)`);
    }
    const pick = (key: keyof FailoverRun) => summarize(runs.map((r) => r[key]));
    const answerMs = pick('answerMs');
    return {
      failovers: runs.length,
      advertIntervalS: options.advertIntervalS,
      answerMs,
      roleMs: pick('roleMs'),
      takenMs: pick('takenMs'),
      takeWorkMs: pick('takeWorkMs'),
      readyMs: pick('readyMs'),
      runs,
      rejoinedAsStandby: rejoined,
      goal: {
        targetMs: FAILOVER_GOAL_MS,
        medianMet: answerMs.median < FAILOVER_GOAL_MS,
        maxMet: answerMs.max < FAILOVER_GOAL_MS,
      },
      anchors: ANCHORS,
    };
  } finally {
    for (const agent of Object.values(agents)) await agent?.stop(15_000).catch(() => undefined);
    for (const driver of drivers) await driver.stop().catch(() => undefined);
    await topo.destroy();
  }
}

const ms = (value: number): string => (Number.isFinite(value) ? String(Math.round(value)) : '–');

/** The table for the text and markdown reports. */
function rows(results: FailoverResults): string[][] {
  const row = (what: string, s: Summary) => [what, ms(s.median), ms(s.p90), ms(s.min), ms(s.max)];
  return [
    row('kill -> first new connection answered through the new active', results.answerMs),
    row('kill -> "HA role: active" (keepalived MASTER)', results.roleMs),
    row('kill -> "HA: took and announced" (addresses on, ARP sent)', results.takenMs),
    row('  of which the take (ip -batch, announcers started), agent-timed', results.takeWorkMs),
    row('kill -> /readyz 200 on the new active (polled)', results.readyMs),
  ];
}

function notes(results: FailoverResults): string[] {
  const goal = results.goal;
  return [
    `${results.failovers} failovers at advert_int ${results.advertIntervalS} s; goal < ${goal.targetMs} ms: median ${goal.medianMet ? 'met' : 'MISSED'}, max ${goal.maxMet ? 'met' : 'MISSED'}`,
    `returning pods that joined as standby: ${results.rejoinedAsStandby} of ${results.failovers}`,
    `anchors: ${results.anchors.map((a) => `${a.what} ${a.seconds} s`).join(', ')}`,
  ];
}

const HEADER = ['measure', 'median ms', 'p90 ms', 'min ms', 'max ms'];

export function failoverText(results: FailoverResults): string {
  const table = [HEADER, ...rows(results)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
  return [
    'HA failover: pod death to the first connection through the new active',
    ...table.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')),
    ...notes(results).map((n) => `- ${n}`),
    '',
  ].join('\n');
}

export function failoverMarkdown(results: FailoverResults): string {
  return [
    '### HA failover: pod death to the first connection through the new active',
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map(() => '---').join(' | ')} |`,
    ...rows(results).map((r) => `| ${r.join(' | ')} |`),
    '',
    ...notes(results).map((n) => `- ${n}`),
    '',
  ].join('\n');
}
