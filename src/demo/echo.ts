/**
 * The demo's tiny network programs, run under `ip netns exec`:
 *   node echo.js serve NAME tcp:80,udp:53   answers and prints one JSON line per connection/datagram
 *   node echo.js tcp HOST PORT TEXT         prints the reply, or "error: refused|timeout|..."
 *   node echo.js udp HOST PORT TEXT
 */
import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';

const plain = (address: string): string => address.replace(/^::ffff:/, '');

function serve(name: string, spec: string): void {
  for (const item of spec.split(',')) {
    const [proto, portText] = item.split(':');
    const port = Number(portText);
    const record = (peer: string, text: string) =>
      process.stdout.write(
        `${JSON.stringify({ server: name, proto, port, peer: plain(peer), payload: text.trim() })}\n`,
      );
    if (proto === 'tcp') {
      createServer((socket) => {
        socket.once('data', (data) => {
          record(socket.remoteAddress ?? '?', data.toString());
          socket.end(
            `hello from ${name} (port ${port}); you came from ${plain(socket.remoteAddress ?? '?')}\n`,
          );
        });
        socket.on('error', () => socket.destroy());
      }).listen({ port, host: '::' });
    } else {
      const socket = createSocket({ type: 'udp6', ipv6Only: false });
      socket.on('message', (data, peer) => {
        record(peer.address, data.toString());
        socket.send(
          `hello from ${name} (udp ${port}); you came from ${plain(peer.address)}\n`,
          peer.port,
          peer.address,
        );
      });
      socket.bind(port, '::');
    }
  }
  process.stdout.write(`${JSON.stringify({ server: name, ready: true })}\n`);
}

function tcp(host: string, port: number, text: string): void {
  const socket = createConnection({ host, port, timeout: 3_000 });
  let reply = '';
  socket.on('connect', () => socket.write(`${text}\n`));
  socket.on('data', (data) => {
    reply += data.toString();
  });
  socket.on('end', () => console.log(reply.trim()));
  socket.on('timeout', () => {
    console.log('error: timeout');
    socket.destroy();
  });
  socket.on('error', (error: NodeJS.ErrnoException) =>
    console.log(`error: ${error.code === 'ECONNREFUSED' ? 'refused' : error.code}`),
  );
}

function udp(host: string, port: number, text: string): void {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const timer = setTimeout(() => {
    console.log('error: timeout');
    socket.close();
  }, 3_000);
  socket.on('message', (data) => {
    clearTimeout(timer);
    console.log(data.toString().trim());
    socket.close();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    console.log(`error: ${error.code === 'ECONNREFUSED' ? 'unreachable' : error.code}`);
    socket.close();
  });
  socket.connect(port, host, () => socket.send(`${text}\n`));
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'serve' && a && b) serve(a, b);
else if ((mode === 'tcp' || mode === 'udp') && a && b)
  (mode === 'tcp' ? tcp : udp)(a, Number(b), c ?? 'hello');
else {
  console.error('usage: echo.js serve NAME tcp:PORT,udp:PORT | tcp|udp HOST PORT [TEXT]');
  process.exitCode = 2;
}
