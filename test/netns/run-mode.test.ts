/**
 * `run` end to end in network namespaces (needs root): health and readiness, traffic through the
 * router, HTTP hygiene, the `status` command, hot reload through a ConfigMap-style `..data` swap
 * under a long-lived connection, invalid reloads, SIGHUP, an unreachable gateway, /readyz flipping
 * when the master disappears and comes back, and SIGTERM without --cleanup-on-exit; then, with a
 * topology of its own, an agent that starts with an invalid config.
 * The first describe block shares one topology and one agent: its tests run in order and build on
 * each other (each leaves the agent Available).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import {
  type AgentProcess,
  CLI,
  type ConfigDir,
  createConfigDir,
  createTopology,
  HEALTH_PORT,
  http,
  longLivedTcp,
  metricValue,
  NODE,
  PLAN,
  podHasLink,
  podHasTable,
  podRoutes,
  pollUntil,
  type RuleSpec,
  removeDir,
  type ServerHandle,
  startServer,
  type Topology,
  tcpRequest,
} from '../../src/netkit/index.js';
import { printAgentLogIfFailed, routerYaml, startTestAgent, tearDownRun } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { condition, conditionIs, metrics, type StatusDoc, status, waitForStatus } from './kit/status.js';

const DST1 = PLAN.dst1.v4;
const DST2 = PLAN.dst2.v4;
const EGRESS = PLAN.egress.v4[0];
const BASE: RuleSpec[] = [
  { destinationIP: DST1, port: 80, protocol: 'TCP' },
  { destinationIP: DST1, port: 7000, protocol: 'TCP' },
];
const WITH_8080: RuleSpec[] = [...BASE, { destinationIP: DST2, port: 8080, protocol: 'TCP', targetPort: 80 }];
const SIGHUP_RULES: RuleSpec[] = [
  ...WITH_8080,
  { destinationIP: DST1, port: 9000, protocol: 'TCP', targetPort: 80 },
];
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** Anything that looks like a leaked stack trace or internal error. */
const LEAK = /\bat \S+ \(|\.[cm]?[jt]s:\d+|node:internal|\bError:|\bstack\b/;

let topo: Topology | undefined;
let agent: AgentProcess | undefined;
let cfg: ConfigDir | undefined;
let dir: string | undefined;
let dst1: ServerHandle | undefined;

const T = (): Topology => {
  if (!topo) throw new Error('no topology');
  return topo;
};
const A = (): AgentProcess => {
  if (!agent) throw new Error('no agent');
  return agent;
};
const C = (): ConfigDir => {
  if (!cfg) throw new Error('no config directory');
  return cfg;
};

/** One TCP request from the client to the pod's cluster address. */
const redirect = (port: number, payload: string, timeoutMs = 3_000) =>
  tcpRequest(T(), 'client', PLAN.pod.v4, port, payload, timeoutMs);

const ruleConnections = (doc: StatusDoc, port: number): number | undefined =>
  doc.rules.find((r) => r.port === port && r.protocol === 'tcp')?.connections;

async function pollRedirect(port: number, server: string, timeoutMs: number): Promise<void> {
  let last: unknown;
  await pollUntil(
    async () => {
      const reply = await redirect(port, `poll-${port}`, 1_000);
      last = reply;
      return reply.ok && reply.parsed?.name === server && reply.parsed.peer === EGRESS;
    },
    timeoutMs,
    `port ${port} to be redirected to ${server}`,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last reply ${JSON.stringify(last)}`);
  });
}

async function statusCommand(args: readonly string[]) {
  return T().exec('pod', [NODE, CLI, 'status', ...args], { reject: false, timeoutMs: 15_000 });
}

/** Passes whose triggers included a config change, summed over trigger combinations. */
const configPasses = (text: string): number =>
  [
    ...text.matchAll(/^egress_router_sync_duration_seconds_count\{trigger="config(?:\+[a-z+]*)?"\} (\d+)$/gm),
  ].reduce((sum, m) => sum + Number(m[1]), 0);

describe('run mode', () => {
  beforeAll(async () => {
    requireBuiltAgent();
    dir = await mkdtemp(join(tmpdir(), 'ert-run-mode-'));
    topo = await createTopology({ ipv6: false });
    dst1 = await startServer(topo, 'dst1', 'dst1', { tcp: [80, 7000] });
    await startServer(topo, 'dst2', 'dst2', { tcp: [80] });
    cfg = await createConfigDir(join(dir, 'config'), routerYaml(BASE));
    agent = await startTestAgent(topo, cfg.path);
  }, 120_000);

  afterAll(() => tearDownRun(agent, topo, () => removeDir(dir)), 60_000);

  afterEach((context) => printAgentLogIfFailed(context, agent, 40));

  it('serves /healthz, turns /readyz 200 once Available, and redirects traffic with SNAT', async () => {
    const topology = T();
    // The health server answers before the first apply is done: not ready yet, or already ready.
    let first = { status: 0, body: '' };
    await pollUntil(
      async () => {
        first = await http(topology, '/readyz');
        return first.status !== 0;
      },
      10_000,
      'the health server to answer',
      20,
    );
    if (first.status === 503) expect(first.body).toMatch(/^not ready: Starting: /);
    else expect(first.status).toBe(200);
    await pollUntil(async () => (await http(topology, '/healthz')).status === 200, 10_000, '/healthz 200');
    const healthz = await http(topology, '/healthz');
    expect(healthz.body).toBe('ok\n');
    // Started as `node dist/cli.js run …`, it re-executed itself in place (same pid) without the
    // optimising compilers (src/cli/leanTiers.ts), and that process is the one answering.
    const argv = readFileSync(`/proc/${agent!.pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(0, 3)).toEqual([NODE, '--max-opt=1', CLI]);
    expect(argv[3]).toBe('run');
    await pollUntil(async () => (await http(topology, '/readyz')).status === 200, 15_000, '/readyz 200');

    const doc = await status(topology);
    expect(doc.conditions.map((c) => c.type)).toEqual(['Available', 'Progressing', 'Degraded']);
    expect(condition(doc, 'Available')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(condition(doc, 'Progressing')).toMatchObject({ status: 'False', reason: 'Applied' });
    expect(condition(doc, 'Degraded')).toMatchObject({ status: 'False', reason: 'AsExpected' });
    for (const c of doc.conditions) {
      expect(c.lastTransitionTime).toMatch(RFC3339);
      expect(c.message).not.toBe('');
    }
    expect(doc.interface).toMatchObject({
      name: 'net1',
      clusterInterface: 'eth0',
      createdByAgent: true,
      master: 'eth1',
      addresses: [`${EGRESS}/24`],
    });
    expect(doc.lastApplyTime).not.toBeNull();
    // Each rule says where it came from (the model's `source`).
    expect(doc.rules).toEqual([
      {
        protocol: 'tcp',
        port: 80,
        destinationIP: DST1,
        targetPort: 80,
        family: 4,
        connections: 0,
        source: 'spec.redirect.redirectRules[0]',
      },
      {
        protocol: 'tcp',
        port: 7000,
        destinationIP: DST1,
        targetPort: 7000,
        family: 4,
        connections: 0,
        source: 'spec.redirect.redirectRules[1]',
      },
    ]);

    const reply = await redirect(80, 'e2e');
    expect(reply).toMatchObject({
      ok: true,
      parsed: { name: 'dst1', peer: EGRESS, port: 80, payload: 'e2e' },
    });
    const record = await dst1!.waitFor((r) => r.payload === 'e2e');
    expect(record).toMatchObject({ localAddress: DST1, localPort: 80, peerAddress: EGRESS });

    // The per-rule counter (read at most once a second) and its metric.
    await waitForStatus(
      topology,
      (d) => ruleConnections(d, 80) === 1,
      5_000,
      'port 80 to count 1 connection',
    );
    const text = await metrics(topology);
    expect(
      metricValue(text, 'egress_router_redirect_connections_total', {
        protocol: 'tcp',
        port: '80',
        destination: DST1,
        target_port: '80',
      }),
    ).toBe(1);
    expect(metricValue(text, 'egress_router_condition', { type: 'Available', status: 'True' })).toBe(1);
    expect(metricValue(text, 'egress_router_condition', { type: 'Available', status: 'False' })).toBe(0);
    expect(metricValue(text, 'egress_router_condition', { type: 'Degraded', status: 'False' })).toBe(1);
    expect(text).toMatch(/^egress_router_build_info\{version="[^"]+",node_version="v\d+[^"]*"\} 1$/m);
    expect(metricValue(text, 'egress_router_sync_duration_seconds_count', { trigger: 'startup' })).toBe(1);
    expect(text).toMatch(/^# TYPE egress_router_sync_failures_total counter$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);

    // The health port is neither redirected nor rejected on the cluster side.
    const fromClient = await http(topology, '/healthz', { ns: 'client', host: PLAN.pod.v4 });
    expect(fromClient.status).toBe(200);
    // A port without a rule is refused at once.
    expect(await redirect(81, 'nothing-here')).toMatchObject({ ok: false, error: 'refused' });
  });

  it('answers only GET/HEAD on its four paths, refuses bodies and big headers, and leaks nothing', async () => {
    const topology = T();
    const replies = [];
    for (const path of ['/', '/nope', '/status/x', '/healthz/', '/metrics.json', '/../status']) {
      const reply = await http(topology, path);
      expect(reply.status, path).toBe(404);
      replies.push(reply);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const reply = await http(topology, '/status', { method });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
      replies.push(reply);
    }
    const head = await http(topology, '/healthz', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await http(topology, '/healthz?probe=1')).status).toBe(200);

    const withBody = await http(topology, '/status', { method: 'GET', body: 'x'.repeat(64) });
    expect(withBody.status).toBe(413);
    const chunked = await http(topology, '/readyz', {
      method: 'GET',
      body: 'y',
      headers: ['Transfer-Encoding: chunked'],
    });
    expect(chunked.status).toBe(413);
    replies.push(withBody, chunked);
    // Headers beyond 8 KiB are refused by the HTTP parser itself, with an empty body.
    const hugeHeader = await http(topology, '/healthz', { headers: [`X-Filler: ${'a'.repeat(16_384)}`] });
    expect(hugeHeader.status).toBe(431);
    expect(hugeHeader.body).toBe('');

    for (const path of ['/healthz', '/readyz', '/status', '/metrics'])
      replies.push(await http(topology, path));
    for (const reply of replies) {
      expect(reply.body).not.toMatch(LEAK);
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.headers['cache-control']).toBe('no-store');
    }
    expect((await http(topology, '/status')).headers['content-type']).toMatch(/^application\/json/);
    expect((await http(topology, '/metrics')).headers['content-type']).toMatch(/^text\/plain/);
    // A client that never finishes its headers is cut off after the 5 s headers timeout (408).
    const slow = [
      "const net = require('node:net');",
      'const started = Date.now();',
      "let data = '';",
      `const socket = net.connect(${HEALTH_PORT}, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n'));`,
      "socket.on('data', (chunk) => { data += chunk; });",
      "socket.on('error', () => {});",
      "socket.on('close', () => { console.log(JSON.stringify({ ms: Date.now() - started, data })); process.exit(0); });",
      'setTimeout(() => { console.log(JSON.stringify({ ms: -1, data })); process.exit(0); }, 15000);',
    ].join('\n');
    const slowResult = await topology.exec('pod', [NODE, '-e', slow], { timeoutMs: 25_000 });
    const cutOff = JSON.parse(slowResult.stdout) as { ms: number; data: string };
    expect(cutOff.data).toMatch(/^HTTP\/1\.1 408 /);
    expect(cutOff.ms).toBeGreaterThanOrEqual(4_500);
    expect(cutOff.ms).toBeLessThan(8_000);

    // The agent is still fine after all that.
    expect((await http(topology, '/readyz')).status).toBe(200);
  });

  it('`status` prints the conditions table and rules, --json the document; exit 0, or 2 when unreachable', async () => {
    const table = await statusCommand([]);
    expect(table.stderr).toBe('');
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^Available\s+True\s+Applied\s+\d+s\s+in place and verified: 2 redirect rules/);
    expect(lines[2]).toMatch(/^Progressing\s+False\s+Applied\s+\d+s\s+\S/);
    expect(lines[3]).toMatch(/^Degraded\s+False\s+AsExpected\s+\d+s\s+\S/);
    expect(table.stdout).toMatch(/^PROTOCOL\s+PORT\s+DESTINATION\s+CONNECTIONS$/m);
    expect(table.stdout).toMatch(/^TCP\s+80\s+192\.0\.2\.10:80\s+1$/m);
    expect(table.stdout).toMatch(/^TCP\s+7000\s+192\.0\.2\.10:7000\s+0$/m);

    const json = await statusCommand(['--json', '--health-addr', '127.0.0.1:9099']);
    expect(json.exitCode).toBe(0);
    const doc = JSON.parse(json.stdout) as StatusDoc;
    expect(doc.kind).toBe('EgressRouterAgentStatus');
    expect(condition(doc, 'Available').status).toBe('True');
    expect(doc.rules).toHaveLength(2);

    const unreachable = await statusCommand(['--health-addr', '127.0.0.1:1']);
    expect(unreachable.exitCode).toBe(2);
    expect(unreachable.stdout).toBe('');
    expect(unreachable.stderr).toMatch(/cannot reach the agent at http:\/\/127\.0\.0\.1:1\/status/);
  });

  it('hot-reloads a ..data swap: a long-lived connection survives, a new rule works, counters keep counting', async () => {
    const topology = T();
    const agentProcess = A();
    // Two more connections on port 80: its counter is then 3.
    for (const payload of ['before-1', 'before-2']) {
      expect(await redirect(80, payload)).toMatchObject({ ok: true, parsed: { name: 'dst1' } });
    }
    const long = await longLivedTcp(topology, 'client', PLAN.pod.v4, 7000, { intervalMs: 50 });
    let summary: Awaited<ReturnType<typeof long.stop>> | undefined;
    try {
      await long.waitForExchanges(5);
      const before = await waitForStatus(
        topology,
        (d) => ruleConnections(d, 80) === 3 && ruleConnections(d, 7000) === 1,
        5_000,
        'counters 3 (port 80) and 1 (port 7000)',
      );
      expect(ruleConnections(before, 80)).toBe(3);
      // Nothing listens behind 8080 yet: the port is refused by the pod.
      expect(await redirect(8080, 'too-early')).toMatchObject({ ok: false, error: 'refused' });

      const from = agentProcess.logs.length;
      const exchangesBefore = long.exchanges();
      await C().swap(routerYaml(WITH_8080));
      await agentProcess.waitForLog((l) => l.msg === 'config applied', 10_000, from);
      await pollRedirect(8080, 'dst2', 10_000);
      // The data kept flowing through the reload, and keeps flowing after it.
      await long.waitForExchanges(exchangesBefore + 20, 10_000);
      expect(long.broken()).toBeUndefined();

      // Applied as a diff: elements added, the table not replaced, so unchanged rules keep their counters.
      const since = agentProcess.logs.slice(from);
      expect(
        since.some((l) => l.kind === 'nftables' && /^updated table inet egress_router: /.test(l.msg)),
      ).toBe(true);
      expect(since.some((l) => /replaced table|loaded table/.test(l.msg))).toBe(false);
      const after = await waitForStatus(
        topology,
        (d) => ruleConnections(d, 8080) !== undefined && (ruleConnections(d, 8080) ?? 0) >= 1,
        5_000,
        'the new rule to count its connections',
      );
      expect(ruleConnections(after, 80)).toBe(3);
      expect(ruleConnections(after, 7000)).toBe(1);
      expect(after.rules.find((r) => r.port === 8080)).toMatchObject({
        destinationIP: DST2,
        targetPort: 80,
        family: 4,
      });
      expect(condition(after, 'Available').status).toBe('True');
      expect(condition(after, 'Progressing')).toMatchObject({ status: 'False', reason: 'Applied' });
      expect(condition(after, 'Degraded').status).toBe('False');
      const text = await metrics(topology);
      expect(metricValue(text, 'egress_router_config_reloads_total', { result: 'applied' })).toBe(1);
      expect(metricValue(text, 'egress_router_config_reloads_total', { result: 'invalid' })).toBe(0);
    } finally {
      summary = await long.stop();
    }
    expect(summary).toMatchObject({ connected: true, broke: false });
    expect(summary.exchanges).toBeGreaterThan(25);
    expect(summary.firstReply).toBe(`name=dst1 peer=${EGRESS} port=7000 payload=stream 0`);
  });

  it('rejects an invalid reload: old rules stay in force, Degraded names the field; a valid one clears it', async () => {
    const topology = T();
    const agentProcess = A();
    const before = condition(await status(topology), 'Available');
    let from = agentProcess.logs.length;
    const invalid = [...WITH_8080, { destinationIP: DST2, port: 70000, protocol: 'TCP' as const }];
    await C().swap(routerYaml(invalid));
    const rejected = await agentProcess.waitForLog((l) => l.msg === 'config rejected: invalid', 10_000, from);
    expect(rejected.level).toBe('error');
    expect(JSON.stringify(rejected.issues)).toContain('spec.redirect.redirectRules[3].port');

    const doc = await waitForStatus(
      topology,
      (d) => conditionIs(d, 'Degraded', 'True', 'InvalidConfig'),
      5_000,
      'Degraded True InvalidConfig',
    );
    const degraded = condition(doc, 'Degraded');
    expect(degraded.message).toContain('spec.redirect.redirectRules[3].port');
    expect(degraded.message).toContain('70000');
    expect(degraded.message).toMatch(/previous one stays in force/);
    // Still available, with the same transition time: the old config is in force.
    expect(condition(doc, 'Available')).toMatchObject({
      status: 'True',
      lastTransitionTime: before.lastTransitionTime,
    });
    expect(doc.configIssues).toEqual([expect.stringContaining('spec.redirect.redirectRules[3].port')]);
    expect(doc.rules.map((r) => r.port)).toEqual([80, 7000, 8080]);
    expect((await http(topology, '/readyz')).status).toBe(200);
    expect(await redirect(80, 'still-80')).toMatchObject({
      ok: true,
      parsed: { name: 'dst1', peer: EGRESS },
    });
    expect(await redirect(8080, 'still-8080')).toMatchObject({ ok: true, parsed: { name: 'dst2' } });
    let text = await metrics(topology);
    expect(metricValue(text, 'egress_router_config_reloads_total', { result: 'invalid' })).toBe(1);
    expect(metricValue(text, 'egress_router_condition', { type: 'Degraded', status: 'True' })).toBe(1);
    // The status command still exits 0: the router is Available.
    const command = await statusCommand([]);
    expect(command.exitCode).toBe(0);
    expect(command.stdout).toMatch(/^Degraded\s+True\s+InvalidConfig\s+\d+s\s+.*redirectRules\[3\]\.port/m);

    // A resync re-reads the same invalid file: it is neither counted nor logged again.
    const resyncs = async () =>
      metricValue(await metrics(topology), 'egress_router_sync_duration_seconds_count', {
        trigger: 'resync',
      }) ?? 0;
    const resyncsBefore = await resyncs();
    await pollUntil(async () => (await resyncs()) > resyncsBefore, 5_000, 'another resync pass', 200);
    expect(conditionIs(await status(topology), 'Degraded', 'True', 'InvalidConfig')).toBe(true);

    // A valid config (without port 7000) clears it.
    from = agentProcess.logs.length;
    await C().swap(routerYaml(WITH_8080.filter((r) => r.port !== 7000)));
    await agentProcess.waitForLog((l) => l.msg === 'config applied', 10_000, from);
    const cleared = await waitForStatus(
      topology,
      (d) => conditionIs(d, 'Degraded', 'False') && d.rules.length === 2,
      5_000,
      'Degraded False with two rules',
    );
    expect(condition(cleared, 'Degraded').reason).toBe('AsExpected');
    expect(cleared.configIssues).toEqual([]);
    expect(await redirect(7000, 'gone')).toMatchObject({ ok: false, error: 'refused' });
    text = await metrics(topology);
    expect(metricValue(text, 'egress_router_config_reloads_total', { result: 'invalid' })).toBe(1);
    expect(metricValue(text, 'egress_router_config_reloads_total', { result: 'applied' })).toBe(2);
    expect(agentProcess.logs.filter((l) => l.msg === 'config rejected: invalid')).toHaveLength(1);
  });

  it('reloads on SIGHUP a file changed in place (no ..data swap)', async () => {
    const topology = T();
    const agentProcess = A();
    const from = agentProcess.logs.length;
    // Port 9000 to dst1:80, written into the current version's file: the directory does not change.
    await C().writeInPlace(routerYaml(SIGHUP_RULES));
    agentProcess.signal('SIGHUP');
    await agentProcess.waitForLog((l) => l.msg === 'SIGHUP: reloading', 5_000, from);
    await agentProcess.waitForLog((l) => l.msg === 'config applied', 10_000, from);
    await pollRedirect(9000, 'dst1', 5_000);
    const text = await metrics(topology);
    // A pass ran for the signal (possibly merged with another trigger).
    expect(text).toMatch(
      /^egress_router_sync_duration_seconds_count\{trigger="[a-z+]*signal[a-z+]*"\} [1-9]/m,
    );
    expect(condition(await status(topology), 'Available').status).toBe('True');
  });

  it('applies a reload as a diff even when it lands in one pass with a drift repair (counters kept)', async () => {
    const topology = T();
    const agentProcess = A();
    const before = await waitForStatus(
      topology,
      // The SIGHUP test connected to 9000: wait until the cached counters include it (/status
      // answers from the last counter read, which may predate that connection).
      (d) => (ruleConnections(d, 80) ?? 0) > 0 && (ruleConnections(d, 9000) ?? 0) > 0,
      5_000,
      'the counters before',
    );
    const count80 = ruleConnections(before, 80);
    const configPassesBefore = configPasses(await metrics(topology));
    const from = agentProcess.logs.length;
    // The repair of a removed address announces it with arping (about a second): the agent's own
    // changes queue a drift pass meanwhile, and the ..data swap queues the config: one pass gets both.
    await topology.ip('pod', ['addr', 'delete', `${EGRESS}/24`, 'dev', 'net1']);
    await pollUntil(
      async () =>
        (await topology.ip('pod', ['-4', '-o', 'addr', 'show', 'dev', 'net1'])).stdout.includes(
          `${EGRESS}/24`,
        ),
      5_000,
      'the address to be back',
      20,
    );
    await C().swap(
      routerYaml([...SIGHUP_RULES, { destinationIP: DST2, port: 9100, protocol: 'TCP', targetPort: 80 }]),
    );
    await agentProcess.waitForLog((l) => l.msg === 'config applied', 10_000, from);
    await pollRedirect(9100, 'dst2', 5_000);
    const text = await metrics(topology);
    // One pass applied the new config (with whatever drift or resync it coalesced).
    expect(configPasses(text)).toBe(configPassesBefore + 1);
    const since = agentProcess.logs.slice(from);
    expect(since.some((l) => /^updated table inet egress_router: /.test(l.msg))).toBe(true);
    expect(since.some((l) => /replaced table|loaded table/.test(l.msg))).toBe(false);
    const after = await waitForStatus(
      topology,
      (d) => ruleConnections(d, 9100) !== undefined && (ruleConnections(d, 9100) ?? 0) >= 1,
      5_000,
      'the new rule counted',
    );
    expect(ruleConnections(after, 80)).toBe(count80);
    expect(ruleConnections(after, 9000)).toBe(ruleConnections(before, 9000));
  });

  it('reports a gateway that does not answer (Degraded GatewayUnreachable) and clears it when fixed', async () => {
    const topology = T();
    const agentProcess = A();
    let from = agentProcess.logs.length;
    await C().swap(routerYaml(WITH_8080, '192.0.2.99'));
    await agentProcess.waitForLog((l) => l.msg === 'config applied', 10_000, from);
    const doc = await waitForStatus(
      topology,
      (d) => conditionIs(d, 'Degraded', 'True', 'GatewayUnreachable'),
      10_000,
      'Degraded True GatewayUnreachable',
    );
    expect(condition(doc, 'Degraded').message).toMatch(
      /gateway 192\.0\.2\.99 does not answer \(no answer to 2 ARP probes\)/,
    );
    expect(doc.gateways).toEqual([expect.objectContaining({ gateway: '192.0.2.99', reachable: false })]);
    // The router itself works (on-link destinations do not need the gateway): still Available.
    expect(condition(doc, 'Available').status).toBe('True');
    expect((await http(topology, '/readyz')).status).toBe(200);
    expect(await podRoutes(topology)).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '192.0.2.99', dev: 'net1', protocol: '77' }),
    );
    expect(agentProcess.logs.slice(from).some((l) => l.msg === 'gateway does not answer')).toBe(true);
    expect(await redirect(80, 'gw-down')).toMatchObject({ ok: true, parsed: { name: 'dst1' } });

    from = agentProcess.logs.length;
    await C().swap(routerYaml(WITH_8080));
    await agentProcess.waitForLog((l) => l.msg === 'config applied', 10_000, from);
    const fixed = await waitForStatus(
      topology,
      (d) => conditionIs(d, 'Degraded', 'False'),
      10_000,
      'Degraded False after the gateway fix',
    );
    expect(fixed.gateways).toEqual([expect.objectContaining({ gateway: '192.0.2.1', reachable: true })]);
    const routes = await podRoutes(topology);
    expect(routes.filter((r) => r.dst === 'default' && r.dev === 'net1')).toEqual([
      expect.objectContaining({ gateway: '192.0.2.1', protocol: '77' }),
    ]);
    expect(routes.some((r) => r.gateway === '192.0.2.99' || r.dst === '192.0.2.99')).toBe(false);
  });

  it('flips /readyz to 503 when the master is gone and net1 cannot be re-created, and back once it returns', async () => {
    const topology = T();
    const agentProcess = A();
    const availableSince = condition(await status(topology), 'Available').lastTransitionTime;
    // Deleting the master takes the macvlan with it.
    await topology.removeMaster();
    await pollUntil(
      async () => !(await podHasLink(topology, 'net1')),
      5_000,
      'net1 to vanish with its master',
    );

    let notReady = { status: 0, body: '' };
    await pollUntil(
      async () => {
        notReady = await http(topology, '/readyz');
        return notReady.status === 503;
      },
      10_000,
      '/readyz 503',
      100,
    );
    expect(notReady.body).toMatch(/^not ready: MasterNotFound: .*eth1/);
    const doc = await status(topology);
    expect(condition(doc, 'Available')).toMatchObject({ status: 'False', reason: 'MasterNotFound' });
    expect(condition(doc, 'Available').message).toMatch(/master interface eth1 does not exist/);
    expect(condition(doc, 'Degraded')).toMatchObject({ status: 'True', reason: 'MasterNotFound' });
    expect(condition(doc, 'Progressing')).toMatchObject({ status: 'True', reason: 'Retrying' });
    expect((await http(topology, '/healthz')).status).toBe(200);
    const command = await statusCommand([]);
    expect(command.exitCode).toBe(1);
    expect(command.stdout).toMatch(/^Available\s+False\s+MasterNotFound\s/m);
    const text = await metrics(topology);
    expect(
      metricValue(text, 'egress_router_sync_failures_total', { reason: 'MasterNotFound' }),
    ).toBeGreaterThan(0);
    expect(metricValue(text, 'egress_router_condition', { type: 'Available', status: 'False' })).toBe(1);
    expect(agentProcess.logs.some((l) => l.level === 'error' && /^apply failed: /.test(l.msg))).toBe(true);
    expect(await redirect(80, 'no-router', 1_000)).toMatchObject({ ok: false });

    // Put a master back: a new veth named eth1 on the LAN bridge, with the node's address and default route.
    await topology.restoreMaster();

    await pollUntil(
      async () => (await http(topology, '/readyz')).status === 200,
      15_000,
      '/readyz 200 again',
      100,
    );
    const back = await status(topology);
    expect(condition(back, 'Available')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(condition(back, 'Available').lastTransitionTime >= availableSince).toBe(true);
    expect(condition(back, 'Progressing').status).toBe('False');
    expect(condition(back, 'Degraded').status).toBe('False');
    expect(await podHasLink(topology, 'net1')).toBe(true);
    await pollRedirect(80, 'dst1', 10_000);
    expect((await statusCommand([])).exitCode).toBe(0);
  });

  it('stops on SIGTERM with exit 0 within a few seconds and, without --cleanup-on-exit, leaves the router in place', async () => {
    const topology = T();
    const agentProcess = A();
    const started = Date.now();
    const code = await agentProcess.stop(10_000);
    const tookMs = Date.now() - started;
    expect(
      code,
      `stderr: ${agentProcess.stderr()}\nlast logs: ${JSON.stringify(agentProcess.logs.slice(-8))}`,
    ).toBe(0);
    expect(tookMs).toBeLessThan(5_000);
    expect(agentProcess.logs.some((l) => l.msg === 'stopping' && l.signal === 'SIGTERM')).toBe(true);
    expect(agentProcess.logs[agentProcess.logs.length - 1]?.msg).toBe('stopped');
    expect(agentProcess.logs.some((l) => /^cleaned up/.test(l.msg))).toBe(false);

    expect(await podHasLink(topology, 'net1')).toBe(true);
    expect(await podHasTable(topology)).toBe(true);
    const routes = await podRoutes(topology);
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: PLAN.gw.v4, dev: 'net1', protocol: '77' }),
    );
    expect(routes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: PLAN.nodePodSide.v4, dev: 'eth0', metric: 30000 }),
    );
    // Nothing listens any more, and the data path keeps working without the agent.
    expect((await http(topology, '/healthz')).status).toBe(0);
    expect((await statusCommand([])).exitCode).toBe(2);
    expect(await redirect(80, 'after-exit')).toMatchObject({
      ok: true,
      parsed: { name: 'dst1', peer: EGRESS },
    });
  });
});

