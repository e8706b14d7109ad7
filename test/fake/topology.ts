/**
 * The egress-router topology of test/netns/harness/topology.ts, on a fake kernel: the pod's
 * cluster side (eth0, routes via the node), the node's namespace with the master eth1 on the
 * LAN, and the LAN hosts (gateway, destinations, the node's own address). Built with the same
 * commands an admin would run, as someone else (nothing lands in fake.commands()).
 */
import type { FakeKernel } from './kernel.js';

export const FAKE_TOPOLOGY = {
  /** `--master-netns`: where eth1 lives. */
  node: '/run/netns/node',
  /** The other end of eth1; nothing in it answers (the fake's LAN model does). */
  lan: '/run/netns/lan',
  cluster: { v4: '198.18.0.0/15', v6: '2001:db8::/48' },
  pod: { v4: '198.18.0.2', v6: '2001:db8::2' },
  nodePodSide: { v4: '198.18.0.1', v6: '2001:db8::1' },
  nodeLan: { v4: '192.0.2.5', v6: '2001:db8:100::5' },
  gateway: { v4: '192.0.2.1', v6: '2001:db8:100::1' },
  destinations: { v4: ['192.0.2.10', '192.0.2.20'], v6: ['2001:db8:100::10', '2001:db8:100::20'] },
} as const;

export interface TopologyOptions {
  /** IPv6 addresses and routes too (default true). */
  readonly ipv6?: boolean;
}

/** Builds the topology; the fake must not have a `node` or `lan` namespace yet. */
export async function egressRouterTopology(fake: FakeKernel, options: TopologyOptions = {}): Promise<void> {
  const ipv6 = options.ipv6 ?? true;
  const t = FAKE_TOPOLOGY;
  fake.addNamespace(t.node);
  fake.addNamespace(t.lan);
  const pod = (...argv: string[]) => fake.sh(argv);
  const node = (...argv: string[]) => fake.sh(argv, { namespace: t.node });
  const lan = (...argv: string[]) => fake.sh(argv, { namespace: t.lan });

  await node('ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', t.lan);
  await lan('ip', 'link', 'set', 'lan0', 'up');
  await node('ip', 'link', 'set', 'eth1', 'up');
  await node('ip', 'address', 'add', `${t.nodeLan.v4}/24`, 'dev', 'eth1');
  await pod('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'pod0', 'netns', t.node);
  await node('ip', 'link', 'set', 'pod0', 'up');
  await pod('ip', 'link', 'set', 'eth0', 'up');
  await pod('ip', 'address', 'add', `${t.pod.v4}/24`, 'dev', 'eth0');
  await node('ip', 'address', 'add', `${t.nodePodSide.v4}/24`, 'dev', 'pod0');
  await pod('ip', 'route', 'add', t.cluster.v4, 'via', t.nodePodSide.v4, 'dev', 'eth0');
  await pod('ip', 'route', 'add', 'default', 'via', t.nodePodSide.v4, 'dev', 'eth0');
  await node('ip', 'route', 'add', 'default', 'via', t.gateway.v4, 'dev', 'eth1');
  fake.setSysctl('net.ipv4.ip_forward', '1', t.node);
  fake.lan.claim(t.nodeLan.v4);
  fake.lan.gateway(t.gateway.v4, 'up');
  for (const host of t.destinations.v4) fake.lan.gateway(host, 'up');
  if (!ipv6) return;
  await node('ip', '-6', 'address', 'add', `${t.nodeLan.v6}/64`, 'dev', 'eth1', 'nodad');
  await pod('ip', '-6', 'address', 'add', `${t.pod.v6}/64`, 'dev', 'eth0', 'nodad');
  await node('ip', '-6', 'address', 'add', `${t.nodePodSide.v6}/64`, 'dev', 'pod0', 'nodad');
  await pod('ip', '-6', 'route', 'add', t.cluster.v6, 'via', t.nodePodSide.v6, 'dev', 'eth0');
  await pod('ip', '-6', 'route', 'add', 'default', 'via', t.nodePodSide.v6, 'dev', 'eth0');
  await node('ip', '-6', 'route', 'add', 'default', 'via', t.gateway.v6, 'dev', 'eth1');
  fake.setSysctl('net.ipv6.conf.all.forwarding', '1', t.node);
  fake.lan.claim(t.nodeLan.v6);
  fake.lan.gateway(t.gateway.v6, 'up');
  for (const host of t.destinations.v6) fake.lan.gateway(host, 'up');
}
