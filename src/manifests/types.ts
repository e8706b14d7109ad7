/**
 * The shapes of the Kubernetes objects `manifests` emits, as far as it fills them in. Field
 * names are the API's own (JSON), so an object is printed as built; the tests validate every
 * emitted object against the real schemas, strictly (unknown fields are errors).
 */

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
}

/** One emitted object and the comments printed above some of its fields (keyed by dotted path). */
export interface Manifest {
  readonly object: KubeObject;
  /** Printed above the object. */
  readonly comment?: string;
  /** Path (dot-separated keys and list indexes, e.g. "spec.strategy") → comment above that key. */
  readonly fieldComments?: Readonly<Record<string, string>>;
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
}

export interface EnvVar {
  readonly name: string;
  readonly valueFrom?: { readonly fieldRef: { readonly fieldPath: string } };
}

export interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string | number };
  readonly initialDelaySeconds?: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold?: number;
}

export interface SecurityContext {
  readonly runAsUser: number;
  readonly runAsNonRoot: boolean;
  readonly privileged: boolean;
  readonly allowPrivilegeEscalation: boolean;
  readonly readOnlyRootFilesystem: boolean;
  readonly capabilities: { readonly drop: readonly string[]; readonly add: readonly string[] };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly args: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly {
    readonly name: string;
    readonly containerPort: number;
    readonly protocol: string;
  }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly securityContext: SecurityContext;
  readonly resources: {
    readonly requests: Readonly<Record<string, string>>;
    readonly limits: Readonly<Record<string, string>>;
  };
  readonly volumeMounts: readonly {
    readonly name: string;
    readonly mountPath: string;
    readonly readOnly?: boolean;
  }[];
}

export interface Volume {
  readonly name: string;
  readonly configMap?: { readonly name: string };
  readonly emptyDir?: { readonly medium: string; readonly sizeLimit: string };
  readonly projected?: {
    readonly defaultMode: number;
    readonly sources: readonly (
      | { readonly serviceAccountToken: { readonly path: string; readonly expirationSeconds: number } }
      | {
          readonly configMap: {
            readonly name: string;
            readonly items: readonly { readonly key: string; readonly path: string }[];
          };
        }
      | {
          readonly downwardAPI: {
            readonly items: readonly {
              readonly path: string;
              readonly fieldRef: { readonly fieldPath: string };
            }[];
          };
        }
    )[];
  };
}

export interface PodAntiAffinity {
  readonly requiredDuringSchedulingIgnoredDuringExecution: readonly {
    readonly labelSelector: LabelSelector;
    readonly topologyKey: string;
  }[];
}

export interface PodSpec {
  readonly serviceAccountName: string;
  readonly automountServiceAccountToken: boolean;
  readonly enableServiceLinks: boolean;
  readonly terminationGracePeriodSeconds: number;
  readonly affinity?: { readonly podAntiAffinity: PodAntiAffinity };
  readonly securityContext: {
    readonly sysctls: readonly { readonly name: string; readonly value: string }[];
    readonly seccompProfile: { readonly type: string };
  };
  readonly initContainers: readonly Container[];
  readonly containers: readonly Container[];
  readonly volumes: readonly Volume[];
}

export interface Deployment extends KubeObject {
  readonly spec: {
    readonly replicas: number;
    readonly revisionHistoryLimit: number;
    readonly strategy:
      | { readonly type: 'Recreate' }
      | {
          readonly type: 'RollingUpdate';
          readonly rollingUpdate: { readonly maxSurge: number; readonly maxUnavailable: number };
        };
    readonly selector: LabelSelector;
    readonly template: {
      readonly metadata: {
        readonly labels: Readonly<Record<string, string>>;
        readonly annotations: Readonly<Record<string, string>>;
      };
      readonly spec: PodSpec;
    };
  };
}

export interface ServicePort {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
  readonly targetPort: number;
}
