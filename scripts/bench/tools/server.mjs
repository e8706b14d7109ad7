#!/usr/bin/env node
/**
 * Benchmark destination server; plain JS, run inside a namespace:
 *   ip netns exec NS node server.mjs --name NAME --port PORT
 *
 * TCP on 0.0.0.0:PORT. A connection whose first line starts with `stream` stays open and every
 * line gets the reply `NAME <line>`; any other first line gets `NAME` and the server closes
 * (the server closes first, so TIME_WAIT stays on this side, not on the client generating load).
 * Prints {"ready":true,...} once listening; exits 0 on SIGTERM/SIGINT.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { name: { type: 'string', default: 'server' }, port: { type: 'string', default: '7000' } },
  strict: true,
});
const name = values.name;
const port = Number(values.port);

const server = net.createServer({ noDelay: true }, (socket) => {
  let buffer = '';
  let streaming = false;
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    if (newline < 0) return;
    if (!streaming && !buffer.startsWith('stream')) {
      socket.end(`${name}\n`);
      buffer = '';
      return;
    }
    streaming = true;
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      socket.write(`${name} ${line}\n`);
      newline = buffer.indexOf('\n');
    }
  });
});
server.on('error', (error) => {
  process.stdout.write(`${JSON.stringify({ error: error.message, code: error.code })}\n`);
  process.exit(1);
});
server.listen({ host: '0.0.0.0', port, backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, name, port, pid: process.pid })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
