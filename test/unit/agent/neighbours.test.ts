// The pure parts of the ARP / ND work: arping's reply lines, ndisc6's argv, the addresses step's
// probe and re-announcement decisions, and the rate bound of the gateway and conflict probes (with
// a scripted stand-in for arping and ndisc6: what is under test is when they are asked, not them).
import { describe, expect, it } from 'vitest';
import { ConflictWatch } from '../../../src/agent/conflicts.js';
import { arpingReplyMacs } from '../../../src/agent/effects.js';
import { GatewayProber, ndiscArgv } from '../../../src/agent/gateway.js';
import type { Logger } from '../../../src/agent/logger.js';
import { addressesStep, announceStep } from '../../../src/agent/steps/addresses.js';
import type { StepInput } from '../../../src/agent/steps/step.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import type { DeviceAddress, LinkInfo, NamespaceState, RouteInfo } from '../../../src/link/iproute.js';
import { planRouter } from '../../../src/plan/routerPlan.js';
import { CommandError, type Runner } from '../../../src/system/command.js';

const ARPING_TAKEN = `ARPING 192.0.2.100 from 0.0.0.0 net1
Unicast reply from 192.0.2.100 [76:5D:8B:8D:D8:09]  0.531ms
Sent 1 probes (1 broadcast(s))
Received 1 response(s)
`;

describe('arpingReplyMacs', () => {
  it('reads the MACs of the replies, lower case, once each', () => {
    expect(arpingReplyMacs(ARPING_TAKEN)).toEqual(['76:5d:8b:8d:d8:09']);
    expect(
      arpingReplyMacs(`${ARPING_TAKEN}Unicast reply from 192.0.2.100 [76:5D:8B:8D:D8:09]  0.6ms\n`),
    ).toEqual(['76:5d:8b:8d:d8:09']);
    expect(
      arpingReplyMacs('ARPING 192.0.2.100 from 0.0.0.0 net1\nSent 2 probes\nReceived 0 response(s)\n'),
    ).toEqual([]);
  });
});

describe('ndiscArgv', () => {
  it('asks twice within the deadline and stops at the first answer', () => {
    expect(ndiscArgv('2001:db8:100::1', 'net1')).toEqual([
      'ndisc6',
      '-1',
      '-n',
      '-q',
      '-r',
      '2',
      '-w',
      '1000',
      '2001:db8:100::1',
      'net1',
    ]);
  });
});

/** A stand-in for the pod's programs: answers arping/ndisc6 from a script, and records each call. */
function scriptedRunner(
  answers: (argv: readonly string[]) => string | CommandError,
): Runner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    where: 'the pod',
    calls,
    run: async (argv) => {
      calls.push([...argv]);
      const answer = answers(argv);
      if (answer instanceof CommandError) throw answer;
      return answer;
    },
  };
}

const silentLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
} as unknown as Logger;

describe('GatewayProber', () => {
  it('probes on the wire when due, at most once per interval, and reuses the answer otherwise', async () => {
    let now = 0;
    let up = true;
    // arping -D: exit 1 with the reply lines when answered, exit 0 when nobody answered.
    const runner = scriptedRunner((argv) =>
      up
        ? new CommandError(argv, 1, ARPING_TAKEN.replaceAll('192.0.2.100', argv.at(-1) ?? ''))
        : 'Sent 2 probes (2 broadcast(s))\nReceived 0 response(s)\n',
    );
    const prober = new GatewayProber(runner, () => now, 1_000);
    expect(await prober.check(4, '192.0.2.1', 'net1', false)).toEqual({
      family: 4,
      gateway: '192.0.2.1',
      reachable: true,
      state: 'answers (76:5d:8b:8d:d8:09)',
    });
    expect(runner.calls[0]).toEqual(['arping', '-D', '-c', '2', '-w', '2', '-I', 'net1', '192.0.2.1']);
    up = false;
    now = 500;
    expect((await prober.check(4, '192.0.2.1', 'net1', true)).reachable).toBe(true);
    expect((await prober.check(4, '192.0.2.1', 'net1', false)).reachable).toBe(true);
    expect(runner.calls.length).toBe(1);
    now = 1_500;
    expect(await prober.check(4, '192.0.2.1', 'net1', true)).toMatchObject({
      reachable: false,
      state: 'no answer to 2 ARP probes',
    });
    expect(runner.calls.length).toBe(2);
  });

  it('reads ndisc6: a MAC is an answer, exit 2 is silence, anything else is a failure to ask', async () => {
    let exit = 0;
    const runner = scriptedRunner((argv) =>
      exit === 0
        ? '00:11:22:33:44:55\n'
        : new CommandError(argv, exit, exit === 2 ? 'Timed out.' : 'Permission denied'),
    );
    const prober = new GatewayProber(runner, () => 0, 0);
    expect((await prober.check(6, '2001:db8:100::1', 'net1', true)).state).toBe(
      'answers (00:11:22:33:44:55)',
    );
    exit = 2;
    expect((await prober.check(6, '2001:db8:100::1', 'net1', true)).state).toBe(
      'no answer to 2 neighbour solicitations',
    );
    exit = 1;
    await expect(prober.check(6, '2001:db8:100::1', 'net1', true)).rejects.toThrow(/Permission denied/);
  });
});

