// planRouter / gatewaysOf on models built through loadConfigText.
import { describe, expect, it } from 'vitest';
import { loadConfigText, loadLegacyEnv } from '../../../src/config/load.js';
import {
  type AgentOptions,
  DEFAULT_OPTIONS,
  MACVLAN_MODES,
  type MacvlanMode,
  type RouterConfig,
} from '../../../src/config/model.js';
import { sysctlName } from '../../../src/link/sysctl.js';
import { gatewaysOf, type PlanOptions, planRouter } from '../../../src/plan/routerPlan.js';

interface SpecInput {
  addresses: { ip: string; gateway?: string }[];
  mode?: MacvlanMode;
  master?: string;
}

function egressRouter(spec: SpecInput): RouterConfig {
  const text = JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: 'plan-test' },
    spec: {
      networkInterface: {
        macvlan: {
          ...(spec.mode ? { mode: spec.mode } : {}),
          ...(spec.master ? { master: spec.master } : {}),
        },
      },
      addresses: spec.addresses,
      redirect: { redirectRules: [] },
    },
  });
  return loaded(text);
}

function loaded(text: string, options: AgentOptions = DEFAULT_OPTIONS): RouterConfig {
  const result = loadConfigText(text, options);
  if (!result.ok) throw new Error(`test config is invalid: ${JSON.stringify(result.issues)}`);
  return result.config;
}

const V4 = { ip: '192.0.2.100/24', gateway: '192.0.2.1' };
const V6 = { ip: '2001:db8:100::64/64', gateway: '2001:db8:100::1' };
const OPTIONS: PlanOptions = DEFAULT_OPTIONS;

describe('planRouter: addresses', () => {
  it('keeps every address with its prefix, in config order; a bare address gets the host prefix', () => {
    const plan = planRouter(
      egressRouter({ addresses: [V6, { ip: '192.0.2.100' }, { ip: '2001:DB8:200::1' }] }),
      OPTIONS,
    );
    expect(plan.addresses).toEqual([
      { family: 6, address: '2001:db8:100::64', prefixLength: 64, cidr: '2001:db8:100::64/64' },
      { family: 4, address: '192.0.2.100', prefixLength: 32, cidr: '192.0.2.100/32' },
      { family: 6, address: '2001:db8:200::1', prefixLength: 128, cidr: '2001:db8:200::1/128' },
    ]);
  });
});

