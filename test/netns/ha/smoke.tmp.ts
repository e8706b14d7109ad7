import { createHaTopology } from './haTopology.js';
import { startReplica } from './replica.js';

const t = await createHaTopology();
try {
  for (const p of ['p1', 'p2'])
    await t.nft(
      p,
      'table inet egress_router {\n chain postrouting {\n type nat hook postrouting priority 100; policy accept;\n oifname "net1" meta nfproto ipv6 meta l4proto != vrrp snat ip6 to 2001:db8:100::100\n }\n}\n',
    );
  await t.linkLocal('p1');
  await t.linkLocal('p2');
  const a = await startReplica(t, 'p1');
  await new Promise((r) => setTimeout(r, 1000));
  const b = await startReplica(t, 'p2');
  await new Promise((r) => setTimeout(r, 3000));
  console.log(a.role(), b.role());
  console.log(a.logs.slice(18, 30).join('\n'));
  console.log('----');
  console.log(b.logs.slice(18, 30).join('\n'));
  await a.engine.stop();
  await b.engine.stop();
} finally {
  await t.destroy();
}
