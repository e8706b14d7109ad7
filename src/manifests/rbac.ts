/**
 * The router's ServiceAccount, and the Role and RoleBinding that status writing needs: read its
 * own EgressRouter (for the object's uid, which Events refer to), read and patch that object's
 * status subresource, and create and patch Events (a repeated Event is patched with its count).
 */
import { type RouterInput, reportsStatus } from './input.js';
import { objectLabels } from './names.js';
import type { KubeObject, Manifest } from './types.js';

export const EGRESS_ROUTER_GROUP = 'network.operator.openshift.io';

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

export function statusRules(name: string): PolicyRule[] {
  return [
    { apiGroups: [EGRESS_ROUTER_GROUP], resources: ['egressrouters'], resourceNames: [name], verbs: ['get'] },
    {
      apiGroups: [EGRESS_ROUTER_GROUP],
      resources: ['egressrouters/status'],
      resourceNames: [name],
      verbs: ['get', 'patch'],
    },
    // Event names are generated, so these two cannot be narrowed to names.
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

export function rbac(input: RouterInput): Manifest[] {
  const metadata = { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) };
  const serviceAccount: Manifest = {
    object: {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata,
      automountServiceAccountToken: false,
    } as KubeObject,
    comment:
      'The router pod runs as this account. Its token is not mounted by default: only the main\n' +
      'container gets one (a projected volume), and only to write status.',
  };
  if (!reportsStatus(input)) return [serviceAccount];
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata,
    rules: statusRules(input.name),
  } as KubeObject;
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: input.name },
    subjects: [{ kind: 'ServiceAccount', name: input.name, namespace: input.namespace }],
  } as KubeObject;
  return [
    serviceAccount,
    {
      object: role,
      comment: 'What `run --report-status` needs, and no more: this EgressRouter only, and Events.',
    },
    { object: binding },
  ];
}
