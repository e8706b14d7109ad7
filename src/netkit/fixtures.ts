/**
 * EgressRouter documents from rule specs (pure), as a test or a benchmark writes them for the
 * agent: `egressRouter(spec, format)` gives the text (`json`: indented, `compact-json`: one line,
 * the fastest for the agent to parse; `yaml`: as a ConfigMap would hold it).
 *
 * ```ts
 * egressRouter({
 *   addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
 *   rules: [{ destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' }],
 *   master: 'eth1',
 * });
 * ```
 */
import { stringify } from 'yaml';

export interface RuleSpec {
  readonly destinationIP: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly targetPort?: number;
}

export interface RouterSpec {
  readonly addresses: readonly { readonly ip: string; readonly gateway?: string }[];
  readonly rules?: readonly RuleSpec[];
  readonly fallbackIP?: string;
  /** spec.networkInterface.macvlan.master (default: none, the agent infers it). */
  readonly master?: string;
  /** spec.networkInterface.macvlan.mode (default Bridge). */
  readonly mode?: string;
  /** metadata.name (default netkit) and metadata.namespace (default none). */
  readonly name?: string;
  readonly namespace?: string;
}

export type FixtureFormat = 'json' | 'compact-json' | 'yaml';

export function egressRouterDocument(spec: RouterSpec): Record<string, unknown> {
  const macvlan = { mode: spec.mode ?? 'Bridge', ...(spec.master ? { master: spec.master } : {}) };
  return {
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: spec.name ?? 'netkit', ...(spec.namespace ? { namespace: spec.namespace } : {}) },
    spec: {
      mode: 'Redirect',
      networkInterface: { macvlan },
      addresses: spec.addresses,
      redirect: {
        redirectRules: spec.rules ?? [],
        ...(spec.fallbackIP ? { fallbackIP: spec.fallbackIP } : {}),
      },
    },
  };
}

export function egressRouter(spec: RouterSpec, format: FixtureFormat = 'json'): string {
  const document = egressRouterDocument(spec);
  if (format === 'compact-json') return JSON.stringify(document);
  if (format === 'yaml') return stringify(document);
  return `${JSON.stringify(document, null, 2)}\n`;
}
