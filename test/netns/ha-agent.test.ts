/**
 * HA end to end with real agents (needs root): two `run --ha vrrp` agents in two router pods on
 * two nodes sharing one LAN (the kit's topology with `pods`), a dual-stack router, real traffic
 * from a client through the active to destinations on the LAN and beyond the gateway.
 *
 * The tests share one topology and run in order; each leaves one active and one standby:
 * election and what each replica reports, failover on pod death (twice, the dead pod coming back
 * as standby), graceful hand-over on SIGTERM, the agent SIGKILLed (keepalived dies with it),
 * gateway loss on the active, and a partition that heals. Times are printed, never asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import {
  type ConfigDir,
  createConfigDir,
  createTopology,
  egressRouter,
  logTime,
  metricValue,
  PLAN,
  pollUntil,
  type RequestResult,
  type ServerHandle,
  sleep,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { AgentPair, alive, GROUP, other, type Pod, ROLE_MS, TWO_PODS } from './ha/agentPair.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectRedirect } from './kit/expect.js';
import { condition, metrics } from './kit/status.js';

const EGRESS4 = PLAN.egress.v4[0];
const EGRESS6 = PLAN.egress.v6[0];
const EGRESS = [`${EGRESS4}/24`, `${EGRESS6}/64`];
const FAR_PORT = 8080;

let topo: Topology | undefined;
let pair: AgentPair | undefined;
let dir: string | undefined;
let dst1: ServerHandle | undefined;

const T = (): Topology => {
  if (!topo) throw new Error('no topology');
  return topo;
};
const P = (): AgentPair => {
  if (!pair) throw new Error('no agents');
  return pair;
};

/** A new connection from the client through `pod`'s cluster address. */
const through = (pod: Pod, family: 4 | 6, port: number, payload: string, timeoutMs = 2_000) => {
  const address = T().pod(pod).address;
  return tcpRequest(T(), 'client', family === 4 ? address.v4 : address.v6, port, payload, timeoutMs);
};

/** Both families reach dst1 through `pod`, from the egress addresses. */
async function expectServing(pod: Pod, label: string): Promise<void> {
  const { address } = T().pod(pod);
  await expectRedirect(
    T(),
    'tcp',
    'client',
    address.v4,
    80,
    dst1!,
    { port: 80, peer: EGRESS4 },
    `${label}-4`,
  );
  await expectRedirect(
    T(),
    'tcp',
    'client',
    address.v6,
    80,
    dst1!,
    { port: 80, peer: EGRESS6 },
    `${label}-6`,
  );
}

