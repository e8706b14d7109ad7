#!/usr/bin/env node
/**
 * Benchmark traffic driver; plain JS, one long-lived process inside the client namespace:
 *   ip netns exec NS node client.mjs
 *
 * Reads one JSON command per stdin line and answers with one JSON line carrying the same `id`:
 *
 *   {"id":1,"cmd":"rate","host":H,"port":P,"durationMs":D,"warmupMs":W,"expect":NAME}
 *     Sequential TCP connections (connect, send a line, read the reply, see the server close,
 *     close) for W + D ms; counts those inside the last D ms whose reply is from NAME.
 *     -> {"id":1,"ok":true,"connections":N,"errors":E,"elapsedMs":T,"rate":N/T*1000,"firstError":…}
 *
 *   {"id":2,"cmd":"probe","host":H,"port":P,"expect":NAME,"timeoutMs":T,"intervalMs":I,"attemptTimeoutMs":A}
 *     A new connection every I ms (each with its own A ms timeout, at most 128 in flight) until
 *     one is answered by NAME. -> {"id":2,"ok":true,"at":<epoch ms of that reply>,"attempts":…,
 *     "failures":…,"others":<replies from another server>}; ok false after T ms.
 *
 *   {"id":3,"cmd":"streams-start","host":H,"ports":[…],"intervalMs":50,"stallMs":1000}
 *     One long-lived connection per port exchanging a line every intervalMs (a line is only sent
 *     once the previous reply arrived). -> {"id":3,"ok":true,"connected":N}
 *   {"id":4,"cmd":"streams-stop"}
 *     -> {"id":4,"ok":true,"streams":[{port,exchanges,maxRttMs,maxGapMs,stalls,error,…}]}
 *        stalls: waits longer than stallMs for a reply; error: reset/closed/… if it broke.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

const now = () => performance.timeOrigin + performance.now();

function reply(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

/** One request: resolves {ok, name} or {ok:false, error}. */
function request(host, port, timeoutMs) {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const socket = net.connect({ host, port, noDelay: true });
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('x\n'));
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () =>
      finish(data ? { ok: true, name: data.trim().split(/\s+/)[0] } : { ok: false, error: 'closed' }),
    );
    socket.on('error', (error) => finish({ ok: false, error: error.code ?? error.message }));
  });
}

async function rate({ host, port, durationMs, warmupMs = 0, expect }) {
  const start = now();
  const end = start + warmupMs + durationMs;
  let measuring = warmupMs <= 0;
  let measureStart = start;
  let connections = 0;
  let errors = 0;
  let firstError;
  for (;;) {
    const t = now();
    if (t >= end) break;
    if (!measuring && t >= start + warmupMs) {
      measuring = true;
      measureStart = t;
      connections = 0;
      errors = 0;
    }
    const result = await request(host, port, 2_000);
    if (result.ok && (!expect || result.name === expect)) connections += 1;
    else {
      errors += 1;
      firstError ??= result.ok ? `reply from ${result.name}` : result.error;
    }
  }
  const elapsedMs = now() - measureStart;
  return { ok: true, connections, errors, elapsedMs, rate: (connections / elapsedMs) * 1000, firstError };
}

function probe({ host, port, expect, timeoutMs = 10_000, intervalMs = 5, attemptTimeoutMs = 1_000 }) {
  return new Promise((resolve) => {
    const started = now();
    let attempts = 0;
    let failures = 0;
    let others = 0;
    let inFlight = 0;
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      resolve({ ...result, attempts, failures, others, waitedMs: now() - started });
    };
    const attempt = () => {
      if (done || inFlight >= 128) return;
      if (now() - started > timeoutMs) {
        finish({ ok: false });
        return;
      }
      attempts += 1;
      inFlight += 1;
      void request(host, port, attemptTimeoutMs).then((result) => {
        inFlight -= 1;
        if (result.ok && result.name === expect) finish({ ok: true, at: now() });
        else if (result.ok) others += 1;
        else failures += 1;
      });
    };
    const ticker = setInterval(attempt, intervalMs);
    attempt();
  });
}

let streams = [];
let streamTimer;

