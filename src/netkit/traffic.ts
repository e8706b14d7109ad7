/**
 * Traffic in a topology. Everything runs inside a topology namespace through `ip netns exec` (a
 * Node process cannot switch its own namespace): the kit's tools (tools/server.ts and
 * tools/client.ts, run from dist/) and tcpdump.
 *
 * API
 * - `startServer(topo, ns, name, { tcp, udp, bind })` → `ServerHandle`: listens, reports every
 *   connection and datagram with the peer address it saw (`seen()`, `waitFor(predicate)`), and
 *   answers `name=<name> peer=<peer> port=<port> payload=<payload>`; `bulk <N>` as the payload
 *   gets N bytes more (a download that needs full-sized segments).
 * - `tcpRequest(topo, ns, host, port, payload?, timeoutMs?, { source })`,
 *   `udpRequest(…)` → `RequestResult`: the reply (parsed) or why there was none
 *   (refused / timeout / no-reply / unreachable / …).
 * - `longLivedTcp(topo, ns, host, port, options)` → a connection exchanging a line every
 *   interval; tells whether it ever broke (reloads must not break established flows).
 * - `capture(topo, ns, iface, filter, fn, { until })`: tcpdump lines while `fn` runs.
 */
import { builtFile } from './dist.js';
import { type Child, NODE, readLines, within } from './process.js';
import type { Topology } from './topology.js';

const SERVER_SCRIPT = (): string => builtFile('netkit/tools/server.js');
const CLIENT_SCRIPT = (): string => builtFile('netkit/tools/client.js');
/** Head room for `ip netns exec` plus a Node start on top of a client's own timeout. */
const CLIENT_MARGIN_MS = 10_000;

export interface ServerRecord {
  readonly proto: 'tcp' | 'udp';
  readonly name: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** IPv4 peers of a dual-stack socket are reported as plain IPv4. */
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly payload: string;
}

