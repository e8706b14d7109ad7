/**
 * The router's Deployment (init container `apply`, main container `run`) and, for the HA
 * variant, its PodDisruptionBudget.
 */
import { configPath } from './config.js';
import { type RouterInput, reportsStatus } from './input.js';
import { objectLabels, selectorLabels } from './names.js';
import { routerResources } from './sizing.js';
import type {
  Container,
  Deployment,
  EnvVar,
  KubeObject,
  Manifest,
  Probe,
  SecurityContext,
  Volume,
} from './types.js';

const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const HEALTH_PORT_NAME = 'health';

/** Root with exactly NET_ADMIN and NET_RAW: see deploy/README.md for why each is needed. */
const SECURITY_CONTEXT: SecurityContext = {
  runAsUser: 0,
  runAsNonRoot: false,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
};

/** The flags `apply` (init container) gets. */
export function applyArgs(input: RouterInput): string[] {
  return [
    'apply',
    configPath(input.config.format),
    '--health-addr',
    input.healthAddr,
    ...input.passThroughArgs,
    // On a standby the init container must not take the addresses: everything else, yes.
    ...(input.ha ? ['--ha', 'vrrp'] : []),
  ];
}

/** The flags `run` (main container) gets. */
export function runArgs(input: RouterInput): string[] {
  const ha = input.ha;
  return [
    'run',
    configPath(input.config.format),
    '--health-addr',
    input.healthAddr,
    ...input.passThroughArgs,
    '--cleanup-on-exit',
    ...(reportsStatus(input) ? ['--report-status'] : []),
    ...(ha
      ? [
          '--ha',
          'vrrp',
          '--ha-group',
          String(ha.group),
          ...(ha.priority !== undefined ? ['--ha-priority', String(ha.priority)] : []),
          ...(ha.advertInterval !== undefined ? ['--ha-advert-interval', ha.advertInterval] : []),
          ...ha.peers.flatMap((peer) => ['--ha-peer', peer]),
        ]
      : []),
  ];
}

function readiness(ha: boolean): Probe {
  // Under HA readiness is what moves the Service to a new active: probe every second.
  return ha
    ? {
        httpGet: { path: '/readyz', port: HEALTH_PORT_NAME },
        periodSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 2,
      }
    : {
        httpGet: { path: '/readyz', port: HEALTH_PORT_NAME },
        periodSeconds: 5,
        timeoutSeconds: 2,
        failureThreshold: 2,
      };
}

const LIVENESS: Probe = {
  httpGet: { path: '/healthz', port: HEALTH_PORT_NAME },
  initialDelaySeconds: 5,
  periodSeconds: 10,
  timeoutSeconds: 2,
  failureThreshold: 3,
};

/** Who the agent is, for Events (reportingInstance, source.host). */
const DOWNWARD_ENV: EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];

