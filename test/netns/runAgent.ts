/**
 * Helpers for the `run`-mode namespace tests (run-mode.test.ts, run-drift.test.ts): a
 * ConfigMap-style config directory, the agent started inside the pod namespace with its JSON log
 * captured, HTTP queries from inside the pod, and Prometheus text parsing.
 *
 * `ip netns exec` may fork on this machine, so the process the harness spawned is not necessarily
 * the agent: signals go to the agent's own pid, found by its command line among the pod's pids.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { pollUntil, type Spawned, type Topology } from './harness/topology.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'dist', 'cli.js');
export const NODE = process.execPath;
export const HEALTH_PORT = 9099;
export const CONFIG_FILE = 'egressrouter.yaml';

/** Builds dist/ once per test file (cheap: about two seconds). */
export async function buildAgent(): Promise<void> {
  await execa('npm', ['run', 'build'], { cwd: REPO, timeout: 120_000, stdin: 'ignore' });
}

// ---------------------------------------------------------------------------------------------
// The config directory, laid out as the kubelet mounts a ConfigMap.

export interface ConfigDir {
  readonly dir: string;
  /** DIR/egressrouter.yaml -> ..data/egressrouter.yaml: what the agent is given. */
  readonly path: string;
  /** A new ..vN directory and an atomic swap of ..data, as the kubelet updates a ConfigMap. */
  swap(yaml: string): Promise<void>;
  /** Rewrites the current version's file in place (no swap: the watcher may or may not see it). */
  writeInPlace(yaml: string): Promise<void>;
}

export async function createConfigDir(dir: string, yaml: string): Promise<ConfigDir> {
  let version = 1;
  await mkdir(join(dir, '..v1'), { recursive: true });
  await writeFile(join(dir, '..v1', CONFIG_FILE), yaml);
  await symlink('..v1', join(dir, '..data'));
  await symlink(join('..data', CONFIG_FILE), join(dir, CONFIG_FILE));
  return {
    dir,
    path: join(dir, CONFIG_FILE),
    swap: async (text) => {
      version += 1;
      const next = `..v${version}`;
      await mkdir(join(dir, next));
      await writeFile(join(dir, next, CONFIG_FILE), text);
      const previous = await readlink(join(dir, '..data'));
      await symlink(next, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, previous), { recursive: true, force: true });
    },
    writeInPlace: async (text) => {
      await writeFile(join(dir, await readlink(join(dir, '..data')), CONFIG_FILE), text);
    },
  };
}

export interface RuleSpec {
  readonly destinationIP: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly targetPort?: number;
}

