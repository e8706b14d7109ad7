/**
 * The kit's test server, run inside a namespace from dist/ (see traffic.ts):
 *   ip netns exec NS node dist/netkit/tools/server.js --name NAME [--tcp PORT]... [--udp PORT]... [--bind ADDR]...
 *
 * Ports may also be given as comma lists (`--tcp 80,8080`). `--bind` defaults to `::`
 * (dual-stack: IPv4 peers arrive as `::ffff:a.b.c.d`, reported here as plain `a.b.c.d`).
 *
 * stdout, one JSON object per line:
 *   {"ready":true,"name":…,"pid":…,"tcp":[{address,port}],"udp":[{address,port}]} once everything listens;
 *   {"proto":"tcp"|"udp","name":…,"localAddress":…,"localPort":…,"peerAddress":…,"peerPort":…,"payload":…}
 *     for each TCP connection (its first line) and each UDP datagram;
 *   {"error":…,"code":…} before exiting 1 when a port cannot be opened.
 *
 * Reply (TCP and UDP): `name=<name> peer=<peer address> port=<local port> payload=<payload>`.
 * TCP: the payload is the first line of the first data received (or everything up to the peer's
 * half-close); the server replies and closes. A first line starting with `stream` keeps the
 * connection open instead: every further line gets its own reply (the long-lived client). A first
 * line `bulk <N>` gets the reply line followed by N bytes of filler and a newline (a download
 * big enough to need full-sized segments, for MTU tests).
 * UDP: `localAddress` is the bound address (Node cannot read the datagram's destination address).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'server' },
    tcp: { type: 'string', multiple: true, default: [] },
    udp: { type: 'string', multiple: true, default: [] },
    bind: { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});

const name = values.name;
const binds = values.bind.length > 0 ? values.bind : ['::'];
const MAX_BULK = 64 * 1024 * 1024;

interface Bound {
  readonly address: string;
  readonly port: number;
}

function emit(object: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

function fail(message: string, code: string | undefined): never {
  emit({ error: message, code });
  process.exit(1);
}

function ports(list: readonly string[]): number[] {
  return list
    .flatMap((item) => item.split(','))
    .filter((item) => item !== '')
    .map((item) => {
      const port = Number(item);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${item}`, 'EINVAL');
      return port;
    });
}

/** IPv4-mapped IPv6 (from a dual-stack socket) as plain IPv4. */
function plain(address: string | undefined): string {
  if (typeof address !== 'string') return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function replyText(peer: string, localPort: number | undefined, payload: string): string {
  return `name=${name} peer=${peer} port=${localPort} payload=${payload}\n`;
}

function firstLine(text: string): string {
  const newline = text.indexOf('\n');
  return (newline < 0 ? text : text.slice(0, newline)).replace(/\r$/, '');
}

function tcpReply(peer: string, localPort: number | undefined, payload: string): string {
  const bulk = /^bulk (\d+)$/.exec(payload);
  const size = bulk ? Math.min(Number(bulk[1]), MAX_BULK) : 0;
  return `${replyText(peer, localPort, payload)}${size > 0 ? `${'x'.repeat(size)}\n` : ''}`;
}

function onTcpConnection(socket: net.Socket): void {
  const localAddress = plain(socket.localAddress);
  const localPort = socket.localPort;
  const peerAddress = plain(socket.remoteAddress);
  const peerPort = socket.remotePort;
  let buffer = '';
  let answered = false;
  let streaming = false;
  socket.setEncoding('utf8');
  socket.on('error', () => {});

  const record = (payload: string) =>
    emit({ proto: 'tcp', name, localAddress, localPort, peerAddress, peerPort, payload });

  const streamLines = () => {
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      socket.write(replyText(peerAddress, localPort, line));
      newline = buffer.indexOf('\n');
    }
  };

  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (streaming) {
      streamLines();
      return;
    }
    if (answered) return;
    answered = true;
    const payload = firstLine(buffer);
    record(payload);
    if (payload.startsWith('stream')) {
      streaming = true;
      streamLines();
      return;
    }
    socket.end(tcpReply(peerAddress, localPort, payload));
  });

  socket.on('end', () => {
    if (!answered) {
      answered = true;
      const payload = firstLine(buffer);
      record(payload);
      socket.end(tcpReply(peerAddress, localPort, payload));
      return;
    }
    socket.end();
  });
}

function listenTcp(address: string, port: number): Promise<Bound> {
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, onTcpConnection);
    server.once('error', (error: NodeJS.ErrnoException) =>
      fail(`tcp ${address} ${port}: ${error.message}`, error.code),
    );
    server.listen({ host: address, port, ipv6Only: false }, () => {
      const bound = server.address() as net.AddressInfo;
      resolve({ address: bound.address, port: bound.port });
    });
  });
}

function listenUdp(address: string, port: number): Promise<Bound> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4', ipv6Only: false });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      fail(`udp ${address} ${port}: ${error.message}`, error.code),
    );
    socket.on('message', (message, remote) => {
      const bound = socket.address();
      const peerAddress = plain(remote.address);
      const payload = firstLine(message.toString('utf8'));
      emit({
        proto: 'udp',
        name,
        localAddress: plain(bound.address),
        localPort: bound.port,
        peerAddress,
        peerPort: remote.port,
        payload,
      });
      socket.send(replyText(peerAddress, bound.port, payload), remote.port, remote.address);
    });
    socket.bind({ address, port }, () => {
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      const bound = socket.address();
      resolve({ address: bound.address, port: bound.port });
    });
  });
}

const tcp: Bound[] = [];
const udp: Bound[] = [];
for (const address of binds) {
  for (const port of ports(values.tcp)) tcp.push(await listenTcp(address, port));
  for (const port of ports(values.udp)) udp.push(await listenUdp(address, port));
}
emit({ ready: true, name, pid: process.pid, tcp, udp });

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
