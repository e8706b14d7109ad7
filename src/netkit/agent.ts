/**
 * The agent under test, run as it runs in a router pod: `ip netns exec <pod> node dist/cli.js …`
 * with `process.execPath`, the agent as built (dist/), never the TypeScript source.
 *
 * - `agentArgv(topo, command, config, launch)`: the argv, with the system flags a router pod
 *   gets (`--master-netns` of the pod's node, `--cluster-cidr` 198.18.0.0/15) unless told not to.
 * - `runAgentCommand(topo, command, config, launch)`: one-shot (`apply`, `cleanup`, `render`,
 *   `status`, …), bounded; resolves with the exit code and output.
 * - `startAgent(topo, config, launch)`: `run` with JSON logs on stdout, parsed line by line
 *   into `logs`; resolves once the agent's own process is in the pod. Then: `waitReady()`
 *   (/readyz 200), `waitForLog`, `http(path)` to its health port, `signal`, `stop` (SIGTERM,
 *   SIGKILL after a bound; rejects if it had to, so a test asserts a timely exit by awaiting it),
 *   `exited`, `memory()`.
 *
 * `ip netns exec` may fork, so the process spawned is not always the agent: the agent's own pid is
 * found among the pod's processes by a marker in its environment (NETKIT_AGENT_ID), which
 * also works under a wrapper (strace) and with `--from-env`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CLI } from './dist.js';
import { type HttpOptions, type HttpReply, http } from './health.js';
import { namespacePids, processArgv, processEnv } from './netns.js';
import { PLAN } from './plan.js';
import { type Child, NODE, pollUntil, readLines, tail } from './process.js';
import type { Topology } from './topology.js';

/** The agent's default health port. */
export const HEALTH_PORT = 9099;
const MARKER = 'NETKIT_AGENT_ID';

export interface AgentLaunch {
  /** The router pod to run in (default the first). */
  readonly pod?: string;
  /** The CLI to run (default dist/cli.js; the bench runs a private copy). */
  readonly cli?: string;
  /** Node flags before the CLI (e.g. the shebang's V8 flags, --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** A command prefix inside the pod (e.g. strace …). */
  readonly wrap?: readonly string[];
  /** Added to the agent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Pass `--master-netns /run/netns/<the pod's node>` (default true). */
  readonly masterNetns?: boolean;
  /** `--cluster-cidr` values (default the cluster range, 198.18.0.0/15). */
  readonly clusterCidrs?: readonly string[];
  /** More arguments after the system flags, e.g. `--from-env`, `--interface`. */
  readonly args?: readonly string[];
}

/** `[…wrap, node, …nodeFlags, cli, command, config?, system flags…, …args]`. */
export function agentArgv(
  topo: Topology,
  command: string,
  config: string | undefined,
  launch: AgentLaunch = {},
): string[] {
  const argv = [
    ...(launch.wrap ?? []),
    NODE,
    ...(launch.nodeFlags ?? []),
    launch.cli ?? CLI,
    command,
    ...(config === undefined ? [] : [config]),
  ];
  if (launch.masterNetns ?? true) argv.push('--master-netns', topo.pod(launch.pod).masterNetnsPath);
  for (const cidr of launch.clusterCidrs ?? [PLAN.cluster.v4]) argv.push('--cluster-cidr', cidr);
  argv.push(...(launch.args ?? []));
  return argv;
}

export interface AgentResult {
  /** Undefined when it was killed. */
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** One command of the agent in the pod, to its end (bounded: default 60 s). */
export async function runAgentCommand(
  topo: Topology,
  command: string,
  config: string | undefined,
  launch: AgentLaunch & { readonly timeoutMs?: number } = {},
): Promise<AgentResult> {
  const result = await topo.exec(launch.pod ?? topo.pod().role, agentArgv(topo, command, config, launch), {
    reject: false,
    timeoutMs: launch.timeoutMs ?? 60_000,
    ...(launch.env ? { env: launch.env } : {}),
  });
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    timedOut: result.timedOut,
  };
}

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  /** pino's time: an ISO string (the agent's logger) or epoch ms. */
  readonly time?: string | number;
  readonly kind?: string;
  readonly [key: string]: unknown;
}

/** A log line's time in epoch ms. */
export function logTime(line: LogLine): number {
  return typeof line.time === 'number' ? line.time : Date.parse(String(line.time));
}

export interface RunLaunch extends AgentLaunch {
  /** `--health-addr :PORT` (default 9099). */
  readonly healthPort?: number;
  /** How long to wait for the agent's process to appear (default 15 s). */
  readonly startTimeoutMs?: number;
}

