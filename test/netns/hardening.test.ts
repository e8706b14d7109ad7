/**
 * Issue 15's faults against the real kernel: output that goes away mid-apply (EPIPE) must not
 * abort it, a master link that is down is its own reason (NoCarrier), a creation killed
 * half-way leaves nothing that the next apply does not sweep, the monitors die with a SIGKILLed
 * agent, and a scrape storm on /metrics does not starve the probes. Needs root.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  agentArgv,
  createConfigDir,
  createScratchDir,
  createTopology,
  linkNames,
  PLAN,
  podHasTable,
  pollUntil,
  run,
  type ScratchDir,
  type Topology,
} from '../../src/netkit/index.js';
import { AGENT_START_MS, routerYaml, startTestAgent } from './kit/agent.js';
import { requireBuiltAgent } from './kit/build.js';
import { expectAgent } from './kit/expect.js';
import { condition, waitForStatus } from './kit/status.js';

let topo: Topology;
let dir: ScratchDir;
let agent: AgentProcess | undefined;
const RULES = [{ destinationIP: PLAN.dst1.v4, port: 80, protocol: 'TCP' as const }];

beforeAll(async () => {
  requireBuiltAgent();
  dir = await createScratchDir('ert-hard-');
  topo = await createTopology();
}, 120_000);

afterEach(async () => {
  await agent?.stop(10_000).catch(() => undefined);
  agent = undefined;
  await topo.ip('node', ['link', 'set', 'eth1', 'up'], { reject: false });
  await topo.resetPod();
}, 60_000);

afterAll(async () => {
  try {
    await topo?.destroy();
  } finally {
    await dir?.remove();
  }
});

/** Command lines of the processes in the pod's namespace. */
async function podProcesses(): Promise<string[]> {
  const name = basename(topo.netnsPath(topo.pod().role));
  const pids = (await run(['ip', 'netns', 'pids', name], { reject: false })).stdout
    .split('\n')
    .filter(Boolean);
  return pids.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      return '';
    }
  });
}

describe('output that goes away', () => {
  it('apply | head -1: the apply finishes and verifies, nothing is left half-done', async () => {
    const path = await dir.write('epipe.yaml', routerYaml(RULES));
    const argv = agentArgv(topo, 'apply', path);
    // The reader closes after the first line; apply keeps writing into a closed pipe.
    const child = spawn('ip', ['netns', 'exec', basename(topo.netnsPath(topo.pod().role)), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.once('data', () => child.stdout?.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
    expect(await podHasTable(topo)).toBe(true);
    const again = await expectAgent(topo, 'apply', path, 0);
    expect(again.stdout).toContain('already in place, nothing changed');
  }, 60_000);
});

describe('a master link that is down', () => {
  it('is NoCarrier: apply exits 1 saying no traffic can pass; run reports Available False NoCarrier', async () => {
    const path = await dir.write('carrier.yaml', routerYaml(RULES));
    await expectAgent(topo, 'apply', path, 0);
    await topo.ip('node', ['link', 'set', 'eth1', 'down']);
    const result = await expectAgent(topo, 'apply', path, 1);
    expect(result.stdout).toContain('applied, but no traffic can pass: NoCarrier');
    expect(result.stderr).toMatch(/degraded \(NoCarrier\): net1 is up but has no carrier/);

    const config = await createConfigDir(`${dir.dir}/carrier-run`, routerYaml(RULES));
    agent = await startTestAgent(topo, config.path);
    const down = await waitForStatus(
      topo,
      (d) => condition(d, 'Available').reason === 'NoCarrier',
      20_000,
      'Available False NoCarrier',
    );
    expect(condition(down, 'Available').status).toBe('False');
    expect(condition(down, 'Degraded')).toMatchObject({ status: 'True', reason: 'NoCarrier' });
    await topo.ip('node', ['link', 'set', 'eth1', 'up']);
    await waitForStatus(
      topo,
      (d) => condition(d, 'Available').status === 'True',
      20_000,
      'Available True again',
    );
  }, 90_000);
});

describe('a creation killed half-way', () => {
  it('leaves a marked temporary link that the next apply sweeps', async () => {
    // What a SIGKILL right after `ip link add … netns` leaves: a temporary macvlan in the pod.
    await topo.ip('node', [
      'link',
      'add',
      'ertmpdeadbeef',
      'link',
      'eth1',
      'netns',
      topo.netnsPath(topo.pod().role),
      'type',
      'macvlan',
      'mode',
      'bridge',
    ]);
    expect(await linkNames(topo, 'pod')).toContain('ertmpdeadbeef');
    const path = await dir.write('sweep.yaml', routerYaml(RULES));
    const result = await expectAgent(topo, 'apply', path, 0);
    expect(result.stdout).toContain('deleted ertmpdeadbeef (left over from an interrupted creation)');
    const links = await linkNames(topo, 'pod');
    expect(links).toContain('net1');
    expect(links.filter((l) => l.startsWith('ertmp'))).toEqual([]);
  }, 60_000);
});

describe('monitors', () => {
  it('die with a SIGKILLed agent (nothing of it is left in the pod)', async () => {
    const config = await createConfigDir(`${dir.dir}/monitors`, routerYaml(RULES));
    agent = await startTestAgent(topo, config.path);
    await agent.waitReady(AGENT_START_MS);
    const before = await podProcesses();
    expect(before.some((c) => c.includes('ip -o monitor'))).toBe(true);
    expect(before.some((c) => c.includes('nft monitor'))).toBe(true);
    await agent.stop(10_000, 'SIGKILL').catch(() => undefined);
    agent = undefined;
    await pollUntil(
      async () => !(await podProcesses()).some((c) => /monitor/.test(c)),
      5_000,
      'the monitors to end with the agent',
    );
  }, 60_000);
});

describe('a scrape storm', () => {
  it('2,000 concurrent /metrics requests: every /healthz and /readyz probe is answered 200', async () => {
    const config = await createConfigDir(`${dir.dir}/storm`, routerYaml(RULES));
    agent = await startTestAgent(topo, config.path);
    await agent.waitReady(AGENT_START_MS);
    const script = `
      const target = 'http://127.0.0.1:${agent.healthPort}';
      const storm = Array.from({ length: 2000 }, () => fetch(target + '/metrics').then((r) => r.status, () => 0));
      const probes = [];
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 150));
        for (const path of ['/healthz', '/readyz'])
          probes.push(fetch(target + path, { signal: AbortSignal.timeout(10000) }).then((r) => r.status, () => 0));
      }
      const statuses = await Promise.all(storm);
      console.log(JSON.stringify({ probes: await Promise.all(probes), metrics: [...new Set(statuses)].sort() }));
    `;
    const result = await topo.exec('pod', [process.execPath, '--input-type=module', '-e', script], {
      timeoutMs: 60_000,
    });
    const outcome = JSON.parse(result.stdout) as { probes: number[]; metrics: number[] };
    expect(outcome.probes).toEqual(Array(12).fill(200));
    // Scrapes are answered, or told to come back (503) when too many are in flight.
    expect(outcome.metrics.every((s) => s === 200 || s === 503)).toBe(true);
    expect(outcome.metrics).toContain(200);
  }, 90_000);
});
