/**
 * The Service clients use. Without a fallbackIP it is a ClusterIP Service with one port per
 * redirect rule. With a fallbackIP the router forwards every other port too, which a ClusterIP
 * Service cannot express (it forwards only the ports it lists): the Service is then headless,
 * so its DNS name resolves to the ready router pod's own address and every port reaches it.
 * The cost: clients connect to the pod IP (no virtual IP), and after a pod change they follow
 * DNS (the cluster DNS's TTL, 5 s by default in CoreDNS) rather than kube-proxy.
 */
import type { RedirectRule } from '../config/model.js';
import type { RouterInput } from './input.js';
import { objectLabels, selectorLabels } from './names.js';
import type { KubeObject, Manifest, ServicePort } from './types.js';

/** One port per rule, named after it: "tcp-8080" (port names are at most 15 characters). */
export function servicePorts(rules: readonly RedirectRule[]): ServicePort[] {
  return rules.map((rule) => ({
    name: `${rule.protocol}-${rule.port}`,
    protocol: rule.protocol.toUpperCase(),
    port: rule.port,
    // The router DNATs on the port the packet arrives at; the rule's targetPort is its business.
    targetPort: rule.port,
  }));
}

export function service(input: RouterInput): Manifest {
  const headless = input.config.fallback !== undefined;
  const ports = servicePorts(input.config.redirectRules);
  const object = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: {
      type: 'ClusterIP',
      ...(headless ? { clusterIP: 'None' } : {}),
      selector: selectorLabels(input.name),
      ...(ports.length > 0 ? { ports } : {}),
    },
  } as KubeObject;
  const comment = headless
    ? `Headless: the router has a fallback (${input.config.fallback?.address}), so every port is served, and a\n` +
      'ClusterIP Service would forward only the ports it lists. Clients use this name, which resolves to\n' +
      "the ready router pod's address. Never the health port: the router neither redirects nor exposes it."
    : "One port per redirect rule (targetPort = port: the router applies the rule's targetPort itself).\n" +
      "Endpoints follow the pod's readiness (/readyz), so clients reach the router only while it works.\n" +
      'Never the health port.';
  return { object, comment };
}
