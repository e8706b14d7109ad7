// The control loop of `run` (reconciler + scheduler) in-process against the fake kernel, the way
// kube-proxy tests its proxier: passes compared as dumps, drift repaired minimally, retries that
// back off and that kernel events cannot bring forward, triggers coalesced, a stop that pre-empts
// a pass and undoes it, and the condition transitions an operator sees.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApplyOptions } from '../../../src/agent/context.js';
import { EventCount } from '../../../src/agent/eventCount.js';
import { type ConfigLoad, Reconciler } from '../../../src/agent/reconciler.js';
import { Scheduler, type Trigger } from '../../../src/agent/scheduler.js';
import type { StatusSink, StatusSnapshot } from '../../../src/agent/status/snapshot.js';
import { monitorLinksAddressesRoutes } from '../../../src/agent/watchers.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { createFakeKernel, egressRouterTopology, FAKE_TOPOLOGY, type FakeKernel } from '../../fake/index.js';

const config = (
  rules: string,
  addresses = '    - { ip: 192.0.2.100/24, gateway: 192.0.2.1 }',
) => `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: { name: loop }
spec:
  networkInterface: { macvlan: { mode: Bridge, master: eth1 } }
  addresses:
${addresses}
  redirect:
    redirectRules:
${rules}
`;
const ONE_RULE = '      - { destinationIP: 192.0.2.10, port: 80, protocol: TCP }';
const TWO_RULES = `${ONE_RULE}\n      - { destinationIP: 192.0.2.20, port: 8080, protocol: TCP, targetPort: 80 }`;
const V6 =
  '    - { ip: 192.0.2.100/24, gateway: 192.0.2.1 }\n    - { ip: 2001:db8:100::100/64, gateway: 2001:db8:100::1 }';

const OPTIONS: ApplyOptions = {
  ...DEFAULT_OPTIONS,
  masterNetns: FAKE_TOPOLOGY.node,
  clusterCidrs: [FAKE_TOPOLOGY.cluster.v4],
};

interface Loop {
  readonly fake: FakeKernel;
  readonly reconciler: Reconciler;
  readonly scheduler: Scheduler;
  readonly snapshots: StatusSnapshot[];
  readonly logs: { msg: string; [key: string]: unknown }[];
  /** Replaces the config file's content (the next reload reads it). */
  setConfig(text: string): void;
  /** Triggers of every pass, in order. */
  readonly passes: string[];
  /** Retry delays the scheduler asked for, in order; `fireRetry()` runs the pending one. */
  readonly retryDelays: number[];
  fireRetry(): Promise<void>;
}

async function loop(
  initial: string,
  options: { timing?: 'instant' | 'real'; podEvents?: EventCount } = {},
): Promise<Loop> {
  const fake = createFakeKernel({ timing: options.timing ?? 'instant' });
  await egressRouterTopology(fake);
  const podEvents = options.podEvents;
  // As the agent wires it: every line of the pod's `ip monitor` counts, and its starts and exits.
  if (podEvents)
    monitorLinksAddressesRoutes(fake.system(), () => podEvents.event(), {
      onStart: () => podEvents.started(),
      onExit: () => podEvents.stopped(),
    });
  let text = initial;
  let version = 0;
  const logs: Loop['logs'] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const snapshots: StatusSnapshot[] = [];
  const collector: StatusSink = {
    name: 'test',
    publish: (snapshot) => snapshots.push(snapshot),
    stop: async () => {},
  };
  let scheduler: Scheduler | undefined;
  const reconciler = new Reconciler({
    system: fake.system(),
    options: OPTIONS,
    loadConfig: async (): Promise<ConfigLoad> => ({
      ...loadConfigText(text, OPTIONS),
      fingerprint: `v${version}`,
    }),
    log: pino({ level: 'debug' }, sink),
    sinks: [collector],
    version: 'test',
    ...(podEvents ? { podEvents: () => podEvents.current() } : {}),
    nextRetryMs: () => scheduler?.backoffFor(scheduler.consecutiveFailures + 1) ?? 1_000,
  });
  const passes: string[] = [];
  const retryDelays: number[] = [];
  let pendingRetry: (() => void) | undefined;
  scheduler = new Scheduler({
    timer: (fire, delayMs) => {
      retryDelays.push(delayMs);
      pendingRetry = fire;
      return {
        cancel: () => {
          pendingRetry = undefined;
        },
      };
    },
    runPass: (triggers: ReadonlySet<Trigger>, signal) => {
      passes.push([...triggers].sort().join('+'));
      return reconciler.pass(triggers, signal);
    },
    maxBackoffMs: 10_000,
  });
  return {
    fake,
    reconciler,
    scheduler,
    snapshots,
    logs,
    passes,
    retryDelays,
    fireRetry: async () => {
      const fire = pendingRetry;
      pendingRetry = undefined;
      if (!fire) throw new Error('no retry is pending');
      fire();
      // Asked in the same tick, it joins the retry's pass, and resolves when that pass is done.
      await scheduler?.request('retry');
    },
    setConfig: (next) => {
      text = next;
      version++;
    },
  };
}