export interface ServerPorts {
  readonly tcp?: readonly number[];
  readonly udp?: readonly number[];
  /** Addresses to listen on (default `::`, dual-stack). */
  readonly bind?: readonly string[];
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface ServerHandle {
  readonly name: string;
  readonly ns: string;
  readonly pid: number | undefined;
  readonly tcp: readonly Endpoint[];
  readonly udp: readonly Endpoint[];
  /** Records so far (a copy). */
  seen(): ServerRecord[];
  /** The first record (already seen or arriving) that matches; rejects after timeoutMs. */
  waitFor(predicate: (record: ServerRecord) => boolean, timeoutMs?: number): Promise<ServerRecord>;
  stop(): Promise<void>;
}

export interface ParsedReply {
  readonly name: string;
  readonly peer: string;
  readonly port: number;
  readonly payload: string;
}

export type TcpError = 'refused' | 'timeout' | 'no-reply' | 'closed' | 'reset' | 'host-unreachable' | 'error';
export type UdpError = 'unreachable' | 'timeout' | 'host-unreachable' | 'error';

export type RequestResult<E extends string> =
  | {
      readonly ok: true;
      readonly reply: string;
      readonly parsed: ParsedReply | undefined;
      /** Bytes received. */
      readonly bytes: number;
      /** The server closed after its reply (false: the timeout cut it short). */
      readonly complete: boolean;
    }
  | { readonly ok: false; readonly error: E; readonly code?: string; readonly message?: string };

export interface RequestOptions {
  /** Source address to bind. */
  readonly source?: string;
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  // A SIGTERM not obeyed is followed by SIGKILL (spawnChild's forceKillAfterMs).
  child.kill(signal);
  await within(child.exited, 10_000, () => new Error(`process ${child.pid} did not exit`));
}

/** `name=<name> peer=<addr> port=<port> payload=<payload>` as an object. */
export function parseReply(reply: string): ParsedReply | undefined {
  const match = /^name=(\S*) peer=(\S*) port=(\d+) payload=(.*)$/.exec(reply.split('\n')[0] ?? '');
  if (!match) return undefined;
  return { name: match[1] ?? '', peer: match[2] ?? '', port: Number(match[3]), payload: match[4] ?? '' };
}

/**
 * Starts the kit server in `ns` listening on the given ports and resolves once it reports ready.
 * destroy() of the topology also stops it.
 */
export async function startServer(
  topo: Topology,
  ns: string,
  name: string,
  ports: ServerPorts,
  options: { readyTimeoutMs?: number } = {},
): Promise<ServerHandle> {
  const args = [SERVER_SCRIPT(), '--name', name];
  for (const port of ports.tcp ?? []) args.push('--tcp', String(port));
  for (const port of ports.udp ?? []) args.push('--udp', String(port));
  for (const address of ports.bind ?? []) args.push('--bind', address);
  const child = topo.spawn(ns, [NODE, ...args]);

  const records: ServerRecord[] = [];
  const waiters = new Set<(record: ServerRecord) => void>();
  let stderr = '';
  let onReady: (value: Record<string, unknown>) => void = () => {};
  let onFail: (error: Error) => void = () => {};
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });

  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const closed = readLines(child.stdout, (line) => {
    const object = parseJson(line);
    if (!object) return;
    if (object.ready === true) onReady(object);
    else if (typeof object.error === 'string') onFail(new Error(`server ${name}: ${object.error}`));
    else if (object.proto === 'tcp' || object.proto === 'udp') {
      const record = object as unknown as ServerRecord;
      records.push(record);
      for (const waiter of [...waiters]) waiter(record);
    }
  });
  void closed.then(() => onFail(new Error(`server ${name} exited before it was ready: ${stderr.trim()}`)));

  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  let info: Record<string, unknown>;
  try {
    info = await within(
      ready,
      readyTimeoutMs,
      () => new Error(`server ${name} not ready after ${readyTimeoutMs} ms`),
    );
  } catch (error) {
    await stopChild(child, 'SIGKILL').catch(() => {});
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    name,
    ns: topo.resolve(ns),
    pid: child.pid,
    tcp: (info.tcp ?? []) as Endpoint[],
    udp: (info.udp ?? []) as Endpoint[],
    seen: () => [...records],
    waitFor: (predicate, timeoutMs = 5_000) => {
      const found = records.find(predicate);
      if (found) return Promise.resolve(found);
      let waiter: ((record: ServerRecord) => void) | undefined;
      const match = new Promise<ServerRecord>((resolve) => {
        waiter = (record) => {
          if (predicate(record)) resolve(record);
        };
        waiters.add(waiter);
      });
      return within(
        match,
        timeoutMs,
        () =>
          new Error(
            `server ${name}: no matching record after ${timeoutMs} ms; seen ${JSON.stringify(records)}`,
          ),
      ).finally(() => {
        if (waiter) waiters.delete(waiter);
      });
    },
    stop: () => {
      stopping ??= stopChild(child);
      return stopping;
    },
  };
}

