/**
 * Names and labels of everything `manifests` emits for one router. Every object is named after
 * the router (the EgressRouter's metadata.name), and the labels that select its pods carry that
 * name too, so two routers in one namespace never select each other's pods.
 */

/** The app label every object carries; alone it selects every router, so it is never a selector by itself. */
export const APP_NAME = 'egress-router-agent';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Why `name` cannot name the router's objects, or undefined. The Service is the strictest of
 * them: its name must be a DNS-1035 label (it becomes a DNS name), at most 63 characters.
 */
export function routerNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 63) return `is ${name.length} characters; a Service name is at most 63`;
  if (!DNS_1035_LABEL.test(name)) {
    return (
      `${JSON.stringify(name)} cannot name a Service: use lower-case letters, digits and '-', ` +
      'starting with a letter and ending with a letter or digit (a DNS-1035 label)'
    );
  }
  return undefined;
}

/** Why `namespace` is not a namespace name, or undefined. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length === 0) return 'is empty';
  if (namespace.length > 63 || !DNS_1123_LABEL.test(namespace)) {
    return `${JSON.stringify(namespace)} is not a namespace name (a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters)`;
  }
  return undefined;
}

/** The labels that select this router's pods, and nothing else. */
export function selectorLabels(router: string): Record<string, string> {
  return { [NAME_LABEL]: APP_NAME, [INSTANCE_LABEL]: router };
}

/** The labels every object of this router carries. */
export function objectLabels(router: string): Record<string, string> {
  return {
    ...selectorLabels(router),
    [COMPONENT_LABEL]: 'egress-router',
    [MANAGED_BY_LABEL]: APP_NAME,
  };
}

/**
 * The VRRP router id (1–255) a router gets when --ha-group is not given: FNV-1a of
 * "namespace/name", so it is stable across runs and machines. 255 values collide easily
 * (two routers: 0.4 %, ten: 16 %): routers sharing a LAN should set --ha-group explicitly.
 */
export function defaultHaGroup(namespace: string, router: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${namespace}/${router}`, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 255) + 1;
}