describe('planRouter: routes', () => {
  it('IPv4 with a gateway: a host route to the gateway, then the default via it, on the egress interface', () => {
    const plan = planRouter(egressRouter({ addresses: [V4] }), OPTIONS);
    expect(plan.routes).toEqual([
      { family: 4, destination: '192.0.2.1/32', device: 'net1', why: 'the gateway is on the egress link' },
      {
        family: 4,
        destination: 'default',
        device: 'net1',
        via: { address: '192.0.2.1' },
        why: 'egress traffic leaves through the gateway',
      },
    ]);
    expect(plan.routes[0]).not.toHaveProperty('via');
  });

  it('dual-stack: the same per family, IPv4 first, IPv6 host route /128', () => {
    const plan = planRouter(egressRouter({ addresses: [V6, V4] }), {
      ...OPTIONS,
      egressInterface: 'egress0',
    });
    expect(plan.routes.map((r) => [r.family, r.destination, r.device, r.via])).toEqual([
      [4, '192.0.2.1/32', 'egress0', undefined],
      [4, 'default', 'egress0', { address: '192.0.2.1' }],
      [6, '2001:db8:100::1/128', 'egress0', undefined],
      [6, 'default', 'egress0', { address: '2001:db8:100::1' }],
    ]);
  });

  it('a host-prefix address reaches a gateway outside it through the host route', () => {
    const plan = planRouter(
      egressRouter({ addresses: [{ ip: '192.0.2.100/32', gateway: '192.0.2.1' }] }),
      OPTIONS,
    );
    expect(plan.routes.map((r) => r.destination)).toEqual(['192.0.2.1/32', 'default']);
  });

  it('no gateway and no facts: no routes for that family', () => {
    const plan = planRouter(egressRouter({ addresses: [{ ip: '192.0.2.100/24' }, V6] }), OPTIONS);
    expect(plan.routes.every((r) => r.family === 6)).toBe(true);
    expect(plan.routes).toHaveLength(2);
    expect(planRouter(egressRouter({ addresses: [{ ip: '192.0.2.100/24' }] }), OPTIONS).routes).toEqual([]);
  });

  it('an inferred gateway yields the same routes as a configured one', () => {
    const config = egressRouter({ addresses: [{ ip: '192.0.2.100/24' }] });
    const plan = planRouter(config, OPTIONS, { inferredGateways: { 4: '192.0.2.254' } });
    expect(plan.routes).toEqual([
      { family: 4, destination: '192.0.2.254/32', device: 'net1', why: 'the gateway is on the egress link' },
      {
        family: 4,
        destination: 'default',
        device: 'net1',
        via: { address: '192.0.2.254' },
        why: 'egress traffic leaves through the gateway',
      },
    ]);
  });

  it('cluster CIDRs with a known cluster gateway: via that gateway on the cluster interface', () => {
    const plan = planRouter(
      egressRouter({ addresses: [V4, V6] }),
      {
        ...OPTIONS,
        clusterInterface: 'ens3',
        clusterCidrs: ['10.128.0.0/14', 'fd00:10::/48', '172.30.0.0/16'],
      },
      { clusterGateways: { 4: '10.128.0.1', 6: 'fd00:10::1' } },
    );
    expect(plan.routes.slice(4)).toEqual([
      {
        family: 4,
        destination: '10.128.0.0/14',
        device: 'ens3',
        via: { address: '10.128.0.1' },
        why: "the pod's own traffic to the cluster stays on the cluster interface",
      },
      {
        family: 6,
        destination: 'fd00:10::/48',
        device: 'ens3',
        via: { address: 'fd00:10::1' },
        why: "the pod's own traffic to the cluster stays on the cluster interface",
      },
      {
        family: 4,
        destination: '172.30.0.0/16',
        device: 'ens3',
        via: { address: '10.128.0.1' },
        why: "the pod's own traffic to the cluster stays on the cluster interface",
      },
    ]);
    // The gateway routes come first and stay on the egress interface.
    expect(plan.routes.slice(0, 4).every((r) => r.device === 'net1')).toBe(true);
  });

  it('cluster CIDRs without facts: via the previous default gateway of the cluster interface', () => {
    const plan = planRouter(egressRouter({ addresses: [V4] }), {
      ...OPTIONS,
      clusterCidrs: ['10.128.0.0/14', 'fd00:10::/48'],
    });
    expect(plan.routes.slice(2)).toEqual([
      {
        family: 4,
        destination: '10.128.0.0/14',
        device: 'eth0',
        via: { previousDefaultOf: 'eth0' },
        why: "the pod's own traffic to the cluster stays on the cluster interface",
      },
      {
        family: 6,
        destination: 'fd00:10::/48',
        device: 'eth0',
        via: { previousDefaultOf: 'eth0' },
        why: "the pod's own traffic to the cluster stays on the cluster interface",
      },
    ]);
  });

  it('a cluster gateway known for one family only does not leak into the other', () => {
    const plan = planRouter(
      egressRouter({ addresses: [V4] }),
      { ...OPTIONS, clusterCidrs: ['10.128.0.0/14', 'fd00:10::/48'] },
      { clusterGateways: { 4: '10.128.0.1' } },
    );
    expect(plan.routes.slice(2).map((r) => r.via)).toEqual([
      { address: '10.128.0.1' },
      { previousDefaultOf: 'eth0' },
    ]);
  });

  it('no cluster CIDRs: no cluster routes', () => {
    const plan = planRouter(egressRouter({ addresses: [V4] }), { ...OPTIONS, clusterCidrs: [] });
    expect(plan.routes.filter((r) => r.device === 'eth0')).toEqual([]);
  });
});

const named = (sysctls: ReturnType<typeof planRouter>['sysctls']) =>
  sysctls.map((s) => ({ key: sysctlName(s.key), value: s.value, required: s.required }));

describe('planRouter: sysctls', () => {
  it('IPv4 only: net.ipv4.ip_forward', () => {
    expect(named(planRouter(egressRouter({ addresses: [V4] }), OPTIONS).sysctls)).toEqual([
      { key: 'net.ipv4.ip_forward', value: '1', required: true },
    ]);
  });

  it('IPv6 only: net.ipv6.conf.all.forwarding, never net.ipv6.ip_forward', () => {
    const sysctls = named(planRouter(egressRouter({ addresses: [V6] }), OPTIONS).sysctls);
    expect(sysctls).toEqual([
      { key: 'net.ipv6.conf.all.forwarding', value: '1', required: true },
      // Nice to have: the kernel announces new IPv6 addresses; a read-only /proc/sys only warns.
      { key: 'net.ipv6.conf.net1.ndisc_notify', value: '1', required: false },
    ]);
  });

  it('dual-stack: both, IPv4 first', () => {
    const sysctls = named(planRouter(egressRouter({ addresses: [V6, V4] }), OPTIONS).sysctls);
    expect(sysctls.map((s) => s.key)).toEqual([
      'net.ipv4.ip_forward',
      'net.ipv6.conf.all.forwarding',
      'net.ipv6.conf.net1.ndisc_notify',
    ]);
    expect(sysctls.map((s) => s.key)).not.toContain('net.ipv6.ip_forward');
  });
});

