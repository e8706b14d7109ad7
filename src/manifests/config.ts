/** The ConfigMap holding the router's config, and the EgressRouter object itself. */
import type { InputFormat } from '../config/model.js';
import { type RouterInput, reportsStatus } from './input.js';
import { objectLabels } from './names.js';
import type { KubeObject, Manifest } from './types.js';

export const CONFIG_DIR = '/etc/egress-router';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const KEYS: Record<InputFormat, string> = {
  EgressRouter: 'egressrouter.yaml',
  NetworkAttachmentDefinition: 'networkattachmentdefinition.yaml',
  CNI: 'cni.json',
  LegacyEnv: 'egress.env',
};

/** The ConfigMap key the config is stored under; the agent detects the format from the content. */
export const configKey = (format: InputFormat): string => KEYS[format];

export const configPath = (format: InputFormat): string => `${CONFIG_DIR}/${configKey(format)}`;

export function configMap(input: RouterInput): Manifest {
  const object: KubeObject & { data: Record<string, string> } = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: input.name, namespace: input.namespace, labels: objectLabels(input.name) },
    data: { [configKey(input.config.format)]: input.configText },
  };
  return {
    object,
    comment:
      'The config the agent applies, exactly as given to `manifests`. Mounted as a directory, so an\n' +
      'edit reaches the running agent (a ..data swap), which validates it and applies only the difference.',
  };
}

/**
 * The EgressRouter as written, in the router's namespace, without any status: the object the
 * agent writes its conditions to. Emitted from the same file as the ConfigMap, so re-running
 * `manifests` after an edit keeps the two the same.
 */
export function egressRouterObject(input: RouterInput): Manifest | undefined {
  if (!reportsStatus(input) || !input.egressRouter) return undefined;
  const { apiVersion, kind, metadata, spec } = input.egressRouter as {
    apiVersion: string;
    kind: string;
    metadata?: Record<string, unknown>;
    spec?: unknown;
  };
  // Only what a client may set: no status (the agent's to write), none of the fields the API
  // server fills in (a config saved with `kubectl get -o yaml` carries them, and a stale
  // resourceVersion would make `kubectl apply` fail).
  const {
    uid: _uid,
    resourceVersion: _resourceVersion,
    creationTimestamp: _creationTimestamp,
    generation: _generation,
    managedFields: _managedFields,
    selfLink: _selfLink,
    annotations,
    ...kept
  } = metadata ?? {};
  const { [LAST_APPLIED]: _lastApplied, ...keptAnnotations } = (annotations ?? {}) as Record<string, string>;
  const object = {
    apiVersion,
    kind,
    metadata: {
      ...kept,
      ...(Object.keys(keptAnnotations).length > 0 ? { annotations: keptAnnotations } : {}),
      name: input.name,
      namespace: input.namespace,
    },
    spec,
  } as unknown as KubeObject;
  return {
    object,
    comment:
      'The EgressRouter itself: `kubectl get egressrouter` shows the conditions the agent writes to it\n' +
      '(run --report-status). Needs the CRD (manifests --crd). The agent reads the ConfigMap above, not\n' +
      'this object: change both by editing the file and re-running manifests.',
  };
}