/** An IPv4 EgressRouter on the harness LAN (egress 192.0.2.100/24, master eth1). */
export function routerYaml(rules: readonly RuleSpec[], gateway = '192.0.2.1'): string {
  const lines = [
    'apiVersion: network.operator.openshift.io/v1',
    'kind: EgressRouter',
    'metadata:',
    '  name: e2e-run',
    'spec:',
    '  mode: Redirect',
    '  networkInterface:',
    '    macvlan:',
    '      mode: Bridge',
    '      master: eth1',
    '  addresses:',
    '    - ip: 192.0.2.100/24',
    `      gateway: ${gateway}`,
    '  redirect:',
    '    redirectRules:',
    ...rules.map(
      (r) =>
        `      - { destinationIP: ${r.destinationIP}, port: ${r.port}, protocol: ${r.protocol}${
          r.targetPort === undefined ? '' : `, targetPort: ${r.targetPort}`
        } }`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// The agent process.

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly kind?: string;
  readonly [key: string]: unknown;
}

export interface AgentProcess {
  readonly child: Spawned;
  /** The agent's own pid (not `ip netns exec`'s). */
  readonly pid: number;
  readonly logs: LogLine[];
  stderr(): string;
  /** Resolves with the agent's exit code (via the spawned process). */
  readonly exited: Promise<number | undefined>;
  /** The first log line at index >= from that matches; rejects after timeoutMs. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, from?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (or `signal`) to the agent's pid, then waits for the exit (SIGKILL after timeoutMs). Idempotent. */
  stop(timeoutMs?: number, signal?: NodeJS.Signals): Promise<number | undefined>;
}

function cmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The pid in `ns` whose command line is `node CLI run <configPath> ...`. */
export async function findAgentPid(
  topo: Topology,
  ns: string,
  configPath: string,
): Promise<number | undefined> {
  const { stdout } = await execa('ip', ['netns', 'pids', topo.resolve(ns)], { reject: false });
  for (const pid of stdout.split(/\s+/).filter((word) => /^\d+$/.test(word))) {
    const argv = cmdline(pid);
    if (argv[0] === NODE && argv[1] === CLI && argv[2] === 'run' && argv[3] === configPath)
      return Number(pid);
  }
  return undefined;
}

export function agentArgs(topo: Topology, configPath: string, extra: readonly string[] = []): string[] {
  return [
    NODE,
    CLI,
    'run',
    configPath,
    '--master-netns',
    topo.masterNetnsPath,
    '--cluster-cidr',
    '198.18.0.0/15',
    '--health-addr',
    `:${HEALTH_PORT}`,
    '--resync-interval',
    '2',
    '--log-format',
    'json',
    ...extra,
  ];
}

export async function startAgent(
  topo: Topology,
  configPath: string,
  extra: readonly string[] = [],
): Promise<AgentProcess> {
  const child = topo.spawn('pod', agentArgs(topo, configPath, extra), { forceKillAfterMs: 5_000 });
  const logs: LogLine[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  if (child.stdout) {
    createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed !== null && typeof parsed === 'object') logs.push(parsed as LogLine);
      } catch {
        logs.push({ level: 'unparsed', msg: `(not JSON) ${line}` });
      }
      for (const listener of [...listeners]) listener();
    });
  }
  const exited = child.then((result) => result.exitCode);
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const listener of [...listeners]) listener();
  });

  let pid: number | undefined;
  try {
    await pollUntil(
      async () => {
        if (gone) throw new Error(`the agent exited at once: ${stderr.trim()} ${JSON.stringify(logs)}`);
        pid = await findAgentPid(topo, 'pod', configPath);
        return pid !== undefined;
      },
      10_000,
      'the agent process to appear in the pod namespace',
      50,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const agentPid = pid as number;

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs: number, from = 0) =>
    new Promise<LogLine>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        const found = logs.slice(from).find(predicate);
        if (found) {
          finish();
          resolve(found);
        } else if (gone) {
          finish();
          reject(new Error(`the agent exited; log: ${JSON.stringify(logs.slice(from))}; stderr: ${stderr}`));
        }
      };
      const finish = () => {
        listeners.delete(check);
        clearTimeout(timer);
      };
      timer = setTimeout(() => {
        finish();
        reject(
          new Error(`no matching log line after ${timeoutMs} ms; since: ${JSON.stringify(logs.slice(from))}`),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  const signal = (name: NodeJS.Signals) => {
    if (gone) return;
    try {
      process.kill(agentPid, name);
    } catch {
      // already gone
    }
  };

  let stopping: Promise<number | undefined> | undefined;
  const stop = (timeoutMs = 10_000, how: NodeJS.Signals = 'SIGTERM') => {
    stopping ??= (async () => {
      signal(how);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        signal('SIGKILL');
        child.kill('SIGKILL');
        await exited;
        throw new Error(`the agent did not exit within ${timeoutMs} ms of ${how}`);
      }
      return outcome;
    })();
    return stopping;
  };

  return { child, pid: agentPid, logs, stderr: () => stderr, exited, waitForLog, signal, stop };
}

// ---------------------------------------------------------------------------------------------
// HTTP from inside the pod.

export interface HttpReply {
  /** 0 when there was no HTTP answer at all. */
  readonly status: number;
  /** Response headers, names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly body?: string;
  readonly headers?: readonly string[];
  /** Namespace to ask from (default the pod) and host to ask (default 127.0.0.1). */
  readonly ns?: string;
  readonly host?: string;
  readonly port?: number;
}

/** curl inside a namespace (default the pod) against the agent's health port. */
export async function http(topo: Topology, path: string, options: HttpOptions = {}): Promise<HttpReply> {
  const args = ['curl', '-s', '-i', '--path-as-is', '-m', '3', '-w', '\n%{http_code}'];
  // curl -X HEAD would wait for a body that never comes: -I makes a real HEAD request.
  if (options.method === 'HEAD') args.push('-I');
  else if (options.method) args.push('-X', options.method);
  if (options.body !== undefined) args.push('--data-binary', options.body);
  for (const header of options.headers ?? []) args.push('-H', header);
  args.push(`http://${options.host ?? '127.0.0.1'}:${options.port ?? HEALTH_PORT}${path}`);
  const result = await topo.exec(options.ns ?? 'pod', args, { reject: false, timeoutMs: 10_000 });
  const cut = result.stdout.lastIndexOf('\n');
  const statusCode = Number(result.stdout.slice(cut + 1)) || 0;
  const raw = result.stdout.slice(0, cut);
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: statusCode, headers, body: split < 0 ? '' : raw.slice(split + 4) };
}

