/**
 * Announcements on the LAN, captured on the LAN bridge (needs root): gratuitous ARP in request
 * and reply style, repeated and spaced; an unsolicited neighbour advertisement for IPv6 sent by the
 * agent itself (na6: Override set, never the Router flag), and IPv4 announced without waiting for
 * IPv6 DAD. Announced again when the agent starts with the addresses already in place (an init
 * container's apply, a restart), when the egress link was set down or flapped (down and up), and
 * when the link's carrier comes back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  capture,
  createConfigDir,
  createScratchDir,
  createTopology,
  egressRouter,
  PLAN,
  type ScratchDir,
  type Topology,
} from '../../src/netkit/index.js';
import { AGENT_START_MS, printAgentLogIfFailed, startTestAgent, tearDownRun } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { conditionIs, waitForStatus } from './kit/status.js';

const EGRESS4 = PLAN.egress.v4[0] as string;
const EGRESS6 = PLAN.egress.v6[0] as string;
/** ARP, and ICMPv6 neighbour advertisements (type 136), verbosely (for the NA flags). */
const FILTER = ['-v', 'arp or (icmp6 and ip6[40] == 136)'];

let topo: Topology;
let dir: ScratchDir;
let agent: AgentProcess | undefined;
let configPath: string;

/** tcpdump's HH:MM:SS.micro as seconds since midnight. */
function seconds(line: string): number {
  const match = /^(\d\d):(\d\d):(\d\d\.\d+)/.exec(line);
  if (!match) throw new Error(`no timestamp in ${line}`);
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

const requests = (lines: readonly string[]) =>
  lines.filter((l) => l.includes(`Request who-has ${EGRESS4} (ff:ff:ff:ff:ff:ff) tell ${EGRESS4}`));
const replies = (lines: readonly string[], mac: string) =>
  lines.filter((l) => l.includes(`Reply ${EGRESS4} is-at ${mac}`));
const advertisements = (lines: readonly string[]) =>
  lines.filter(
    (l) =>
      l.includes(`${EGRESS6} > ff02::1:`) &&
      l.includes(`neighbor advertisement`) &&
      l.includes(`tgt is ${EGRESS6}`),
  );

async function net1Mac(): Promise<string> {
  const [net1] = await topo.ipJson<{ address: string }[]>('pod', ['link', 'show', 'net1']);
  return net1?.address ?? '';
}

/** Captures on the LAN while `fn` runs and until `until` holds (at most `ms`). */
const watch = (fn: () => Promise<unknown>, until: (lines: readonly string[]) => boolean, ms: number) =>
  capture(topo, 'lan', topo.ifaces.lanBridge, FILTER, fn, { until, untilTimeoutMs: ms });

beforeAll(async () => {
  requireBuiltAgent();
  topo = await createTopology();
  dir = await createScratchDir('ert-announce-');
  const cfg = await createConfigDir(
    `${dir.dir}/config`,
    egressRouter(
      {
        master: 'eth1',
        addresses: [
          { ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 },
          { ip: `${EGRESS6}/64`, gateway: PLAN.gw.v6 },
        ],
        rules: [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }],
      },
      'yaml',
    ),
  );
  configPath = cfg.path;
}, 120_000);

afterAll(() => tearDownRun(agent, topo, async () => dir?.remove()), 60_000);

afterEach((context) => printAgentLogIfFailed(context, agent, 30));

describe('announcements', () => {
  it('repeats gratuitous ARP in both styles, spaced; sends its own NA (Override, never Router); does not hold IPv4 back for IPv6 DAD', async () => {
    const lines = await watch(
      async () => {
        agent = await startTestAgent(topo, configPath);
      },
      (seen) => requests(seen).length >= 3 && advertisements(seen).length >= 1,
      15_000,
    );
    const mac = await net1Mac();
    const asked = requests(lines);
    expect(asked.length, lines.join('\n')).toBeGreaterThanOrEqual(2);
    expect(replies(lines, mac).length).toBeGreaterThanOrEqual(2);
    // Rounds 2 s and then 4 s apart: a host or switch that missed one hears the next.
    const times = asked.map(seconds);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(1.5);
    // The agent's own NA (na6): Override only. The kernel's (ndisc_notify) may say Router: the
    // pod forwards; the agent's never does.
    const nas = advertisements(lines);
    expect(
      nas.some((l) => /Flags \[override\]/.test(l)),
      nas.join('\n'),
    ).toBe(true);
    // IPv4 went out at once; IPv6 only after its DAD (about a second).
    expect(seconds(nas[0] as string) - (times[0] as number)).toBeGreaterThanOrEqual(0.5);
    await agent?.waitReady(AGENT_START_MS);
  });

  it('announces again when it starts with the addresses already in place (an init container’s apply, a restart)', async () => {
    await (agent as AgentProcess).stop();
    const mac = await net1Mac();
    const lines = await watch(
      async () => {
        agent = await startTestAgent(topo, configPath);
        await agent.waitReady(AGENT_START_MS);
      },
      (seen) => requests(seen).length >= 2 && advertisements(seen).length >= 1,
      10_000,
    );
    expect(requests(lines).length).toBeGreaterThanOrEqual(2);
    expect(replies(lines, mac).length).toBeGreaterThanOrEqual(1);
    expect(advertisements(lines).length).toBeGreaterThanOrEqual(1);
    expect(
      (agent as AgentProcess).logs.some((l) => l.msg === `announced ${EGRESS4} again (in place at start)`),
    ).toBe(true);
  });

  for (const how of ['set down', 'flapped (down and up at once)'] as const)
    it(`announces IPv4 again when net1 was ${how}`, async () => {
      const running = agent as AgentProcess;
      await waitForStatus(topo, (d) => conditionIs(d, 'Available', 'True'), 10_000, 'Available');
      const from = running.logs.length;
      const lines = await watch(
        async () => {
          await topo.ip('pod', ['link', 'set', 'net1', 'down']);
          if (how !== 'set down') await topo.ip('pod', ['link', 'set', 'net1', 'up']);
          await running.waitForLog(
            (l) => l.msg === `announced ${EGRESS4} with gratuitous ARP again (net1 went down)`,
            10_000,
            from,
          );
        },
        (seen) => requests(seen).length >= 1,
        5_000,
      );
      expect(requests(lines).length, lines.join('\n')).toBeGreaterThanOrEqual(1);
      await waitForStatus(topo, (d) => conditionIs(d, 'Available', 'True'), 10_000, 'Available again');
    });

  it('announces again when the egress link has its carrier back', async () => {
    const running = agent as AgentProcess;
    await topo.ip('node', ['link', 'set', 'eth1', 'down']);
    try {
      await waitForStatus(
        topo,
        (d) => conditionIs(d, 'Available', 'False', 'NoCarrier'),
        10_000,
        'NoCarrier',
      );
    } finally {
      await topo.ip('node', ['link', 'set', 'eth1', 'up']);
    }
    const from = running.logs.length;
    const lines = await watch(
      () =>
        running.waitForLog(
          (l) => l.msg === `announced ${EGRESS4} again (the egress link has its carrier back)`,
          10_000,
          from,
        ),
      (seen) => requests(seen).length >= 2,
      8_000,
    );
    expect(requests(lines).length, lines.join('\n')).toBeGreaterThanOrEqual(1);
    await waitForStatus(topo, (d) => conditionIs(d, 'Available', 'True'), 10_000, 'Available again');
  });
});
