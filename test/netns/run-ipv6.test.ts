/**
 * `run` with a dual-stack EgressRouter (needs root): IPv6 is served and kept true as IPv4 is.
 * The client reaches an IPv6 destination through the pod's IPv6 cluster address, with the
 * IPv6 egress address as source; an IPv6 egress address removed behind the agent's back comes
 * back (after DAD) and traffic flows again; the IPv6 reply rule and table are in place.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  type AgentProcess,
  createConfigDir,
  createTopology,
  metricValue,
  PLAN,
  pollUntil,
  removeDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { AGENT_START_MS, startTestAgent, tearDownRun } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { conditionIs, metrics, waitForQuiet, waitForStatus } from './kit/status.js';

const EGRESS4 = PLAN.egress.v4[0];
const EGRESS6 = PLAN.egress.v6[0];

const config = `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: { name: dual-stack }
spec:
  addresses:
    - { ip: ${EGRESS4}/24, gateway: ${PLAN.gw.v4} }
    - { ip: "${EGRESS6}/64", gateway: "${PLAN.gw.v6}" }
  redirect:
    redirectRules:
      - { destinationIP: ${PLAN.dst1.v4}, port: 80, protocol: TCP }
      - { destinationIP: "${PLAN.dst1.v6}", port: 80, protocol: TCP }
      - { destinationIP: "${PLAN.far.v6}", port: 8443, protocol: TCP, targetPort: 80 }
`;

let topo: Topology | undefined;
let agent: AgentProcess | undefined;
let dir: string | undefined;
const servers: ServerHandle[] = [];

beforeAll(async () => {
  requireBuiltAgent();
  dir = await mkdtemp(join(tmpdir(), 'ert-run-v6-'));
  topo = await createTopology({ ipv6: true });
  servers.push(await startServer(topo, 'dst1', 'dst1', { tcp: [80] }));
  servers.push(await startServer(topo, 'far', 'far', { tcp: [80] }));
  const cfg = await createConfigDir(join(dir, 'config'), config);
  agent = await startTestAgent(topo, cfg.path, ['--cleanup-on-exit']);
  await waitForStatus(topo, (d) => conditionIs(d, 'Available', 'True'), AGENT_START_MS, 'Available True');
}, 90_000);

afterAll(() => tearDownRun(agent, topo, () => removeDir(dir)));

function need(): { topo: Topology; agent: AgentProcess } {
  if (!topo || !agent) throw new Error('fixture not set up');
  onTestFailed(() => {
    console.error(
      `agent log (last 30 lines):\n${agent?.logs
        .slice(-30)
        .map((l) => JSON.stringify(l))
        .join('\n')}`,
    );
  });
  return { topo, agent };
}

async function expectV6Redirect(t: Topology, port: number, server: string, timeoutMs = 8_000): Promise<void> {
  let last: unknown;
  await pollUntil(
    async () => {
      const reply = await tcpRequest(t, 'client', PLAN.pod.v6, port, `v6-${port}`, 1_500);
      last = reply;
      return reply.ok && reply.parsed?.name === server && reply.parsed.peer === EGRESS6;
    },
    timeoutMs,
    `[${PLAN.pod.v6}]:${port} to reach ${server} from ${EGRESS6}`,
    150,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last reply ${JSON.stringify(last)}`);
  });
}

describe('run, dual-stack', () => {
  it('redirects IPv6 (on-link and through the IPv6 gateway) from the IPv6 egress address, and IPv4 alongside', async () => {
    const { topo: t } = need();
    await expectV6Redirect(t, 80, 'dst1');
    await expectV6Redirect(t, 8443, 'far');
    const v4 = await tcpRequest(t, 'client', PLAN.pod.v4, 80, 'v4-80', 1_500);
    expect(v4).toMatchObject({ ok: true, parsed: { name: 'dst1', peer: EGRESS4 } });
  });

  it('has the IPv6 reply rule and table, and the IPv6 default route via the IPv6 gateway on net1', async () => {
    const { topo: t } = need();
    const rules = await t.ipJson<{ fwmark?: string; table?: string; protocol?: string }[]>('pod', [
      '-6',
      'rule',
    ]);
    expect(rules).toContainEqual(
      expect.objectContaining({ fwmark: '0x4552', table: '17746', protocol: '77' }),
    );
    const routes = await t.ipJson<{ dst: string; gateway?: string; dev?: string; protocol?: string }[]>(
      'pod',
      ['-6', 'route'],
    );
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: PLAN.gw.v6, dev: 'net1', protocol: '77' }),
    );
  });

  it('repairs an IPv6 egress address removed behind its back, and IPv6 traffic flows again', async () => {
    const { topo: t, agent: a } = need();
    await waitForQuiet(t);
    const before =
      metricValue(await metrics(t), 'egress_router_drift_repairs_total', { kind: 'address' }) ?? 0;
    await t.ip('pod', ['-6', 'address', 'delete', `${EGRESS6}/64`, 'dev', 'net1']);
    await pollUntil(
      async () =>
        a.logs.some(
          (l) =>
            l.level === 'warn' &&
            l.kind === 'address' &&
            /added address 2001:db8:100::100\/64/.test(String(l.msg)),
        ),
      10_000,
      'the IPv6 address repair in the log',
    );
    const after =
      metricValue(await metrics(t), 'egress_router_drift_repairs_total', { kind: 'address' }) ?? 0;
    expect(after).toBeGreaterThan(before);
    await expectV6Redirect(t, 80, 'dst1', 10_000);
  });
});