function streamsStart({ host, ports, intervalMs = 50, stallMs = 1_000 }) {
  return new Promise((resolve) => {
    let pending = ports.length;
    const connected = () => {
      pending -= 1;
      if (pending === 0) resolve({ ok: true, connected: streams.filter((s) => s.connected).length });
    };
    streams = ports.map((port) => {
      const state = {
        port,
        connected: false,
        exchanges: 0,
        maxRttMs: 0,
        maxGapMs: 0,
        stalls: 0,
        error: undefined,
        names: new Set(),
        waiting: false,
        stalled: false,
        sentAt: 0,
        lastReplyAt: 0,
        next: 0,
        buffer: '',
      };
      const socket = net.connect({ host, port, noDelay: true });
      state.socket = socket;
      const connectTimer = setTimeout(() => {
        if (!state.connected) {
          state.error = 'connect-timeout';
          socket.destroy();
          connected();
        }
      }, 5_000);
      socket.setEncoding('utf8');
      socket.on('connect', () => {
        clearTimeout(connectTimer);
        state.connected = true;
        state.lastReplyAt = now();
        connected();
      });
      socket.on('data', (chunk) => {
        state.buffer += chunk;
        let newline = state.buffer.indexOf('\n');
        while (newline >= 0) {
          const line = state.buffer.slice(0, newline);
          state.buffer = state.buffer.slice(newline + 1);
          const t = now();
          state.names.add(line.split(' ')[0]);
          state.exchanges += 1;
          state.maxRttMs = Math.max(state.maxRttMs, t - state.sentAt);
          state.maxGapMs = Math.max(state.maxGapMs, t - state.lastReplyAt);
          state.lastReplyAt = t;
          state.waiting = false;
          state.stalled = false;
          newline = state.buffer.indexOf('\n');
        }
      });
      socket.on('end', () => {
        state.error ??= 'closed';
      });
      socket.on('error', (error) => {
        state.error ??= error.code === 'ECONNRESET' ? 'reset' : (error.code ?? error.message);
        if (!state.connected) {
          clearTimeout(connectTimer);
          connected();
        }
      });
      return state;
    });
    let lastTick = 0;
    streamTimer = setInterval(() => {
      const t = now();
      const send = t - lastTick >= intervalMs;
      if (send) lastTick = t;
      for (const state of streams) {
        if (!state.connected || state.error) continue;
        if (state.waiting) {
          if (!state.stalled && t - state.sentAt > stallMs) {
            state.stalled = true;
            state.stalls += 1;
          }
        } else if (send) {
          state.waiting = true;
          state.sentAt = t;
          state.socket.write(`stream ${state.next}\n`);
          state.next += 1;
        }
      }
    }, 10);
  });
}

function streamsStop() {
  clearInterval(streamTimer);
  const t = now();
  const report = streams.map((state) => {
    // A reply still outstanding at the end counts if it is already overdue.
    const openWaitMs = state.waiting ? t - state.sentAt : 0;
    state.socket.destroy();
    return {
      port: state.port,
      connected: state.connected,
      exchanges: state.exchanges,
      maxRttMs: Math.max(state.maxRttMs, openWaitMs),
      maxGapMs: Math.max(state.maxGapMs, t - state.lastReplyAt),
      stalls: state.stalls,
      error: state.error ?? null,
      servers: [...state.names],
    };
  });
  streams = [];
  return { ok: true, streams: report };
}

const handlers = {
  ping: async () => ({ ok: true }),
  rate,
  probe,
  'streams-start': streamsStart,
  'streams-stop': async () => streamsStop(),
};

createInterface({ input: process.stdin }).on('line', (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    reply({ ok: false, error: `not JSON: ${line}` });
    return;
  }
  const handler = handlers[command.cmd];
  if (!handler) {
    reply({ id: command.id, ok: false, error: `unknown command ${command.cmd}` });
    return;
  }
  handler(command).then(
    (result) => reply({ id: command.id, ...result }),
    (error) => reply({ id: command.id, ok: false, error: error.message }),
  );
});
process.stdin.on('end', () => process.exit(0));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