export interface AgentProcess {
  readonly child: Child;
  /** The agent's own pid (not `ip netns exec`'s, nor a wrapper's). */
  readonly pid: number;
  /** The pod's role. */
  readonly pod: string;
  readonly healthPort: number;
  /** Every stdout line, parsed (a line that is not JSON becomes `{ level: 'none', msg: '(not JSON) …' }`). */
  readonly logs: LogLine[];
  /** The last 20,000 characters of stderr. */
  stderr(): string;
  /** Resolves with the exit code (undefined when a signal ended it). */
  readonly exited: Promise<number | undefined>;
  /** The first log line at index >= from that matches; rejects after timeoutMs or when the agent exits. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, from?: number): Promise<LogLine>;
  /** HTTP to its health port, from inside its pod. */
  http(path: string, options?: HttpOptions): Promise<HttpReply>;
  /** Resolves once /readyz answers 200; rejects after timeoutMs or when the agent exits. */
  waitReady(timeoutMs?: number): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /**
   * `signal` (default SIGTERM) to the agent's pid, then waits for the exit; resolves with the exit
   * code. After timeoutMs it sends SIGKILL and rejects ("did not exit"). Idempotent.
   */
  stop(timeoutMs?: number, signal?: NodeJS.Signals): Promise<number | undefined>;
  /** VmRSS and VmHWM of the agent's process, in MiB. */
  memory(): { rssMiB: number; hwmMiB: number };
}

function statusKiB(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  return { rssMiB: statusKiB(pid, 'VmRSS') / 1024, hwmMiB: statusKiB(pid, 'VmHWM') / 1024 };
}

/** The pid in `ns` of the Node process carrying `marker` in its environment. */
async function findMarked(ns: string, marker: string): Promise<number | undefined> {
  for (const pid of await namespacePids(ns)) {
    if (processArgv(pid)[0] !== NODE) continue;
    if (processEnv(pid).get(MARKER) === marker) return pid;
  }
  return undefined;
}

/** `run` in the pod, with JSON logs; resolves once the agent's own process is there. */
export async function startAgent(
  topo: Topology,
  config: string | undefined,
  launch: RunLaunch = {},
): Promise<AgentProcess> {
  const pod = topo.pod(launch.pod);
  const healthPort = launch.healthPort ?? HEALTH_PORT;
  const marker = randomBytes(8).toString('hex');
  const argv = agentArgv(topo, 'run', config, {
    ...launch,
    args: ['--health-addr', `:${healthPort}`, '--log-format', 'json', ...(launch.args ?? [])],
  });
  const child = topo.spawn(pod.role, argv, {
    env: { ...launch.env, [MARKER]: marker },
    forceKillAfterMs: 5_000,
  });
  const logs: LogLine[] = [];
  const listeners = new Set<() => void>();
  const stderr = tail(child.stderr);
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  void readLines(child.stdout, (line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === 'object') logs.push(parsed as LogLine);
      else logs.push({ level: 'none', msg: `(not JSON) ${line}` });
    } catch {
      logs.push({ level: 'none', msg: `(not JSON) ${line}` });
    }
    notify();
  });
  let gone = false;
  const exited = child.exited.then((exit) => {
    gone = true;
    notify();
    return exit.code ?? undefined;
  });

  let pid: number | undefined;
  try {
    await pollUntil(
      async () => {
        if (gone) throw new Error(`the agent exited at once: ${stderr().trim()} ${JSON.stringify(logs)}`);
        pid = await findMarked(pod.ns, marker);
        return pid !== undefined;
      },
      launch.startTimeoutMs ?? 15_000,
      `the agent process to appear in ${pod.role}`,
      20,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const agentPid = pid as number;

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs: number, from = 0) =>
    new Promise<LogLine>((resolve, reject) => {
      let scanned = from;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        listeners.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        for (; scanned < logs.length; scanned += 1) {
          const line = logs[scanned];
          if (line && predicate(line)) {
            finish();
            resolve(line);
            return;
          }
        }
        if (gone) {
          finish();
          reject(
            new Error(
              `the agent exited; log: ${JSON.stringify(logs.slice(from))}; stderr: ${stderr().slice(-2_000)}`,
            ),
          );
        }
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

  const agentHttp = (path: string, options: HttpOptions = {}) =>
    http(topo, path, { ns: pod.role, port: healthPort, ...options });

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

  return {
    child,
    pid: agentPid,
    pod: pod.role,
    healthPort,
    logs,
    stderr,
    exited,
    waitForLog,
    http: agentHttp,
    waitReady: async (timeoutMs = 30_000) => {
      let last = 'no answer';
      await pollUntil(
        async () => {
          if (gone) throw new Error(`the agent exited before it was ready; last /readyz: ${last}`);
          const reply = await agentHttp('/readyz');
          last = `${reply.status} ${reply.body.trim()}`;
          return reply.status === 200;
        },
        timeoutMs,
        `the agent in ${pod.role} to be ready`,
        100,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; last /readyz: ${last}`);
      });
    },
    signal,
    stop,
    memory: () => memoryOf(agentPid),
  };
}

/** `ip netns exec <pod> curl …/metrics` text, or throws unless 200. */
export async function agentMetrics(topo: Topology, options: HttpOptions = {}): Promise<string> {
  const reply = await http(topo, '/metrics', options);
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  return reply.body;
}
