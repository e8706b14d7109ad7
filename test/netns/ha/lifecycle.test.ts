// The HA engine's process lifecycle against real keepalived in namespaces: the config passes
// keepalived's own config test, bad settings touch nothing, a crashed keepalived is restarted
// (and rejoins cleanly), a lost interface is a fault, and keepalived never outlives the process
// that started it.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderKeepalivedConfig } from '../../../src/agent/ha/config.js';
import { createKeepalivedEngine } from '../../../src/agent/ha/supervisor.js';
import { ConfigError } from '../../../src/config/issues.js';
import { pollUntil, type Topology } from '../../../src/netkit/index.js';
import { runProgram } from '../../../src/system/command.js';
import { GOLDEN_CASES, GOLDEN_DIR } from '../../unit/ha/goldenCases.js';
import { requireBuiltAgent } from '../kit/build.js';
import {
  addNet1,
  createEngineNet,
  enter,
  hasNet1,
  linkLocal,
  PODS,
  type Pod,
  recreatePod,
} from './engineNet.js';
import { GROUP, type Replica, startReplica } from './replica.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VIP = `fe80::5e:${GROUP.toString(16)}/64`;
const ELECTION_MS = 5_000;
const SETTLE_MS = 1_000;

let topology: Topology;
let scratch: string;
const running = new Set<Replica>();

async function start(pod: Pod, options: Parameters<typeof startReplica>[2] = {}): Promise<Replica> {
  await linkLocal(topology, pod);
  const replica = await startReplica(topology, pod, options);
  running.add(replica);
  return replica;
}

