/**
 * The biggest config the API allows for one protocol, end to end in network namespaces (needs
 * root): `run` with a rule for every TCP port (65,534 rules: 65,535 ports but the agent's health
 * port, which validation keeps for itself). It asserts correctness at that size, never time
 * (timeouts below only bound a hang):
 * - the kernel holds every element, and a sample of ports (both ends of the range, around the
 *   health port, and pseudo-random ones) is redirected to the destination with the egress source;
 * - the health port itself still reaches the agent;
 * - /status is a summary (20 rules, counts of all 65,534) with pages of at most 1,000 rules,
 *   `/metrics` carries at most 1,000 per-rule series plus per-destination aggregates, and the
 *   `status` command answers with exit 0;
 * - a one-rule reload changes that element alone: the moved port answers from its new
 *   destination, the others still from theirs, and an untouched element keeps its counter
 *   (the table was updated, not replaced).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  CLI,
  type ConfigDir,
  createConfigDir,
  createTopology,
  egressRouter,
  HEALTH_PORT,
  http,
  NODE,
  PLAN,
  type RuleSpec,
  removeDir,
  type ServerHandle,
  startServer,
  type Topology,
} from '../../src/netkit/index.js';
import { printAgentLogIfFailed, startTestAgent, tearDownRun } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectRedirect } from './kit/expect.js';
import { metrics, type StatusDoc, status } from './kit/status.js';

const EGRESS = PLAN.egress.v4[0];
const TARGET = 7000;
const MOVED = 20_002;
const RULES = 65_534;

/** Every TCP port but the health port, to dst1:7000; `moved` to dst2:7000. */
function everyTcpPort(movedTo: string = PLAN.dst1.v4): RuleSpec[] {
  const rules: RuleSpec[] = [];
  for (let port = 1; port <= 65_535; port++) {
    if (port === HEALTH_PORT) continue;
    rules.push({
      protocol: 'TCP',
      port,
      destinationIP: port === MOVED ? movedTo : PLAN.dst1.v4,
      targetPort: TARGET,
    });
  }
  return rules;
}

const config = (movedTo?: string): string =>
  egressRouter(
    {
      name: 'scale',
      master: 'eth1',
      addresses: [{ ip: `${EGRESS}/24`, gateway: PLAN.gw.v4 }],
      rules: everyTcpPort(movedTo),
    },
    'compact-json',
  );

/** Ports to try end to end: the edges, around the health port and the moved one, and 16 spread by a fixed LCG. */
function samplePorts(): number[] {
  const ports = new Set([
    1,
    2,
    1023,
    1024,
    HEALTH_PORT - 1,
    HEALTH_PORT + 1,
    MOVED - 1,
    MOVED + 1,
    65_534,
    65_535,
  ]);
  let seed = 12_345;
  while (ports.size < 26) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const port = 1 + (seed % 65_535);
    if (port !== HEALTH_PORT && port !== MOVED) ports.add(port);
  }
  return [...ports];
}

let topo: Topology | undefined;
let agent: AgentProcess | undefined;
let cfg: ConfigDir | undefined;
let dir: string | undefined;
let dst1: ServerHandle | undefined;
let dst2: ServerHandle | undefined;

const T = (): Topology => {
  if (!topo) throw new Error('no topology');
  return topo;
};

/**
 * nft reads a whole 65,535-element map (with counters) for a listing or a `get element`: seconds
 * of CPU, far more on a loaded machine. The kit's 20 s default for a command is not a test here.
 */
const BIG_MAP_READ_MS = 120_000;

/** Element count of one of the agent's maps, from the terse-free JSON listing. */
async function elementCount(map: string): Promise<number> {
  const out = (
    await T().exec('pod', ['nft', '-j', 'list', 'map', 'inet', 'egress_router', map], {
      timeoutMs: BIG_MAP_READ_MS,
    })
  ).stdout;
  const listed = (JSON.parse(out) as { nftables: Record<string, { elem?: unknown[] }>[] }).nftables.find(
    (o) => 'map' in o,
  );
  return listed?.map?.elem?.length ?? 0;
}

/** The element of `tcp . port` in the address map as nft prints it: its destination and packet count. */
async function addressElement(port: number): Promise<{ value: string; packets: number }> {
  const out = (
    await T().exec(
      'pod',
      ['nft', 'get', 'element', 'inet', 'egress_router', 'redirect_addr4', `{ tcp . ${port} }`],
      { timeoutMs: BIG_MAP_READ_MS },
    )
  ).stdout;
  const match = /tcp \. (\d+) counter packets (\d+) bytes \d+ : ([\d.]+)/.exec(out);
  if (!match || Number(match[1]) !== port) throw new Error(`no element tcp . ${port} in ${out}`);
  return { value: match[3] as string, packets: Number(match[2]) };
}

