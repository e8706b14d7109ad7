/**
 * The built-in demo: a virtual network in namespaces, the agent in `run` mode on the bundled
 * EgressRouter example, and a few requests through it with what the destinations saw.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ADDRESSES, buildNetwork, destroyNetwork, NS } from './network.js';

export const DEMO_DIR = '/run/egress-router-demo';
const CONFIG_DIR = join(DEMO_DIR, 'config');
const CONFIG = join(CONFIG_DIR, 'egressrouter.yaml');
const HEALTH = '127.0.0.1:9099';
const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'cli.js');
const ECHO = join(here, 'echo.js');
const EXAMPLE = join(here, '..', '..', 'examples', 'egressrouter.yaml');

export interface DemoOutput {
  line(text?: string): void;
}

/** Starts a process inside a namespace, detached, its output in a log file (it may outlive the demo). */
function spawnIn(ns: string, argv: string[], log: string): void {
  const fd = openSync(log, 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  closeSync(fd);
}

async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Seen {
  server: string;
  proto: string;
  port: number;
  peer: string;
  payload: string;
}

function seenBy(name: string): Seen[] {
  const text = (() => {
    try {
      return readFileSync(join(DEMO_DIR, `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  })();
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Seen & { ready?: boolean })
    .filter((r) => !r.ready);
}

async function client(proto: 'tcp' | 'udp', port: number, text: string): Promise<string> {
  const { stdout } = await execa(
    'ip',
    ['netns', 'exec', NS.client, process.execPath, ECHO, proto, ADDRESSES.podCluster, String(port), text],
    {
      reject: false,
      timeout: 10_000,
    },
  );
  return stdout.trim();
}

async function agentCli(args: string[]): Promise<{ code: number; out: string }> {
  const result = await execa('ip', ['netns', 'exec', NS.pod, process.execPath, CLI, ...args], {
    reject: false,
    timeout: 10_000,
  });
  return {
    code: result.exitCode ?? 1,
    out: `${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`.trim(),
  };
}

async function startServers(): Promise<void> {
  const servers: [string, string, string][] = [
    ['dst1', NS.dst1, 'tcp:80,udp:53'],
    ['dst2', NS.dst2, 'tcp:80,tcp:7000,udp:7000'],
    ['far', NS.far, 'tcp:443'],
  ];
  for (const [name, ns, spec] of servers)
    spawnIn(ns, [process.execPath, ECHO, 'serve', name, spec], join(DEMO_DIR, `${name}.log`));
  for (const [name] of servers) {
    await poll(`the ${name} server`, 10_000, async () =>
      readFileSync(join(DEMO_DIR, `${name}.log`), 'utf8').includes('"ready"') ? true : undefined,
    );
  }
}

async function request(
  out: DemoOutput,
  step: string,
  proto: 'tcp' | 'udp',
  port: number,
  server: string,
  expectPort: number,
): Promise<boolean> {
  const payload = `${proto}-${port}-${Date.now()}`;
  out.line(step);
  const reply = await client(proto, port, payload);
  out.line(`   reply:      ${reply}`);
  const seen = await poll(`${server} to see ${payload}`, 3_000, async () =>
    seenBy(server).find((r) => r.payload === payload),
  ).catch(() => undefined);
  if (!seen) {
    out.line(`   ${server} saw:  nothing (unexpected)`);
    return false;
  }
  const verdict =
    seen.peer === ADDRESSES.egress
      ? 'the egress address, not the client'
      : 'NOT the egress address (unexpected)';
  out.line(
    `   ${server} saw: ${seen.proto.toUpperCase()} on port ${seen.port} from ${seen.peer} — ${verdict}`,
  );
  return seen.peer === ADDRESSES.egress && seen.port === expectPort;
}

export async function teardown(out: DemoOutput): Promise<void> {
  const removed = await destroyNetwork();
  if (removed > 0) out.line(`removed ${removed} demo namespaces (erdemo-*) and their processes`);
}

/** Returns true when every request went where it should, with the egress address as source. */
export async function runDemo(out: DemoOutput, keep: boolean): Promise<boolean> {
  await teardown(out);
  mkdirSync(CONFIG_DIR, { recursive: true });
  writeFileSync(CONFIG, readFileSync(EXAMPLE));
  out.line('== egress-router-agent demo');
  out.line(`network (namespaces erdemo-*): client ${ADDRESSES.client} -> router pod ${ADDRESSES.podCluster}`);
  out.line(
    `  -> egress ${ADDRESSES.egress} on net1 (macvlan on the node's eth1) -> LAN: dst1 ${ADDRESSES.dst1}, dst2 ${ADDRESSES.dst2}, gateway ${ADDRESSES.gateway} -> far ${ADDRESSES.far}`,
  );
  await buildNetwork();
  await startServers();
  const started = Date.now();
  spawnIn(
    NS.pod,
    [
      process.execPath,
      CLI,
      'run',
      CONFIG,
      '--master-netns',
      `/run/netns/${NS.node}`,
      '--cluster-cidr',
      '198.18.0.0/15',
      '--health-addr',
      HEALTH,
      '--log-format',
      'json',
      '--cleanup-on-exit',
    ],
    join(DEMO_DIR, 'agent.log'),
  );
  out.line(`agent: egress-router-agent run ${CONFIG} (config: examples/egressrouter.yaml)`);
  await poll('the agent to become ready', 30_000, async () =>
    (await agentCli(['status', '--health-addr', HEALTH])).code === 0 ? true : undefined,
  );
  out.line(
    `  ready in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${join(DEMO_DIR, 'agent.log')})`,
  );
  out.line();
  const results = [
    await request(out, '1. TCP   client -> router:80    (rule: TCP 80 -> dst1:80)', 'tcp', 80, 'dst1', 80),
    await request(
      out,
      '2. TCP   client -> router:8080  (rule: TCP 8080 -> dst2, targetPort 80)',
      'tcp',
      8080,
      'dst2',
      80,
    ),
    await request(
      out,
      '3. UDP   client -> router:5353  (rule: UDP 5353 -> dst1, targetPort 53)',
      'udp',
      5353,
      'dst1',
      53,
    ),
    await request(
      out,
      '4. TCP   client -> router:443   (rule: TCP 443 -> 198.51.100.10, beyond the gateway)',
      'tcp',
      443,
      'far',
      443,
    ),
    await request(
      out,
      '5. TCP   client -> router:7000  (no rule: the fallback, dst2, same port)',
      'tcp',
      7000,
      'dst2',
      7000,
    ),
  ];
  out.line();
  out.line('$ egress-router-agent status');
  out.line((await agentCli(['status', '--health-addr', HEALTH])).out);
  out.line();
  out.line('$ curl -s http://127.0.0.1:9099/metrics | grep ...');
  const metrics = await execa(
    'ip',
    [
      'netns',
      'exec',
      NS.pod,
      process.execPath,
      '-e',
      `fetch('http://${HEALTH}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`,
    ],
    { reject: false },
  );
  for (const line of metrics.stdout.split('\n')) {
    if (
      /^egress_router_(redirect_connections_total|condition\{type="Available",status="True"\}|drift_repairs_total|build_info)/.test(
        line,
      )
    )
      out.line(line);
  }
  const ok = results.every(Boolean);
  out.line();
  out.line(
    ok
      ? 'all five requests went where the rules say, from the egress address'
      : 'SOME REQUESTS DID NOT GO WHERE EXPECTED',
  );
  if (keep) {
    out.line();
    out.line('left running (--keep). Things to try:');
    out.line(`  ip netns exec ${NS.pod} ${process.execPath} ${CLI} status --health-addr ${HEALTH}`);
    out.line(`  ip netns exec ${NS.pod} curl -s http://${HEALTH}/status`);
    out.line(`  ip netns exec ${NS.pod} curl -s http://${HEALTH}/metrics | grep egress_router_`);
    out.line(`  ip netns exec ${NS.client} ${process.execPath} ${ECHO} tcp ${ADDRESSES.podCluster} 80 hi`);
    out.line(`  edit ${CONFIG} (add a rule) and watch: tail -f ${join(DEMO_DIR, 'agent.log')}`);
    out.line(
      `  ip netns exec ${NS.pod} nft delete table inet egress_router   # drift: repaired within a second`,
    );
    out.line(`  ${process.execPath} ${CLI} demo --teardown                     # remove everything`);
  } else {
    await teardown(out);
  }
  return ok;
}
