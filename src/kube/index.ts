/**
 * The Kubernetes sinks of the agent's status snapshot, for `run --report-status`: the status
 * writer (conditions on the EgressRouter) and the Event recorder. The control loop loads this
 * module with a dynamic import only when status reporting is asked for, so an agent without it
 * never loads @kubernetes/client-node (measured: +25 MB RSS after GC and about 1.4 s to load
 * when asked for, nothing otherwise). Loading takes that long: create the sinks beside the first
 * pass, not before it.
 */
import { hostname } from 'node:os';
import type { StatusSink } from '../agent/status/snapshot.js';
import { createClientNodeApi } from './clientNode.js';
import { type Clock, type KubeLog, realClock } from './clock.js';
import { EventRecorder } from './events.js';
import { InClusterError, readInClusterConfig, SERVICE_ACCOUNT_DIR } from './inCluster.js';
import { StatusWriter } from './statusWriter.js';

export interface KubernetesSinkOptions {
  /** The EgressRouter's metadata.name (the config's name). */
  readonly name: string;
  /** Its namespace: the config's metadata.namespace, else the pod's own. */
  readonly namespace?: string;
  readonly log: KubeLog;
  /** Default: process.env (KUBERNETES_SERVICE_HOST/PORT, POD_NAME, NODE_NAME). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly serviceAccountDir?: string;
  readonly clock?: Clock;
}

export { InClusterError };

/**
 * Both sinks, sharing one API client. Throws InClusterError (with the reason) when the pod has no
 * in-cluster access; the caller decides whether that stops the agent or only status reporting.
 */
export async function createKubernetesSinks(options: KubernetesSinkOptions): Promise<StatusSink[]> {
  const env = options.env ?? process.env;
  const cluster = await readInClusterConfig(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  const namespace = options.namespace ?? cluster.namespace;
  if (!namespace)
    throw new InClusterError('no namespace: neither the config nor the service-account directory names one');
  const clock = options.clock ?? realClock;
  const api = createClientNodeApi({ cluster, name: options.name, namespace, now: () => clock.now() });
  const target = `${namespace}/${options.name}`;
  options.log.info({ target, server: cluster.server }, 'writing status and events to the EgressRouter');
  return [
    new StatusWriter({ api, clock, log: options.log, target }),
    new EventRecorder({
      api,
      clock,
      log: options.log,
      router: { name: options.name, namespace },
      podName: env.POD_NAME ?? hostname(),
      ...(env.NODE_NAME ? { nodeName: env.NODE_NAME } : {}),
    }),
  ];
}