describe('planRouter: link', () => {
  it.each(MACVLAN_MODES)('macvlan mode %s is lowercased', (mode) => {
    const plan = planRouter(egressRouter({ addresses: [V4], mode }), OPTIONS);
    expect(plan.link.mode).toBe(mode.toLowerCase());
    expect(plan.link.kind).toBe('macvlan');
  });

  it('the CRD default mode is bridge', () => {
    expect(planRouter(egressRouter({ addresses: [V4] }), OPTIONS).link.mode).toBe('bridge');
  });

  it('master and MTU pass through from a CNI config', () => {
    const config = loaded(
      JSON.stringify({
        cniVersion: '0.4.0',
        type: 'egress-router',
        interfaceArgs: { master: 'eth1', mode: 'PRIVATE', mtu: '9000' },
        ip: { addresses: ['192.0.2.100/24'], gateway: '192.0.2.1' },
      }),
    );
    const plan = planRouter(config, { ...OPTIONS, egressInterface: 'egress0', clusterInterface: 'ens3' });
    expect(plan.link).toEqual({
      name: 'egress0',
      kind: 'macvlan',
      mode: 'private',
      master: 'eth1',
      masterSource: 'configured',
      mtu: 9000,
      mtuSource: 'configured',
    });
    expect(plan.clusterInterface).toBe('ens3');
  });

  it('no master and no MTU: neither key is present (inferred / the master MTU at apply time)', () => {
    const plan = planRouter(egressRouter({ addresses: [V4] }), OPTIONS);
    expect(plan.link).toEqual({
      name: 'net1',
      kind: 'macvlan',
      mode: 'bridge',
      masterSource: 'unknown',
      mtuSource: 'unknown',
    });
    expect(plan.link).not.toHaveProperty('master');
    expect(plan.link).not.toHaveProperty('mtu');
    expect(plan.clusterInterface).toBe('eth0');
  });

  it('an EgressRouter master passes through', () => {
    const plan = planRouter(egressRouter({ addresses: [V4], mode: 'VEPA', master: 'bond0' }), OPTIONS);
    expect(plan.link).toEqual({
      name: 'net1',
      kind: 'macvlan',
      mode: 'vepa',
      master: 'bond0',
      masterSource: 'configured',
      mtuSource: 'unknown',
    });
  });

  it('with facts: the inferred master and its MTU', () => {
    const plan = planRouter(egressRouter({ addresses: [V4] }), OPTIONS, {
      master: { name: 'eth1', mtu: 1450 },
    });
    expect(plan.link).toMatchObject({
      master: 'eth1',
      masterSource: 'inferred',
      mtu: 1450,
      mtuSource: 'master',
    });
  });
});

describe('gatewaysOf', () => {
  it('returns the configured gateway of each family', () => {
    expect(gatewaysOf(egressRouter({ addresses: [V4, V6] }))).toEqual({
      4: '192.0.2.1',
      6: '2001:db8:100::1',
    });
  });

  it('finds a gateway on a later address of the family', () => {
    const config = egressRouter({
      addresses: [{ ip: '192.0.2.100/24' }, { ip: '192.0.2.101/24', gateway: '192.0.2.1' }],
    });
    expect(gatewaysOf(config)).toEqual({ 4: '192.0.2.1' });
  });

  it('uses an inferred gateway only for a family without a configured one', () => {
    const config = egressRouter({ addresses: [V4, { ip: '2001:db8:100::64/64' }] });
    expect(gatewaysOf(config, { inferredGateways: { 4: '192.0.2.254', 6: '2001:db8:100::fe' } })).toEqual({
      4: '192.0.2.1',
      6: '2001:db8:100::fe',
    });
  });

  it('ignores an inferred gateway for a family the router has no address of', () => {
    const config = egressRouter({ addresses: [{ ip: '192.0.2.100/24' }] });
    expect(gatewaysOf(config, { inferredGateways: { 6: '2001:db8:100::1' } })).toEqual({});
    expect(gatewaysOf(config, { inferredGateways: { 4: '192.0.2.1', 6: '2001:db8:100::1' } })).toEqual({
      4: '192.0.2.1',
    });
  });

  it('no gateway and no facts: empty', () => {
    expect(
      gatewaysOf(egressRouter({ addresses: [{ ip: '192.0.2.100/24' }, { ip: '2001:db8::5/64' }] })),
    ).toEqual({});
  });

  it('the legacy EGRESS_GATEWAY of a bare EGRESS_SOURCE is the IPv4 gateway', () => {
    const result = loadLegacyEnv(
      { EGRESS_SOURCE: '192.0.2.100', EGRESS_GATEWAY: '192.0.2.1', EGRESS_DESTINATION: '192.0.2.20' },
      DEFAULT_OPTIONS,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(gatewaysOf(result.config)).toEqual({ 4: '192.0.2.1' });
    const plan = planRouter(result.config, OPTIONS);
    expect(plan.link.mode).toBe('private');
    expect(plan.routes.map((r) => r.destination)).toEqual(['192.0.2.1/32', 'default']);
  });
});
