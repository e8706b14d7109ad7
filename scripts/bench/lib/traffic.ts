/**
 * Traffic for the benchmarks: tools/server.mjs in the destination namespaces and one long-lived
 * tools/client.mjs in the client namespace, driven over its stdin/stdout (JSON lines); and, for
 * the rate suite, the C generator and server (tools/conngen.c, tools/connserv.c), built at the
 * start of the run, so that neither end is the ceiling of a connections/s figure.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Child,
  NODE,
  readLines,
  run,
  spawnChild,
  type Topology,
  within,
} from '../../../src/netkit/index.js';

const SERVER = fileURLToPath(new URL('../tools/server.mjs', import.meta.url));
const CLIENT = fileURLToPath(new URL('../tools/client.mjs', import.meta.url));

/** The port every destination server listens on; redirect rules target it. */
export const SERVER_PORT = 7000;

type Json = Record<string, unknown>;

function jsonLines(child: Child, onObject: (object: Json) => void): void {
  void readLines(child.stdout, (line) => {
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object') onObject(value as Json);
    } catch {
      // not ours
    }
  });
}

/**
 * Starts server.mjs in each role (named after the role) and waits until all listen. The servers
 * are the topology's children: its destroy() ends them.
 */
export async function startServers(topo: Topology, roles: readonly string[]): Promise<void> {
  await Promise.all(
    roles.map(async (role) => {
      const child = topo.spawn(role, [NODE, SERVER, '--name', role, '--port', String(SERVER_PORT)], {
        forceKillAfterMs: 3_000,
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        stderr += chunk;
      });
      const ready = new Promise<void>((resolve, reject) => {
        jsonLines(child, (object) => {
          if (object.ready === true) resolve();
          else if (object.error) reject(new Error(`server ${role}: ${String(object.error)}`));
        });
        void child.exited.then(() => reject(new Error(`server ${role} exited: ${stderr.trim()}`)));
      });
      await within(ready, 15_000, `server in ${role} to listen`);
    }),
  );
}

export interface RateResult {
  readonly connections: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly rate: number;
  readonly firstError?: string;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** Epoch ms of the first reply from the expected server. */
  readonly at?: number;
  readonly attempts: number;
  readonly failures: number;
  readonly others: number;
  readonly waitedMs: number;
}

export interface StreamReport {
  readonly port: number;
  readonly connected: boolean;
  readonly exchanges: number;
  readonly maxRttMs: number;
  readonly maxGapMs: number;
  readonly stalls: number;
  readonly error: string | null;
  readonly servers: readonly string[];
}

export interface Driver {
  rate(port: number, durationMs: number, warmupMs: number, expect: string): Promise<RateResult>;
  /** New connections every intervalMs until one is answered by `expect` (or timeoutMs). */
  probe(
    port: number,
    expect: string,
    options?: { timeoutMs?: number; intervalMs?: number; attemptTimeoutMs?: number },
  ): Promise<ProbeResult>;
  streamsStart(ports: readonly number[], intervalMs: number, stallMs: number): Promise<number>;
  streamsStop(): Promise<StreamReport[]>;
  stop(): Promise<void>;
}

/** Starts client.mjs in the client namespace, talking to the pod's cluster address. */
export async function startDriver(topo: Topology, host: string): Promise<Driver> {
  const child = spawnChild(['ip', 'netns', 'exec', topo.resolve('client'), NODE, CLIENT], {
    stdin: 'pipe',
    forceKillAfterMs: 3_000,
  });
  const waiting = new Map<number, (object: Json) => void>();
  let nextId = 1;
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  jsonLines(child, (object) => {
    const id = Number(object.id);
    const resolve = waiting.get(id);
    if (resolve) {
      waiting.delete(id);
      resolve(object);
    }
  });

  const call = async (command: Json, timeoutMs: number): Promise<Json> => {
    if (exited) throw new Error(`the client driver exited: ${stderr.trim()}`);
    const id = nextId;
    nextId += 1;
    const answer = new Promise<Json>((resolve) => waiting.set(id, resolve));
    child.stdin?.write(`${JSON.stringify({ id, ...command })}\n`);
    const result = await within(answer, timeoutMs, `client driver ${String(command.cmd)}`).finally(() =>
      waiting.delete(id),
    );
    if (result.ok === false && result.error) throw new Error(`client driver: ${String(result.error)}`);
    return result;
  };

  await call({ cmd: 'ping' }, 15_000);
  return {
    rate: async (port, durationMs, warmupMs, expect) =>
      (await call(
        { cmd: 'rate', host, port, durationMs, warmupMs, expect },
        durationMs + warmupMs + 15_000,
      )) as unknown as RateResult,
    probe: async (port, expect, options = {}) => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      return (await call(
        {
          cmd: 'probe',
          host,
          port,
          expect,
          timeoutMs,
          intervalMs: options.intervalMs ?? 5,
          attemptTimeoutMs: options.attemptTimeoutMs ?? 1_000,
        },
        timeoutMs + 10_000,
      )) as unknown as ProbeResult;
    },
    streamsStart: async (ports, intervalMs, stallMs) =>
      Number((await call({ cmd: 'streams-start', host, ports, intervalMs, stallMs }, 15_000)).connected ?? 0),
    streamsStop: async () =>
      ((await call({ cmd: 'streams-stop' }, 15_000)).streams ?? []) as unknown as StreamReport[],
    stop: async () => {
      child.stdin?.end();
      await within(child.exited, 5_000, 'client driver exit').catch(() => child.kill('SIGKILL'));
    },
  };
}

// --- The C generator and server (tools/conngen.c, tools/connserv.c) -----------------------------

