/**
 * Conntrack hygiene in `run` (needs root): a reload that moves or removes a UDP mapping cuts the
 * established flows loose, so a flow that keeps sending from one source port (DNS, syslog,
 * metrics) reaches the new destination within a second and stops reaching the removed one; a
 * long-lived TCP stream on an unchanged rule is untouched, and a TCP stream whose rule moved keeps
 * its destination unless the agent runs with --flush-tcp-on-change. The flushes are logged and
 * counted (egress_router_conntrack_flushes_total).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type ConfigDir,
  createConfigDir,
  createScratchDir,
  createTopology,
  egressRouter,
  logTime,
  longLivedTcp,
  metricValue,
  PLAN,
  type RuleSpec,
  type ScratchDir,
  type ServerHandle,
  sleep,
  startServer,
  type Topology,
} from '../../src/netkit/index.js';
import { udpFlow } from './edges/udpFlow.js';
import {
  AGENT_START_MS,
  printAgentLogIfFailed,
  routerYaml,
  startTestAgent,
  tearDownRun,
} from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { metrics } from './kit/status.js';

const DST1 = PLAN.dst1.v4;
const DST2 = PLAN.dst2.v4;
const POD = PLAN.pod.v4;
const STREAM: RuleSpec = { destinationIP: DST1, port: 80, protocol: 'TCP' };
const MOVING: RuleSpec = { destinationIP: DST1, port: 8080, protocol: 'TCP', targetPort: 80 };
const DNS_TO_DST1: RuleSpec = { destinationIP: DST1, port: 5353, protocol: 'UDP', targetPort: 53 };
const DNS_TO_DST2: RuleSpec = { destinationIP: DST2, port: 5353, protocol: 'UDP', targetPort: 53 };

let topo: Topology;
let dir: ScratchDir;
let cfg: ConfigDir;
let agent: AgentProcess | undefined;
const servers: ServerHandle[] = [];

const flushCount = async (protocol: string): Promise<number> =>
  metricValue(await metrics(topo), 'egress_router_conntrack_flushes_total', { protocol }) ?? 0;

/** Swaps the config and resolves with the time the agent logged it applied. */
async function reload(rules: readonly RuleSpec[]): Promise<number> {
  const running = agent as AgentProcess;
  const from = running.logs.length;
  await cfg.swap(routerYaml(rules));
  return logTime(await running.waitForLog((l) => l.msg === 'config applied', 10_000, from));
}

beforeAll(async () => {
  requireBuiltAgent();
  topo = await createTopology({ ipv6: false });
  dir = await createScratchDir('ert-conntrack-');
  servers.push(await startServer(topo, 'dst1', 'dst1', { tcp: [80], udp: [53] }));
  servers.push(await startServer(topo, 'dst2', 'dst2', { tcp: [80], udp: [53] }));
}, 120_000);

afterAll(() => tearDownRun(agent, topo, async () => dir?.remove()), 60_000);

afterEach((context) => printAgentLogIfFailed(context, agent, 40));