export interface StatusCondition {
  readonly type: string;
  readonly status: string;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export interface StatusRule {
  readonly protocol: string;
  readonly port: number;
  readonly destinationIP: string;
  readonly targetPort: number;
  readonly family: number;
  readonly connections: number;
}

export interface StatusDoc {
  readonly conditions: StatusCondition[];
  readonly rules: StatusRule[];
  readonly config: unknown;
  readonly interface: unknown;
  readonly lastApplyTime: string | null;
  readonly lastRepair: { time: string; changes: { kind: string; message: string }[] } | null;
  readonly [key: string]: unknown;
}

export async function status(topo: Topology): Promise<StatusDoc> {
  const reply = await http(topo, '/status');
  if (reply.status !== 200) throw new Error(`/status answered ${reply.status}: ${reply.body}`);
  return JSON.parse(reply.body) as StatusDoc;
}

export function condition(doc: StatusDoc, type: string): StatusCondition {
  const found = doc.conditions.find((c) => c.type === type);
  if (!found) throw new Error(`no ${type} condition in ${JSON.stringify(doc.conditions)}`);
  return found;
}

/** Polls /status until `predicate` holds; returns the document that satisfied it. */
export async function waitForStatus(
  topo: Topology,
  predicate: (doc: StatusDoc) => boolean,
  timeoutMs: number,
  what: string,
): Promise<StatusDoc> {
  let last: StatusDoc | undefined;
  let lastError: unknown;
  try {
    await pollUntil(
      async () => {
        try {
          last = await status(topo);
          return predicate(last);
        } catch (error) {
          lastError = error;
          return false;
        }
      },
      timeoutMs,
      what,
      100,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last status: ${JSON.stringify(last?.conditions)}; last error: ${String(lastError)}`,
    );
  }
  return last as StatusDoc;
}

export function conditionIs(doc: StatusDoc, type: string, statusValue: string, reason?: string): boolean {
  const c = doc.conditions.find((entry) => entry.type === type);
  return c?.status === statusValue && (reason === undefined || c.reason === reason);
}

// ---------------------------------------------------------------------------------------------
// Prometheus text.

/** The value of the sample `name{labels}` (labels matched exactly, any order); undefined if absent. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      found[pair[1] ?? ''] = pair[2] ?? '';
    }
    const wanted = Object.entries(labels);
    if (wanted.length !== Object.keys(found).length) continue;
    if (wanted.every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

export async function metrics(topo: Topology): Promise<string> {
  const reply = await http(topo, '/metrics');
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  return reply.body;
}

// ---------------------------------------------------------------------------------------------
// Kernel state in the pod.

export async function podHasLink(topo: Topology, name: string): Promise<boolean> {
  const result = await topo.ip('pod', ['link', 'show', 'dev', name], { reject: false });
  return !result.failed;
}

export async function podHasTable(topo: Topology): Promise<boolean> {
  const result = await topo.exec('pod', ['nft', 'list', 'table', 'inet', 'egress_router'], { reject: false });
  return !result.failed;
}

export interface RouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly metric?: number;
}

export async function podRoutes(topo: Topology): Promise<RouteEntry[]> {
  return topo.ipJson<RouteEntry[]>('pod', ['-4', 'route', 'show']);
}

/** IPv4 routes of every table (local and main included). */
export async function podRoutesAllTables(topo: Topology): Promise<(RouteEntry & { table?: string })[]> {
  return topo.ipJson<(RouteEntry & { table?: string })[]>('pod', ['-4', 'route', 'show', 'table', 'all']);
}

/** IPv4 policy routing rules. */
export async function podRules(topo: Topology): Promise<unknown[]> {
  return topo.ipJson<unknown[]>('pod', ['-4', 'rule', 'show']);
}

/** Removes a test's scratch directory (config versions included). */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** For diagnostics: the names in a config directory. */
export async function listConfigDir(dir: string): Promise<string[]> {
  return readdir(dir);
}

/** Passes finished so far, whatever triggered them. */
export async function passCount(topo: Topology): Promise<number> {
  let total = 0;
  for (const line of (await metrics(topo)).split('\n')) {
    const match = /^egress_router_sync_duration_seconds_count\{[^}]*\} (\d+)/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/**
 * Waits until no pass has finished for `quietMs` (the echo passes set off by the agent's own
 * changes are over), so the next change a test makes starts from a settled agent.
 */
export async function waitForQuiet(topo: Topology, quietMs = 300, timeoutMs = 5_000): Promise<void> {
  let last = await passCount(topo);
  let since = Date.now();
  await pollUntil(
    async () => {
      const now = await passCount(topo);
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    timeoutMs,
    `no reconcile pass for ${quietMs} ms`,
    50,
  );
}