/** The service-account token, the cluster CA and the namespace, as the kubelet's automount would give them. */
function apiAccessVolume(): Volume {
  return {
    name: 'kube-api-access',
    projected: {
      defaultMode: 0o444,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/**
 * The pod-wide sysctls the agent needs and cannot set itself (/proc/sys is read-only in the pod):
 * forwarding for each address family the router has. The per-interface ndisc_notify for IPv6 is
 * the NetworkAttachmentDefinition's (the tuning plugin), as net1 does not exist yet here.
 */
export function podSysctls(input: RouterInput): { name: string; value: string }[] {
  const families = new Set(input.config.addresses.map((a) => a.family));
  return [
    ...(families.has(4) ? [{ name: 'net.ipv4.ip_forward', value: '1' }] : []),
    ...(families.has(6) ? [{ name: 'net.ipv6.conf.all.forwarding', value: '1' }] : []),
  ];
}

export function deployment(input: RouterInput): Manifest {
  const status = reportsStatus(input);
  const rules = input.config.redirectRules.length;
  const initResources = routerResources(rules, { reportStatus: false });
  const mainResources = routerResources(rules, { reportStatus: status });
  const sysctls = podSysctls(input);
  const configMount = { name: 'config', mountPath: '/etc/egress-router', readOnly: true };
  const tmpMount = { name: 'tmp', mountPath: '/tmp' };
  const init: Container = {
    name: 'apply',
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    args: applyArgs(input),
    securityContext: SECURITY_CONTEXT,
    resources: { requests: initResources.requests, limits: initResources.limits },
    volumeMounts: [configMount, tmpMount],
  };
  const main: Container = {
    name: 'agent',
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    args: runArgs(input),
    ...(status ? { env: DOWNWARD_ENV } : {}),
    ports: [{ name: HEALTH_PORT_NAME, containerPort: input.healthPort, protocol: 'TCP' }],
    readinessProbe: readiness(input.ha !== undefined),
    livenessProbe: LIVENESS,
    securityContext: SECURITY_CONTEXT,
    resources: { requests: mainResources.requests, limits: mainResources.limits },
    volumeMounts: [
      configMount,
      tmpMount,
      ...(status ? [{ name: 'kube-api-access', mountPath: TOKEN_DIR, readOnly: true }] : []),
    ],
  };
  const networks = JSON.stringify([
    { name: input.name, namespace: input.namespace, interface: input.egressInterface },
  ]);
  const ha = input.ha !== undefined;
  const object: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: {
      replicas: ha ? 2 : 1,
      revisionHistoryLimit: 3,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selectorLabels(input.name) },
      template: {
        metadata: {
          labels: objectLabels(input.name),
          annotations: { 'k8s.v1.cni.cncf.io/networks': networks },
        },
        spec: {
          serviceAccountName: input.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 15,
          ...(ha
            ? {
                affinity: {
                  podAntiAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      {
                        labelSelector: { matchLabels: selectorLabels(input.name) },
                        topologyKey: 'kubernetes.io/hostname',
                      },
                    ],
                  },
                },
              }
            : {}),
          securityContext: { sysctls, seccompProfile: { type: 'RuntimeDefault' } },
          initContainers: [init],
          containers: [main],
          volumes: [
            { name: 'config', configMap: { name: input.name } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: mainResources.tmpSizeLimit } },
            ...(status ? [apiAccessVolume()] : []),
          ],
        },
      },
    },
  };
  return { object, comment: deploymentComment(input), fieldComments: deploymentFieldComments(input, status) };
}

function deploymentComment(input: RouterInput): string {
  const mode = input.ha
    ? `HA variant: two replicas on different nodes, VRRP group ${input.ha.group}; only the active holds\n` +
      'the egress addresses and is ready, so the Service sends clients to it alone.'
    : 'One router pod: the egress address must never be held by two pods at once.';
  return (
    'The router pod: the agent as init container ("apply": set up, verify, exit; the pod does not start\n' +
    'if the config is invalid or the kernel refuses it) and as main container ("run": keep it true).\n' +
    `${mode}\nAdopt mode: Multus attaches net1 from the NetworkAttachmentDefinition below; the agent adopts it.`
  );
}

function deploymentFieldComments(input: RouterInput, status: boolean): Record<string, string> {
  const comments: Record<string, string> = {
    'spec.strategy': input.ha
      ? 'Recreate under HA too. /readyz is 200 on the active only, so a new pod (a standby) never becomes\n' +
        'Ready, and a RollingUpdate (maxSurge 0, maxUnavailable 1) would replace the standby and then stall\n' +
        'for ever before the active. See deploy/README.md, "High availability".'
      : 'Recreate: the old pod removes its address on SIGTERM (--cleanup-on-exit) before the new one starts.',
    'spec.template.spec.securityContext.sysctls':
      'Forwarding, set by the runtime: /proc/sys is read-only in the pod. An "unsafe" sysctl: the kubelet\n' +
      'must allow it (--allowed-unsafe-sysctls), and the namespace must be at Pod Security level privileged.',
    'spec.template.spec.automountServiceAccountToken': status
      ? 'No token in the init container: only the main container mounts one (kube-api-access), to write status.'
      : 'No API access needed: this config has no EgressRouter to write status to.',
  };
  if (input.ha) {
    comments['spec.template.spec.affinity'] =
      'Never two replicas on one node: a node failure must leave a standby (and in macvlan private\n' +
      'mode two replicas on one master cannot hear each other).';
  }
  return comments;
}

/**
 * HA: at most one replica evicted at a time. Under the current readiness contract the standby
 * is never Ready, so this budget also refuses to evict the active while it is the only Ready
 * pod: drain its node after moving the role (delete the active pod; the standby takes over).
 */
export function podDisruptionBudget(input: RouterInput): Manifest | undefined {
  if (!input.ha) return undefined;
  const object = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(input.name) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  } as KubeObject;
  return {
    object,
    comment:
      'One replica at a time may be evicted. The standby is never Ready (readiness follows the role),\n' +
      'so it always may (AlwaysAllow); the active may not while it is the only Ready pod: before draining\n' +
      "the active's node, delete the active pod to hand the role over (about one VRRP interval).",
  };
}
