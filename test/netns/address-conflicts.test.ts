/**
 * IPv4 address conflicts (RFC 5227) in network namespaces (needs root). IPv4 has no DAD: without a
 * probe the agent would silently take over an address a LAN host holds (its gratuitous ARP moves
 * every neighbour's cache to the router). Before adding an IPv4 egress address the agent ARP-probes
 * it: `apply` refuses with DuplicateAddress naming the address and changes nothing (the gateway's
 * cache still points at the host); `run` reports Available False / Degraded DuplicateAddress and
 * retries until the address is free. A conflict that appears later (a host starts answering for
 * an address the router holds) is reported as Degraded AddressConflict, without a fight: the
 * address stays, and the agent sends no announcements at the other host.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  capture,
  createConfigDir,
  createScratchDir,
  createTopology,
  globalAddresses,
  http,
  linkNames,
  logTime,
  PLAN,
  podHasTable,
  podRoutes,
  pollUntil,
  type ScratchDir,
  sleep,
  type Topology,
} from '../../src/netkit/index.js';
import { AGENT_START_MS, printAgentLogIfFailed, routerYaml, startTestAgent } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent } from './kit/expect.js';
import { condition, conditionIs, waitForStatus } from './kit/status.js';

type Claim = Awaited<ReturnType<Topology['claimAddress']>>;

const EGRESS = PLAN.egress.v4[0] as string;
/** The announcements of one address: rounds at 0, 2 and 6 s, and arping's own second. */
const ANNOUNCE_SPAN_MS = 7_500;
const RULES = [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' as const }];

let topo: Topology;
let dir: ScratchDir;
let hostMac: string;
let agent: AgentProcess | undefined;
const claims: Claim[] = [];

const claim = async (): Promise<Claim> => {
  const c = await topo.claimAddress(`${EGRESS}/24`);
  claims.push(c);
  return c;
};

/** The MAC the gateway's neighbour table holds for the egress address (undefined: none). */
async function gatewayEntry(): Promise<string | undefined> {
  const entries = await topo.ipJson<{ lladdr?: string }[]>('gw', ['-4', 'neigh', 'show', EGRESS]);
  return entries[0]?.lladdr;
}

beforeAll(async () => {
  requireBuiltAgent();
  topo = await createTopology({ ipv6: false, lanHost: true });
  dir = await createScratchDir('ert-conflicts-');
  const [eth0] = await topo.ipJson<{ address: string }[]>('host', ['link', 'show', 'eth0']);
  hostMac = eth0?.address ?? '';
}, 120_000);

afterAll(async () => {
  try {
    await agent?.stop().catch(() => undefined);
    for (const c of claims) await c.release();
  } finally {
    try {
      await topo?.destroy();
    } finally {
      await dir?.remove();
    }
  }
}, 60_000);

afterEach((context) => printAgentLogIfFailed(context, agent, 40));

describe('IPv4 address conflicts', () => {
  it('apply refuses an address a LAN host holds: exit 1 naming it, nothing changed, the LAN still points at the host', async () => {
    const config = await dir.write('router.yaml', routerYaml(RULES));
    const routesBefore = await podRoutes(topo);
    const held = await claim();
    try {
      // The gateway has talked to the host: its cache holds the host's MAC for the address.
      await topo.exec('gw', ['ping', '-c', '1', '-W', '2', EGRESS]);
      expect(await gatewayEntry()).toBe(hostMac);
      const result = await expectAgent(topo, 'apply', config, 1);
      expect(result.stderr).toContain(`apply failed at step addresses (DuplicateAddress) on ${EGRESS}`);
      expect(result.stderr).toContain(`${hostMac} answered an ARP probe for it`);
      expect(await linkNames(topo, 'pod')).toEqual(['eth0', 'lo']);
      expect(await podHasTable(topo)).toBe(false);
      expect(await podRoutes(topo)).toEqual(routesBefore);
      expect(await gatewayEntry()).toBe(hostMac);
    } finally {
      await held.release();
    }
  });

  it('run reports DuplicateAddress (not Available, /readyz 503) and retries until the address is free', async () => {
    const held = await claim();
    const cfg = await createConfigDir(`${dir.dir}/config`, routerYaml(RULES));
    agent = await startTestAgent(topo, cfg.path);
    try {
      const doc = await waitForStatus(
        topo,
        (d) => conditionIs(d, 'Degraded', 'True', 'DuplicateAddress'),
        AGENT_START_MS,
        'Degraded DuplicateAddress',
      );
      expect(condition(doc, 'Available').status).toBe('False');
      expect(condition(doc, 'Degraded').message).toContain(EGRESS);
      expect((await http(topo, '/readyz')).status).toBe(503);
      // Retried, and refused each time: the host keeps its address.
      await sleep(3_000);
      expect(
        agent.logs.filter((l) => l.msg.startsWith('apply failed') && l.reason === 'DuplicateAddress').length,
      ).toBeGreaterThan(1);
      expect(await gatewayEntry()).not.toBe(undefined);
      // Each refused attempt is rolled back: between attempts the pod is as it was. (A single
      // look can land inside an attempt, which holds net1 for its probes: on a loaded machine
      // the attempts are longer and the backoff no longer covers the moment of the look.)
      await pollUntil(
        async () => JSON.stringify(await linkNames(topo, 'pod')) === JSON.stringify(['eth0', 'lo']),
        15_000,
        'the pod without net1 between attempts',
        50,
      );
    } finally {
      await held.release();
    }
    await waitForStatus(
      topo,
      (d) => conditionIs(d, 'Available', 'True'),
      15_000,
      'Available once the address is free',
    );
    expect(await globalAddresses(topo, 'pod', 'net1')).toEqual([`${EGRESS}/24`]);
  });

  it('reports a conflict that appears later as Degraded AddressConflict, keeps the address and does not fight over it', async () => {
    const running = agent as AgentProcess;
    await waitForStatus(topo, (d) => conditionIs(d, 'Degraded', 'False'), 10_000, 'Degraded False');
    const [net1] = await topo.ipJson<{ address: string }[]>('pod', ['link', 'show', 'net1']);
    // The announcements of the address's own add repeat for six seconds: let them end first.
    const announced = running.logs.filter((l) => l.kind === 'announce').map(logTime);
    await sleep(Math.max(0, Math.max(...announced) + ANNOUNCE_SPAN_MS - Date.now()));
    const held = await claim();
    try {
      let doc: Awaited<ReturnType<typeof waitForStatus>> | undefined;
      // While the host holds it, the router sends no gratuitous ARP for the address.
      const lines = await capture(topo, 'lan', topo.ifaces.lanBridge, ['arp'], async () => {
        doc = await waitForStatus(
          topo,
          (d) => conditionIs(d, 'Degraded', 'True', 'AddressConflict'),
          15_000,
          'Degraded AddressConflict',
        );
        await sleep(3_000);
      });
      const degraded = condition(doc as NonNullable<typeof doc>, 'Degraded');
      expect(degraded.message).toContain(`another host (${hostMac}) answers ARP for ${EGRESS}`);
      expect(condition(doc as NonNullable<typeof doc>, 'Available').status).toBe('True');
      expect(
        lines.filter(
          (l) => l.includes(`tell ${EGRESS}`) || l.includes(`Reply ${EGRESS} is-at ${net1?.address}`),
        ),
      ).toEqual([]);
      expect(await globalAddresses(topo, 'pod', 'net1')).toEqual([`${EGRESS}/24`]);
      expect(
        running.logs.some((l) => l.msg === `address conflict: another host answers ARP for ${EGRESS}`),
      ).toBe(true);
    } finally {
      await held.release();
    }
    await waitForStatus(topo, (d) => conditionIs(d, 'Degraded', 'False'), 15_000, 'the conflict cleared');
  });
});
