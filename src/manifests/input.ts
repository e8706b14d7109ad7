/** What `manifests` needs to know about one router, gathered and checked by the CLI. */
import type { RouterConfig } from '../config/model.js';

export interface HaSettings {
  /** VRRP virtual router id, 1–255. */
  readonly group: number;
  readonly priority?: number;
  /** Seconds, as written on the command line (e.g. "0.1"). */
  readonly advertInterval?: string;
  readonly peers: readonly string[];
}

/** A client the NetworkPolicy admits: a whole namespace, or pods by label (in a namespace or in the router's). */
export type PolicyPeer =
  | { readonly namespace: string }
  | { readonly namespace?: string; readonly podLabels: Readonly<Record<string, string>> };

export interface NetworkPolicySettings {
  readonly clients: readonly PolicyPeer[];
  /** Namespaces whose pods may scrape the health port (/metrics), e.g. Prometheus's. */
  readonly metricsNamespaces: readonly string[];
}

export interface RouterInput {
  /** The config text exactly as given: it goes into the ConfigMap. */
  readonly configText: string;
  readonly config: RouterConfig;
  /** The EgressRouter document, when the config is one: emitted too, as the object status is written to. */
  readonly egressRouter?: Readonly<Record<string, unknown>>;
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  /** --health-addr as given to the agent (":9099" by default) and its port. */
  readonly healthAddr: string;
  readonly healthPort: number;
  readonly egressInterface: string;
  /** Flags passed through to both containers unchanged (--interface, --cluster-interface, --cluster-cidr). */
  readonly passThroughArgs: readonly string[];
  readonly ha?: HaSettings;
  readonly networkPolicy?: NetworkPolicySettings;
  readonly monitoring: boolean;
  readonly version: string;
}

/** Status is written back only to an EgressRouter: the other formats have no object to write to. */
export const reportsStatus = (input: RouterInput): boolean => input.egressRouter !== undefined;