const TOOLS_DIR = fileURLToPath(new URL('../tools/', import.meta.url));

/** The port connserv listens on in the destination (beside server.mjs on SERVER_PORT). */
export const CONNSERV_PORT = 7001;

export interface CTools {
  readonly conngen: string;
  readonly connserv: string;
}

/** Compiles conngen and connserv into `dir` (gcc -O2); never a committed binary. */
export async function buildCTools(dir: string): Promise<CTools> {
  const tools = { conngen: join(dir, 'conngen'), connserv: join(dir, 'connserv') };
  for (const [name, out] of Object.entries(tools)) {
    await run(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, join(TOOLS_DIR, `${name}.c`)], {
      timeoutMs: 120_000,
    });
  }
  return tools;
}

export interface ConnServer {
  readonly role: string;
  readonly pid: number | undefined;
  /** CPU time (user + system) of the server and its workers so far, in ms (from /proc). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

/** CPU ms of a process and its direct children, from /proc/PID/stat (utime + stime, in ticks). */
async function processTreeCpuMs(pid: number): Promise<number> {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const stat = async (p: number) => {
    const text = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(0) ppid(1) … utime(11) stime(12)
    return { ppid: Number(fields[1]), cpu: Number(fields[11] ?? 0) + Number(fields[12] ?? 0) };
  };
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  let ticks = (await stat(pid)).cpu;
  for (const child of children) ticks += (await stat(child)).cpu;
  return (ticks / ticksPerSecond) * 1000;
}

/**
 * Starts connserv in `role` (its name in replies) and waits until it listens. The topology's
 * destroy() ends it too; stop() ends it earlier.
 */
export async function startConnServer(
  topo: Topology,
  tools: CTools,
  role: string,
  workers: number,
): Promise<ConnServer> {
  // `ip netns exec` execs the program, so the child's pid is connserv's own.
  const child = topo.spawn(role, [
    tools.connserv,
    '--name',
    role,
    '--port',
    String(CONNSERV_PORT),
    '--workers',
    String(workers),
  ]);
  const ready = new Promise<void>((resolve, reject) => {
    jsonLines(child, (object) => {
      if (object.ready === true) resolve();
      else if (object.error) reject(new Error(`connserv ${role}: ${String(object.error)}`));
    });
    void child.exited.then((exit) =>
      reject(new Error(`connserv ${role} exited (${exit.code ?? exit.signal})`)),
    );
  });
  await within(ready, 15_000, `connserv in ${role} to listen`);
  return {
    role,
    pid: child.pid,
    cpuMs: () => (child.pid === undefined ? Promise.resolve(Number.NaN) : processTreeCpuMs(child.pid)),
    stop: async () => {
      await child.stop(3_000);
    },
  };
}

export interface GenRate {
  readonly workers: number;
  readonly concurrency: number;
  readonly connections: number;
  /** Connections completed in the warm-up and the window: what cpuMs paid for. */
  readonly connectionsAll: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly rate: number;
  /** The generator's CPU (workers, kernel work in their syscalls included), ms. */
  readonly cpuMs: number;
  readonly perSecond: readonly number[];
  readonly firstError?: string;
}

export interface GenBulk {
  readonly streams: number;
  readonly streamsUp: number;
  readonly bytes: number;
  readonly bytesPerSecond: number;
  readonly errors: number;
  readonly elapsedMs: number;
  readonly cpuMs: number;
  readonly perSecond: readonly number[];
  readonly firstError?: string;
}

export interface GenTarget {
  /** The namespace the generator runs in. */
  readonly from: string;
  readonly host: string;
  readonly port: number;
}

async function conngen(
  topo: Topology,
  tools: CTools,
  target: GenTarget,
  args: readonly string[],
): Promise<Json> {
  const argv = [tools.conngen, ...args, '--host', target.host, '--port', String(target.port)];
  const result = await topo.exec(target.from, argv, { timeoutMs: 700_000 });
  const value: unknown = JSON.parse(result.stdout);
  if (value === null || typeof value !== 'object') throw new Error(`conngen printed ${result.stdout}`);
  return value as Json;
}

/** New connections as fast as `workers` × `concurrency` in flight allow (see conngen.c). */
export async function genRate(
  topo: Topology,
  tools: CTools,
  target: GenTarget,
  options: { durationMs: number; warmupMs: number; workers: number; concurrency: number; expect: string },
): Promise<GenRate> {
  return (await conngen(topo, tools, target, [
    'rate',
    '--duration-ms',
    String(options.durationMs),
    '--warmup-ms',
    String(options.warmupMs),
    '--workers',
    String(options.workers),
    '--concurrency',
    String(options.concurrency),
    '--expect',
    options.expect,
  ])) as unknown as GenRate;
}

/** Bytes/s received over `streams` connections (see conngen.c). */
export async function genBulk(
  topo: Topology,
  tools: CTools,
  target: GenTarget,
  options: { durationMs: number; warmupMs: number; streams: number },
): Promise<GenBulk> {
  return (await conngen(topo, tools, target, [
    'bulk',
    '--duration-ms',
    String(options.durationMs),
    '--warmup-ms',
    String(options.warmupMs),
    '--streams',
    String(options.streams),
  ])) as unknown as GenBulk;
}

/** Short generator runs until one connection is answered by `expect` (or timeoutMs). */
export async function genProbe(
  topo: Topology,
  tools: CTools,
  target: GenTarget,
  expect: string,
  timeoutMs = 10_000,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const got = await genRate(topo, tools, target, {
      durationMs: 200,
      warmupMs: 0,
      workers: 1,
      concurrency: 1,
      expect,
    });
    if (got.connections > 0) return true;
  }
  return false;
}
