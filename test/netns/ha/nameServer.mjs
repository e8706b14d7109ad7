// Answers every TCP connection on the given port with its own name, then closes it: which
// router pod answered a client. Usage: node nameServer.mjs NAME PORT
import { createServer } from 'node:net';

const [name = '?', port = '8080'] = process.argv.slice(2);
createServer((socket) => socket.end(`${name}\n`)).listen(Number(port), () =>
  process.stdout.write('listening\n'),
);
