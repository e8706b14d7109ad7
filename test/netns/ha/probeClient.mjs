// Opens a new TCP connection to HOST:PORT every 10 ms (each given 100 ms) and prints one JSON
// line per answer: {"at": epoch ms when the answer arrived, "from": what the server said}.
// Usage: node probeClient.mjs HOST PORT
import { connect } from 'node:net';

const [host = '', port = '8080'] = process.argv.slice(2);
function attempt() {
  const socket = connect({ host, port: Number(port) });
  let data = '';
  const done = () => socket.destroy();
  socket.setTimeout(100, done);
  socket.on('data', (chunk) => {
    data += chunk;
  });
  socket.on('end', () => {
    process.stdout.write(`${JSON.stringify({ at: Date.now(), from: data.trim() })}\n`);
    done();
  });
  socket.on('error', done);
}
setInterval(attempt, 10);
