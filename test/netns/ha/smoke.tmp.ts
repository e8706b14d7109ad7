import { createHaTopology } from './haTopology.js';
import { startReplica } from './replica.js';

const t = await createHaTopology();
try {
  await t.linkLocal('p2');
  const b = await startReplica(t, 'p2');
  await new Promise((r) => setTimeout(r, 1500));
  await t.deletePod('p1');
  await t.createPod('p1');
  console.log(await t.exec('p1', ['ip', '-6', 'addr', 'show', 'dev', 'net1']));
  const a = await startReplica(t, 'p1');
  await new Promise((r) => setTimeout(r, 3000));
  console.log(a.role(), b.role(), JSON.stringify(a.events));
  console.log(a.logs.slice(12).join('\n'));
  await a.engine.stop();
  await b.engine.stop();
} finally {
  await t.destroy();
}