describe('run mode: started with an invalid config', () => {
  let topology: Topology | undefined;
  let invalidAgent: AgentProcess | undefined;
  let scratch: string | undefined;

  afterAll(() => tearDownRun(invalidAgent, topology, () => removeDir(scratch)), 60_000);

  it('is not ready, says why, applies nothing, turns ready once the ConfigMap is fixed, stops on SIGINT', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ert-run-invalid-'));
    topology = await createTopology({ ipv6: false });
    await startServer(topology, 'dst1', 'dst1', { tcp: [80] });
    const config = await createConfigDir(
      join(scratch, 'config'),
      routerYaml([{ destinationIP: DST1, port: 0, protocol: 'TCP' }]),
    );
    invalidAgent = await startTestAgent(topology, config.path);
    const agentProcess = invalidAgent;
    onTestFailed(() => {
      console.error(agentProcess.logs.map((l) => JSON.stringify(l)).join('\n'));
    });
    const t = topology;
    await agentProcess.waitForLog((l) => l.msg === 'config rejected: invalid', 10_000);
    let readyz = { status: 0, body: '' };
    await pollUntil(
      async () => {
        readyz = await http(t, '/readyz');
        return readyz.status === 503 && readyz.body.includes('InvalidConfig');
      },
      10_000,
      '/readyz 503 InvalidConfig',
      100,
    );
    expect(readyz.body).toMatch(
      /^not ready: InvalidConfig: the config is invalid: spec\.redirect\.redirectRules\[0\]\.port/,
    );
    expect((await http(t, '/healthz')).status).toBe(200);
    const doc = await status(t);
    for (const type of ['Available', 'Progressing', 'Degraded']) {
      expect(condition(doc, type).reason).toBe('InvalidConfig');
    }
    expect(condition(doc, 'Available').status).toBe('False');
    expect(condition(doc, 'Degraded').status).toBe('True');
    expect(doc.config).toBeNull();
    expect(doc.rules).toEqual([]);
    expect(doc.lastApplyTime).toBeNull();
    const command = await t.exec('pod', [NODE, CLI, 'status'], { reject: false, timeoutMs: 15_000 });
    expect(command.exitCode).toBe(1);
    expect(command.stdout).toMatch(/^Available\s+False\s+InvalidConfig\s/m);
    // Nothing was touched.
    expect(await podHasLink(t, 'net1')).toBe(false);
    expect(await podHasTable(t)).toBe(false);

    const from = agentProcess.logs.length;
    await config.swap(routerYaml([{ destinationIP: DST1, port: 80, protocol: 'TCP' }]));
    await agentProcess.waitForLog((l) => l.msg === 'applied', 10_000, from);
    await pollUntil(async () => (await http(t, '/readyz')).status === 200, 10_000, '/readyz 200', 100);
    const fixed = await status(t);
    expect(condition(fixed, 'Available')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(condition(fixed, 'Degraded')).toMatchObject({ status: 'False' });
    expect(fixed.configIssues).toEqual([]);
    const reply = await tcpRequest(t, 'client', PLAN.pod.v4, 80, 'fixed');
    expect(reply).toMatchObject({ ok: true, parsed: { name: 'dst1', peer: EGRESS } });
    // SIGINT stops it as SIGTERM does.
    expect(await agentProcess.stop(10_000, 'SIGINT')).toBe(0);
    expect(agentProcess.logs.some((l) => l.msg === 'stopping' && l.signal === 'SIGINT')).toBe(true);
  });
});
