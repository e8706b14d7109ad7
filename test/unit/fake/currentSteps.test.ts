// The agent's current apply steps (src/agent/steps), unchanged, against the fake kernel: the
// interface is created on the master in the node's namespace and moved in, routes and the reply
// table and rule are set, the table is loaded and verified. The state is compared as a dump;
// a second pass changes nothing and only reads; drift is repaired alone. This is the shape the
// control-loop tests take, without root and without a real network.
//
// The sysctl and address steps are left out: today they write /proc/sys and spawn arping
// directly instead of going through the injected System, so here the addresses are put on the
// interface the way those steps would.
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApplyOptions, Change, StepContext } from '../../../src/agent/context.js';
import { ensureLink } from '../../../src/agent/steps/link.js';
import { ensureTable } from '../../../src/agent/steps/nftables.js';
import { ensureReplyRouting } from '../../../src/agent/steps/replyRouting.js';
import { ensureRoutes, wantedRoutes } from '../../../src/agent/steps/routes.js';
import { UndoStack } from '../../../src/agent/undo.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { tableText } from '../../../src/nft/text.js';
import { planRuleset } from '../../../src/plan/ruleset.js';
import { createFakeKernel, egressRouterTopology, FAKE_TOPOLOGY, type FakeKernel } from '../../fake/index.js';

const CONFIG = `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: { name: fake }
spec:
  networkInterface: { macvlan: { mode: Bridge, master: eth1 } }
  addresses:
    - { ip: 192.0.2.100/24, gateway: 192.0.2.1 }
    - { ip: 2001:db8:100::100/64, gateway: 2001:db8:100::1 }
  redirect:
    redirectRules:
      - { destinationIP: 192.0.2.10, port: 80, protocol: TCP }
      - { destinationIP: 2001:db8:100::10, port: 443, protocol: TCP }
`;

const OPTIONS: ApplyOptions = {
  ...DEFAULT_OPTIONS,
  masterNetns: FAKE_TOPOLOGY.node,
  clusterCidrs: [FAKE_TOPOLOGY.cluster.v4, FAKE_TOPOLOGY.cluster.v6],
};

let fake: FakeKernel;
let changes: Change[];

function context(): StepContext {
  const loaded = loadConfigText(CONFIG, DEFAULT_OPTIONS);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const system = fake.system();
  return {
    config: loaded.config,
    options: OPTIONS,
    pod: system.pod,
    master: system.namespace(FAKE_TOPOLOGY.node),
    undo: new UndoStack(),
    changed: (kind, message) => changes.push({ kind, message }),
  };
}

/** One pass of the steps that already go through the injected runners. */
async function pass(): Promise<void> {
  const ctx = context();
  const wanted = await wantedRoutes(ctx);
  await ensureLink(ctx);
  for (const cidr of ['192.0.2.100/24', '2001:db8:100::100/64']) {
    const present = await fake.exec(['ip', 'address', 'add', cidr, 'dev', 'net1', 'nodad']);
    if (present.exitCode === 0) changes.push({ kind: 'address', message: `added address ${cidr} to net1` });
  }
  await ensureRoutes(ctx, wanted);
  await ensureReplyRouting(ctx);
  await ensureTable(ctx, planRuleset(ctx.config, OPTIONS));
}

beforeEach(async () => {
  fake = createFakeKernel({ timing: 'instant' });
  await egressRouterTopology(fake);
  changes = [];
});

const DUMP_BEFORE_TABLE = `link eth0 veth peer /run/netns/node:pod0 up mtu 1500
link lo loopback up mtu 65536
link net1 macvlan mode bridge master /run/netns/node:eth1 up mtu 1500 alias "egress-router-agent: created"
address eth0 198.18.0.2/24
address eth0 2001:db8::2/64 nodad
address net1 192.0.2.100/24 nodad
address net1 2001:db8:100::100/64 nodad
route default via 192.0.2.1 dev net1 proto 77
route default via 198.18.0.1 dev eth0 metric 30000
route 192.0.2.0/24 dev net1 proto kernel scope link src 192.0.2.100
route 192.0.2.1 dev net1 proto 77 scope link
route 192.0.2.5 via 198.18.0.1 dev eth0 proto 77
route 198.18.0.0/24 dev eth0 proto kernel scope link src 198.18.0.2
route 198.18.0.0/15 via 198.18.0.1 dev eth0
route default via 198.18.0.1 dev eth0 table 17746 proto 77
route 198.18.0.0/24 dev eth0 table 17746 proto 77 scope link
route 2001:db8::/64 dev eth0 proto kernel metric 256
route 2001:db8::/48 via 2001:db8::1 dev eth0 metric 1024
route 2001:db8:100::1 dev net1 proto 77 metric 1024
route 2001:db8:100::5 via 2001:db8::1 dev eth0 proto 77 metric 1024
route 2001:db8:100::/64 dev net1 proto kernel metric 256
route default via 2001:db8:100::1 dev net1 proto 77 metric 1024
route default via 2001:db8::1 dev eth0 metric 30000
route 2001:db8::/64 dev eth0 table 17746 proto 77 metric 1024
route fe80::/64 dev eth0 table 17746 proto 77 metric 1024
route default via 2001:db8::1 dev eth0 table 17746 proto 77 metric 1024
rule ipv4 17746: from all fwmark 0x4552 lookup 17746 proto 77
rule ipv6 17746: from all fwmark 0x4552 lookup 17746 proto 77
`;

