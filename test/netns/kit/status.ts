/**
 * The agent's /status document and metrics as the run-mode tests read them: its shape, its
 * conditions, waiting for a condition, and waiting for the agent to settle.
 */
import { agentMetrics, type HttpOptions, http, pollUntil, type Topology } from '../../../src/netkit/index.js';

export interface StatusCondition {
  readonly type: string;
  readonly status: string;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export interface StatusRule {
  readonly protocol: string;
  readonly port: number;
  readonly destinationIP: string;
  readonly targetPort: number;
  readonly family: number;
  readonly connections: number;
}

export interface StatusDoc {
  readonly conditions: StatusCondition[];
  readonly rules: StatusRule[];
  readonly config: unknown;
  readonly interface: unknown;
  readonly lastApplyTime: string | null;
  readonly lastRepair: { time: string; changes: { kind: string; message: string }[] } | null;
  readonly [key: string]: unknown;
}

/** GET /status from inside the pod (options.ns: another pod). */
export async function status(topo: Topology, options: HttpOptions = {}): Promise<StatusDoc> {
  const reply = await http(topo, '/status', options);
  if (reply.status !== 200) throw new Error(`/status answered ${reply.status}: ${reply.body}`);
  return JSON.parse(reply.body) as StatusDoc;
}

export function condition(doc: StatusDoc, type: string): StatusCondition {
  const found = doc.conditions.find((c) => c.type === type);
  if (!found) throw new Error(`no ${type} condition in ${JSON.stringify(doc.conditions)}`);
  return found;
}

export function conditionIs(doc: StatusDoc, type: string, statusValue: string, reason?: string): boolean {
  const c = doc.conditions.find((entry) => entry.type === type);
  return c?.status === statusValue && (reason === undefined || c.reason === reason);
}

/** Polls /status until `predicate` holds; returns the document that satisfied it. */
export async function waitForStatus(
  topo: Topology,
  predicate: (doc: StatusDoc) => boolean,
  timeoutMs: number,
  what: string,
  options: HttpOptions = {},
): Promise<StatusDoc> {
  let last: StatusDoc | undefined;
  let lastError: unknown;
  try {
    await pollUntil(
      async () => {
        try {
          last = await status(topo, options);
          return predicate(last);
        } catch (error) {
          lastError = error;
          return false;
        }
      },
      timeoutMs,
      what,
      100,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last status: ${JSON.stringify(last?.conditions)}; last error: ${String(lastError)}`,
    );
  }
  return last as StatusDoc;
}

/** The /metrics text. */
export const metrics = (topo: Topology, options: HttpOptions = {}): Promise<string> =>
  agentMetrics(topo, options);

/** Passes finished so far, whatever triggered them. */
export async function passCount(topo: Topology, options: HttpOptions = {}): Promise<number> {
  let total = 0;
  for (const line of (await metrics(topo, options)).split('\n')) {
    // The histogram is being renamed (apply → sync): either name counts.
    const match = /^egress_router_(?:apply|sync)_duration_seconds_count\{[^}]*\} (\d+)/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/**
 * Waits until no pass has finished for `quietMs` (the echo passes set off by the agent's own
 * changes are over), so the next change a test makes starts from a settled agent.
 */
export async function waitForQuiet(topo: Topology, quietMs = 300, timeoutMs = 5_000): Promise<void> {
  let last = await passCount(topo);
  let since = Date.now();
  await pollUntil(
    async () => {
      const now = await passCount(topo);
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    timeoutMs,
    `no reconcile pass for ${quietMs} ms`,
    50,
  );
}
