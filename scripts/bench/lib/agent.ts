/**
 * The agent under test, run as it runs in a router pod, through the network kit's agent runner
 * (src/netkit/agent.ts): `ip netns exec <pod> node [flags] <cli> apply|run CONFIG …`. The bench
 * runs a private copy of dist/ (snapshotAgent) and the V8 flags of the executable's shebang.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AgentProcess,
  agentArgv,
  CLI,
  epochMs,
  NODE,
  PLAN,
  run,
  startAgent,
  type Topology,
} from '../../../src/netkit/index.js';
import { shebangFlagsOf } from './shebang.js';

export { logTime } from '../../../src/netkit/index.js';
export type RunAgent = AgentProcess;

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
let cliPath = CLI;

/** The agent CLI the suites run: dist/cli.js, or the private copy made by snapshotAgent(). */
export function cli(): string {
  return cliPath;
}

/**
 * Copies dist/ and package.json into `dir`, with a hard-linked copy of node_modules (`cp -al`:
 * instant, same file system), and runs the agent from there: a rebuild or an `npm install` by
 * someone else during a long run cannot change the agent halfway.
 */
export async function snapshotAgent(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await cp(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true });
  await cp(join(REPO, 'package.json'), join(dir, 'package.json'));
  const linked = await run(['cp', '-al', join(REPO, 'node_modules'), join(dir, 'node_modules')], {
    reject: false,
    timeoutMs: 60_000,
  });
  // Another file system: a plain copy (slower, same effect).
  if (linked.failed) {
    await rm(join(dir, 'node_modules'), { recursive: true, force: true });
    await cp(join(REPO, 'node_modules'), join(dir, 'node_modules'), { recursive: true });
  }
  cliPath = join(dir, 'dist', 'cli.js');
  return cliPath;
}

/**
 * The V8 flags the executable's shebang passes: the agent is measured as it is launched in the
 * image and through the package's bin. BENCH_NODE_FLAGS replaces them for an A/B run (e.g.
 * "--max-semi-space-size=1 --max-opt=3": `run` with the optimising compilers it otherwise
 * leaves out).
 */
export function shebangFlags(): string[] {
  const override = process.env.BENCH_NODE_FLAGS;
  if (override !== undefined) return override.trim().split(/\s+/).filter(Boolean);
  return shebangFlagsOf(cli());
}

/** `node dist/cli.js render CONFIG --format json`: the exact batch apply hands to `nft -j -f`. */
export async function renderJson(configPath: string): Promise<string> {
  return (
    await run([NODE, cli(), 'render', configPath, '--format', 'json', '--cluster-cidr', PLAN.cluster.v4], {
      timeoutMs: 120_000,
    })
  ).stdout;
}

export interface TimedApply {
  readonly ms: number;
  readonly stdout: string;
}

/**
 * Times `apply` from process start to its exit, and fails unless it exited 0 saying "applied"
 * (the agent verifies by reading the table back before it says so). `wrap` prefixes the node
 * command (strace for the phase profile); `nodeFlags` go to node (--cpu-prof).
 */
export async function timedApply(
  topo: Topology,
  configPath: string,
  options: { wrap?: readonly string[]; nodeFlags?: readonly string[]; timeoutMs?: number } = {},
): Promise<TimedApply> {
  const argv = agentArgv(topo, 'apply', configPath, {
    cli: cli(),
    nodeFlags: options.nodeFlags ?? shebangFlags(),
    ...(options.wrap ? { wrap: options.wrap } : {}),
  });
  const started = performance.now();
  const result = await topo.exec('pod', argv, { reject: false, timeoutMs: options.timeoutMs ?? 300_000 });
  const ms = performance.now() - started;
  if (result.failed || !/^applied: /m.test(result.stdout)) {
    throw new Error(
      `apply failed (exit ${result.exitCode}${result.timedOut ? ', timed out' : ''}): ${result.stderr.trim()} ${result.stdout.trim()}`,
    );
  }
  return { ms, stdout: result.stdout };
}

/** Starts `run` in the pod with JSON logs on stdout (health port 9099) and waits until its process is there. */
export function startRunAgent(
  topo: Topology,
  configPath: string,
  options: { wrap?: readonly string[]; nodeFlags?: readonly string[]; extra?: readonly string[] } = {},
): Promise<RunAgent> {
  return startAgent(topo, configPath, {
    cli: cli(),
    nodeFlags: options.nodeFlags ?? shebangFlags(),
    ...(options.wrap ? { wrap: options.wrap } : {}),
    ...(options.extra ? { args: options.extra } : {}),
  });
}

/** SIGTERM, SIGKILL after a bound; a late exit is logged, not thrown (teardown goes on). */
export async function stopRunAgent(agent: RunAgent, log: (message: string) => void): Promise<void> {
  await agent.stop(15_000).catch((error: unknown) => log((error as Error).message));
}

/** Epoch ms now, for comparing with pino's `time` and the client driver's timestamps. */
export const clock = epochMs;
