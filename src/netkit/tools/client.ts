/**
 * The kit's test client, run inside a namespace from dist/ (see traffic.ts):
 *   ip netns exec NS node client.js tcp  --host H --port P [--payload X] [--timeout MS] [--source ADDR]
 *   ip netns exec NS node client.js udp  --host H --port P [--payload X] [--timeout MS] [--source ADDR]
 *   ip netns exec NS node client.js long --host H --port P [--interval MS] [--reply-timeout MS]
 *                                         [--timeout MS] [--max-ms MS] [--source ADDR]
 *
 * tcp/udp print exactly one JSON line and exit 0:
 *   {"ok":true,"reply":"name=… peer=… port=… payload=…","bytes":N,"complete":true|false}
 *     (`complete`: the server closed the connection after its reply; false when the timeout cut a
 *     reply short, e.g. a bulk download that stalled)
 *   {"ok":false,"error":E,"code":errno,"message":…}, E one of
 *     tcp: refused (RST, or ICMP port unreachable) | timeout (no answer to the SYN) |
 *          no-reply (connected, no reply in time) | closed (closed without a reply) |
 *          reset (RST after connecting) | host-unreachable (EHOSTUNREACH/ENETUNREACH) | error
 *     udp: unreachable (ICMP port unreachable: ECONNREFUSED on the connected socket) |
 *          timeout | host-unreachable | error
 *
 * long keeps one TCP connection open, sending `stream <n>` and waiting for its reply, one line per
 * interval. JSON lines: {"event":"connected",…}, {"event":"exchange","n":…} per reply,
 * {"event":"broken","error":…} once, and {"event":"summary",…} on SIGTERM/SIGINT, on --max-ms, or
 * when the connection could not be established; then it exits 0.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    payload: { type: 'string', default: 'hello' },
    timeout: { type: 'string', default: '3000' },
    source: { type: 'string' },
    interval: { type: 'string', default: '100' },
    'reply-timeout': { type: 'string', default: '2000' },
    'max-ms': { type: 'string', default: '600000' },
  },
  strict: true,
});

const mode = positionals[0];
const host = values.host ?? '';
const port = Number(values.port);
const timeoutMs = Number(values.timeout);

type Json = Record<string, unknown>;

function emit(object: Json): void {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

function done(object: Json): never {
  emit(object);
  process.exit(0);
}

function classifyTcp(code: string | undefined, connected: boolean): string {
  switch (code) {
    case 'ECONNREFUSED':
      return connected ? 'reset' : 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ETIMEDOUT':
      return connected ? 'no-reply' : 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return 'host-unreachable';
    default:
      return 'error';
  }
}

function classifyUdp(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'unreachable';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return 'host-unreachable';
    default:
      return 'error';
  }
}

function tcpRequest(): void {
  let connected = false;
  let data = '';
  const socket = net.connect({ host, port, ...(values.source ? { localAddress: values.source } : {}) });
  const ok = (complete: boolean) => ({
    ok: true,
    reply: data.trimEnd(),
    bytes: Buffer.byteLength(data),
    complete,
  });
  const finish = (result: Json): never => {
    socket.destroy();
    return done(result);
  };
  setTimeout(() => {
    if (data.includes('\n')) finish(ok(false));
    finish({ ok: false, error: connected ? 'no-reply' : 'timeout', code: 'ETIMEDOUT', message: 'timed out' });
  }, timeoutMs);
  socket.setEncoding('utf8');
  socket.on('connect', () => {
    connected = true;
    socket.write(`${values.payload}\n`);
  });
  socket.on('data', (chunk: string) => {
    data += chunk;
  });
  socket.on('end', () => {
    if (data !== '') finish(ok(true));
    finish({ ok: false, error: 'closed', code: 'EOF', message: 'closed without a reply' });
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (data.includes('\n')) finish(ok(false));
    finish({
      ok: false,
      error: classifyTcp(error.code, connected),
      code: error.code,
      message: error.message,
    });
  });
}

function udpRequest(): void {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const finish = (result: Json): never => {
    socket.close();
    return done(result);
  };
  setTimeout(
    () => finish({ ok: false, error: 'timeout', code: 'ETIMEDOUT', message: 'no reply' }),
    timeoutMs,
  );
  socket.on('error', (error: NodeJS.ErrnoException) =>
    finish({ ok: false, error: classifyUdp(error.code), code: error.code, message: error.message }),
  );
  socket.on('message', (message) => {
    const reply = message.toString('utf8');
    finish({ ok: true, reply: reply.trimEnd(), bytes: message.length, complete: true });
  });
  const send = () =>
    socket.connect(port, host, () => {
      socket.send(values.payload, (error) => {
        if (error) socket.emit('error', error);
      });
    });
  if (values.source) socket.bind({ address: values.source, port: 0 }, send);
  else send();
}

function longLived(): void {
  const intervalMs = Number(values.interval);
  const replyTimeoutMs = Number(values['reply-timeout']);
  const started = Date.now();
  let connected = false;
  let broke = false;
  let error: string | undefined;
  let exchanges = 0;
  let next = 0;
  let sentAt = 0;
  let waiting = false;
  let maxRttMs = 0;
  let buffer = '';
  let firstReply: string | undefined;
  const socket = net.connect({ host, port, ...(values.source ? { localAddress: values.source } : {}) });

  const summary = (): never => {
    socket.destroy();
    return done({
      event: 'summary',
      connected,
      exchanges,
      broke,
      error,
      maxRttMs,
      durationMs: Date.now() - started,
      firstReply,
    });
  };
  const breakWith = (reason: string, code: string | undefined) => {
    if (broke) return;
    broke = true;
    error = reason;
    emit({ event: 'broken', error: reason, code, exchanges });
    socket.destroy();
    if (!connected) summary();
  };

  const connectTimer = setTimeout(() => {
    if (!connected) breakWith('timeout', 'ETIMEDOUT');
  }, timeoutMs);
  setTimeout(summary, Number(values['max-ms']));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, summary);

  const tick = () => {
    if (broke) return;
    if (waiting) {
      if (Date.now() - sentAt > replyTimeoutMs) breakWith('no-reply', 'ETIMEDOUT');
      return;
    }
    waiting = true;
    sentAt = Date.now();
    socket.write(`stream ${next}\n`);
    next += 1;
  };

  socket.setEncoding('utf8');
  socket.on('connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    emit({ event: 'connected', localAddress: socket.localAddress, localPort: socket.localPort });
    tick();
    setInterval(tick, intervalMs);
  });
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (firstReply === undefined) firstReply = line;
      exchanges += 1;
      waiting = false;
      maxRttMs = Math.max(maxRttMs, Date.now() - sentAt);
      emit({ event: 'exchange', n: exchanges });
      newline = buffer.indexOf('\n');
    }
  });
  socket.on('end', () => breakWith('closed', 'EOF'));
  socket.on('error', (failure: NodeJS.ErrnoException) =>
    breakWith(classifyTcp(failure.code, connected), failure.code),
  );
}

if (!net.isIP(host) || !Number.isInteger(port) || port < 1 || port > 65535 || !(timeoutMs > 0)) {
  done({
    ok: false,
    error: 'error',
    code: 'EINVAL',
    message: `bad arguments: ${process.argv.slice(2).join(' ')}`,
  });
} else if (mode === 'tcp') tcpRequest();
else if (mode === 'udp') udpRequest();
else if (mode === 'long') longLived();
else done({ ok: false, error: 'error', code: 'EINVAL', message: `unknown mode ${mode}` });
