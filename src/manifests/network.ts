/** The NetworkAttachmentDefinition that gives the pod net1, and the optional NetworkPolicy. */
import type { NetworkPolicySettings, PolicyPeer, RouterInput } from './input.js';
import { objectLabels, selectorLabels } from './names.js';
import type { KubeObject, Manifest } from './types.js';

/** The CNI version written into the attachment; the macvlan plugin and Multus both accept it. */
export const NAD_CNI_VERSION = '0.4.0';

/**
 * The standard macvlan CNI config (no IPAM: "ipam": {} gives an interface without addresses, and
 * the agent adds the egress addresses itself after validating them), on the EgressRouter's master
 * and mode. Adopt mode: the agent adopts the interface Multus attached.
 *
 * With an IPv6 address the agent needs the interface's ndisc_notify on (the kernel then announces
 * each new address with an unsolicited neighbour advertisement); it is a per-interface sysctl that
 * does not exist when the pod's sysctls are applied, so the tuning plugin sets it, chained after
 * macvlan in a conflist.
 */
export function macvlanConfig(input: RouterInput): Record<string, unknown> {
  const macvlan = input.config.macvlan;
  const plugin = {
    type: 'macvlan',
    ...(macvlan.master !== undefined ? { master: macvlan.master } : {}),
    mode: macvlan.mode.toLowerCase(),
    ...(macvlan.mtu !== undefined ? { mtu: macvlan.mtu } : {}),
    ipam: {},
  };
  if (!input.config.addresses.some((a) => a.family === 6))
    return { cniVersion: NAD_CNI_VERSION, name: input.name, ...plugin };
  return {
    cniVersion: NAD_CNI_VERSION,
    name: input.name,
    plugins: [
      plugin,
      { type: 'tuning', sysctl: { [`net.ipv6.conf.${input.egressInterface}.ndisc_notify`]: '1' } },
    ],
  };
}

export function networkAttachmentDefinition(input: RouterInput): Manifest {
  const object = {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: { config: `${JSON.stringify(macvlanConfig(input), null, 2)}\n` },
  } as KubeObject;
  const master = input.config.macvlan.master;
  return {
    object,
    comment:
      `net1 for the router pod: a plain macvlan on the node's ${master ?? '<default-route interface>'}, attached by Multus.\n` +
      (master === undefined
        ? 'The EgressRouter names no master, so the macvlan CNI takes the node interface of the default route;\n' +
          'set spec.networkInterface.macvlan.master if the egress LAN is on another interface.'
        : 'master and mode are those of spec.networkInterface.macvlan.'),
  };
}

interface PolicyPeerObject {
  readonly namespaceSelector?: { readonly matchLabels: Record<string, string> };
  readonly podSelector?: { readonly matchLabels: Record<string, string> };
}

/** The namespace label every namespace carries (Kubernetes 1.22+). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

function peerObject(peer: PolicyPeer): PolicyPeerObject {
  const namespaceSelector =
    peer.namespace !== undefined
      ? { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } } }
      : {};
  const podSelector = 'podLabels' in peer ? { podSelector: { matchLabels: { ...peer.podLabels } } } : {};
  return { ...namespaceSelector, ...podSelector };
}

interface PolicyPort {
  readonly protocol: string;
  readonly port?: number;
  readonly endPort?: number;
}

/**
 * The ports clients may use: the rules' ports; with a fallback every port but the health port
 * (TCP 1…health-1 and health+1…65535, all of UDP and SCTP), so clients never reach /metrics.
 */
export function clientPorts(input: RouterInput): PolicyPort[] {
  if (input.config.fallback === undefined) {
    return input.config.redirectRules.map((r) => ({ protocol: r.protocol.toUpperCase(), port: r.port }));
  }
  const health = input.healthPort;
  const tcp: PolicyPort[] = [];
  if (health > 1) tcp.push({ protocol: 'TCP', port: 1, ...(health - 1 > 1 ? { endPort: health - 1 } : {}) });
  if (health < 65535)
    tcp.push({ protocol: 'TCP', port: health + 1, ...(health + 1 < 65535 ? { endPort: 65535 } : {}) });
  return [
    ...tcp,
    { protocol: 'UDP', port: 1, endPort: 65535 },
    { protocol: 'SCTP', port: 1, endPort: 65535 },
  ];
}

export function networkPolicy(input: RouterInput, settings: NetworkPolicySettings): Manifest {
  const ingress: Record<string, unknown>[] = [
    { from: settings.clients.map(peerObject), ports: clientPorts(input) },
  ];
  if (settings.metricsNamespaces.length > 0) {
    ingress.push({
      from: settings.metricsNamespaces.map((namespace) => peerObject({ namespace })),
      ports: [{ protocol: 'TCP', port: input.healthPort }],
    });
  }
  const object = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: { podSelector: { matchLabels: selectorLabels(input.name) }, policyTypes: ['Ingress'], ingress },
  } as KubeObject;
  return {
    object,
    comment:
      'Only the clients named to `manifests` reach the router, and only on its client ports; the health\n' +
      'port (/metrics, /status) only from the metrics namespaces named. Kubelet probes come from the\n' +
      'node, which most network plugins never subject to NetworkPolicy; if yours does, allow the node\n' +
      "network to the health port. This policy covers the pod's cluster interface (eth0) only: Multus\n" +
      "interfaces are outside NetworkPolicy, and the agent's own input chain refuses the health port on net1.",
  };
}