async function startPair(): Promise<[Replica, Replica]> {
  const one = await start('p1');
  const two = await start('p2');
  await pollUntil(() => one.role() === 'active' || two.role() === 'active', ELECTION_MS, 'an active replica');
  await sleep(SETTLE_MS);
  return one.role() === 'active' ? [one, two] : [two, one];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function addresses(pod: Pod): Promise<string> {
  return (await topology.ip(pod, ['-6', 'address', 'show', 'dev', 'net1'], { reject: false })).stdout;
}

beforeAll(async () => {
  topology = await createEngineNet();
  scratch = await mkdtemp(join(tmpdir(), 'ha-lifecycle-'));
  requireBuiltAgent(); // engineHost.mjs runs the built engine
});

afterEach(async () => {
  for (const replica of [...running]) {
    running.delete(replica);
    await replica.engine.stop();
  }
  // Tests that deleted a pod or its net1 leave the pod re-created for the next one.
  for (const pod of PODS) {
    if (await hasNet1(topology, pod)) continue;
    await topology.killPod(pod);
    await recreatePod(topology, pod);
  }
});

afterAll(async () => {
  for (const replica of running) await replica.engine.stop().catch(() => undefined);
  await rm(scratch, { recursive: true, force: true });
  await topology?.destroy();
});

describe('keepalived accepts the rendered config (keepalived -t)', () => {
  it.each(GOLDEN_CASES)('$name', async ({ name, settings }) => {
    // The config test needs the interface to exist where it runs.
    if (settings.interface !== 'net1') {
      await topology.ip('p1', ['link', 'add', settings.interface, 'link', 'net1', 'type', 'macvlan'], {
        reject: false,
      });
    }
    const result = await runProgram(
      [...enter(topology, 'p1'), 'keepalived', '-t', '-f', join(GOLDEN_DIR, `${name}.conf`)],
      { timeoutMs: 20_000 },
    );
    if (settings.interface !== 'net1')
      await topology.ip('p1', ['link', 'del', settings.interface], { reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('and the check is real: a config naming a missing interface fails it', async () => {
    const file = join(scratch, 'missing.conf');
    await writeFile(file, renderKeepalivedConfig({ ...GOLDEN_CASES[0]!.settings, interface: 'nosuchif0' }));
    const result = await runProgram([...enter(topology, 'p1'), 'keepalived', '-t', '-f', file], {
      timeoutMs: 20_000,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/nosuchif0/);
  });
});

describe('HA engine lifecycle', () => {
  it('bad settings are refused with the field named, and nothing is created or started', async () => {
    const runtimeDir = join(scratch, 'bad');
    await rm(runtimeDir, { recursive: true, force: true });
    await mkdir(runtimeDir);
    const events: unknown[] = [];
    const engine = createKeepalivedEngine({
      interface: 'net1; rm',
      group: 300,
      priority: 100,
      runtimeDir,
      commandPrefix: enter(topology, 'p1'),
      onEvent: (event) => events.push(event),
    });
    const error = await engine.start().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['interface', 'group']);
    expect(await readdir(runtimeDir)).toEqual([]);
    expect(events).toEqual([]);
    expect(await addresses('p1')).not.toContain(VIP);
  });

  it('a missing keepalived is a clear error, not a restart loop', async () => {
    const engine = createKeepalivedEngine({
      interface: 'net1',
      group: GROUP,
      priority: 100,
      keepalived: '/nonexistent/keepalived',
      onEvent: () => undefined,
    });
    await expect(engine.start()).rejects.toThrow(/\/nonexistent\/keepalived: not found or not executable/);
  });

  it('keepalived crashing on the active: fault at once, restarted, stale VIP removed, rejoins as standby', async () => {
    const [active, standby] = await startPair();
    const before = await active.engine.pids();
    const from = active.events.length;
    const standbyFrom = standby.events.length;
    // SIGKILL the VRRP process only: no priority-0 goodbye, its VIP stays on net1; keepalived (-R) exits.
    process.kill(before.vrrp!, 'SIGKILL');
    const fault = await active.waitRole('fault', ELECTION_MS, from);
    expect(fault).toMatchObject({ previous: 'active', cause: 'keepalived exited' });
    const exited = await active.waitEvent('exited', ELECTION_MS, from);
    expect(exited).toMatchObject({ type: 'exited', restartInMs: 250 });
    await standby.waitRole('active', ELECTION_MS, standbyFrom);
    const restarted = await active.waitEvent('started', ELECTION_MS, from);
    expect(restarted).toMatchObject({ type: 'started', restarts: 1 });
    await active.waitRole('standby', ELECTION_MS, from);
    await sleep(SETTLE_MS);
    expect([active.role(), standby.role()]).toEqual(['standby', 'active']);
    expect(await addresses(active.pod)).not.toContain(VIP);
    const after = await active.engine.pids();
    expect(after.keepalived).not.toBe(before.keepalived);
    expect(alive(before.keepalived!)).toBe(false);
    // The restarted keepalived advertises from net1's own link-local address, not the old VIP.
    expect(active.logs.filter((line) => /^Assigned address fe80::5e:/.test(line))).toEqual([]);
  });

  it('stop() SIGKILLs a keepalived that does not exit within its bound', async () => {
    const replica = await start('p1', { stopTimeoutMs: 500 });
    await replica.waitLog(/Entering (BACKUP|MASTER) STATE/, ELECTION_MS);
    const pids = await replica.engine.pids();
    // A stopped process never acts on SIGTERM.
    for (const pid of [pids.vrrp!, pids.keepalived!]) process.kill(pid, 'SIGSTOP');
    running.delete(replica);
    await replica.engine.stop();
    expect(alive(pids.keepalived!)).toBe(false);
    await pollUntil(() => !alive(pids.vrrp!), 2_000, 'the VRRP process to be gone');
    expect(replica.logs.some((line) => /did not stop within 500 ms; killing it/.test(line))).toBe(true);
    expect(replica.role()).toBe('standby');
  });

  it('the interface disappearing on the active is a fault, the standby takes over; re-created, it rejoins', async () => {
    const [active, standby] = await startPair();
    const from = standby.events.length;
    const lostAt = performance.now();
    await topology.ip(active.pod, ['link', 'del', 'net1']);
    await active.waitRole('fault', ELECTION_MS);
    const took = await standby.waitRole('active', ELECTION_MS, from);
    console.log(
      `HA interface lost on the active (-> peer active): ${Math.round(took.receivedAt - lostAt)} ms`,
    );
    // The agent re-creates net1 (drift repair): keepalived finds it again and joins as standby.
    const from2 = active.events.length;
    await addNet1(topology, active.pod);
    await active.waitRole('standby', ELECTION_MS, from2);
    await sleep(SETTLE_MS);
    expect([active.role(), standby.role()]).toEqual(['standby', 'active']);
  });

  it('keepalived does not outlive the process that started it (SIGKILL), and the standby takes over', async () => {
    const standby = await start('p2');
    await sleep(SETTLE_MS);
    await linkLocal(topology, 'p1');
    const host = spawn(
      process.execPath,
      [
        join(REPO, 'test/netns/ha/engineHost.mjs'),
        JSON.stringify({
          interface: 'net1',
          group: GROUP,
          priority: 200, // Pre-empts the lone standby: the host's keepalived becomes active.
          commandPrefix: enter(topology, 'p1'),
          runtimeDir: scratch, // A SIGKILLed host cannot remove its private directory; afterAll does.
        }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: host.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
    const exited = new Promise((resolve) => host.once('exit', resolve));
    try {
      await pollUntil(() => lines.some((line) => 'pids' in line), 10_000, 'the host to report pids');
      await standby.waitRole('standby', ELECTION_MS).catch(() => undefined);
      await pollUntil(
        () => lines.some((line) => (line.event as { role?: string } | undefined)?.role === 'active'),
        ELECTION_MS,
        'the host to become active',
      );
      const pids = lines.find((line) => 'pids' in line)!.pids as { keepalived: number; vrrp: number };
      expect(alive(pids.keepalived) && alive(pids.vrrp)).toBe(true);
      const from = standby.events.length;
      const killedAt = performance.now();
      host.kill('SIGKILL');
      await exited;
      await pollUntil(
        () => !alive(pids.keepalived) && !alive(pids.vrrp),
        5_000,
        'keepalived to die with its parent',
      );
      const took = await standby.waitRole('active', ELECTION_MS, from);
      console.log(
        `HA agent SIGKILLed on the active (-> peer active, keepalived's VRRP process still says goodbye): ${Math.round(took.receivedAt - killedAt)} ms`,
      );
    } finally {
      host.kill('SIGKILL');
    }
  });
});
