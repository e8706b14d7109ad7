/**
 * Gateway liveness in `run` (needs root). The gateway is asked on the wire (ARP probes for IPv4,
 * neighbour solicitations for IPv6) on every resync, instead of trusting a neighbour entry that
 * stays STALE for as long as the router is idle. A gateway that leaves the LAN is reported as
 * Degraded GatewayUnreachable within one resync interval plus a few seconds, with
 * egress_router_gateway_up 0, and cleared as soon as it answers again. With
 * --ready-requires-gateway on, /readyz follows it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  createConfigDir,
  createScratchDir,
  createTopology,
  egressRouter,
  http,
  metricValue,
  PLAN,
  type ScratchDir,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { AGENT_START_MS, printAgentLogIfFailed, startTestAgent, tearDownRun } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { condition, conditionIs, metrics, waitForStatus } from './kit/status.js';

/** The tests' resync interval (startTestAgent) and the few seconds the issue allows on top. */
const RESYNC_MS = 2_000;
const SLACK_MS = 4_000;

let topo: Topology;
let dir: ScratchDir;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  requireBuiltAgent();
  topo = await createTopology();
  dir = await createScratchDir('ert-gateway-');
}, 120_000);

afterAll(() => tearDownRun(agent, topo, async () => dir?.remove()), 60_000);

afterEach((context) => printAgentLogIfFailed(context, agent, 30));

const gatewayUp = async (family: 'ipv4' | 'ipv6', gateway: string) =>
  metricValue(await metrics(topo), 'egress_router_gateway_up', { family, gateway });

describe('gateway liveness', () => {
  it('reports a gateway that leaves the LAN within a resync interval plus a few seconds, /readyz follows it with --ready-requires-gateway on, and both clear when it is back', async () => {
    const config = egressRouter(
      {
        master: 'eth1',
        addresses: [
          { ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 },
          { ip: `${PLAN.egress.v6[0]}/64`, gateway: PLAN.gw.v6 },
        ],
        rules: [{ destinationIP: PLAN.far.v4, port: 80, protocol: 'TCP' }],
      },
      'yaml',
    );
    const cfg = await createConfigDir(`${dir.dir}/config`, config);
    agent = await startTestAgent(topo, cfg.path, ['--ready-requires-gateway', 'on']);
    await agent.waitReady(AGENT_START_MS);
    const healthy = await waitForStatus(
      topo,
      (d) => conditionIs(d, 'Degraded', 'False') && (d.gateways as unknown[]).length === 2,
      10_000,
      'both gateways answering',
    );
    expect(healthy.gateways).toEqual([
      expect.objectContaining({
        family: 4,
        gateway: PLAN.gw.v4,
        reachable: true,
        state: expect.stringMatching(/^answers \(/),
      }),
      expect.objectContaining({
        family: 6,
        gateway: PLAN.gw.v6,
        reachable: true,
        state: expect.stringMatching(/^answers \(/),
      }),
    ]);
    // Traffic has gone through the gateway: the router's neighbour entry for it is fresh.
    await tcpRequest(topo, 'client', PLAN.pod.v4, 80, 'warm', 3_000);

    await topo.gatewayOff('link-down');
    const off = Date.now();
    try {
      const down = await waitForStatus(
        topo,
        (d) =>
          conditionIs(d, 'Degraded', 'True', 'GatewayUnreachable') && conditionIs(d, 'Available', 'False'),
        RESYNC_MS + SLACK_MS,
        'GatewayUnreachable within a resync interval plus a few seconds',
      );
      expect(Date.now() - off).toBeLessThan(RESYNC_MS + SLACK_MS);
      expect(condition(down, 'Degraded').message).toContain(
        `gateway ${PLAN.gw.v4} does not answer (no answer to 2 ARP probes)`,
      );
      expect(condition(down, 'Degraded').message).toContain(
        `gateway ${PLAN.gw.v6} does not answer (no answer to 2 neighbour solicitations)`,
      );
      expect(condition(down, 'Available').reason).toBe('GatewayUnreachable');
      expect((await http(topo, '/readyz')).status).toBe(503);
      expect(await gatewayUp('ipv4', PLAN.gw.v4)).toBe(0);
      expect(await gatewayUp('ipv6', PLAN.gw.v6)).toBe(0);
    } finally {
      await topo.gatewayOn();
    }
    const on = Date.now();
    await waitForStatus(
      topo,
      (d) => conditionIs(d, 'Degraded', 'False') && conditionIs(d, 'Available', 'True'),
      RESYNC_MS + SLACK_MS,
      'the gateway answering again',
    );
    expect(Date.now() - on).toBeLessThan(RESYNC_MS + SLACK_MS);
    expect((await http(topo, '/readyz')).status).toBe(200);
    expect(await gatewayUp('ipv4', PLAN.gw.v4)).toBe(1);
    expect(await gatewayUp('ipv6', PLAN.gw.v6)).toBe(1);
  });
});