describe('ConflictWatch', () => {
  it('probes in the background when due and reports what the last round found, until it is over', async () => {
    let now = 0;
    let taken = true;
    const runner = scriptedRunner((argv) =>
      taken ? new CommandError(argv, 1, ARPING_TAKEN) : 'Received 0 response(s)\n',
    );
    const watch = new ConflictWatch(runner, silentLog, () => now, 5_000);
    expect(watch.check('net1', ['192.0.2.100'], true)).toEqual([]);
    await new Promise((r) => setTimeout(r, 10));
    const found = watch.check('net1', ['192.0.2.100'], true);
    expect(found).toEqual([
      expect.objectContaining({
        reason: 'AddressConflict',
        message: expect.stringContaining('another host (76:5d:8b:8d:d8:09) answers ARP for 192.0.2.100'),
      }),
    ]);
    expect(runner.calls).toEqual([['arping', '-D', '-c', '1', '-w', '1', '-I', 'net1', '192.0.2.100']]);
    taken = false;
    now = 6_000;
    watch.check('net1', ['192.0.2.100'], true);
    await new Promise((r) => setTimeout(r, 10));
    expect(watch.check('net1', ['192.0.2.100'], false)).toEqual([]);
    // An address no longer held is no longer reported, and nothing is probed when nothing is held.
    expect(watch.check('net1', [], true)).toEqual([]);
    expect(runner.calls.length).toBe(2);
  });
});

function input(options: {
  have?: string[];
  ha?: boolean;
  linkFlags?: string[];
  routes?: (RouteInfo & { family: 4 | 6 })[];
  heldBefore?: string[];
}): StepInput {
  const text = JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: 'a' },
    spec: {
      addresses: [
        { ip: '192.0.2.100/24', gateway: '192.0.2.1' },
        { ip: '192.0.2.101/24' },
        { ip: '2001:db8:100::100/64', gateway: '2001:db8:100::1' },
      ],
      redirect: { redirectRules: [{ destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' }] },
    },
  });
  const loaded = loadConfigText(text, DEFAULT_OPTIONS);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const link: LinkInfo = {
    ifindex: 5,
    ifname: 'net1',
    flags: options.linkFlags ?? ['UP', 'LOWER_UP'],
    mtu: 1500,
  };
  const addresses: DeviceAddress[] = (options.have ?? []).map((cidr) => ({
    ifname: 'net1',
    family: cidr.includes(':') ? 'inet6' : 'inet',
    local: cidr.split('/')[0] ?? '',
    prefixlen: Number(cidr.split('/')[1]),
    scope: 'global',
  }));
  const pod: NamespaceState = {
    links: [link],
    addresses,
    routes: options.routes ?? [],
    rules: { 4: [], 6: [] },
  };
  return {
    config: loaded.config,
    options: DEFAULT_OPTIONS,
    plan: planRouter(loaded.config, DEFAULT_OPTIONS),
    facts: {},
    observed: {
      pod,
      masterIsPod: true,
      sysctls: new Map(),
      table: { present: false, differences: [], trusted: false },
    },
    mayCreateInterface: true,
    holdAddresses: true,
    ha: options.ha ?? false,
    ...(options.heldBefore ? { heldBefore: new Set(options.heldBefore) } : {}),
    podNamespaceRef: '1',
    nonce: '00000000',
    freshDevices: new Set(),
    flushedFamilies: new Set(),
  };
}

