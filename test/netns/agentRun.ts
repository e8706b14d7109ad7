/**
 * Running the built agent (`dist/cli.js`) inside a topology's pod namespace, and reading back
 * what it changed. Shared by the apply-*.test.ts files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { NsRef, Topology } from './harness/topology.js';
import {
  type RequestResult,
  type ServerHandle,
  type ServerRecord,
  tcpRequest,
  udpRequest,
} from './harness/traffic.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');
const NODE = process.execPath;
const AGENT_TIMEOUT_MS = 60_000;

/** Builds dist/ once per test file, so the agent under test is the current source. */
export async function buildAgent(): Promise<void> {
  const result = await execa('npm', ['run', 'build'], { cwd: ROOT, reject: false, timeout: 120_000 });
  if (result.failed && !existsSync(CLI)) {
    throw new Error(`npm run build failed and there is no dist/cli.js: ${String(result.stderr)}`);
  }
  if (result.failed) {
    // tsc still emits on type errors; a stale or half-edited tree elsewhere must not hide our results.
    process.stderr.write(
      `warning: npm run build failed, using dist/ as emitted:\n${String(result.stderr)}\n`,
    );
  }
}

export interface AgentResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AgentFlags {
  /** Pass `--master-netns /run/netns/<node>` (default true). */
  readonly masterNetns?: boolean;
  /** `--cluster-cidr` values (default the harness cluster range, 198.18.0.0/15). */
  readonly clusterCidrs?: readonly string[];
  /** More arguments, e.g. `--from-env` or `--interface`. */
  readonly extra?: readonly string[];
  /** Environment for the agent process (on top of the test's). */
  readonly env?: Readonly<Record<string, string>>;
}

