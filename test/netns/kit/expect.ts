/**
 * Expectations for the data-plane tests: the agent's exit code, and what the destinations saw.
 * The mechanics (topology, traffic, the agent runner) are the network kit's, src/netkit/.
 */
import { expect } from 'vitest';
import {
  type AgentLaunch,
  type AgentResult,
  type RequestResult,
  runAgentCommand,
  type ServerHandle,
  type ServerRecord,
  type Topology,
  tcpRequest,
  udpRequest,
} from '../../../src/netkit/index.js';

/** Runs a one-shot agent command in the pod and fails the test with its output unless it exits with `code`. */
export async function expectAgent(
  topo: Topology,
  command: 'apply' | 'cleanup',
  config: string | undefined,
  code: number,
  launch: AgentLaunch = {},
): Promise<AgentResult> {
  const result = await runAgentCommand(topo, command, config, launch);
  if (result.timedOut) throw new Error(`agent ${command} timed out`);
  expect(
    result.exitCode,
    `${command} ${config ?? ''}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  ).toBe(code);
  return result;
}

let payloadCounter = 0;

/** A payload unique within the test run, so records on shared servers cannot be confused. */
export function tag(what: string): string {
  payloadCounter += 1;
  return `${what}-${process.pid}-${payloadCounter}`;
}

/**
 * Sends a tagged request from `from` to `host:port`, and expects `server` to have answered it
 * and recorded it on `to.port` with `to.peer` as the source (the redirect and SNAT both worked).
 */
export async function expectRedirect(
  topo: Topology,
  proto: 'tcp' | 'udp',
  from: string,
  host: string,
  port: number,
  server: ServerHandle,
  to: { port: number; peer: string },
  label: string,
): Promise<ServerRecord> {
  const payload = tag(label);
  const send = proto === 'tcp' ? tcpRequest : udpRequest;
  return expectReached(await send(topo, from, host, port, payload), server, { proto, ...to, payload });
}

/**
 * The request got the reply of `server` on `port`, and that server recorded the payload with the
 * egress address as the peer (SNAT) and `port` as its local port.
 */
export async function expectReached(
  result: RequestResult<string>,
  server: ServerHandle,
  expected: { proto: 'tcp' | 'udp'; port: number; peer: string; payload: string },
): Promise<ServerRecord> {
  expect(result, JSON.stringify(result)).toMatchObject({
    ok: true,
    parsed: { name: server.name, peer: expected.peer, port: expected.port, payload: expected.payload },
  });
  const record = await server.waitFor((r) => r.payload === expected.payload, 2_000);
  expect(record).toMatchObject({
    proto: expected.proto,
    localPort: expected.port,
    peerAddress: expected.peer,
    payload: expected.payload,
  });
  return record;
}

/** None of the servers recorded the payload. */
export function expectUnseen(servers: readonly ServerHandle[], payload: string): void {
  for (const server of servers) {
    expect(
      server.seen().filter((r) => r.payload === payload),
      `${server.name} saw ${payload}`,
    ).toEqual([]);
  }
}
