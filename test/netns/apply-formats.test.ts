/**
 * Each input format end to end: the bundled EgressRouter YAML, a CNI config (the bundled one
 * plus an IPv6 address and destination), the bundled NetworkAttachmentDefinition, and the 3.x
 * environment with --from-env. Apply, traffic through the router, cleanup back to the pod's
 * original routes. One topology for the file. Needs root.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentLaunch,
  createScratchDir,
  createTopology,
  globalAddresses,
  PLAN,
  routes,
  type ScratchDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
  udpRequest,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent, expectReached, expectUnseen, tag } from './kit/expect.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const EGRESS4 = PLAN.egress.v4[0];
const EGRESS6 = PLAN.egress.v6[0];
const POD = PLAN.pod;

let topo: Topology;
let dir: ScratchDir;
let dst1: ServerHandle;
let dst2: ServerHandle;
let far: ServerHandle;
let pristine: Awaited<ReturnType<typeof routes>>;
/** What the running test applied, for afterEach to clean up even when the test failed. */
let applied: { config: string | undefined; flags: AgentLaunch } | undefined;

beforeAll(async () => {
  requireBuiltAgent();
  dir = await createScratchDir('ert-apply-');
  topo = await createTopology();
  [dst1, dst2, far] = await Promise.all([
    startServer(topo, 'dst1', 'dst1', { tcp: [80], udp: [53] }),
    startServer(topo, 'dst2', 'dst2', { tcp: [80, 7777] }),
    startServer(topo, 'far', 'far', { tcp: [443] }),
  ]);
  pristine = await routes(topo);
}, 120_000);

afterEach(async () => {
  if (!applied) return;
  const { config, flags } = applied;
  applied = undefined;
  await expectAgent(topo, 'cleanup', config, 0, flags);
  expect(await routes(topo)).toEqual(pristine);
  expect(await globalAddresses(topo, 'pod', 'net1')).toEqual([]);
});

afterAll(async () => {
  try {
    await topo?.destroy();
  } finally {
    await dir?.remove();
  }
});

async function applyFormat(config: string | undefined, flags: AgentLaunch = {}): Promise<void> {
  applied = { config, flags };
  const result = await expectAgent(topo, 'apply', config, 0, flags);
  expect(result.stdout).toContain('created net1');
  expect(result.stdout).toMatch(/applied: \d+ change\(s\), verified/);
}

async function tcpTo(
  port: number,
  server: ServerHandle,
  targetPort: number,
  family: 'v4' | 'v6' = 'v4',
): Promise<void> {
  const payload = tag(`tcp${port}`);
  const peer = family === 'v4' ? EGRESS4 : EGRESS6;
  await expectReached(await tcpRequest(topo, 'client', POD[family], port, payload), server, {
    proto: 'tcp',
    port: targetPort,
    peer,
    payload,
  });
  expectUnseen(
    [dst1, dst2, far].filter((s) => s !== server),
    payload,
  );
}

async function udpTo(port: number, server: ServerHandle, targetPort: number): Promise<void> {
  const payload = tag(`udp${port}`);
  await expectReached(await udpRequest(topo, 'client', POD.v4, port, payload), server, {
    proto: 'udp',
    port: targetPort,
    peer: EGRESS4,
    payload,
  });
}

describe('input formats end to end', () => {
  it('EgressRouter YAML (examples/egressrouter.yaml as shipped)', async () => {
    await applyFormat(`${EXAMPLES}egressrouter.yaml`);
    await tcpTo(80, dst1, 80);
    await tcpTo(8080, dst2, 80);
    await udpTo(5353, dst1, 53);
    await tcpTo(443, far, 443);
    await tcpTo(7777, dst2, 7777); // fallbackIP
  });

  it('CNI JSON (examples/cni.json with MTU 1450, plus an IPv6 address and an IPv6 destination with a target port)', async () => {
    const cni = JSON.parse(await readFile(`${EXAMPLES}cni.json`, 'utf8')) as {
      interfaceArgs: { mtu: string };
      ip: { addresses: string[]; destinations: string[] };
    };
    cni.interfaceArgs.mtu = '1450';
    cni.ip.addresses.push(`${EGRESS6}/64`);
    // Before the fallback line, which must come last.
    cni.ip.destinations.splice(-1, 0, `8081 tcp ${PLAN.dst1.v6} 80`);
    const path = await dir.write('cni.json', JSON.stringify(cni, null, 2));
    await applyFormat(path, { clusterCidrs: [PLAN.cluster.v4, PLAN.cluster.v6] });
    await tcpTo(80, dst1, 80);
    await tcpTo(8080, dst2, 80);
    await udpTo(5353, dst1, 53);
    await tcpTo(7777, dst2, 7777); // fallbackIP
    await tcpTo(8081, dst1, 80, 'v6');
    const [net1] = await topo.ipJson<{ mtu: number }[]>('pod', ['link', 'show', 'net1']);
    expect(net1?.mtu).toBe(1450);
    // ip.gateway is IPv4 only: the IPv6 gateway is the node's default gateway, which is on the egress subnet.
    const v6 = await topo.ipJson<{ dst: string; gateway?: string; dev: string }[]>('pod', ['-6', 'route']);
    expect(v6).toContainEqual(expect.objectContaining({ dst: 'default', gateway: PLAN.gw.v6, dev: 'net1' }));
  });

  it('NetworkAttachmentDefinition (examples/nad.yaml as shipped: no fallback)', async () => {
    await applyFormat(`${EXAMPLES}nad.yaml`);
    await tcpTo(80, dst1, 80);
    await tcpTo(8080, dst2, 80);
    const payload = tag('nad-unmatched');
    expect(await tcpRequest(topo, 'client', POD.v4, 7777, payload)).toMatchObject({
      ok: false,
      error: 'refused',
    });
    expectUnseen([dst1, dst2, far], payload);
  });

  it('--from-env with EGRESS_SOURCE / EGRESS_GATEWAY / EGRESS_DESTINATION (examples/legacy.env)', async () => {
    const env = {
      EGRESS_SOURCE: EGRESS4,
      EGRESS_GATEWAY: PLAN.gw.v4,
      EGRESS_ROUTER_MODE: 'init',
      EGRESS_DESTINATION: [
        '# web traffic to the first host',
        `80   tcp ${PLAN.dst1.v4}`,
        `8080 tcp ${PLAN.dst2.v4} 80`,
        `5353 udp ${PLAN.dst1.v4} 53`,
        '# everything else',
        PLAN.dst2.v4,
        '',
      ].join('\n'),
    };
    await applyFormat(undefined, { args: ['--from-env'], env });
    // The 3.x node created the macvlan in private mode.
    const [net1] = await topo.ipJson<{ linkinfo: { info_data: { mode: string } } }[]>('pod', [
      '-d',
      'link',
      'show',
      'net1',
    ]);
    expect(net1?.linkinfo.info_data.mode).toBe('private');
    await tcpTo(80, dst1, 80);
    await tcpTo(8080, dst2, 80);
    await udpTo(5353, dst1, 53);
    await tcpTo(7777, dst2, 7777);
  });
});