const conditions = (l: Loop) => l.reconciler.conditions;

describe('namespace readings a pass starts from', () => {
  const POD_READS = ['ip -json -details -batch -', 'ip -6 -json rule show'];
  const MASTER_READ = 'nsenter --net=/run/netns/node -- ip -json -details -batch -';
  const reads = (l: Loop) =>
    l.fake
      .commands()
      .map((c) => c.argv.join(' '))
      .filter((a) => POD_READS.includes(a) || a === MASTER_READ);
  // Events are delivered on a microtask, like a pipe: let them land before the next pass.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  let events: EventCount;
  let l: Loop;
  beforeEach(async () => {
    events = new EventCount(() => performance.now(), 0);
    l = await loop(config(ONE_RULE), { podEvents: events });
    await l.scheduler.request('startup');
    await settle();
    // The startup pass changed the namespaces: its reading is old, so the resync reads.
    l.fake.clearCommands();
    await l.scheduler.request('resync');
    expect(reads(l)).toEqual([...POD_READS, MASTER_READ]);
    l.fake.clearCommands();
  });

  it('a reload after a quiet pass reads neither namespace and applies the same', async () => {
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    expect(reads(l)).toEqual([]);
    expect(l.fake.dump()).toContain('tcp . 8080 : 192.0.2.20');
    expect(conditions(l).Available).toMatchObject({ status: 'True' });
  });

  it("a change in the pod's namespace since the reading makes the reload read the pod again, and repair it", async () => {
    await l.fake.deleteRoute(['default', 'via', '192.0.2.1', 'dev', 'net1']);
    await settle();
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    // The pod is read, and read again to verify the repair; the master's namespace has no
    // monitor, so its reading stands until the next resync.
    expect(reads(l)).toEqual([...POD_READS, ...POD_READS]);
    expect(l.fake.dump()).toContain('route default via 192.0.2.1 dev net1 proto 77');
    // That pass changed the namespace (the route): the next reload reads both again.
    l.fake.clearCommands();
    l.setConfig(config(ONE_RULE));
    await l.scheduler.request('config');
    expect(reads(l)).toEqual([...POD_READS, MASTER_READ]);
  });

  it('the periodic resync and SIGHUP always read both (a retry too: below)', async () => {
    for (const trigger of ['resync', 'signal', 'resync'] as const) {
      l.fake.clearCommands();
      await l.scheduler.request(trigger);
      expect(reads(l), trigger).toEqual([...POD_READS, MASTER_READ]);
    }
  });

  it('without a monitor listening, the pod is read on every pass', async () => {
    l.fake.endStreams((argv) => argv.includes('monitor'));
    await settle();
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    expect(reads(l)).toEqual(POD_READS);
    // Nor does a monitor that has just started count until it has settled.
    const slow = new EventCount(() => 0, 1_000);
    slow.started();
    expect(slow.current()).toBeUndefined();
  });

  it('a failed pass leaves no reading to reuse', async () => {
    l.fake.failNext((argv) => argv[0] === 'nft' && argv.includes('-f'));
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    expect(l.snapshots.at(-1)?.pass?.result).toBe('failed');
    l.fake.clearCommands();
    await l.fireRetry();
    expect(reads(l)).toEqual([...POD_READS, MASTER_READ]);
  });
});