describe(`run with a rule for every TCP port (${RULES.toLocaleString('en')} rules)`, () => {
  beforeAll(async () => {
    requireBuiltAgent();
    dir = await mkdtemp(join(tmpdir(), 'ert-scale-'));
    topo = await createTopology({ ipv6: false });
    dst1 = await startServer(topo, 'dst1', 'dst1', { tcp: [TARGET] });
    dst2 = await startServer(topo, 'dst2', 'dst2', { tcp: [TARGET] });
    cfg = await createConfigDir(join(dir, 'config'), config(), { fileName: 'egressrouter.json' });
    agent = await startTestAgent(topo, cfg.path);
    await agent.waitReady(300_000);
  }, 360_000);

  afterAll(() => tearDownRun(agent, topo, () => removeDir(dir)), 120_000);

  afterEach((context) => printAgentLogIfFailed(context, agent, 30));

  it('loads every element and redirects a sample of ports end to end; the health port stays the agent’s', async () => {
    expect(await elementCount('redirect_addr4')).toBe(RULES);
    expect(await elementCount('redirect_port4')).toBe(RULES);
    for (const port of samplePorts()) {
      await expectRedirect(
        T(),
        'tcp',
        'client',
        PLAN.pod.v4,
        port,
        dst1!,
        { port: TARGET, peer: EGRESS },
        `p${port}`,
      );
    }
    const health = await http(T(), '/healthz', { ns: 'client', host: PLAN.pod.v4, maxSeconds: 10 });
    expect(health.status).toBe(200);
    expect(dst1!.seen().some((r) => r.localPort === HEALTH_PORT)).toBe(false);
  }, 180_000);

  it('/status is a summary with pages, /metrics is capped, and the status command answers', async () => {
    const summary = await status(T(), { maxSeconds: 30 });
    expect(summary.rules.length).toBe(20);
    expect(summary.ruleSummary).toMatchObject({ total: RULES, matched: RULES, shown: 20, more: true });
    expect(summary.conditions.find((c) => c.type === 'Available')?.status).toBe('True');

    const pageReply = await http(T(), '/status?rules=all&offset=30000&limit=5000', { maxSeconds: 30 });
    const page = JSON.parse(pageReply.body) as StatusDoc & { ruleSummary: Record<string, unknown> };
    expect(page.rules.length).toBe(1_000);
    expect(page.ruleSummary).toMatchObject({ total: RULES, offset: 30_000, shown: 1_000, more: true });
    // protocol, port order: offset 30,000 is port 30,002 (port 9,099, the health port, has no rule)
    expect(page.rules[0]).toMatchObject({ protocol: 'tcp', port: 30_002 });

    const text = await metrics(T(), { maxSeconds: 30 });
    const series = text.split('\n').filter((l) => l.startsWith('egress_router_redirect_connections_total{'));
    const perRule = series.filter((l) => !l.includes('port="other"'));
    expect(perRule.length).toBe(1_000);
    expect(series.filter((l) => l.includes('port="other"')).length).toBe(1);

    const command = await T().exec('pod', [NODE, CLI, 'status'], { reject: false, timeoutMs: 60_000 });
    expect(command.exitCode, command.stderr).toBe(0);
    expect(command.stdout).toContain(`rules 1-20 of ${RULES}, most connections first; all of them: --all`);
    // The command pages and filters as /status does.
    const paged = await T().exec('pod', [NODE, CLI, 'status', '--all', '--offset', '30000', '--limit', '3'], {
      reject: false,
      timeoutMs: 60_000,
    });
    expect(paged.exitCode, paged.stderr).toBe(0);
    expect(paged.stdout).toMatch(/TCP\s+30002\s.*\n.*TCP\s+30003\s.*\n.*TCP\s+30004\s/);
    expect(paged.stdout).toContain(
      `rules 30001-30003 of ${RULES}, in protocol, port order; next page: --offset 30003`,
    );
    const one = await T().exec('pod', [NODE, CLI, 'status', '--port', '20002', '-o', 'json'], {
      reject: false,
      timeoutMs: 60_000,
    });
    const doc = JSON.parse(one.stdout) as StatusDoc & { ruleSummary: Record<string, unknown> };
    expect(doc.rules.map((r) => r.port)).toEqual([20_002]);
    expect(doc.ruleSummary).toMatchObject({ total: RULES, matched: 1 });
  }, 180_000);

  it('a one-rule reload moves that port alone and keeps the other elements’ counters', async () => {
    const untouched = 1;
    await expectRedirect(
      T(),
      'tcp',
      'client',
      PLAN.pod.v4,
      untouched,
      dst1!,
      { port: TARGET, peer: EGRESS },
      'pre',
    );
    const before = await addressElement(untouched);
    expect(before.packets).toBeGreaterThan(0);

    const from = agent!.logs.length;
    await cfg!.swap(config(PLAN.dst2.v4));
    await agent!.waitForLog((line) => line.msg === 'config applied', 120_000, from);

    expect(await addressElement(MOVED)).toMatchObject({ value: PLAN.dst2.v4 });
    await expectRedirect(
      T(),
      'tcp',
      'client',
      PLAN.pod.v4,
      MOVED,
      dst2!,
      { port: TARGET, peer: EGRESS },
      'moved',
    );
    for (const port of [MOVED - 1, MOVED + 1, 65_535])
      await expectRedirect(
        T(),
        'tcp',
        'client',
        PLAN.pod.v4,
        port,
        dst1!,
        { port: TARGET, peer: EGRESS },
        `still${port}`,
      );
    expect((await addressElement(untouched)).packets).toBeGreaterThanOrEqual(before.packets);
    expect(await elementCount('redirect_addr4')).toBe(RULES);
  }, 240_000);
});
