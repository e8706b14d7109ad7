/**
 * Traffic for the benchmarks: tools/server.mjs in the destination namespaces and one long-lived
 * tools/client.mjs in the client namespace, driven over its stdin/stdout (JSON lines).
 */
import { fileURLToPath } from 'node:url';
import { type Child, NODE, readLines, spawnChild, type Topology, within } from '../../../src/netkit/index.js';

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
