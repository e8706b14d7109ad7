/** Everything `manifests` emits for one router, in the order `kubectl apply -f -` should meet it. */
import { configMap, egressRouterObject } from './config.js';
import { egressRouterCrd } from './crd.js';
import type { RouterInput } from './input.js';
import { podMonitor, prometheusRule } from './monitoring.js';
import { networkAttachmentDefinition, networkPolicy } from './network.js';
import { rbac } from './rbac.js';
import { service } from './service.js';
import type { Manifest } from './types.js';
import { deployment, podDisruptionBudget } from './workload.js';

export interface ManifestSet {
  readonly crd: boolean;
  readonly router?: RouterInput;
}

export function buildManifests(set: ManifestSet): Manifest[] {
  const out: Manifest[] = [];
  if (set.crd) out.push(egressRouterCrd());
  const input = set.router;
  if (!input) return out;
  out.push(...rbac(input), configMap(input), networkAttachmentDefinition(input), deployment(input));
  const pdb = podDisruptionBudget(input);
  if (pdb) out.push(pdb);
  out.push(service(input));
  if (input.networkPolicy) out.push(networkPolicy(input, input.networkPolicy));
  // Last of the core objects: it needs the CRD to be established, and kubectl applies the rest
  // even when this one is refused on a first install that also creates the CRD.
  const router = egressRouterObject(input);
  if (router) out.push(router);
  if (input.monitoring) out.push(podMonitor(input), prometheusRule(input));
  return out;
}

export type { Manifest } from './types.js';