/** `ip netns exec <pod> node dist/cli.js COMMAND [CONFIG] flags...`, bounded. */
export async function runAgent(
  topo: Topology,
  command: 'apply' | 'cleanup',
  config: string | undefined,
  flags: AgentFlags = {},
): Promise<AgentResult> {
  const argv = [NODE, CLI, command, ...(config === undefined ? [] : [config])];
  if (flags.masterNetns ?? true) argv.push('--master-netns', topo.masterNetnsPath);
  for (const cidr of flags.clusterCidrs ?? [topo.plan.cluster.v4]) argv.push('--cluster-cidr', cidr);
  argv.push(...(flags.extra ?? []));
  const result = await execa('ip', ['netns', 'exec', topo.names.pod, ...argv], {
    reject: false,
    timeout: AGENT_TIMEOUT_MS,
    stdin: 'ignore',
    ...(flags.env ? { env: flags.env } : {}),
  });
  if (result.timedOut) throw new Error(`agent ${command} timed out after ${AGENT_TIMEOUT_MS} ms`);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs the agent and fails the test with its output unless it exits with `code`. */
export async function expectAgent(
  topo: Topology,
  command: 'apply' | 'cleanup',
  config: string | undefined,
  code: number,
  flags: AgentFlags = {},
): Promise<AgentResult> {
  const result = await runAgent(topo, command, config, flags);
  expect(
    result.exitCode,
    `${command} ${config ?? ''}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  ).toBe(code);
  return result;
}

/** A private temp directory for config files; remove() deletes it. */
export async function configDir(): Promise<{
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'ert-apply-'));
  return {
    write: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text, { mode: 0o600 });
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface RuleSpec {
  readonly destinationIP: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly targetPort?: number;
}

/** An EgressRouter document (JSON is valid YAML). */
export function egressRouter(spec: {
  addresses: readonly { ip: string; gateway?: string }[];
  rules?: readonly RuleSpec[];
  fallbackIP?: string;
  master?: string;
  mode?: string;
}): string {
  const macvlan = { mode: spec.mode ?? 'Bridge', ...(spec.master ? { master: spec.master } : {}) };
  return `${JSON.stringify(
    {
      apiVersion: 'network.operator.openshift.io/v1',
      kind: 'EgressRouter',
      metadata: { name: 'netns-test', namespace: 'egress' },
      spec: {
        mode: 'Redirect',
        networkInterface: { macvlan },
        addresses: spec.addresses,
        redirect: {
          redirectRules: spec.rules ?? [],
          ...(spec.fallbackIP ? { fallbackIP: spec.fallbackIP } : {}),
        },
      },
    },
    null,
    2,
  )}\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading state back.

interface Json {
  [key: string]: unknown;
}

const sortedJson = (items: readonly unknown[]): string[] => items.map((i) => JSON.stringify(i)).sort();

/** `ip -j route` of both families, sorted, for exact before/after comparisons. */
export async function routes(topo: Topology, ns: NsRef = 'pod'): Promise<{ v4: string[]; v6: string[] }> {
  const [v4, v6] = await Promise.all([
    topo.ipJson<Json[]>(ns, ['-4', 'route', 'show', 'table', 'main']),
    topo.ipJson<Json[]>(ns, ['-6', 'route', 'show', 'table', 'main']),
  ]);
  return { v4: sortedJson(v4 ?? []), v6: sortedJson(v6 ?? []) };
}

export async function linkNames(topo: Topology, ns: NsRef): Promise<string[]> {
  const links = await topo.ipJson<{ ifname: string }[]>(ns, ['link', 'show']);
  return (links ?? []).map((l) => l.ifname).sort();
}

/** Global addresses of a device as CIDRs (empty when the device does not exist). */
export async function globalAddresses(topo: Topology, ns: NsRef, dev: string): Promise<string[]> {
  const shown = await topo.ip(ns, ['-j', 'address', 'show', 'dev', dev], { reject: false });
  if (shown.failed) return [];
  const entries = JSON.parse(shown.stdout || '[]') as {
    addr_info?: { local: string; prefixlen: number; scope: string }[];
  }[];
  return entries
    .flatMap((e) => e.addr_info ?? [])
    .filter((a) => a.scope === 'global')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

export async function ruleset(topo: Topology, ns: NsRef = 'pod'): Promise<string> {
  return (await topo.exec(ns, ['nft', 'list', 'ruleset'])).stdout.trim();
}

export async function sysctls(topo: Topology, ns: NsRef, keys: readonly string[]): Promise<string> {
  return (await topo.exec(ns, ['sysctl', ...keys])).stdout.trim();
}

/** Everything the agent may touch in the pod (and the node's links), to prove nothing changed. */
export async function podSnapshot(topo: Topology): Promise<Record<string, unknown>> {
  const addresses = await topo.ipJson<
    { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[]
  >('pod', ['address', 'show']);
  return {
    links: await linkNames(topo, 'pod'),
    nodeLinks: await linkNames(topo, 'node'),
    addresses: (addresses ?? [])
      .flatMap((e) => (e.addr_info ?? []).map((a) => `${e.ifname} ${a.local}/${a.prefixlen}`))
      .sort(),
    routes: await routes(topo),
    ruleset: await ruleset(topo),
    sysctls: await sysctls(topo, 'pod', ['net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']),
  };
}

/** The elements of one of the agent's maps: `tcp . 80` -> its value and (counter maps) connection count. */
export async function mapElements(
  topo: Topology,
  map: string,
): Promise<Map<string, { value: string; packets?: number }>> {
  const out = (await topo.exec('pod', ['nft', '-j', 'list', 'map', 'inet', 'egress_router', map])).stdout;
  const listed = (JSON.parse(out) as { nftables: Json[] }).nftables.find((o) => 'map' in o)?.map as
    | { elem?: unknown[] }
    | undefined;
  const elements = new Map<string, { value: string; packets?: number }>();
  for (const element of listed?.elem ?? []) {
    const [key, value] = element as [
      { concat?: unknown[]; elem?: { val?: { concat?: unknown[] }; counter?: { packets?: number } } },
      unknown,
    ];
    const concat = key.elem?.val?.concat ?? key.concat ?? [];
    const packets = key.elem?.counter?.packets;
    elements.set(concat.map(String).join(' . '), {
      value: String(value),
      ...(packets === undefined ? {} : { packets }),
    });
  }
  return elements;
}

// ---------------------------------------------------------------------------------------------
// Traffic assertions.

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
  from: NsRef,
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