const kinds = (i: StepInput) =>
  addressesStep
    .converge(i)
    .actions.map((a) => `${a.op.type}${a.op.type === 'arp-probe' ? ` ${a.op.addresses.join(',')}` : ''}`);

describe('the addresses step', () => {
  it('ARP-probes the IPv4 addresses it is about to add, once, before anything changes', () => {
    const routes = [
      { family: 4 as const, dst: 'default', gateway: '192.0.2.1', dev: 'net1', protocol: '77' },
    ];
    const actions = addressesStep.converge(
      input({ have: ['192.0.2.100/24', '192.0.2.7/24'], routes }),
    ).actions;
    expect(actions.map((a) => a.message)).toEqual([
      'no other host answers ARP probes for 192.0.2.101',
      'removed address 192.0.2.7/24 from net1 (not in the config)',
      'added address 192.0.2.101/24 to net1',
      'added address 2001:db8:100::100/64 to net1',
    ]);
    expect(actions[0]).toMatchObject({ quiet: true, reason: 'AddressFailed' });
    // Announced after the routes (the announce step), IPv4 first: IPv6 DAD does not hold it back.
    const announced = announceStep.converge(
      input({ have: ['192.0.2.100/24', '192.0.2.7/24'], routes }),
    ).actions;
    expect(announced.map((a) => a.message)).toEqual([
      'announced 192.0.2.101 with gratuitous ARP',
      'duplicate address detection passed for 2001:db8:100::100/64',
      'announced 2001:db8:100::100 with an unsolicited neighbour advertisement',
    ]);
  });

  it('probes nothing under HA (VRRP decided), nor when nothing IPv4 is added', () => {
    expect(kinds(input({ ha: true }))).not.toContain('arp-probe 192.0.2.100,192.0.2.101');
    expect(kinds(input({ ha: true })).some((k) => k.startsWith('arp-probe'))).toBe(false);
    expect(kinds(input({})).filter((k) => k.startsWith('arp-probe'))).toEqual([
      'arp-probe 192.0.2.100,192.0.2.101',
    ]);
    expect(
      kinds(input({ have: ['192.0.2.100/24', '192.0.2.101/24'] })).some((k) => k.startsWith('arp-probe')),
    ).toBe(false);
  });

  it('re-adds an address this process held after its last pass without a probe (a repair); others are probed', () => {
    const added = kinds(input({ have: ['2001:db8:100::100/64'], heldBefore: ['192.0.2.100'] }));
    expect(added.filter((k) => k.startsWith('arp-probe'))).toEqual(['arp-probe 192.0.2.101']);
    const repaired = addressesStep.converge(
      input({ have: ['2001:db8:100::100/64'], heldBefore: ['192.0.2.100'] }),
    );
    expect(repaired.actions.map((a) => a.message)).toContain('added address 192.0.2.100/24 to net1');
    expect(
      kinds(input({ heldBefore: ['192.0.2.100', '192.0.2.101'] })).some((k) => k.startsWith('arp-probe')),
    ).toBe(false);
  });

  it('announces held IPv4 addresses again when the link is down or its IPv4 routes were dropped (a flap)', () => {
    const held = ['192.0.2.100/24', '192.0.2.101/24', '2001:db8:100::100/64'];
    const agentRoute = {
      family: 4 as const,
      dst: 'default',
      gateway: '192.0.2.1',
      dev: 'net1',
      protocol: '77',
    };
    const announces = (i: StepInput) => announceStep.converge(i).actions.map((a) => a.op.type);
    expect(kinds(input({ have: held, routes: [agentRoute], linkFlags: ['BROADCAST'] }))).toEqual([]);
    expect(announces(input({ have: held, routes: [agentRoute] }))).toEqual([]);
    const again = ['announce', 'announce'];
    expect(announces(input({ have: held, routes: [agentRoute], linkFlags: ['BROADCAST'] }))).toEqual(again);
    expect(announces(input({ have: held, routes: [] }))).toEqual(again);
    expect(announceStep.converge(input({ have: held })).actions.map((a) => a.message)).toEqual([
      'announced 192.0.2.100 with gratuitous ARP again (net1 went down)',
      'announced 192.0.2.101 with gratuitous ARP again (net1 went down)',
    ]);
  });
});