describe('conntrack hygiene on reload', () => {
  it('moves a UDP flow from one source port to the new destination within 1 s, and stops it reaching a removed one; an unchanged TCP stream is untouched', async () => {
    cfg = await createConfigDir(`${dir.dir}/config`, routerYaml([STREAM, DNS_TO_DST1]));
    agent = await startTestAgent(topo, cfg.path);
    await agent.waitReady(AGENT_START_MS);
    const stream = await longLivedTcp(topo, 'client', POD, 80, { intervalMs: 100 });
    const flow = udpFlow(topo, 'client', POD, 5353, 40_053);
    try {
      await flow.waitFor('dst1', 0, 5_000);
      const udpBefore = await flushCount('udp');

      const moved = await reload([STREAM, DNS_TO_DST2]);
      const first = await flow.waitFor('dst2', moved, 3_000);
      expect(first.at - moved, 'first reply from the new destination after the change').toBeLessThan(1_000);
      await sleep(1_500);
      // Once moved, the flow stays moved: nothing reaches the old destination half a second on.
      expect(flow.from('dst1', moved + 500)).toEqual([]);
      expect(flow.from('dst2', moved + 500).length).toBeGreaterThan(10);
      expect(await flushCount('udp')).toBeGreaterThan(udpBefore);
      expect(
        agent.logs.some(
          (l) =>
            l.kind === 'conntrack' &&
            l.msg ===
              `flushed UDP conntrack entries to ${POD}:5353 (its mapping changed: ${DST1}:53 → ${DST2}:53)`,
        ),
      ).toBe(true);

      const removed = await reload([STREAM]);
      await sleep(1_500);
      expect(flow.from('dst2', removed + 500)).toEqual([]);
      const dst2 = servers[1] as ServerHandle;
      const seen = dst2.seen().filter((r) => r.proto === 'udp').length;
      await sleep(1_000);
      expect(
        dst2.seen().filter((r) => r.proto === 'udp').length,
        'datagrams reaching the removed destination',
      ).toBe(seen);

      // The stream on the unchanged TCP rule kept exchanging through both reloads.
      const before = stream.exchanges();
      await stream.waitForExchanges(before + 5, 5_000);
      expect(stream.broken()).toBeUndefined();
    } finally {
      await flow.stop();
      const summary = await stream.stop();
      expect(summary.broke, JSON.stringify(summary)).toBe(false);
    }
  });

  it('keeps an established TCP stream on a moved rule by default, and ends it with --flush-tcp-on-change', async () => {
    const tcpBefore = await flushCount('tcp');
    await reload([STREAM, MOVING]);
    const kept = await longLivedTcp(topo, 'client', POD, 8080, { intervalMs: 100 });
    try {
      await kept.waitForExchanges(3, 5_000);
      await reload([STREAM, { ...MOVING, destinationIP: DST2 }]);
      const at = kept.exchanges();
      await kept.waitForExchanges(at + 10, 5_000);
      expect(kept.broken()).toBeUndefined();
      expect(await flushCount('tcp')).toBe(tcpBefore);
    } finally {
      await kept.stop();
    }

    await (agent as AgentProcess).stop();
    agent = await startTestAgent(topo, cfg.path, ['--flush-tcp-on-change']);
    await agent.waitReady(AGENT_START_MS);
    const cut = await longLivedTcp(topo, 'client', POD, 8080, { intervalMs: 100, replyTimeoutMs: 1_000 });
    try {
      await cut.waitForExchanges(3, 5_000);
      await reload([STREAM, MOVING]);
      // Its entry gone, the next segment is a new flow to dst1, which knows no such connection.
      const broke = await brokenWithin(cut, 5_000);
      expect(broke).toMatch(/reset|no-reply|closed/);
      expect(await flushCount('tcp')).toBeGreaterThan(0);
    } finally {
      await cut.stop();
    }
  });
});

describe('conntrack hygiene when the fallback changes', () => {
  /** The router with the stream's rule and `fallbackIP` (none when undefined). */
  const withFallback = (fallbackIP: string | undefined) =>
    egressRouter(
      {
        name: 'e2e-run',
        master: 'eth1',
        addresses: [{ ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 }],
        rules: [STREAM],
        ...(fallbackIP ? { fallbackIP } : {}),
      },
      'yaml',
    );

  async function reloadText(text: string): Promise<number> {
    const running = agent as AgentProcess;
    const from = running.logs.length;
    await cfg.swap(text);
    return logTime(await running.waitForLog((l) => l.msg === 'config applied', 10_000, from));
  }

  it('moves a UDP flow on an unmapped port to the new fallback within 1 s, and stops it when the fallback goes', async () => {
    await reloadText(withFallback(DST1));
    const flow = udpFlow(topo, 'client', POD, 53, 40_054);
    try {
      await flow.waitFor('dst1', 0, 5_000);
      const moved = await reloadText(withFallback(DST2));
      const first = await flow.waitFor('dst2', moved, 3_000);
      expect(first.at - moved, 'first reply from the new fallback after the change').toBeLessThan(1_000);
      await sleep(1_500);
      expect(flow.from('dst1', moved + 500)).toEqual([]);
      expect(
        (agent as AgentProcess).logs.some(
          (l) =>
            l.kind === 'conntrack' &&
            l.msg ===
              `flushed UDP conntrack entries to ${POD} sent to ${DST1} (the fallback moved: ${DST1} → ${DST2})`,
        ),
      ).toBe(true);

      const removed = await reloadText(withFallback(undefined));
      await sleep(1_500);
      expect(flow.from('dst2', removed + 500)).toEqual([]);
    } finally {
      await flow.stop();
    }
  });
});

async function brokenWithin(
  handle: { broken(): { error: string } | undefined },
  timeoutMs: number,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const broken = handle.broken();
    if (broken) return broken.error;
    await sleep(50);
  }
  throw new Error(`the stream did not break within ${timeoutMs} ms`);
}
