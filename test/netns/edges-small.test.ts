/**
 * The smaller data-plane edges (needs root): unmatched UDP ports are refused at once even at a
 * steady rate (the pod's per-client ICMP rate limit, which the kernel applies to the reject's
 * port unreachable, is lifted: net.ipv4.icmp_ratelimit / net.ipv6.icmp.ratelimit = 0); ICMP echo
 * to the router is answered by the router, also with a fallback (it is not forwarded to the
 * fallback host); and the SNAT source is the first address of each family.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capture,
  createScratchDir,
  createTopology,
  egressRouter,
  NODE,
  PLAN,
  type RouterSpec,
  type ScratchDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent } from './kit/expect.js';

let topo: Topology;
let dir: ScratchDir;
let dst1: ServerHandle;

/** `count` UDP datagrams, `gapMs` apart, each from its own connected socket; how each ended. */
const BURST = `
const dgram = require('node:dgram');
const [host, port, count, gap] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const result = { refused: 0, silent: 0 };
let done = 0;
const end = () => { if (++done === count) console.log(JSON.stringify(result)); };
for (let i = 0; i < count; i++)
  setTimeout(() => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { result.silent++; socket.close(); end(); }, 1000);
    socket.on('error', () => { clearTimeout(timer); result.refused++; socket.close(); end(); });
    socket.connect(port, host, () => socket.send('probe'));
  }, i * gap);
`;

async function burst(host: string, port: number): Promise<{ refused: number; silent: number }> {
  const out = await topo.exec('client', [NODE, '-e', BURST, host, String(port), '20', '50']);
  return JSON.parse(out.stdout.trim()) as { refused: number; silent: number };
}

async function apply(spec: Omit<RouterSpec, 'master'>): Promise<void> {
  const path = await dir.write('router.yaml', egressRouter({ ...spec, master: 'eth1' }, 'yaml'));
  await expectAgent(topo, 'apply', path, 0);
}

beforeAll(async () => {
  requireBuiltAgent();
  topo = await createTopology();
  dir = await createScratchDir('ert-edges-');
  dst1 = await startServer(topo, 'dst1', 'dst1', { tcp: [80] });
  await startServer(topo, 'dst2', 'dst2', { tcp: [8081] });
}, 120_000);

afterAll(async () => {
  try {
    await topo?.destroy();
  } finally {
    await dir?.remove();
  }
}, 60_000);

describe('without a fallback', () => {
  it('refuses 20 unmatched UDP probes at 20/s at once, IPv4 and IPv6 (no per-client ICMP rate limit)', async () => {
    await apply({
      addresses: [
        { ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 },
        { ip: `${PLAN.egress.v6[0]}/64`, gateway: PLAN.gw.v6 },
      ],
      rules: [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }],
    });
    const sysctls = await topo.exec('pod', [
      'sysctl',
      '-n',
      'net.ipv4.icmp_ratelimit',
      'net.ipv6.icmp.ratelimit',
    ]);
    expect(sysctls.stdout.trim().split('\n')).toEqual(['0', '0']);
    expect(await burst(PLAN.pod.v4, 5000)).toEqual({ refused: 20, silent: 0 });
    expect(await burst(PLAN.pod.v6, 5000)).toEqual({ refused: 20, silent: 0 });
  });
});

describe('with a fallback', () => {
  it('answers ICMP echo to the router itself and forwards none of it to the fallback host', async () => {
    await apply({
      addresses: [{ ip: `${PLAN.egress.v4[0]}/24`, gateway: PLAN.gw.v4 }],
      rules: [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }],
      fallbackIP: PLAN.dst2.v4,
    });
    let ping: Awaited<ReturnType<Topology['exec']>> | undefined;
    const seen = await capture(topo, 'dst2', 'eth0', ['icmp'], async () => {
      ping = await topo.exec('client', ['ping', '-c', '3', '-i', '0.2', '-W', '1', PLAN.pod.v4], {
        reject: false,
      });
    });
    expect(ping?.exitCode, ping?.stdout).toBe(0);
    expect(ping?.stdout).toContain(`from ${PLAN.pod.v4}`);
    expect(seen.filter((l) => l.trim() !== '')).toEqual([]);
    // Everything else still goes to the fallback host.
    expect(await tcpRequest(topo, 'client', PLAN.pod.v4, 8081, 'to-fallback')).toMatchObject({
      ok: true,
      parsed: { name: 'dst2', peer: PLAN.egress.v4[0], port: 8081 },
    });
  });
});

describe('SNAT source', () => {
  it('is the first address of the family, whatever else the interface holds', async () => {
    await apply({
      addresses: [{ ip: `${PLAN.egress.v4[1]}/24`, gateway: PLAN.gw.v4 }, { ip: `${PLAN.egress.v4[0]}/24` }],
      rules: [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' }],
    });
    const reply = await tcpRequest(topo, 'client', PLAN.pod.v4, 80, 'which-source');
    expect(reply).toMatchObject({ ok: true, parsed: { name: 'dst1', peer: PLAN.egress.v4[1] } });
    await dst1.waitFor((r) => r.payload === 'which-source' && r.peerAddress === PLAN.egress.v4[1], 2_000);
  });
});
