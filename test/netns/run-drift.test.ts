/**
 * `run` drift repair in network namespaces (needs root): each change made behind the agent's back
 * is repaired promptly and shows in the log ("drift repaired: …" with its kind), in the metrics
 * (egress_router_drift_repairs_total{kind}) and in the conditions (Degraded False DriftRepaired),
 * and traffic flows again. Then SIGTERM with --cleanup-on-exit takes everything back.
 * Each describe block has its own topology and agent (both with --cleanup-on-exit).
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
  podHasLink,
  podHasTable,
  podRoutes,
  podRoutesAllTables,
  podRules,
  pollUntil,
  type RouteEntry,
  type RuleSpec,
  removeDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { routerYaml, startTestAgent } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { condition, conditionIs, metrics, status, waitForQuiet, waitForStatus } from './kit/status.js';

const EGRESS = PLAN.egress.v4[0];
const RULES: RuleSpec[] = [
  { destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' },
  { destinationIP: PLAN.dst2.v4, port: 8080, protocol: 'TCP', targetPort: 80 },
  // Off-link: only reachable through the gateway, so it also proves the default route is right.
  { destinationIP: PLAN.far.v4, port: 8443, protocol: 'TCP', targetPort: 80 },
];
const TABLE = ['inet', 'egress_router'] as const;

interface Fixture {
  topo: Topology;
  agent: AgentProcess;
  dir: string;
  servers: ServerHandle[];
  /** The pod's IPv4 routes (main table) and policy rules before the agent started. */
  originalRoutes: RouteEntry[];
  originalRules: unknown[];
}

/** Topology, servers on dst1/dst2/far (TCP 80), and an agent with --cleanup-on-exit, ready. */
async function setUp(parts: Partial<Fixture>): Promise<void> {
  parts.dir = await mkdtemp(join(tmpdir(), 'ert-run-drift-'));
  const topo = await createTopology({ ipv6: false });
  parts.topo = topo;
  parts.servers = [
    await startServer(topo, 'dst1', 'dst1', { tcp: [80] }),
    await startServer(topo, 'dst2', 'dst2', { tcp: [80] }),
    await startServer(topo, 'far', 'far', { tcp: [80] }),
  ];
  parts.originalRoutes = await podRoutes(topo);
  parts.originalRules = await podRules(topo);
  const config = await createConfigDir(join(parts.dir, 'config'), routerYaml(RULES));
  parts.agent = await startTestAgent(topo, config.path, ['--cleanup-on-exit']);
  await waitForStatus(topo, (d) => conditionIs(d, 'Available', 'True'), 15_000, 'Available True');
}

async function tearDown(parts: Partial<Fixture>): Promise<void> {
  try {
    await parts.agent?.stop().catch(() => undefined);
  } finally {
    try {
      await parts.topo?.destroy();
    } finally {
      await removeDir(parts.dir);
    }
  }
}

function whole(parts: Partial<Fixture>): Fixture {
  if (
    !parts.topo ||
    !parts.agent ||
    !parts.dir ||
    !parts.servers ||
    !parts.originalRoutes ||
    !parts.originalRules
  )
    throw new Error('fixture not set up');
  return parts as Fixture;
}

function dumpLogOnFailure(parts: Partial<Fixture>): void {
  onTestFailed(() => {
    const log = parts.agent?.logs.slice(-40).map((l) => JSON.stringify(l)) ?? [];
    console.error(`agent log (last 40 lines):\n${log.join('\n')}`);
  });
}