describe('passes against the fake kernel', () => {
  let l: Loop;
  beforeEach(async () => {
    l = await loop(config(ONE_RULE));
  });

  it('the first pass builds the router, a quiet pass only reads, and both publish a snapshot', async () => {
    await l.scheduler.request('startup');
    expect(conditions(l).Available).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(conditions(l).Degraded).toMatchObject({ status: 'False', reason: 'AsExpected' });
    const dump = l.fake.dump();
    expect(dump).toContain('link net1 macvlan mode bridge master /run/netns/node:eth1 up');
    expect(dump).toContain('route default via 192.0.2.1 dev net1 proto 77');
    l.fake.clearCommands();
    await l.scheduler.request('resync');
    // The committed table is trusted: a resync reads the namespaces and writes nothing.
    const argv = l.fake.commands().map((c) => c.argv.join(' '));
    expect(argv).toEqual([
      'ip -json -details -batch -',
      'ip -6 -json rule show',
      'nsenter --net=/run/netns/node -- ip -json -details -batch -',
      // The gateway was probed on the wire by the startup pass under a second ago: its answer
      // stands (probes are bounded in rate).
    ]);
    expect(l.fake.dump()).toBe(dump);
    expect(l.snapshots.map((s) => s.pass?.trigger)).toEqual(['startup', 'resync']);
    expect(l.snapshots[0]?.notices).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Applied' })]);
  });

  it('drift is repaired with the minimal change and reported as DriftRepaired', async () => {
    await l.scheduler.request('startup');
    const dump = l.fake.dump();
    await l.fake.deleteRoute(['default', 'via', '192.0.2.1', 'dev', 'net1']);
    l.fake.clearCommands();
    await l.scheduler.request('resync');
    const writes = l.fake.commands().filter((c) => c.input !== undefined && !/-json/.test(c.argv.join(' ')));
    expect(writes.map((c) => c.input)).toEqual(['route replace default via 192.0.2.1 dev net1 proto 77\n']);
    expect(l.fake.dump()).toBe(dump);
    expect(conditions(l).Degraded).toMatchObject({ status: 'False', reason: 'DriftRepaired' });
    expect(l.snapshots.at(-1)?.pass?.repairs).toEqual(['route']);
    // To the millisecond: a second repair within the same second is told apart from the first.
    expect(l.reconciler.lastRepair?.time).toMatch(/T\d\d:\d\d:\d\d\.\d{3}Z$/);
    // A later config change clears the repair note.
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    expect(conditions(l).Degraded).toMatchObject({ status: 'False', reason: 'AsExpected' });
  });

  it('a reload sends only the difference of the table, and a table change by someone else is read back', async () => {
    await l.scheduler.request('startup');
    l.fake.clearCommands();
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    const loads = l.fake.commands().filter((c) => c.argv[0] === 'nft' && c.argv.includes('-f'));
    expect(loads).toHaveLength(1);
    expect(
      l.logs.some((x) => /^updated table inet egress_router: map elements: 2 added, 0 removed/.test(x.msg)),
    ).toBe(true);
    // Someone deletes an element: the monitor's report makes the next pass read the table.
    await l.fake.deleteElement('egress_router', 'redirect_addr4', { concat: ['tcp', 8080] });
    l.reconciler.tableChangedBehindOurBack();
    await l.scheduler.request('table');
    expect(l.fake.dump()).toContain('tcp . 8080 : 192.0.2.20');
    expect(l.snapshots.at(-1)?.pass?.repairs).toEqual(['nftables']);
  });

  it('an invalid config keeps the one in force: Degraded InvalidConfig, Available stays True', async () => {
    await l.scheduler.request('startup');
    const dump = l.fake.dump();
    l.setConfig(config('      - { destinationIP: 192.0.2.10, port: 0, protocol: TCP }'));
    await l.scheduler.request('config');
    expect(conditions(l).Available.status).toBe('True');
    expect(conditions(l).Degraded).toMatchObject({ status: 'True', reason: 'InvalidConfig' });
    expect(conditions(l).Degraded.message).toContain('spec.redirect.redirectRules[0].port');
    expect(l.fake.dump()).toBe(dump);
    expect(l.snapshots.at(-1)?.pass?.reload).toBe('invalid');
  });

  it('a reload the kernel refuses is undone and the old config keeps serving: Degraded, not unavailable', async () => {
    await l.scheduler.request('startup');
    const dump = l.fake.dump();
    const availableSince = conditions(l).Available.lastTransitionTime;
    l.fake.failNext(/^nft -j -f/, { stderr: 'Error: Could not process rule: No buffer space available\n' });
    l.setConfig(config(TWO_RULES));
    await l.scheduler.request('config');
    expect(conditions(l).Available).toMatchObject({ status: 'True', lastTransitionTime: availableSince });
    expect(conditions(l).Degraded).toMatchObject({ status: 'True', reason: 'NftablesFailed' });
    expect(conditions(l).Degraded.message).toContain('the previous config stays in force');
    expect(conditions(l).Progressing).toMatchObject({ status: 'True', reason: 'Retrying' });
    expect(l.fake.dump()).toBe(dump);
    l.scheduler.stop();
  });
});

