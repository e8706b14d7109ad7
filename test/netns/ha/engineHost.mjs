// A stand-in for the agent process in the HA tests: runs the built engine (dist/) with the
// settings given as JSON in argv[2], prints every event and, once started, keepalived's pids,
// one JSON object per line. The test SIGKILLs this process to check keepalived dies with it.
import { createKeepalivedEngine } from '../../../dist/agent/ha/supervisor.js';

const settings = JSON.parse(process.argv[2] ?? '{}');
const print = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const engine = createKeepalivedEngine({ ...settings, onEvent: (event) => print({ event }) });
await engine.start();
for (let i = 0; i < 200; i++) {
  const pids = await engine.pids();
  if (pids.keepalived && pids.vrrp) {
    print({ pids });
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 25));
}
process.on('SIGTERM', () => {
  engine.stop().then(() => process.exit(0));
});
setInterval(() => undefined, 60_000);