async function runClient<E extends string>(
  topo: Topology,
  ns: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<RequestResult<E>> {
  const result = await topo.exec(ns, [NODE, CLIENT_SCRIPT(), ...args, '--timeout', String(timeoutMs)], {
    reject: false,
    timeoutMs: timeoutMs + CLIENT_MARGIN_MS,
  });
  const lines = result.stdout.trim().split('\n');
  const object = parseJson(lines[lines.length - 1] ?? '');
  if (!object || typeof object.ok !== 'boolean') {
    const why = result.timedOut ? 'client timed out' : result.stderr.trim() || `exit ${result.exitCode}`;
    return { ok: false, error: 'error' as E, message: why };
  }
  if (object.ok) {
    const reply = String(object.reply ?? '');
    return {
      ok: true,
      reply,
      parsed: parseReply(reply),
      bytes: Number(object.bytes ?? reply.length),
      complete: object.complete !== false,
    };
  }
  return {
    ok: false,
    error: String(object.error) as E,
    code: typeof object.code === 'string' ? object.code : undefined,
    message: typeof object.message === 'string' ? object.message : undefined,
  };
}

/**
 * One TCP request from `ns`: connect, send `payload` + newline, read the reply until the server
 * closes. A refusal (RST) is `refused`; no answer to the SYN within timeoutMs is `timeout`.
 */
export function tcpRequest(
  topo: Topology,
  ns: string,
  host: string,
  port: number,
  payload = 'hello',
  timeoutMs = 3_000,
  options: RequestOptions = {},
): Promise<RequestResult<TcpError>> {
  const args = ['tcp', '--host', host, '--port', String(port), '--payload', payload];
  if (options.source) args.push('--source', options.source);
  return runClient<TcpError>(topo, ns, args, timeoutMs);
}

/**
 * One UDP datagram from `ns` on a connected socket and the first reply. An ICMP port
 * unreachable is `unreachable` (ECONNREFUSED on the connected socket); silence is `timeout`.
 */
export function udpRequest(
  topo: Topology,
  ns: string,
  host: string,
  port: number,
  payload = 'hello',
  timeoutMs = 3_000,
  options: RequestOptions = {},
): Promise<RequestResult<UdpError>> {
  const args = ['udp', '--host', host, '--port', String(port), '--payload', payload];
  if (options.source) args.push('--source', options.source);
  return runClient<UdpError>(topo, ns, args, timeoutMs);
}

export interface LongLivedOptions extends RequestOptions {
  /** Between exchanges (default 100 ms). */
  readonly intervalMs?: number;
  /** A reply later than this counts as a break (default 2000 ms). */
  readonly replyTimeoutMs?: number;
  /** For the TCP handshake (default 3000 ms). */
  readonly connectTimeoutMs?: number;
  /** The client stops by itself after this (default 600000 ms). */
  readonly maxMs?: number;
}

export interface LongLivedSummary {
  readonly connected: boolean;
  readonly exchanges: number;
  readonly broke: boolean;
  /** Why it broke: closed | reset | no-reply | timeout | host-unreachable | refused | error. */
  readonly error?: string;
  readonly maxRttMs: number;
  readonly durationMs: number;
  readonly firstReply?: string;
}

export interface LongLivedHandle {
  /** Replies received so far. */
  exchanges(): number;
  /** The break, once one happened. */
  broken(): { error: string; code?: string } | undefined;
  /** Resolves once at least n replies arrived; rejects on a break or after timeoutMs. */
  waitForExchanges(n: number, timeoutMs?: number): Promise<void>;
  /** Stops the client and returns its summary. */
  stop(): Promise<LongLivedSummary>;
}

/**
 * A TCP connection from `ns` that exchanges one line every intervalMs with a kit server (which
 * keeps `stream` connections open), reporting whether it ever broke. Resolves once connected;
 * rejects if the connection cannot be established.
 */
export async function longLivedTcp(
  topo: Topology,
  ns: string,
  host: string,
  port: number,
  options: LongLivedOptions = {},
): Promise<LongLivedHandle> {
  const args = [CLIENT_SCRIPT(), 'long', '--host', host, '--port', String(port)];
  args.push('--interval', String(options.intervalMs ?? 100));
  args.push('--reply-timeout', String(options.replyTimeoutMs ?? 2_000));
  args.push('--timeout', String(options.connectTimeoutMs ?? 3_000));
  args.push('--max-ms', String(options.maxMs ?? 600_000));
  if (options.source) args.push('--source', options.source);
  const child = topo.spawn(ns, [NODE, ...args]);

  let count = 0;
  let broke: { error: string; code?: string } | undefined;
  let summary: LongLivedSummary | undefined;
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  let onConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    onConnected = resolve;
  });

  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const closed = readLines(child.stdout, (line) => {
    const object = parseJson(line);
    if (!object) return;
    if (object.event === 'connected') onConnected();
    else if (object.event === 'exchange') count = Number(object.n);
    else if (object.event === 'broken') {
      broke = {
        error: String(object.error),
        code: typeof object.code === 'string' ? object.code : undefined,
      };
    } else if (object.event === 'summary') summary = object as unknown as LongLivedSummary;
    notify();
  });

  const connectBound = (options.connectTimeoutMs ?? 3_000) + CLIENT_MARGIN_MS;
  await within(
    Promise.race([connected, closed]),
    connectBound,
    () => new Error(`longLivedTcp ${host} ${port}: no connection after ${connectBound} ms`),
  ).catch(async (error: unknown) => {
    await stopChild(child, 'SIGKILL').catch(() => {});
    throw error;
  });
  if (broke && count === 0 && summary && !summary.connected) {
    await stopChild(child).catch(() => {});
    throw new Error(`longLivedTcp ${host} ${port}: could not connect: ${broke.error} ${stderr.trim()}`);
  }

  let stopping: Promise<LongLivedSummary> | undefined;
  return {
    exchanges: () => count,
    broken: () => broke,
    waitForExchanges: (n, timeoutMs = 5_000) => {
      let listener: (() => void) | undefined;
      const reached = new Promise<void>((resolve, reject) => {
        listener = () => {
          if (count >= n) resolve();
          else if (broke) reject(new Error(`longLivedTcp broke (${broke.error}) after ${count} exchanges`));
        };
        listeners.add(listener);
        listener();
      });
      return within(
        reached,
        timeoutMs,
        () => new Error(`longLivedTcp: ${count} of ${n} exchanges after ${timeoutMs} ms`),
      ).finally(() => {
        if (listener) listeners.delete(listener);
      });
    },
    stop: () => {
      stopping ??= (async () => {
        await stopChild(child);
        await closed;
        if (!summary) throw new Error(`longLivedTcp: no summary from the client; stderr: ${stderr.trim()}`);
        return summary;
      })();
      return stopping;
    },
  };
}