describe('scheduling', () => {
  it('retries back off 1 s, 2 s, 4 s, and kernel events cannot bring a retry forward', async () => {
    const l = await loop(config(ONE_RULE, V6));
    // The IPv6 address is taken on the LAN: DAD fails every time.
    l.fake.lan.claim('2001:db8:100::100');
    await l.scheduler.request('startup');
    expect(conditions(l).Available).toMatchObject({ status: 'False', reason: 'DuplicateAddress' });
    expect(conditions(l).Progressing.message).toBe('retrying in 1 s');
    expect(l.retryDelays).toEqual([1_000]);
    // The rollback's own events, and any number of drift and resync triggers, wait for the retry.
    for (let i = 0; i < 20; i++) await l.scheduler.request(i % 2 ? 'drift' : 'resync');
    expect(l.passes).toEqual(['startup']);
    expect(l.fake.dump()).not.toContain('net1');
    await l.fireRetry();
    expect(l.retryDelays).toEqual([1_000, 2_000]);
    expect(conditions(l).Progressing.message).toBe('retrying in 2 s');
    await l.fireRetry();
    await l.fireRetry();
    await l.fireRetry();
    await l.fireRetry();
    // Doubling, capped (here at 10 s).
    expect(l.retryDelays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(l.passes.every((p) => !p.includes('drift'))).toBe(true);
    // The address comes free: the next retry succeeds and the backoff starts over.
    l.fake.lan.release('2001:db8:100::100');
    await l.fireRetry();
    expect(conditions(l).Available.status).toBe('True');
    expect(l.scheduler.consecutiveFailures).toBe(0);
    await l.scheduler.stop();
  });

  it('a new config does not wait for the retry timer', async () => {
    const l = await loop(config(ONE_RULE, V6));
    l.fake.lan.claim('2001:db8:100::100');
    await l.scheduler.request('startup');
    l.setConfig(config(ONE_RULE));
    await l.scheduler.request('config');
    expect(l.passes).toEqual(['startup', 'config']);
    expect(conditions(l).Available.status).toBe('True');
    await l.scheduler.stop();
  });

  it('triggers that arrive during a pass are coalesced into one pass after it', async () => {
    const l = await loop(config(ONE_RULE));
    const first = l.scheduler.request('startup');
    const rest = [
      l.scheduler.request('config'),
      l.scheduler.request('signal'),
      l.scheduler.request('resync'),
    ];
    await Promise.all([first, ...rest]);
    expect(l.passes).toEqual(['config+resync+signal+startup']);
    const a = l.scheduler.request('resync');
    const b = l.scheduler.request('signal');
    await Promise.all([a, b]);
    expect(l.passes).toEqual(['config+resync+signal+startup', 'resync+signal']);
  });

  it('a warning that stands (a sysctl /proc/sys does not let it set) is logged once, then at debug', async () => {
    const l = await loop(config(ONE_RULE));
    l.fake.readOnlySysctl('net.ipv4.icmp_ratelimit');
    await l.scheduler.request('startup');
    await l.scheduler.request('resync');
    await l.scheduler.request('resync');
    expect(conditions(l).Available).toMatchObject({ status: 'True' });
    const about = l.logs.filter((x) => x.msg.startsWith('net.ipv4.icmp_ratelimit could not be set'));
    expect(about.map((x) => x.level)).toEqual([40, 20, 20]);
    // Once it can be set, the warning is gone; should it come back, it is logged again.
    l.fake.readOnlySysctl('net.ipv4.icmp_ratelimit', false);
    await l.scheduler.request('resync');
    l.fake.setSysctl('net.ipv4.icmp_ratelimit', '1000');
    l.fake.readOnlySysctl('net.ipv4.icmp_ratelimit');
    await l.scheduler.request('resync');
    expect(
      l.logs.filter((x) => x.msg.startsWith('net.ipv4.icmp_ratelimit could not be set')).map((x) => x.level),
    ).toEqual([40, 20, 20, 40]);
  });

  it('lifts the ICMP rate limit while ports are refused, and puts back the value it found once a fallback takes them', async () => {
    const l = await loop(config(ONE_RULE));
    l.fake.setSysctl('net.ipv4.icmp_ratelimit', '250');
    await l.scheduler.request('startup');
    expect(l.fake.dump()).toContain('sysctl net.ipv4.icmp_ratelimit = 0');
    expect(l.fake.dump()).toContain('rule ipv4 17748: from all fwmark 0xfa nop proto 77');
    l.setConfig(config(`${ONE_RULE}\n    fallbackIP: 192.0.2.30`));
    await l.scheduler.request('config');
    expect(conditions(l).Available).toMatchObject({ status: 'True' });
    expect(l.fake.dump()).toContain('sysctl net.ipv4.icmp_ratelimit = 250');
    expect(l.fake.dump()).not.toContain('17748');
  });

  it("the agent's own kernel events during a pass and its settle time are not drift", async () => {
    const l = await loop(config(ONE_RULE));
    const pass = l.scheduler.request('startup');
    // ip monitor lines the pass itself causes arrive while it runs.
    await Promise.resolve();
    void l.scheduler.request('drift');
    await pass;
    void l.scheduler.request('drift');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(l.passes).toEqual(['startup']);
  });

  it('stop pre-empts a pass: what it changed is undone, and nothing runs after', async () => {
    const l = await loop(config(ONE_RULE, V6), { timing: 'real' });
    const before = l.fake.dump();
    // A long DAD wait: the pass is half-way (link, addresses, routes made) when the stop comes.
    l.fake.hang(/^ip -json address show dev net1$/);
    const pass = l.scheduler.request('startup');
    // The IPv4 address is ARP-probed (two seconds of silence) before it is added.
    for (let i = 0; i < 250 && !l.fake.dump().includes('address net1 192.0.2.100/24'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(l.fake.dump()).toContain('address net1 192.0.2.100/24');
    const started = Date.now();
    await l.scheduler.stop();
    await pass;
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(l.fake.dump()).toBe(before);
    expect(l.logs.some((x) => x.msg === 'pass stopped; its changes were undone')).toBe(true);
    await l.scheduler.request('resync');
    expect(l.passes).toEqual(['startup']);
    // The HA-style announcement of the address never went out.
    expect(l.fake.announcements().filter((a) => a.argv.join(' ').includes('2001:db8:100::100'))).toEqual([]);
  });
});
