/**
 * The agent under test, run as it runs in a router pod: `ip netns exec <pod> node dist/cli.js …`.
 * `ip netns exec` may fork, so the run-mode agent's own pid is found by its command line.
 */
import { readFileSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Child, epochMs, NODE, pollUntil, run, spawn, within } from './exec.js';
import { PLAN, type Topology } from './topology.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));
let cliPath = BUILT_CLI;

/** The agent CLI the suites run: dist/cli.js, or the private copy made by snapshotAgent(). */
export function cli(): string {
  return cliPath;
}

/**
 * Copies dist/ and package.json into `dir`, with a hard-linked copy of node_modules (`cp -al`:
 * instant, same file system), and runs the agent from there: a rebuild or an `npm install` by
 * someone else during a long run cannot change the agent halfway.
 */
export async function snapshotAgent(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await cp(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true });
  await cp(join(REPO, 'package.json'), join(dir, 'package.json'));
  const linked = await run(['cp', '-al', join(REPO, 'node_modules'), join(dir, 'node_modules')], {
    reject: false,
  });
  // Another file system: a plain copy (slower, same effect).
  if (linked.failed) {
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    await cp(join(REPO, 'node_modules'), join(dir, 'node_modules'), { recursive: true });
  }
  cliPath = join(dir, 'dist', 'cli.js');
  return cliPath;
}

export function systemFlags(topo: Topology): string[] {
  return ['--master-netns', topo.masterNetnsPath, '--cluster-cidr', PLAN.clusterCidr];
}

/**
 * The V8 flags the executable's shebang passes (`#!/usr/bin/env -S node FLAGS`): the agent is
 * measured as it is launched in the image and through the package's bin.
 */
function shebangFlags(): string[] {
  const first = readFileSync(cli(), 'utf8').split('\n')[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node\b(.*)$/.exec(first);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** `node dist/cli.js render CONFIG --format json`: the exact batch apply hands to `nft -j -f`. */
export async function renderJson(configPath: string): Promise<string> {
  return (
    await run([NODE, cli(), 'render', configPath, '--format', 'json', '--cluster-cidr', PLAN.clusterCidr], {
      timeoutMs: 120_000,
    })
  ).stdout;
}

export interface TimedApply {
  readonly ms: number;
  readonly stdout: string;
}

/**
 * Times `apply` from process start to its exit, and fails unless it exited 0 saying "applied"
 * (the agent verifies by reading the table back before it says so). `wrap` prefixes the node
 * command (strace for the phase profile); `nodeFlags` go to node (--cpu-prof).
 */
export async function timedApply(
  topo: Topology,
  configPath: string,
  options: { wrap?: readonly string[]; nodeFlags?: readonly string[]; timeoutMs?: number } = {},
): Promise<TimedApply> {
  const argv = [
    'ip',
    'netns',
    'exec',
    topo.names.pod,
    ...(options.wrap ?? []),
    NODE,
    ...(options.nodeFlags ?? shebangFlags()),
    cli(),
    'apply',
    configPath,
    ...systemFlags(topo),
  ];
  const started = performance.now();
  const result = await run(argv, { reject: false, timeoutMs: options.timeoutMs ?? 300_000 });
  const ms = performance.now() - started;
  if (result.failed || !/^applied: /m.test(result.stdout)) {
    throw new Error(
      `apply failed (exit ${result.exitCode}${result.timedOut ? ', timed out' : ''}): ${result.stderr.trim()} ${result.stdout.trim()}`,
    );
  }
  return { ms, stdout: result.stdout };
}

export interface LogLine {
  readonly level: number;
  /** pino's time: an ISO string (the agent's logger) or epoch ms. */
  readonly time: string | number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface RunAgent {
  readonly pid: number;
  readonly logs: LogLine[];
  /** The first log line at index >= from matching; rejects after timeoutMs or when the agent exits. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, from?: number): Promise<LogLine>;
  /** VmRSS and VmHWM of the agent's node process, in MiB. */
  memory(): { rssMiB: number; hwmMiB: number };
  /** SIGTERM to the agent's pid; SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

/** A log line's time in epoch ms (pino isoTime has millisecond resolution). */
export function logTime(line: LogLine): number {
  return typeof line.time === 'number' ? line.time : Date.parse(line.time);
}

function cmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
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

/** The pid in the pod whose command line is `node [flags] CLI run CONFIG …`. */
async function findAgentPid(topo: Topology, configPath: string): Promise<number | undefined> {
  const { stdout } = await run(['ip', 'netns', 'pids', topo.names.pod], { reject: false });
  for (const pid of stdout.split(/\s+/).filter((word) => /^\d+$/.test(word))) {
    const argv = cmdline(pid);
    const at = argv.indexOf(cli());
    if (argv[0] === NODE && at > 0 && argv[at + 1] === 'run' && argv[at + 2] === configPath)
      return Number(pid);
  }
  return undefined;
}

/** Starts `run` in the pod with JSON logs on stdout and waits until its process is there. */
export async function startRunAgent(
  topo: Topology,
  configPath: string,
  options: { wrap?: readonly string[]; nodeFlags?: readonly string[]; extra?: readonly string[] } = {},
): Promise<RunAgent> {
  const child: Child = spawn(
    [
      'ip',
      'netns',
      'exec',
      topo.names.pod,
      ...(options.wrap ?? []),
      NODE,
      ...(options.nodeFlags ?? shebangFlags()),
      cli(),
      'run',
      configPath,
      ...systemFlags(topo),
      '--health-addr',
      ':9099',
      '--log-format',
      'json',
      ...(options.extra ?? []),
    ],
    10_000,
  );
  const logs: LogLine[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let gone = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  if (child.stdout) {
    createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed !== null && typeof parsed === 'object') logs.push(parsed as LogLine);
      } catch {
        logs.push({ level: 0, time: Date.now(), msg: `(not JSON) ${line}` });
      }
      for (const listener of [...listeners]) listener();
    });
  }
  const exited = child.then(() => {
    gone = true;
    for (const listener of [...listeners]) listener();
  });

  let pid: number | undefined;
  await pollUntil(
    async () => {
      if (gone) throw new Error(`the agent exited at once: ${stderr.trim()}`);
      pid = await findAgentPid(topo, configPath);
      return pid !== undefined;
    },
    15_000,
    'the agent process in the pod',
    20,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
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
          reject(new Error(`the agent exited; stderr: ${stderr.trim().slice(-2_000)}`));
        }
      };
      timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `no matching agent log line after ${timeoutMs} ms; last: ${JSON.stringify(logs.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    pid: agentPid,
    logs,
    waitForLog,
    memory: () => memoryOf(agentPid),
    stop: async (timeoutMs = 15_000) => {
      if (gone) return;
      try {
        process.kill(agentPid, 'SIGTERM');
      } catch {
        // already gone
      }
      await within(exited, timeoutMs, 'the agent to exit after SIGTERM').catch(async () => {
        try {
          process.kill(agentPid, 'SIGKILL');
        } catch {
          // already gone
        }
        child.kill('SIGKILL');
        await exited;
      });
    },
  };
}

/** Epoch ms now, for comparing with pino's `time` and the client driver's timestamps. */
export const clock = epochMs;
