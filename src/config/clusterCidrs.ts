/**
 * `--cluster-cidr` values: the cluster and service ranges whose traffic stays on the cluster
 * interface. They shape routing as much as the config does, so they are checked like config:
 * alone here (a CIDR, no host bits, not the default route), against the config in validate.ts
 * (no overlap with an egress subnet, not holding the gateway or a redirect destination).
 */
import { type IpPrefix, networkOf, parsePrefix } from './ip.js';
import { quote } from './issues.js';

export const CLUSTER_CIDR_FLAG = '--cluster-cidr';

export interface ClusterCidr {
  /** As given on the command line: messages name the value the operator wrote. */
  readonly text: string;
  readonly prefix: IpPrefix;
  /** Canonical `network/length`, what routes are made of. */
  readonly cidr: string;
}

export type ClusterCidrResult = { ok: true; value: ClusterCidr } | { ok: false; error: string };

/** The path that names one value in messages: `--cluster-cidr 192.0.2.0/25`. */
export function clusterCidrPath(text: string): string {
  return `${CLUSTER_CIDR_FLAG} ${/^[0-9A-Fa-f:./]+$/.test(text) ? text : quote(text)}`;
}

/** One value on its own: a CIDR with no host bits that leaves the default route alone. */
export function parseClusterCidr(text: string): ClusterCidrResult {
  const parsed = parsePrefix(text);
  if (!parsed.ok || parsed.value.bare) {
    return { ok: false, error: `must be a CIDR such as 198.18.0.0/15, got ${quote(text)}` };
  }
  const prefix = parsed.value;
  if (prefix.prefixLength === 0) {
    return {
      ok: false,
      error: 'covers the default route: every destination would stay on the cluster interface',
    };
  }
  const cidr = networkOf(prefix);
  if (cidr !== `${prefix.address}/${prefix.prefixLength}`) {
    // Normalising silently would hide a typo (198.18.0.1/15 meant as /31?); say what it means.
    return { ok: false, error: `has host bits set; the range it names is ${cidr}, write that` };
  }
  return { ok: true, value: { text, prefix, cidr } };
}

/**
 * Every value checked on its own; the canonical CIDRs, or the first problem as
 * `--cluster-cidr VALUE: reason`. The CLI calls this once for its repeated flag.
 */
export function parseClusterCidrs(
  texts: readonly string[],
): { ok: true; cidrs: string[] } | { ok: false; error: string } {
  const cidrs: string[] = [];
  for (const text of texts) {
    const parsed = parseClusterCidr(text);
    if (!parsed.ok) return { ok: false, error: `${clusterCidrPath(text)}: ${parsed.error}` };
    if (cidrs.includes(parsed.value.cidr)) {
      return { ok: false, error: `${clusterCidrPath(text)}: is given twice` };
    }
    cidrs.push(parsed.value.cidr);
  }
  return { ok: true, cidrs };
}