async function pollRedirect(topo: Topology, port: number, server: string, timeoutMs = 5_000): Promise<void> {
  let last: unknown;
  await pollUntil(
    async () => {
      const reply = await tcpRequest(topo, 'client', PLAN.pod.v4, port, `drift-${port}`, 1_000);
      last = reply;
      return reply.ok && reply.parsed?.name === server && reply.parsed.peer === EGRESS;
    },
    timeoutMs,
    `port ${port} to reach ${server} from ${EGRESS}`,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last reply ${JSON.stringify(last)}`);
  });
}

const repairCount = async (topo: Topology, kind: string): Promise<number> =>
  metricValue(await metrics(topo), 'egress_router_drift_repairs_total', { kind }) ?? 0;

interface DriftCase {
  readonly name: string;
  /** The kind of the repair that must be logged and counted. */
  readonly kind: 'nftables' | 'address' | 'route' | 'interface' | 'sysctl';
  /** What the repair log line says. */
  readonly repair: RegExp;
  readonly make: (topo: Topology) => Promise<unknown>;
  /** The kernel state is right again. */
  readonly restored: (topo: Topology) => Promise<boolean>;
}

const mapListing = async (topo: Topology): Promise<string> =>
  (await topo.exec('pod', ['nft', 'list', 'map', ...TABLE, 'redirect_addr4'], { reject: false })).stdout;

const netDevice = async (topo: Topology) =>
  (await topo.ipJson<{ ifname: string; flags: string[]; ifalias?: string }[]>('pod', ['link', 'show'])).find(
    (l) => l.ifname === 'net1',
  );

const hasEgressDefault = async (topo: Topology): Promise<boolean> =>
  (await podRoutes(topo)).some(
    (r) => r.dst === 'default' && r.gateway === PLAN.gw.v4 && r.dev === 'net1' && r.protocol === '77',
  );

const CASES: readonly DriftCase[] = [
  {
    name: 'the table deleted',
    kind: 'nftables',
    repair: /^drift repaired: loaded table inet egress_router$/,
    make: (topo) => topo.exec('pod', ['nft', 'delete', 'table', ...TABLE]),
    restored: podHasTable,
  },
  {
    name: 'a map element deleted',
    kind: 'nftables',
    // Only the lost element is sent back: the other elements keep their counters.
    repair:
      /^drift repaired: repaired table inet egress_router: map elements: 1 added, 0 removed; 0 chain\(s\) rewritten \(.*redirect_addr4/,
    make: (topo) =>
      topo.exec('pod', ['nft', 'delete', 'element', ...TABLE, 'redirect_addr4', '{ tcp . 80 }']),
    restored: async (topo) => /tcp \. 80 .*: 192\.0\.2\.10\b/.test(await mapListing(topo)),
  },
  {
    name: 'a map element edited (port 80 pointed at dst2)',
    kind: 'nftables',
    repair:
      /^drift repaired: repaired table inet egress_router: map elements: 1 added, 1 removed; 0 chain\(s\) rewritten \(.*redirect_addr4/,
    make: (topo) =>
      topo.exec('pod', ['nft', '-f', '-'], {
        input: [
          `delete element ${TABLE.join(' ')} redirect_addr4 { tcp . 80 }`,
          `add element ${TABLE.join(' ')} redirect_addr4 { tcp . 80 : ${PLAN.dst2.v4} }`,
          '',
        ].join('\n'),
      }),
    restored: async (topo) => {
      const listing = await mapListing(topo);
      return /tcp \. 80 .*: 192\.0\.2\.10\b/.test(listing) && !/tcp \. 80 .*: 192\.0\.2\.20\b/.test(listing);
    },
  },
  {
    name: 'a chain of the table flushed',
    kind: 'nftables',
    repair:
      /^drift repaired: repaired table inet egress_router: map elements: 0 added, 0 removed; 1 chain\(s\) rewritten \(/,
    make: (topo) => topo.exec('pod', ['nft', 'flush', 'chain', ...TABLE, 'prerouting']),
    restored: async (topo) =>
      /dnat ip to/.test(
        (await topo.exec('pod', ['nft', 'list', 'chain', ...TABLE, 'prerouting'], { reject: false })).stdout,
      ),
  },
  {
    name: 'a stray address added to net1',
    kind: 'address',
    repair: /^drift repaired: removed address 192\.0\.2\.101\/24 from net1 \(not in the config\)$/,
    make: (topo) => topo.ip('pod', ['addr', 'add', `${PLAN.egress.v4[1]}/24`, 'dev', 'net1']),
    restored: async (topo) =>
      !(await topo.ip('pod', ['-4', '-o', 'addr', 'show', 'dev', 'net1'])).stdout.includes(PLAN.egress.v4[1]),
  },
  {
    name: 'the egress address removed from net1',
    kind: 'address',
    repair: /^drift repaired: added address 192\.0\.2\.100\/24 to net1$/,
    make: (topo) => topo.ip('pod', ['addr', 'delete', `${EGRESS}/24`, 'dev', 'net1']),
    restored: async (topo) =>
      (await topo.ip('pod', ['-4', '-o', 'addr', 'show', 'dev', 'net1'])).stdout.includes(`${EGRESS}/24`) &&
      (await hasEgressDefault(topo)),
  },
  {
    name: 'the default route removed',
    kind: 'route',
    repair: /^drift repaired: added route default via 192\.0\.2\.1 dev net1$/,
    make: (topo) => topo.ip('pod', ['-4', 'route', 'delete', 'default', 'via', PLAN.gw.v4, 'dev', 'net1']),
    restored: hasEgressDefault,
  },
  {
    name: 'net1 set down',
    kind: 'interface',
    repair: /^drift repaired: brought net1 up$/,
    make: (topo) => topo.ip('pod', ['link', 'set', 'net1', 'down']),
    restored: async (topo) =>
      ((await netDevice(topo))?.flags.includes('UP') ?? false) && hasEgressDefault(topo),
  },
  {
    name: 'net1 deleted (the agent created it, so it re-creates it)',
    kind: 'interface',
    repair: /^drift repaired: created net1: macvlan bridge on eth1/,
    make: (topo) => topo.ip('pod', ['link', 'delete', 'net1']),
    restored: async (topo) =>
      (await netDevice(topo))?.ifalias === 'egress-router-agent: created' && (await hasEgressDefault(topo)),
  },
  {
    name: 'net.ipv4.ip_forward reset to 0',
    kind: 'sysctl',
    repair: /^drift repaired: set net\.ipv4\.ip_forward=1 \(was 0\)$/,
    make: (topo) => topo.exec('pod', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']),
    restored: async (topo) =>
      (await topo.exec('pod', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim() === '1',
  },
];

/** Makes the drift and checks the repair in the log, the metrics, the conditions, the kernel and traffic. */
async function driftAndRepair(f: Fixture, drift: DriftCase): Promise<void> {
  const { topo, agent } = f;
  await waitForQuiet(topo);
  const from = agent.logs.length;
  const countBefore = await repairCount(topo, drift.kind);
  const previous = await status(topo);
  const started = Date.now();

  await drift.make(topo);
  const line = await agent.waitForLog(
    (l) => l.msg.startsWith('drift repaired:') && l.kind === drift.kind && drift.repair.test(l.msg),
    10_000,
    from,
  );
  const repairMs = Date.now() - started;
  expect(line.level).toBe('warn');
  expect(line.repair).toBe(line.msg.slice('drift repaired: '.length));
  // Event-driven (or the one-second sysctl poll): well before two resync periods.
  expect(repairMs).toBeLessThan(4_000);

  await pollUntil(() => drift.restored(topo), 5_000, `${drift.name}: the kernel state restored`, 50);
  const doc = await waitForStatus(
    topo,
    (d) =>
      conditionIs(d, 'Degraded', 'False', 'DriftRepaired') &&
      d.lastRepair !== null &&
      d.lastRepair.time !== previous.lastRepair?.time,
    5_000,
    'Degraded False DriftRepaired with a new lastRepair',
  );
  expect(condition(doc, 'Degraded').message).toMatch(/^repaired at \d{4}-\d\d-\d\dT[\d:.]+Z: /);
  // Available again (a pass that raced the change itself may have failed for a moment: the router
  // really was broken then).
  await waitForStatus(topo, (d) => conditionIs(d, 'Available', 'True'), 5_000, 'Available True');
  const repairs = agent.logs.slice(from).filter((l) => l.msg.startsWith('drift repaired:'));
  expect(repairs.every((l) => l.level === 'warn' && typeof l.kind === 'string')).toBe(true);
  expect(doc.lastRepair?.changes.length).toBeGreaterThan(0);

  await pollUntil(
    async () => (await repairCount(topo, drift.kind)) > countBefore,
    5_000,
    `egress_router_drift_repairs_total{kind="${drift.kind}"} to increase`,
    100,
  );
  await pollRedirect(topo, 80, 'dst1');
}

describe('run: drift repair, then SIGTERM with --cleanup-on-exit', () => {
  const parts: Partial<Fixture> = {};

  beforeAll(async () => {
    requireBuiltAgent();
    await setUp(parts);
  }, 120_000);

  afterAll(() => tearDown(parts), 60_000);

  it('makes no repairs while nothing changes', async () => {
    dumpLogOnFailure(parts);
    const { topo, agent } = whole(parts);
    await pollRedirect(topo, 80, 'dst1');
    await pollRedirect(topo, 8080, 'dst2');
    await pollRedirect(topo, 8443, 'far');
    // Two resync passes (2 s apart) and the passes the agent's own changes set off: all quiet.
    await pollUntil(
      async () =>
        (metricValue(await metrics(topo), 'egress_router_sync_duration_seconds_count', {
          trigger: 'resync',
        }) ?? 0) >= 2,
      8_000,
      'two resync passes',
      200,
    );
    expect(agent.logs.filter((l) => l.msg.startsWith('drift repaired:'))).toEqual([]);
    // Every repair counter exists from the start, at 0.
    expect(await metrics(topo)).not.toMatch(/^egress_router_drift_repairs_total\{.*\} [1-9]/m);
    const doc = await status(topo);
    expect(doc.lastRepair).toBeNull();
    expect(condition(doc, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });

  for (const drift of CASES) {
    it(`repairs ${drift.name}`, async () => {
      dumpLogOnFailure(parts);
      await driftAndRepair(whole(parts), drift);
    });
  }

  it('repairs several kinds at once and counts each kind', async () => {
    dumpLogOnFailure(parts);
    const f = whole(parts);
    const { topo, agent } = f;
    const before = {
      nftables: await repairCount(topo, 'nftables'),
      sysctl: await repairCount(topo, 'sysctl'),
    };
    const from = agent.logs.length;
    await topo.exec('pod', ['nft', 'delete', 'table', ...TABLE]);
    await topo.exec('pod', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
    await agent.waitForLog((l) => l.kind === 'nftables' && l.msg.startsWith('drift repaired:'), 10_000, from);
    await agent.waitForLog((l) => l.kind === 'sysctl' && l.msg.startsWith('drift repaired:'), 10_000, from);
    expect(await repairCount(topo, 'nftables')).toBe(before.nftables + 1);
    expect(await repairCount(topo, 'sysctl')).toBe(before.sysctl + 1);
    await pollRedirect(topo, 8080, 'dst2');
    await pollRedirect(topo, 8443, 'far');
  });

  it('on SIGTERM with --cleanup-on-exit, exits 0 and removes net1, the table and its routes', async () => {
    dumpLogOnFailure(parts);
    const { topo, agent, originalRoutes, originalRules } = whole(parts);
    const started = Date.now();
    expect(await agent.stop(10_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(agent.logs.some((l) => /^cleaned up: /.test(l.msg))).toBe(true);
    expect(agent.logs[agent.logs.length - 1]?.msg).toBe('stopped');

    expect(await podHasLink(topo, 'net1')).toBe(false);
    expect(await podHasTable(topo)).toBe(false);
    const routes = await podRoutes(topo);
    expect(routes.filter((r) => r.protocol === '77')).toEqual([]);
    expect(routes.filter((r) => r.dst === 'default')).toEqual([
      expect.objectContaining({ gateway: PLAN.nodePodSide.v4, dev: 'eth0' }),
    ]);
    expect(routes.find((r) => r.dst === 'default')?.metric).toBeUndefined();
    expect(routes).toEqual(originalRoutes);
    // Nor in any other table, nor a policy rule of its own.
    expect((await podRoutesAllTables(topo)).filter((r) => r.protocol === '77')).toEqual([]);
    expect(await podRules(topo)).toEqual(originalRules);
    // Nothing the agent made is left on the node side either (its macvlan went with net1).
    const nodeLinks = await topo.ipJson<{ ifname: string; link_type?: string }[]>('node', ['link', 'show']);
    expect(nodeLinks.map((l) => l.ifname).filter((name) => /^ert[0-9a-f]{8}$/.test(name))).toEqual([]);
    // The egress address is free again: nobody on the LAN answers for it.
    const ping = await topo.exec('dst1', ['ping', '-c', '1', '-W', '1', EGRESS], { reject: false });
    expect(ping.exitCode).not.toBe(0);
  });
});

describe('run: the default route replaced with one via another gateway', () => {
  const parts: Partial<Fixture> = {};

  beforeAll(async () => {
    requireBuiltAgent();
    await setUp(parts);
  }, 120_000);

  afterAll(() => tearDown(parts), 60_000);

  it('puts the egress default route back and keeps the pod’s original default route (demoted)', async () => {
    dumpLogOnFailure(parts);
    const { topo, agent } = whole(parts);
    await pollRedirect(topo, 8443, 'far');
    const from = agent.logs.length;
    // As an admin would: `ip route replace default via <another host>` (protocol boot, not the agent's).
    await topo.ip('pod', ['-4', 'route', 'replace', 'default', 'via', PLAN.dst2.v4, 'dev', 'net1']);
    await agent.waitForLog(
      (l) =>
        l.kind === 'route' && /^drift repaired: added route default via 192\.0\.2\.1 dev net1$/.test(l.msg),
      10_000,
      from,
    );
    const doc = await waitForStatus(
      topo,
      (d) => conditionIs(d, 'Degraded', 'False', 'DriftRepaired'),
      5_000,
      'Degraded False DriftRepaired',
    );
    expect(condition(doc, 'Available').status).toBe('True');
    expect(await repairCount(topo, 'route')).toBeGreaterThan(0);
    const defaults = (await podRoutes(topo)).filter((r) => r.dst === 'default');
    expect(defaults).toContainEqual(
      expect.objectContaining({ gateway: PLAN.gw.v4, dev: 'net1', protocol: '77' }),
    );
    // The pod's own default route, kept at the demoted metric for cleanup, must survive the repair.
    expect(defaults).toContainEqual(
      expect.objectContaining({ gateway: PLAN.nodePodSide.v4, dev: 'eth0', metric: 30000 }),
    );
    await pollRedirect(topo, 8443, 'far');
    // Still healthy a resync later (a lost cluster gateway would make every pass fail).
    const passes = async () =>
      metricValue(await metrics(topo), 'egress_router_sync_duration_seconds_count', { trigger: 'resync' }) ??
      0;
    const seen = await passes();
    await pollUntil(async () => (await passes()) > seen, 5_000, 'a resync pass', 200);
    expect(condition(await status(topo), 'Available').status).toBe('True');

    expect(await agent.stop(10_000)).toBe(0);
    const after = await podRoutes(topo);
    expect(after.filter((r) => r.dst === 'default')).toEqual([
      expect.objectContaining({ gateway: PLAN.nodePodSide.v4, dev: 'eth0' }),
    ]);
  });
});