describe('the current apply steps against the fake kernel', () => {
  it('build the router: interface from the node’s namespace, routes, reply routing, table', async () => {
    await pass();
    const config = context().config;
    expect(fake.dump()).toBe(`${DUMP_BEFORE_TABLE}${tableText(planRuleset(config, OPTIONS))}`);
    expect(changes.map((c) => c.message)).toEqual([
      'created net1: macvlan bridge on eth1 in the namespace /run/netns/node',
      'added address 192.0.2.100/24 to net1',
      'added address 2001:db8:100::100/64 to net1',
      'kept the previous default route default via 198.18.0.1 dev eth0 at metric 30000',
      'added route 192.0.2.1/32 dev net1',
      'added route default via 192.0.2.1 dev net1',
      'added route 192.0.2.5/32 via 198.18.0.1 dev eth0',
      'kept the previous default route default via 2001:db8::1 dev eth0 at metric 30000',
      'added route 2001:db8:100::1/128 dev net1',
      'added route default via 2001:db8:100::1 dev net1',
      'added route 2001:db8:100::5/128 via 2001:db8::1 dev eth0',
      'added reply route 198.18.0.0/24 dev eth0 (table 17746)',
      'added reply route default via 198.18.0.1 dev eth0 (table 17746)',
      'added rule: fwmark 0x4552 lookup table 17746 (replies to the cluster)',
      'added reply route 2001:db8::/64 dev eth0 (table 17746)',
      // The reply table copies the cluster interface's kernel routes, fe80::/64 included.
      'added reply route fe80::/64 dev eth0 (table 17746)',
      'added reply route default via 2001:db8::1 dev eth0 (table 17746)',
      'added rule: fwmark 0x4552 lookup table 17746 (replies to the cluster)',
      'loaded table inet egress_router',
    ]);
  });

  it('a second pass changes nothing and only reads', async () => {
    await pass();
    const dump = fake.dump();
    changes = [];
    fake.clearCommands();
    await pass();
    expect(changes).toEqual([]);
    expect(fake.dump()).toBe(dump);
    const writes = fake.commands().filter((c) => !/\b(show|list)\b/.test(c.argv.join(' ')));
    expect(writes).toEqual([]);
  });

  it('repairs drift alone: a removed default route and a lost map element', async () => {
    await pass();
    const dump = fake.dump();
    await fake.deleteRoute(['default', 'via', '192.0.2.1', 'dev', 'net1']);
    await fake.deleteElement('egress_router', 'redirect_addr4', { concat: ['tcp', 80] });
    changes = [];
    await pass();
    expect(changes.map((c) => c.message)).toEqual([
      'added route default via 192.0.2.1 dev net1',
      'repaired table inet egress_router: map elements: 1 added, 0 removed; 0 chain(s) rewritten (map redirect_addr4 lacks 1 element(s), e.g. tcp . 80 => 192.0.2.10)',
    ]);
    expect(fake.dump()).toBe(dump);
  });

  it('undoes a half-done pass when the kernel refuses a step', async () => {
    fake.failNext('nft -j -f', {
      exitCode: 1,
      stderr: 'internal:0:0-0: Error: Could not process rule: Operation not permitted\n\n',
    });
    const ctx = context();
    const wanted = await wantedRoutes(ctx);
    await ensureLink(ctx);
    await expect(ensureTable(ctx, planRuleset(ctx.config, OPTIONS))).rejects.toThrow(
      'Operation not permitted',
    );
    expect(await ctx.undo.unwind()).toEqual([]);
    expect(fake.dump()).not.toContain('net1');
    expect(wanted.length).toBeGreaterThan(0);
  });
});
