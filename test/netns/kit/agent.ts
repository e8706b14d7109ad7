/**
 * The agent as the run-mode tests start it: the kit's `startAgent` with a short resync interval
 * (2 s, so drift and resync tests finish quickly), and the IPv4 router they configure.
 */
import {
  type AgentProcess,
  egressRouter,
  PLAN,
  type RuleSpec,
  type RunLaunch,
  startAgent,
  type Topology,
} from '../../../src/netkit/index.js';

/**
 * How long an agent may take from its spawn to its first pass done (ready, or the first
 * condition it reports). A bound on a hang, not a measurement: on a 2-core machine at load 10
 * the first apply alone took 9-20 s, and a 20 s bound failed tests that never got to their point.
 */
export const AGENT_START_MS = 60_000;

/** `run CONFIG` in the pod with `--resync-interval 2` and JSON logs (see the kit's startAgent). */
export function startTestAgent(
  topo: Topology,
  configPath: string,
  extra: readonly string[] = [],
  launch: RunLaunch = {},
): Promise<AgentProcess> {
  return startAgent(topo, configPath, { ...launch, args: ['--resync-interval', '2', ...extra] });
}

/** An IPv4 EgressRouter on the kit's LAN (egress 192.0.2.100/24, master eth1), as YAML. */
export function routerYaml(rules: readonly RuleSpec[], gateway: string = PLAN.gw.v4): string {
  return egressRouter(
    {
      name: 'e2e-run',
      master: 'eth1',
      addresses: [{ ip: `${PLAN.egress.v4[0]}/24`, gateway }],
      rules,
    },
    'yaml',
  );
}

/** Prints the agent's last log lines (and stderr) after a failed test, so CI output says why. */
export function printAgentLogIfFailed(
  context: { readonly task: { readonly result?: { readonly state?: string } } },
  agent: AgentProcess | undefined,
  lines = 40,
): void {
  if (context.task.result?.state !== 'fail' || !agent) return;
  const log = agent.logs
    .slice(-lines)
    .map((l) => JSON.stringify(l))
    .join('\n');
  console.error(`agent log (last ${lines} lines):\n${log}\n${agent.stderr().slice(-2_000)}`);
}

/** A run-mode file's teardown: the agent, then the topology, then the scratch files, each even when the one before failed. */
export async function tearDownRun(
  agent: AgentProcess | undefined,
  topo: Topology | undefined,
  removeScratch: () => Promise<unknown>,
): Promise<void> {
  try {
    await agent?.stop().catch(() => undefined);
  } finally {
    try {
      await topo?.destroy();
    } finally {
      await removeScratch();
    }
  }
}