/** Polls new connections through `pod` until one reaches dst1 from the egress address; returns when (epoch ms). */
async function firstAnswer(pod: Pod, family: 4 | 6, timeoutMs = ROLE_MS): Promise<number> {
  let last: RequestResult<string> | undefined;
  let answeredAt = 0;
  await pollUntil(
    async () => {
      last = await through(pod, family, 80, 'failover', 500);
      answeredAt = Date.now();
      return last.ok && last.parsed?.peer === (family === 4 ? EGRESS4 : EGRESS6);
    },
    timeoutMs,
    `a connection through ${pod} (IPv${family})`,
    0,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last: ${JSON.stringify(last)}`);
  });
  return answeredAt;
}

/** The last log time of `msg` in `pod`'s agent at or after `from` (epoch ms). */
function logAt(pod: Pod, pattern: RegExp, from = 0): number | undefined {
  const line = P()
    .agent(pod)
    .logs.slice(from)
    .find((l) => pattern.test(l.msg));
  return line ? logTime(line) : undefined;
}

describe('HA with real agents (run --ha vrrp)', () => {
  beforeAll(async () => {
    requireBuiltAgent();
    dir = await mkdtemp(join(tmpdir(), 'ert-ha-agent-'));
    topo = await createTopology({ pods: TWO_PODS });
    dst1 = await startServer(topo, 'dst1', 'dst1', { tcp: [80] });
    await startServer(topo, 'far', 'far', { tcp: [80] });
    const config: ConfigDir = await createConfigDir(
      join(dir, 'config'),
      egressRouter(
        {
          name: 'ha',
          master: 'eth1',
          addresses: [
            { ip: `${EGRESS4}/24`, gateway: PLAN.gw.v4 },
            { ip: `${EGRESS6}/64`, gateway: PLAN.gw.v6 },
          ],
          rules: [
            { destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' },
            { destinationIP: PLAN.dst1.v6, port: 80, protocol: 'TCP' },
            { destinationIP: PLAN.far.v4, port: FAR_PORT, protocol: 'TCP', targetPort: 80 },
          ],
        },
        'yaml',
      ),
    );
    pair = new AgentPair(topo, config);
    await pair.start('p1');
    await pair.start('p2');
  }, 120_000);

  afterAll(async () => {
    try {
      await pair?.stopAll();
    } finally {
      await topo?.destroy();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  beforeEach(() => onTestFailed(dumpLogs));

  const dumpLogs = (): void => {
    for (const pod of ['p1', 'p2'] as const) {
      const agent = pair?.agents[pod];
      if (!agent) continue;
      console.error(`--- ${pod} log (last 60 lines):`);
      for (const line of agent.logs.slice(-60)) console.error(JSON.stringify(line).slice(0, 400));
      console.error(`--- ${pod} stderr: ${agent.stderr().slice(-2_000)}`);
    }
  };

  it('elects exactly one active: it alone holds the egress addresses, is ready and serves', async () => {
    const { active, standby } = await P().waitOneActive();
    expect(await P().egressAddresses(active)).toEqual(EGRESS);
    expect(await P().egressAddresses(standby)).toEqual([]);

    const standbyReady = await P().agent(standby).http('/readyz');
    expect(standbyReady.status).toBe(503);
    expect(standbyReady.body).toMatch(/Standby/);
    const standbyDoc = (await P().status(standby))!;
    expect(condition(standbyDoc, 'Available')).toMatchObject({ status: 'False', reason: 'Standby' });
    expect(condition(standbyDoc, 'Available').message).toMatch(/standby in VRRP group 42 \(priority 100\)/);
    expect(condition(standbyDoc, 'Degraded')).toMatchObject({ status: 'False' });
    expect(standbyDoc.ha).toMatchObject({ mode: 'vrrp', role: 'standby', group: GROUP, priority: 100 });

    const activeDoc = (await P().status(active))!;
    expect(condition(activeDoc, 'Available')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(condition(activeDoc, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    expect(activeDoc.ha).toMatchObject({ mode: 'vrrp', role: 'active', group: GROUP, priority: 100 });
    const since = (activeDoc.ha as { since: string }).since;
    expect(Date.now() - Date.parse(since)).toBeGreaterThanOrEqual(0);
    expect(Date.now() - Date.parse(since)).toBeLessThan(120_000);
    // Taking the role is not drift: nothing was "repaired".
    expect(activeDoc.lastRepair).toBeNull();

    const activeMetrics = await metrics(T(), { ns: active });
    expect(metricValue(activeMetrics, 'egress_router_ha_role', { role: 'active' })).toBe(1);
    expect(metricValue(activeMetrics, 'egress_router_ha_role', { role: 'standby' })).toBe(0);
    expect(metricValue(activeMetrics, 'egress_router_ha_transitions_total', { to: 'active' })).toBe(1);
    const standbyMetrics = await metrics(T(), { ns: standby });
    expect(metricValue(standbyMetrics, 'egress_router_ha_role', { role: 'standby' })).toBe(1);
    expect(metricValue(standbyMetrics, 'egress_router_ha_role', { role: 'active' })).toBe(0);

    await expectServing(active, 'elected');
  });

  it('drift under HA: an egress address added on the standby goes again, one deleted on the active comes back; the role stays', async () => {
    const { active, standby } = await P().waitOneActive();
    const before = { active: (await P().ha(active))!, standby: (await P().ha(standby))! };
    const logFrom = { p1: P().agent('p1').logs.length, p2: P().agent('p2').logs.length };
    const repaired = (pod: Pod, pattern: RegExp) =>
      pollUntil(
        async () =>
          P()
            .agent(pod)
            .logs.slice(logFrom[pod])
            .some((l) => /^drift repaired:/.test(l.msg) && pattern.test(l.msg)),
        10_000,
        `${pod}: a drift repair matching ${pattern}`,
        50,
      );

    // Someone puts the IPv4 egress address on the standby (IPv4 only: an IPv6 copy would fail DAD
    // against the active's). Holding it is the active's job: the standby's pass takes it off.
    await T().ip(standby, ['address', 'add', `${EGRESS4}/24`, 'dev', 'net1']);
    await repaired(
      standby,
      new RegExp(`^drift repaired: removed address ${EGRESS4.replaceAll('.', '\\.')}/24`),
    );
    await pollUntil(
      async () => (await P().egressAddresses(standby)).length === 0,
      5_000,
      `${standby} to hold nothing again`,
      50,
    );
    const standbyDoc = (await P().status(standby))!;
    expect(standbyDoc.lastRepair?.changes.some((c) => c.kind === 'address')).toBe(true);
    expect(condition(standbyDoc, 'Available')).toMatchObject({ status: 'False', reason: 'Standby' });

    // Someone deletes the IPv6 egress address on the active: its pass puts it back (and announces).
    await T().ip(active, ['address', 'delete', `${EGRESS6}/64`, 'dev', 'net1']);
    await repaired(active, new RegExp(`^drift repaired: added address ${EGRESS6}/64`));
    await pollUntil(
      async () => (await P().egressAddresses(active)).length === EGRESS.length,
      5_000,
      `${active} to hold both egress addresses again`,
      50,
    );
    expect(await P().egressAddresses(active)).toEqual(EGRESS);

    // Neither repair moved the role or counted as a transition.
    expect(await P().ha(active)).toMatchObject({ role: 'active', transitions: before.active.transitions });
    expect(await P().ha(standby)).toMatchObject({ role: 'standby', transitions: before.standby.transitions });
    await expectServing(active, 'after-drift');
  }, 60_000);

  it('pod death: the standby takes over and serves; the dead pod comes back as standby; twice', async () => {
    const times: string[] = [];
    for (let round = 0; round < 2; round++) {
      const { active: dead, standby: survivor } = await P().waitOneActive();
      const from = P().agent(survivor).logs.length;
      const before = (await P().ha(survivor))!;
      const killedAt = await P().killPod(dead);
      const answeredAt = await firstAnswer(survivor, 4);
      const tookAt = logAt(survivor, /^HA role: active$/, from);
      times.push(`${answeredAt - killedAt} ms (role event at ${(tookAt ?? Number.NaN) - killedAt} ms)`);
      // Times are not asserted; a slow one prints what the survivor did after the kill (ms from it).
      if (answeredAt - killedAt > 2_000)
        for (const line of P().agent(survivor).logs.slice(from))
          console.log(
            `slow failover, ${survivor} +${logTime(line) - killedAt} ms: ${JSON.stringify(line).slice(0, 300)}`,
          );

      await P().waitRole(survivor, 'active');
      await expectServing(survivor, `after-death-${round}`);
      expect(await P().egressAddresses(survivor)).toEqual(EGRESS);
      const after = (await P().ha(survivor))!;
      expect(after.transitions).toBe(before.transitions + 1);

      // The pod comes back: a fresh namespace, a new agent that creates net1 again.
      await T().restorePod(dead);
      await P().start(dead);
      await P().waitRole(dead, 'standby');
      await sleep(1_000); // ten advertisement intervals: a pre-emption would have happened
      expect((await P().ha(dead))?.role).toBe('standby');
      expect((await P().ha(dead))?.transitions).toBe(0);
      expect(await P().ha(survivor)).toMatchObject({ role: 'active', transitions: after.transitions });
      expect(await P().egressAddresses(dead)).toEqual([]);
      await expectServing(survivor, `after-return-${round}`);
    }
    console.log(
      `HA agents, pod death -> first connection answered through the new active: ${times.join('; ')}`,
    );
  }, 120_000);

  it('SIGTERM on the active hands over: exit 0, the standby takes over, the leaving one holds nothing', async () => {
    const { active, standby } = await P().waitOneActive();
    const from = P().agent(standby).logs.length;
    const leaving = P().agent(active);
    const stoppedAt = Date.now();
    const code = await leaving.stop(10_000);
    const exitedAt = Date.now();
    delete P().agents[active];
    expect(code).toBe(0);
    expect(leaving.logs.some((l) => l.msg === 'handed over: VRRP released, egress addresses removed')).toBe(
      true,
    );
    expect(await P().egressAddresses(active)).toEqual([]);
    expect(await P().keepalivedPids(active)).toEqual([]);
    await P().waitRole(standby, 'active');
    await expectServing(standby, 'handed-over');
    const tookAt = logAt(standby, /^HA role: active$/, from);
    console.log(
      `HA agents, SIGTERM on the active -> role event on the standby ${(tookAt ?? Number.NaN) - stoppedAt} ms; the agent exited after ${exitedAt - stoppedAt} ms`,
    );
    // The standby heard priority 0: no master-down wait.
    expect(
      P()
        .agent(standby)
        .logs.slice(from)
        .some((l) => /received priority 0/.test(l.msg)),
    ).toBe(true);

    await P().start(active);
    await P().waitRole(active, 'standby');
  }, 60_000);

  it('agent SIGKILLed: keepalived dies with it, the standby takes over; restarted, it comes back as standby', async () => {
    const { active, standby } = await P().waitOneActive();
    const pids = await P().keepalivedPids(active);
    expect(pids).toHaveLength(2); // keepalived and its VRRP process
    const victim = P().agent(active);
    victim.signal('SIGKILL');
    await victim.exited;
    delete P().agents[active];
    await pollUntil(() => pids.every((pid) => !alive(pid)), 5_000, 'keepalived to die with its agent');
    await P().waitRole(standby, 'active');
    await expectServing(standby, 'after-sigkill');
    // Nobody released the dead agent's addresses: the container's restart does, as standby.
    await P().start(active);
    await P().waitRole(active, 'standby');
    expect(await P().egressAddresses(active)).toEqual([]);
    await expectServing(standby, 'after-restart');
  }, 60_000);

  it('gateway lost on the active: it lowers its priority and the standby takes over; back, nothing moves', async () => {
    const { active, standby } = await P().waitOneActive();
    const farThrough = (pod: Pod, timeoutMs = 2_000) =>
      through(pod, 4, FAR_PORT, 'far', timeoutMs).then((r) => r.ok && r.parsed?.peer === EGRESS4);
    expect(await farThrough(active)).toBe(true);
    const port = T().node(T().pod(active).node).lanPort;
    const gwPort = T().ifaces.lanToGw;
    // The LAN loses the path between the active's node and the gateway (the other node keeps it).
    await T().exec('lan', ['nft', '-f', '-'], {
      input: [
        'table bridge ert_cut {',
        '  chain forward {',
        '    type filter hook forward priority 0; policy accept;',
        `    iifname "${port}" oifname "${gwPort}" drop`,
        `    iifname "${gwPort}" oifname "${port}" drop`,
        '  }',
        '}',
      ].join('\n'),
    });
    try {
      const cutAt = Date.now();
      // Traffic through the active makes its kernel find out (neighbour probes fail).
      await pollUntil(
        async () => {
          await farThrough(active, 500);
          return (await P().ha(standby))?.role === 'active';
        },
        30_000,
        'the standby to take over',
        200,
      );
      console.log(`HA agents, gateway cut on the active -> standby active after ${Date.now() - cutAt} ms`);
      await P().waitRole(standby, 'active');
      await P().waitRole(active, 'standby');
      expect(await farThrough(standby)).toBe(true);
      expect(await P().egressAddresses(active)).toEqual([]);
      const lost = (await P().status(active))!;
      expect(lost.ha).toMatchObject({ role: 'standby', priority: 50 });
      expect(condition(lost, 'Degraded')).toMatchObject({ status: 'True', reason: 'GatewayUnreachable' });
    } finally {
      await T().exec('lan', ['nft', 'delete', 'table', 'bridge', 'ert_cut'], { reject: false });
    }
    await pollUntil(
      async () => (await P().ha(active))?.priority === 100,
      20_000,
      'the priority to come back',
    );
    const transitions = [(await P().ha(active))!.transitions, (await P().ha(standby))!.transitions];
    await sleep(1_000);
    expect(await P().ha(standby)).toMatchObject({ role: 'active', transitions: transitions[1] });
    expect(await P().ha(active)).toMatchObject({ role: 'standby', transitions: transitions[0] });
    await expectServing(standby, 'gateway-back');
  }, 90_000);

  it('a partition gives two actives; once healed, one yields and the survivor serves', async () => {
    const { active, standby } = await P().waitOneActive();
    const node = T().pod(standby).node;
    const marks = { p1: P().agent('p1').logs.length, p2: P().agent('p2').logs.length };
    await T().partition(node);
    try {
      await pollUntil(
        async () => (await P().ha(standby))?.role === 'active',
        ROLE_MS,
        'the cut-off standby to go active',
      );
      expect((await P().ha(active))?.role).toBe('active');
      expect(await P().egressAddresses(standby)).toEqual(EGRESS);
      expect(await P().egressAddresses(active)).toEqual(EGRESS);
    } finally {
      await T().heal(node);
    }
    const healedAt = Date.now();
    const { active: survivor, standby: loser } = await P().waitOneActive();
    const yieldedAt = logAt(loser, /^HA role: standby$/, marks[loser]);
    console.log(
      `HA agents, partition healed -> ${loser} yielded after ${(yieldedAt ?? Number.NaN) - healedAt} ms (${survivor} stayed active)`,
    );
    expect(await P().egressAddresses(loser)).toEqual([]);
    expect(other(survivor)).toBe(loser);
    // The LAN knows where the addresses are, and keeps knowing (nothing stale re-announces them).
    for (let i = 0; i < 4; i++) {
      await expectServing(survivor, `healed-${i}`);
      await sleep(1_500);
    }
  }, 90_000);
});
