/**
 * The agent's side of HA (src/agent/ha/controller.ts): what it does with the engine's events,
 * in what order, and how it hands over. keepalived itself is not under test here (the netns
 * tests run it): a scripted engine stands in for it, emitting the events keepalived's notify
 * FIFO would produce and recording what the controller asks of it.
 */
import { describe, expect, it } from 'vitest';
import { releaseLines, takeLines } from '../../../src/agent/ha/addresses.js';
import { HaController, type HaControllerDeps } from '../../../src/agent/ha/controller.js';
import { initialRoleState, nextRoleState, type RoleState } from '../../../src/agent/ha/role.js';
import type { HaEngine, HaEngineOptions, HaEvent } from '../../../src/agent/ha/supervisor.js';
import type { EgressAddress } from '../../../src/config/model.js';

interface Scripted {
  readonly engine: HaEngine;
  readonly options: () => HaEngineOptions;
  /** keepalived reports a state (as a notify line would). */
  report(state: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'): void;
  readonly priorities: number[];
  startFails: Error | undefined;
  starts: number;
  stops: number;
}

function scriptedEngine(): { create: (options: HaEngineOptions) => HaEngine; scripted: Scripted } {
  let captured: HaEngineOptions | undefined;
  let role: RoleState = initialRoleState(100, 0);
  const scripted: Scripted = {
    engine: undefined as unknown as HaEngine,
    options: () => {
      if (!captured) throw new Error('no engine yet');
      return captured;
    },
    report(state) {
      const result = nextRoleState(role, { kind: 'state', state, priority: role.priority }, 1);
      role = result.state;
      if (result.change) captured?.onEvent({ type: 'role', ...result.change } as HaEvent);
    },
    priorities: [],
    startFails: undefined,
    starts: 0,
    stops: 0,
  };
  const engine: HaEngine = {
    async start() {
      scripted.starts++;
      if (scripted.startFails) throw scripted.startFails;
    },
    async setPriority(priority) {
      scripted.priorities.push(priority);
    },
    status: () => ({
      mode: 'vrrp',
      role: role.role,
      group: 7,
      priority: role.priority,
      since: new Date(role.sinceMs).toISOString(),
      transitions: role.transitions,
    }),
    pids: async () => ({}),
    async stop() {
      scripted.stops++;
      scripted.report('STOP');
    },
  };
  (scripted as { engine: HaEngine }).engine = engine;
  return {
    create: (options) => {
      captured = options;
      return engine;
    },
    scripted,
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(overrides: Partial<HaControllerDeps> = {}) {
  const { create, scripted } = scriptedEngine();
  const calls: string[] = [];
  const logs: string[] = [];
  const log = {
    info: (...args: unknown[]) => void logs.push(String(args.at(-1))),
    warn: (...args: unknown[]) => void logs.push(String(args.at(-1))),
    error: (message: string) => void logs.push(message),
  };
  const controller = new HaController({
    settings: { group: 7, priority: 100, advertIntervalSeconds: 0.1, unicastPeers: [] },
    interface: 'net1',
    log,
    onRoleChange: (change, followed) => calls.push(`publish ${change.role} ${followed}`),
    take: async () => void calls.push('take'),
    release: async () => void calls.push('release'),
    requestPass: () => calls.push('pass'),
    onRival: () => calls.push('rival'),
    createEngine: create,
    ...overrides,
  });
  return { controller, scripted, calls, logs };
}

describe('HA controller', () => {
  it('is standby before keepalived says anything, and starts it after the first pass only', async () => {
    const { controller, scripted } = setup();
    expect(controller.status()).toMatchObject({ mode: 'vrrp', role: 'standby', group: 7 });
    expect(scripted.starts).toBe(0);
    controller.afterPass(false);
    await tick();
    expect(scripted.starts).toBe(1);
    controller.afterPass(false);
    await tick();
    expect(scripted.starts).toBe(1);
  });

  it('gives the engine no unicast list for multicast (an empty one would be refused)', () => {
    const { scripted } = setup();
    expect(scripted.options()).not.toHaveProperty('unicastPeers');
    const withPeers = setup({
      settings: { group: 7, priority: 100, advertIntervalSeconds: 0.1, unicastPeers: ['fe80::1'] },
    });
    expect(withPeers.scripted.options().unicastPeers).toEqual(['fe80::1']);
  });

  it('becoming active: takes the addresses, then publishes (ready), then asks for a pass', async () => {
    const { controller, scripted, calls } = setup();
    controller.afterPass(false);
    await tick();
    scripted.report('MASTER');
    await tick();
    expect(calls).toEqual(['take', 'publish active true', 'pass']);
    expect(controller.status().role).toBe('active');
  });

  it('leaving active: publishes first (not ready), then releases, then asks for a pass', async () => {
    const { controller, scripted, calls } = setup();
    controller.afterPass(false);
    await tick();
    scripted.report('MASTER');
    await tick();
    calls.length = 0;
    scripted.report('BACKUP');
    await tick();
    expect(calls).toEqual(['publish standby true', 'release', 'pass']);
  });

  it('a replica that never held the addresses releases nothing (standby to fault and back)', async () => {
    const { controller, scripted, calls } = setup();
    controller.afterPass(false);
    await tick();
    scripted.report('FAULT');
    await tick();
    scripted.report('BACKUP');
    await tick();
    expect(calls).toEqual(['publish fault true', 'pass', 'publish standby true', 'pass']);
  });

  it('follows events in order, one at a time, however quickly they come', async () => {
    const order: string[] = [];
    let finishTake: () => void = () => {};
    const { controller, scripted } = setup({
      take: () =>
        new Promise<void>((resolve) => {
          order.push('take started');
          finishTake = () => {
            order.push('take done');
            resolve();
          };
        }),
      release: async () => void order.push('release'),
      onRoleChange: (change) => order.push(`publish ${change.role}`),
      requestPass: () => order.push('pass'),
    });
    controller.afterPass(false);
    await tick();
    scripted.report('MASTER');
    scripted.report('BACKUP'); // yields at once (a healed partition)
    await tick();
    expect(order).toEqual(['publish standby', 'take started']);
    finishTake();
    await tick();
    expect(order).toEqual([
      'publish standby',
      'take started',
      'take done',
      'publish active',
      'pass',
      'release',
      'pass',
    ]);
  });

  it('a take that fails is published without re-deriving readiness, and released later', async () => {
    const { controller, scripted, calls, logs } = setup({
      take: async () => {
        calls.push('take');
        throw new Error('RTNETLINK answers: No such device');
      },
    });
    controller.afterPass(false);
    await tick();
    scripted.report('MASTER');
    await tick();
    expect(calls).toEqual(['take', 'publish active false', 'pass']);
    expect(logs).toContain('HA: taking the egress addresses failed: RTNETLINK answers: No such device');
    calls.length = 0;
    scripted.report('BACKUP');
    await tick();
    expect(calls).toEqual(['publish standby true', 'release', 'pass']);
  });

  it('keepalived that cannot start is a fault with its reason, tried again after each pass', async () => {
    const { controller, scripted, calls, logs } = setup();
    scripted.startFails = new Error('keepalived: not found or not executable');
    controller.afterPass(false);
    await tick();
    expect(controller.status().role).toBe('fault');
    expect(controller.faultMessage).toBe(
      'keepalived could not start: keepalived: not found or not executable',
    );
    expect(logs).toContain('keepalived could not start: keepalived: not found or not executable');
    expect(calls).toEqual(['publish fault true', 'pass']);
    const since = controller.status().since;
    controller.afterPass(false);
    await tick();
    expect(scripted.starts).toBe(2);
    expect(controller.status()).toMatchObject({ role: 'fault', since }); // since the first failure
    expect(calls).toEqual(['publish fault true', 'pass']); // published once
    scripted.startFails = undefined;
    controller.afterPass(false);
    await tick();
    expect(scripted.starts).toBe(3);
    expect(controller.status().role).toBe('standby');
    expect(controller.faultMessage).toBeUndefined();
    expect(calls.slice(2)).toEqual(['publish standby true', 'pass']);
  });

  it('lowers the priority while the gateway does not answer, once, and restores it', async () => {
    const { controller, scripted, logs } = setup();
    controller.afterPass(false);
    await tick();
    controller.afterPass(true);
    controller.afterPass(true);
    controller.afterPass(false);
    controller.afterPass(false);
    await tick();
    expect(scripted.priorities).toEqual([50, 100]);
    expect(logs.filter((l) => /gateway/.test(l))).toEqual([
      'gateway lost: lowering the VRRP priority so a replica with a working gateway takes over',
      'gateway back: VRRP priority restored',
    ]);
    const custom = setup({
      settings: {
        group: 7,
        priority: 200,
        advertIntervalSeconds: 0.1,
        unicastPeers: [],
        degradedPriority: 10,
      },
    });
    custom.controller.afterPass(false);
    await tick();
    custom.controller.afterPass(true);
    await tick();
    expect(custom.scripted.priorities).toEqual([10]);
  });

  it('hands over: keepalived stops at once, the addresses go once it said STOP and the loop stopped', async () => {
    const { controller, scripted, calls } = setup();
    controller.afterPass(false);
    await tick();
    scripted.report('MASTER');
    await tick();
    calls.length = 0;
    let loopDone: () => void = () => {};
    const loopStopped = new Promise<void>((resolve) => {
      loopDone = resolve;
    });
    const handedOver = controller.handOver(loopStopped);
    await tick();
    expect(scripted.stops).toBe(1); // priority 0 goes out before the loop has stopped
    expect(calls).toEqual(['publish standby true']); // not ready at once; nothing released yet
    loopDone();
    await handedOver;
    expect(calls).toEqual(['publish standby true', 'release']); // no pass: the loop is stopped
    controller.afterPass(true);
    await tick();
    expect(scripted.priorities).toEqual([]);
  });

  it('a standby hands over without releasing anything', async () => {
    const { controller, scripted, calls } = setup();
    controller.afterPass(false);
    await tick();
    await controller.handOver(Promise.resolve());
    expect(scripted.stops).toBe(1);
    expect(calls).toEqual([]);
  });
});

describe('HA address batch lines', () => {
  const addresses: EgressAddress[] = [
    { address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' },
    { address: '2001:db8:100::100', prefixLength: 64, family: 6 },
    { address: '192.0.2.101', prefixLength: 32, family: 4 },
  ];

  it('takes every address with replace (idempotent), IPv6 without DAD, both families in one batch', () => {
    expect(takeLines(addresses, 'net1')).toEqual([
      ['address', 'replace', '192.0.2.100/24', 'dev', 'net1'],
      ['address', 'replace', '2001:db8:100::100/64', 'dev', 'net1', 'nodad'],
      ['address', 'replace', '192.0.2.101/32', 'dev', 'net1'],
    ]);
  });

  it('releases every address; no addresses, no lines', () => {
    expect(releaseLines(addresses.slice(0, 2), 'net1')).toEqual([
      ['address', 'delete', '192.0.2.100/24', 'dev', 'net1'],
      ['address', 'delete', '2001:db8:100::100/64', 'dev', 'net1'],
    ]);
    expect(releaseLines([], 'net1')).toEqual([]);
  });
});