export interface CaptureOptions {
  /** After fn, keep capturing until this holds for the lines (bounded by untilTimeoutMs). */
  readonly until?: (lines: readonly string[]) => boolean;
  readonly untilTimeoutMs?: number;
  readonly readyTimeoutMs?: number;
}

/**
 * Runs `tcpdump -n -l --immediate-mode -i iface filter` in `ns` while `fn` runs and returns the
 * printed packet lines. fn starts only after tcpdump reports `listening on`.
 */
export async function capture(
  topo: Topology,
  ns: string,
  iface: string,
  filter: string | readonly string[],
  fn: () => Promise<unknown>,
  options: CaptureOptions = {},
): Promise<string[]> {
  const expression = typeof filter === 'string' ? (filter.trim() === '' ? [] : [filter]) : [...filter];
  const child = topo.spawn(ns, ['tcpdump', '-n', '-l', '--immediate-mode', '-i', iface, ...expression]);
  const lines: string[] = [];
  const changed = new Set<() => void>();
  let stderr = '';
  let onListening: () => void = () => {};
  const listening = new Promise<void>((resolve) => {
    onListening = resolve;
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.includes('listening on')) onListening();
  });
  const closed = readLines(child.stdout, (line) => {
    lines.push(line);
    for (const listener of [...changed]) listener();
  });

  try {
    const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    await within(
      Promise.race([listening, child.exited.then(() => Promise.reject(new Error('tcpdump exited')))]),
      readyTimeoutMs,
      () => new Error(`tcpdump not listening after ${readyTimeoutMs} ms`),
    ).catch((error: unknown) => {
      throw new Error(`capture on ${iface}: ${(error as Error).message}: ${stderr.trim()}`);
    });
    await fn();
    const until = options.until;
    if (until) {
      let listener: (() => void) | undefined;
      const satisfied = new Promise<void>((resolve) => {
        listener = () => {
          if (until(lines)) resolve();
        };
        changed.add(listener);
        listener();
      });
      await within(satisfied, options.untilTimeoutMs ?? 5_000, () => new Error('until')).catch(() => {});
      if (listener) changed.delete(listener);
    }
  } finally {
    await stopChild(child, 'SIGINT').catch(() => {});
    await closed;
  }
  return lines;
}
