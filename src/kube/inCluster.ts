/**
 * In-cluster access, as the kubelet sets it up for a pod: the API server's Service address in
 * KUBERNETES_SERVICE_HOST/PORT, and the service-account directory holding the token (rotated by
 * the kubelet, so it is re-read), the cluster CA and the pod's namespace.
 */
import { access, readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterConfig {
  /** https://HOST:PORT, brackets around an IPv6 host. */
  readonly server: string;
  readonly tokenFile: string;
  readonly caFile: string;
  /** The pod's namespace (from the service-account directory). */
  readonly namespace: string;
}

export class InClusterError extends Error {
  override name = 'InClusterError';
}

export async function readInClusterConfig(
  env: Readonly<Record<string, string | undefined>>,
  serviceAccountDir = SERVICE_ACCOUNT_DIR,
): Promise<InClusterConfig> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw new InClusterError(
      'not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (enableServiceLinks: false keeps them; the kubelet always sets these two)',
    );
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new InClusterError(`KUBERNETES_SERVICE_PORT is not a port: ${JSON.stringify(port)}`);
  const tokenFile = join(serviceAccountDir, 'token');
  const caFile = join(serviceAccountDir, 'ca.crt');
  for (const file of [tokenFile, caFile]) {
    await access(file).catch(() => {
      throw new InClusterError(
        `no ${file}: mount the service-account token (automountServiceAccountToken, or the kube-api-access volume manifests emits)`,
      );
    });
  }
  const namespace = (await readFile(join(serviceAccountDir, 'namespace'), 'utf8').catch(() => '')).trim();
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    tokenFile,
    caFile,
    namespace,
  };
}
