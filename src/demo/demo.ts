/**
 * The built-in demo: a virtual network in namespaces, the agent in `run` mode on the bundled
 * EgressRouter example, and a few requests through it with what the destinations saw.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../system/command.js';
import {
  ADDRESSES,
  buildNetwork,
  DEFAULT_PREFIX,
  destroyNetwork,
  type Namespaces,
  namespacesFor,
} from './network.js';

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

/** One demo instance: its namespaces (PREFIX + role) and its working directory. */
class Demo {
  readonly ns: Namespaces;
  readonly dir: string;
  readonly config: string;

  constructor(
    readonly prefix: string,
    readonly out: DemoOutput,
  ) {
    this.ns = namespacesFor(prefix);
    this.dir = join('/run/egress-router-demo', prefix.replace(/-$/, ''));
    this.config = join(this.dir, 'config', 'egressrouter.yaml');
  }

  private log(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  private seenBy(name: string): Seen[] {
    let text = '';
    try {
      text = readFileSync(this.log(name), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Seen & { ready?: boolean })
      .filter((r) => !r.ready);
  }

  private async client(proto: 'tcp' | 'udp', port: number, text: string): Promise<string> {
    const argv = [
      'netns',
      'exec',
      this.ns.client,
      process.execPath,
      ECHO,
      proto,
      ADDRESSES.podCluster,
      String(port),
      text,
    ];
    const { stdout } = await runProgram(['ip', ...argv], { timeoutMs: 10_000 });
    return stdout.trim();
  }

  async agentCli(args: string[]): Promise<{ code: number; out: string }> {
    const result = await runProgram(['ip', 'netns', 'exec', this.ns.pod, process.execPath, CLI, ...args], {
      timeoutMs: 10_000,
    });
    return {
      code: result.exitCode,
      out: `${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`.trim(),
    };
  }

  private async startServers(): Promise<void> {
    const servers: [string, string, string][] = [
      ['dst1', this.ns.dst1, 'tcp:80,udp:53'],
      ['dst2', this.ns.dst2, 'tcp:80,tcp:7000,udp:7000'],
      ['far', this.ns.far, 'tcp:443'],
    ];
    for (const [name, ns, spec] of servers)
      spawnIn(ns, [process.execPath, ECHO, 'serve', name, spec], this.log(name));
    for (const [name] of servers) {
      await poll(`the ${name} server`, 10_000, async () =>
        readFileSync(this.log(name), 'utf8').includes('"ready"') ? true : undefined,
      );
    }
  }

  private async request(
    step: string,
    proto: 'tcp' | 'udp',
    port: number,
    server: string,
    expectPort: number,
  ): Promise<boolean> {
    const payload = `${proto}-${port}-${Date.now()}`;
    this.out.line(step);
    const reply = await this.client(proto, port, payload);
    this.out.line(`   reply:     ${reply}`);
    const seen = await poll(`${server} to see ${payload}`, 3_000, async () =>
      this.seenBy(server).find((r) => r.payload === payload),
    ).catch(() => undefined);
    if (!seen) {
      this.out.line(`   ${server} saw: nothing (unexpected)`);
      return false;
    }
    const verdict =
      seen.peer === ADDRESSES.egress
        ? 'the egress address, not the client'
        : 'NOT the egress address (unexpected)';
    this.out.line(
      `   ${server} saw: ${seen.proto.toUpperCase()} on port ${seen.port} from ${seen.peer}: ${verdict}`,
    );
    return seen.peer === ADDRESSES.egress && seen.port === expectPort;
  }

  async teardown(): Promise<void> {
    const removed = await destroyNetwork(this.prefix);
    rmSync(this.dir, { recursive: true, force: true });
    if (removed > 0)
      this.out.line(`removed ${removed} demo namespaces (${this.prefix}*) and their processes`);
  }

  private async showMetrics(): Promise<void> {
    const script = `fetch('http://${HEALTH}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const metrics = await runProgram(['ip', 'netns', 'exec', this.ns.pod, process.execPath, '-e', script], {
      timeoutMs: 10_000,
    });
    const wanted =
      /^egress_router_(redirect_connections_total|condition\{type="Available",status="True"\}|drift_repairs_total|build_info)/;
    for (const line of metrics.stdout.split('\n')) if (wanted.test(line)) this.out.line(line);
  }

  private printTryCommands(): void {
    const cli = `${process.execPath} ${CLI}`;
    this.out.line('left running (--keep). Things to try:');
    this.out.line(`  ip netns exec ${this.ns.pod} ${cli} status --health-addr ${HEALTH}`);
    this.out.line(`  ip netns exec ${this.ns.pod} curl -s http://${HEALTH}/status`);
    this.out.line(`  ip netns exec ${this.ns.pod} curl -s http://${HEALTH}/metrics | grep egress_router_`);
    this.out.line(
      `  ip netns exec ${this.ns.client} ${process.execPath} ${ECHO} tcp ${ADDRESSES.podCluster} 80 hi`,
    );
    this.out.line(`  edit ${this.config} (add a rule) and watch: tail -f ${this.log('agent')}`);
    this.out.line(
      `  ip netns exec ${this.ns.pod} nft delete table inet egress_router   # drift: repaired within a second`,
    );
    this.out.line(
      `  ${cli} demo --teardown${this.prefix === DEFAULT_PREFIX ? '' : ` --prefix ${this.prefix}`}   # remove everything`,
    );
  }

  /** True when every request went where the rules say, with the egress address as source. */
  async run(keep: boolean): Promise<boolean> {
    const out = this.out;
    await this.teardown();
    mkdirSync(dirname(this.config), { recursive: true });
    writeFileSync(this.config, readFileSync(EXAMPLE));
    out.line('== egress-router-agent demo');
    out.line(
      `network (namespaces ${this.prefix}*): client ${ADDRESSES.client} -> router pod ${ADDRESSES.podCluster}`,
    );
    out.line(
      `  -> egress ${ADDRESSES.egress} on net1 (macvlan on the node's eth1) -> LAN: dst1 ${ADDRESSES.dst1}, dst2 ${ADDRESSES.dst2}, gateway ${ADDRESSES.gateway} -> far ${ADDRESSES.far}`,
    );
    await buildNetwork(this.prefix);
    await this.startServers();
    const started = Date.now();
    const flags = [
      '--master-netns',
      `/run/netns/${this.ns.node}`,
      '--cluster-cidr',
      '198.18.0.0/15',
      '--health-addr',
      HEALTH,
    ];
    spawnIn(
      this.ns.pod,
      [process.execPath, CLI, 'run', this.config, ...flags, '--log-format', 'json', '--cleanup-on-exit'],
      this.log('agent'),
    );
    out.line(`agent: egress-router-agent run ${this.config} (a copy of examples/egressrouter.yaml)`);
    await poll('the agent to become ready', 30_000, async () =>
      (await this.agentCli(['status', '--health-addr', HEALTH])).code === 0 ? true : undefined,
    );
    out.line(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${this.log('agent')})`);
    out.line();
    const results = [
      await this.request('1. TCP   client -> router:80    (rule: TCP 80 -> dst1:80)', 'tcp', 80, 'dst1', 80),
      await this.request(
        '2. TCP   client -> router:8080  (rule: TCP 8080 -> dst2, targetPort 80)',
        'tcp',
        8080,
        'dst2',
        80,
      ),
      await this.request(
        '3. UDP   client -> router:5353  (rule: UDP 5353 -> dst1, targetPort 53)',
        'udp',
        5353,
        'dst1',
        53,
      ),
      await this.request(
        '4. TCP   client -> router:443   (rule: TCP 443 -> 198.51.100.10, beyond the gateway)',
        'tcp',
        443,
        'far',
        443,
      ),
      await this.request(
        '5. TCP   client -> router:7000  (no rule: the fallback, dst2, same port)',
        'tcp',
        7000,
        'dst2',
        7000,
      ),
    ];
    out.line();
    out.line('$ egress-router-agent status');
    out.line((await this.agentCli(['status', '--health-addr', HEALTH])).out);
    out.line();
    out.line('$ curl -s http://127.0.0.1:9099/metrics | grep egress_router_');
    await this.showMetrics();
    const ok = results.every(Boolean);
    out.line();
    out.line(
      ok
        ? 'all five requests went where the rules say, from the egress address'
        : 'SOME REQUESTS DID NOT GO WHERE EXPECTED',
    );
    out.line();
    if (keep) this.printTryCommands();
    else await this.teardown();
    return ok;
  }
}

export function createDemo(
  out: DemoOutput,
  prefix = DEFAULT_PREFIX,
): { run(keep: boolean): Promise<boolean>; teardown(): Promise<void> } {
  return new Demo(prefix, out);
}
