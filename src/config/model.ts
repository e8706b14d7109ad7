/**
 * The one validated model every input format normalizes to. Everything downstream
 * (plan, ruleset, apply) reads only this.
 */

export type Family = 4 | 6;
export type Protocol = 'tcp' | 'udp' | 'sctp';
export type MacvlanMode = 'Bridge' | 'Private' | 'VEPA' | 'Passthru';
export type InputFormat = 'EgressRouter' | 'CNI' | 'NetworkAttachmentDefinition' | 'LegacyEnv';
export type LegacyMode = 'init' | 'legacy' | 'unit-test' | 'http-proxy' | 'dns-proxy';

export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];
export const MACVLAN_MODES: readonly MacvlanMode[] = ['Bridge', 'Private', 'VEPA', 'Passthru'];

export interface EgressAddress {
  /** Canonical address literal (RFC 5952 for IPv6). */
  readonly address: string;
  readonly prefixLength: number;
  readonly family: Family;
  /** Canonical gateway literal, when the config names one. */
  readonly gateway?: string;
}

export interface RedirectRule {
  readonly protocol: Protocol;
  readonly port: number;
  readonly destinationIP: string;
  /** Always set: defaults to `port`, as the API promises. */
  readonly targetPort: number;
  readonly family: Family;
  /**
   * Where the rule came from, for messages about it found later (at apply time):
   * `spec.redirect.redirectRules[2]`, `ip.destinations[3]`, `EGRESS_DESTINATION line 4`.
   */
  readonly source: string;
}

export interface FallbackTarget {
  readonly address: string;
  readonly family: Family;
  /** Where it came from: `spec.redirect.fallbackIP`, `ip.destinations[5]`, `EGRESS_DESTINATION line 6`. */
  readonly source: string;
}

export interface MacvlanSpec {
  readonly mode: MacvlanMode;
  readonly master?: string;
  readonly mtu?: number;
}

export interface RouterConfig {
  readonly format: InputFormat;
  /** metadata.name / CNI network name, for messages and status. */
  readonly name?: string;
  readonly namespace?: string;
  readonly macvlan: MacvlanSpec;
  readonly addresses: readonly EgressAddress[];
  readonly redirectRules: readonly RedirectRule[];
  readonly fallback?: FallbackTarget;
  /** Only for the legacy environment: what EGRESS_ROUTER_MODE asked for. */
  readonly legacyMode?: LegacyMode;
  /** Things worth telling the operator that are not errors. */
  readonly notes: readonly string[];
}

/** Options that shape validation and rendering but are not part of the config file. */
export interface AgentOptions {
  readonly egressInterface: string;
  readonly clusterInterface: string;
  /** TCP port of the agent's own health server; never redirected or rejected. */
  readonly healthPort: number;
  /**
   * `--cluster-cidr` values as given: ranges that stay on the cluster interface. Validation refuses
   * one that overlaps an egress subnet or holds the gateway, and a destination inside one.
   */
  readonly clusterCidrs?: readonly string[];
}

export const DEFAULT_HEALTH_PORT = 9099;
export const DEFAULT_OPTIONS: AgentOptions = {
  egressInterface: 'net1',
  clusterInterface: 'eth0',
  healthPort: DEFAULT_HEALTH_PORT,
};
