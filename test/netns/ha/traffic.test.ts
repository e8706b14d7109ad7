// What a client on the LAN sees across a failover. The agent is not part of these tests, so a
// small stand-in for its address step follows each replica's role events: on `active` it adds
// the egress address 192.0.2.100/24 to net1 and sends gratuitous ARP (request and reply style,
// as the agent does); on anything else it removes the address. Each pod answers TCP 8080 with
// its name; the client opens a new connection every 10 ms.
import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaEvent } from '../../../src/agent/ha/supervisor.js';
import { runProgram } from '../../../src/system/command.js';
import { createHaTopology, type HaTopology, type Pod, pollUntil } from './haTopology.js';
import { median, type Replica, startReplica } from './replica.js';

const EGRESS = '192.0.2.100';
const PORT = '8080';
const RUNS = 5;
const ELECTION_MS = 5_000;
const HERE = fileURLToPath(new URL('./', import.meta.url));

let topology: HaTopology;
const processes = new Set<ChildProcess>();
const replicas = new Set<Replica>();
const answers: { at: number; from: string }[] = [];

function startProcess(argv: readonly string[], onLine?: (line: string) => void): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  processes.add(child);
  child.once('exit', () => processes.delete(child));
  if (onLine) createInterface({ input: child.stdout! }).on('line', onLine);
  else child.stdout?.resume();
  return child;
}

/** The stand-in for the agent's address step: one change at a time, in event order. */
function addressFollower(pod: Pod): (event: HaEvent) => void {
  let queue: Promise<unknown> = Promise.resolve();
  const ip = (args: string[]) => runProgram(['ip', '-n', topology.ns(pod), ...args], { timeoutMs: 5_000 });
  return (event) => {
    if (event.type !== 'role') return;
    queue = queue.then(async () => {
      if (event.role === 'active') {
        await ip(['address', 'add', `${EGRESS}/24`, 'dev', 'net1']);
        for (const style of ['-U', '-A']) {
          // arping sends at once, then waits a second before exiting: not awaited.
          void runProgram(
            [
              ...topology.enter(pod),
              'arping',
              style,
              '-c',
              '1',
              '-w',
              '2',
              '-I',
              'net1',
              '-s',
              EGRESS,
              EGRESS,
            ],
            { timeoutMs: 5_000 },
          );
        }
      } else {
        await ip(['address', 'del', `${EGRESS}/24`, 'dev', 'net1']);
      }
    });
  };
}

async function startPod(pod: Pod): Promise<{ replica: Replica; server: ChildProcess }> {
  await topology.linkLocal(pod);
  let listening = false;
  const server = startProcess(
    [...topology.enter(pod), process.execPath, `${HERE}nameServer.mjs`, pod, PORT],
    () => {
      listening = true;
    },
  );
  await pollUntil(() => listening, 10_000, `${pod}'s server`);
  const replica = await startReplica(topology, pod, {}, addressFollower(pod));
  replicas.add(replica);
  return { replica, server };
}

beforeAll(async () => {
  topology = await createHaTopology();
});

afterAll(async () => {
  for (const replica of replicas) await replica.engine.stop().catch(() => undefined);
  for (const child of processes) child.kill('SIGKILL');
  await topology?.destroy();
});

describe('a LAN client across failovers (with a stand-in for the agent’s address step)', () => {
  it(`new connections reach the new active after a pod death, ${RUNS} times`, async () => {
    const pods: Record<Pod, { replica: Replica; server: ChildProcess }> = {
      p1: await startPod('p1'),
      p2: await startPod('p2'),
    };
    await pollUntil(
      () => pods.p1.replica.role() === 'active' || pods.p2.replica.role() === 'active',
      ELECTION_MS,
      'an active replica',
    );
    startProcess(
      [...topology.enter('cli'), process.execPath, `${HERE}probeClient.mjs`, EGRESS, PORT],
      (line) => answers.push(JSON.parse(line) as { at: number; from: string }),
    );
    const firstActive = pods.p1.replica.role() === 'active' ? 'p1' : 'p2';
    await pollUntil(
      () => answers.some((a) => a.from === firstActive),
      ELECTION_MS,
      'the client to reach the active',
    );

    const toEvent: number[] = [];
    const toAnswer: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const dead: Pod = pods.p1.replica.role() === 'active' ? 'p1' : 'p2';
      const survivor: Pod = dead === 'p1' ? 'p2' : 'p1';
      const from = pods[survivor].replica.events.length;
      const killedAtWall = Date.now();
      const killedAt = performance.now();
      // The pod dies: its processes, then its namespace.
      await pods[dead].replica.killKeepalived();
      pods[dead].server.kill('SIGKILL');
      replicas.delete(pods[dead].replica);
      await pods[dead].replica.engine.stop();
      await topology.deletePod(dead);

      const event = await pods[survivor].replica.waitRole('active', ELECTION_MS, from);
      toEvent.push(event.receivedAt - killedAt);
      await pollUntil(
        () => answers.some((a) => a.from === survivor && a.at > killedAtWall),
        ELECTION_MS,
        `the client to reach ${survivor}`,
      );
      toAnswer.push(answers.find((a) => a.from === survivor && a.at > killedAtWall)!.at - killedAtWall);

      await topology.createPod(dead);
      pods[dead] = await startPod(dead);
      await pods[dead].replica.waitLog(/Entering BACKUP STATE/, ELECTION_MS);
    }
    const fmt = (values: number[]) =>
      `median ${Math.round(median(values))} ms, max ${Math.round(Math.max(...values))} ms`;
    console.log(
      `HA pod death seen by a LAN client, ${RUNS} runs: kill -> active event ${fmt(toEvent)}; ` +
        `kill -> first new connection answered by the new active ${fmt(toAnswer)} ` +
        `(all: ${toAnswer.map(Math.round).join(' ')})`,
    );
    // After the last failover, only the active answers: nothing from the standby.
    const active: Pod = pods.p1.replica.role() === 'active' ? 'p1' : 'p2';
    const settledAt = Date.now() + 500;
    await pollUntil(() => Date.now() > settledAt + 500, 2_000, 'more answers');
    const late = answers.filter((a) => a.at > settledAt);
    expect(late.length).toBeGreaterThan(0);
    expect(new Set(late.map((a) => a.from))).toEqual(new Set([active]));
  }, 180_000);
});
